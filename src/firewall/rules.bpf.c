// SPDX-License-Identifier: GPL-2.0
/*
 * rules: the program `xdplab firewall` runs. It evaluates an ordered table of allow/deny rules
 * (compiled from a rules file by src/firewall/compile.ts) the way iptables and nftables do:
 * the first rule that matches decides; none matching, the table's default does.
 *
 *   fw_rules   ARRAY of struct fw_rule, in the order they are tried. One rule of the file may
 *              be several entries (a list of CIDRs or protocols); each entry names its rule.
 *   fw_index   ARRAY of entry numbers: for each class of packet (IPv4 or IPv6 × TCP, UDP, SCTP,
 *              ICMP of the family, any other protocol) the entries that can match one, in order.
 *   fw_classes ARRAY[FW_CLASSES]: each class's range of fw_index.
 *   fw_config  ARRAY[1]: the default action and what non-IP gets.
 *   fw_hits    PERCPU_ARRAY: packets and bytes decided by each rule (index = rule id), then by
 *              the default, as non-IP and as malformed (the last three slots).
 *   fw_seq     ARRAY[1]: packets decided so far (atomic), the index of the next fw_log slot.
 *   fw_log     ARRAY[FW_LOG_SIZE]: the decision of packet n at n % FW_LOG_SIZE, so a caller
 *              that ran a batch of packets reads back which rule decided each.
 *
 * The rules are tried in a bpf_loop over the packet's class's entries (the first level of a
 * decision tree, as nftables' verdict maps on l4proto): a few thousand rules stay one loop the
 * verifier checks once, and a packet meets only its class's rules. Three programs share the
 * code: XDP (ingress) and TC ingress / egress; a rule's direction says where it applies.
 *
 * Headers: Ethernet, one VLAN tag (802.1Q or 802.1ad), IPv4 (options skipped; a fragment after
 * the first has no ports) or IPv6 (the fixed header's next header is the protocol: extension
 * headers are not walked), then the ports of TCP, UDP and SCTP. A header cut short is
 * malformed: dropped, whatever the rules say.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define FW_MAX_ENTRIES 16384
#define FW_DECISION_DEFAULT FW_MAX_ENTRIES
#define FW_DECISION_NON_IP (FW_MAX_ENTRIES + 1)
#define FW_DECISION_MALFORMED (FW_MAX_ENTRIES + 2)
#define FW_DECISIONS (FW_MAX_ENTRIES + 3)
#define FW_LOG_SIZE 4096
#define FW_CLASSES 10		/* IPv4, IPv6 × TCP, UDP, SCTP, ICMP(v6), other */
#define FW_MAX_INDEX 65536

/* struct fw_rule.flags */
#define FW_MATCH_PROTO (1 << 0)
#define FW_MATCH_PORTS (1 << 1)
#define FW_INGRESS (1 << 2)
#define FW_EGRESS (1 << 3)

#define FW_DENY 0
#define FW_ALLOW 1

#define IP_FRAG_OFFSET 0x1fff
#define IPPROTO_SCTP_ 132

/* One entry of the table. Addresses and masks are the packet's bytes (network order), an
 * IPv4 address in word 0 and zeros after it; ports are host order, ranges inclusive. */
struct fw_rule {
	__u32 src[4];
	__u32 src_mask[4];
	__u32 dst[4];
	__u32 dst_mask[4];
	__u16 sport_lo, sport_hi;
	__u16 dport_lo, dport_hi;
	__u8 family;		/* 0: both, 4, 6 */
	__u8 proto;		/* with FW_MATCH_PROTO */
	__u8 flags;
	__u8 action;		/* FW_DENY, FW_ALLOW */
	__u32 rule;		/* the rule of the file this entry comes from (from 0) */
};

struct fw_range {
	__u32 start;
	__u32 count;
};

struct fw_config {
	__u8 default_action;
	__u8 non_ip_action;
	__u8 pad[2];
};

struct fw_counter {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FW_MAX_ENTRIES);
	__type(key, __u32);
	__type(value, struct fw_rule);
} fw_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FW_MAX_INDEX);
	__type(key, __u32);
	__type(value, __u32);
} fw_index SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FW_CLASSES);
	__type(key, __u32);
	__type(value, struct fw_range);
} fw_classes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct fw_config);
} fw_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FW_DECISIONS);
	__type(key, __u32);
	__type(value, struct fw_counter);
} fw_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} fw_seq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, FW_LOG_SIZE);
	__type(key, __u32);
	__type(value, __u32);
} fw_log SEC(".maps");

/* What the loop matches against, and what it found. */
struct fw_packet {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport, dport;
	__u8 family, proto, has_ports, dir;
	__u32 start;		/* the class's first slot in fw_index */
	__u32 rule;
	__u32 action;
};

struct vlan_tag {
	__be16 tci;
	__be16 proto;
};

static __always_inline int addr_match(const __u32 *addr, const __u32 *net, const __u32 *mask)
{
	return (addr[0] & mask[0]) == net[0] && (addr[1] & mask[1]) == net[1] &&
	       (addr[2] & mask[2]) == net[2] && (addr[3] & mask[3]) == net[3];
}

/* bpf_loop's callback: the class's i-th entry matches? Then it decides, and the loop stops. */
static long match_entry(__u64 i, void *ctx)
{
	struct fw_packet *p = ctx;
	__u32 slot = p->start + i;
	__u32 *entry = bpf_map_lookup_elem(&fw_index, &slot);
	struct fw_rule *r;

	if (!entry)
		return 1;
	r = bpf_map_lookup_elem(&fw_rules, entry);
	if (!r)
		return 1;
	if (!(r->flags & p->dir))
		return 0;
	if (r->family && r->family != p->family)
		return 0;
	if ((r->flags & FW_MATCH_PROTO) && r->proto != p->proto)
		return 0;
	if (r->flags & FW_MATCH_PORTS) {
		if (!p->has_ports)
			return 0;
		if (p->sport < r->sport_lo || p->sport > r->sport_hi)
			return 0;
		if (p->dport < r->dport_lo || p->dport > r->dport_hi)
			return 0;
	}
	if (!addr_match(p->src, r->src, r->src_mask) || !addr_match(p->dst, r->dst, r->dst_mask))
		return 0;
	p->rule = r->rule;
	p->action = r->action;
	return 1;
}

/* Count the decision and log it: fw_hits for the totals, fw_log for the packet. */
static __noinline int record(__u32 decision, __u64 bytes, int action)
{
	struct fw_counter *c = bpf_map_lookup_elem(&fw_hits, &decision);
	__u32 zero = 0;
	__u64 *seq;

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
	seq = bpf_map_lookup_elem(&fw_seq, &zero);
	if (seq) {
		__u32 slot = __sync_fetch_and_add(seq, 1) % FW_LOG_SIZE;
		__u32 *logged = bpf_map_lookup_elem(&fw_log, &slot);

		if (logged)
			*logged = decision;
	}
	return action;
}

/*
 * Bytes of the packet at a variable offset, through the hook's helper: adding a variable to a
 * packet pointer needs CAP_PERFMON (Spectre v1 sanitation), a helper's offset argument does
 * not, so the program loads with CAP_BPF + CAP_NET_ADMIN alone. `xdp` is a constant once
 * inlined: each program calls one helper.
 */
static __always_inline long load_bytes(void *ctx, int xdp, __u32 offset, void *to, __u32 len)
{
	return xdp ? bpf_xdp_load_bytes(ctx, offset, to, len) : bpf_skb_load_bytes(ctx, offset, to, len);
}

/* The transport ports at `offset`, when the protocol has them: 0 ok, -1 cut short. */
static __always_inline int parse_ports(struct fw_packet *p, void *ctx, int xdp, __u32 offset)
{
	__be16 ports[2];

	if (p->proto != IPPROTO_TCP && p->proto != IPPROTO_UDP && p->proto != IPPROTO_SCTP_)
		return 0;
	if (load_bytes(ctx, xdp, offset, ports, sizeof(ports)) < 0)
		return -1;
	p->sport = bpf_ntohs(ports[0]);
	p->dport = bpf_ntohs(ports[1]);
	p->has_ports = 1;
	return 0;
}

/* The packet's family, addresses, protocol and ports: 1 IP, 0 not IP, -1 malformed. */
static __always_inline int parse(struct fw_packet *p, void *ctx, int xdp, void *data, void *data_end)
{
	struct ethhdr *eth = data;
	void *cur = eth + 1;
	__u32 l3 = sizeof(*eth);
	__be16 type;

	if (cur > data_end)
		return -1;
	type = eth->h_proto;
	if (type == bpf_htons(ETH_P_8021Q) || type == bpf_htons(ETH_P_8021AD)) {
		struct vlan_tag *tag = cur;

		if ((void *)(tag + 1) > data_end)
			return -1;
		type = tag->proto;
		cur = tag + 1;
		l3 += sizeof(*tag);
	}
	if (type == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = cur;
		__u32 hlen;
		__u8 last;

		if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5)
			return -1;
		hlen = ip->ihl * 4;
		/* Options: the header's last byte must be there. */
		if (hlen > sizeof(*ip) && load_bytes(ctx, xdp, l3 + hlen - 1, &last, 1) < 0)
			return -1;
		p->family = 4;
		p->proto = ip->protocol;
		p->src[0] = ip->saddr;
		p->dst[0] = ip->daddr;
		if (ip->frag_off & bpf_htons(IP_FRAG_OFFSET))
			return 1;
		return parse_ports(p, ctx, xdp, l3 + hlen) < 0 ? -1 : 1;
	}
	if (type == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = cur;

		if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
			return -1;
		p->family = 6;
		p->proto = ip6->nexthdr;
		__builtin_memcpy(p->src, &ip6->saddr, 16);
		__builtin_memcpy(p->dst, &ip6->daddr, 16);
		return parse_ports(p, ctx, xdp, l3 + sizeof(*ip6)) < 0 ? -1 : 1;
	}
	return 0;
}

/* The packet's class: which range of fw_index holds the entries that can match it. */
static __always_inline __u32 class_of(const struct fw_packet *p)
{
	__u32 base = p->family == 6 ? 5 : 0;

	switch (p->proto) {
	case IPPROTO_TCP:
		return base;
	case IPPROTO_UDP:
		return base + 1;
	case IPPROTO_SCTP_:
		return base + 2;
	case IPPROTO_ICMP:
		return p->family == 4 ? base + 3 : base + 4;
	case IPPROTO_ICMPV6:
		return p->family == 6 ? base + 3 : base + 4;
	default:
		return base + 4;
	}
}

/*
 * FW_ALLOW or FW_DENY for the packet, recorded with the rule (or the reason) that decided it.
 * `bytes` is the packet's length as the hook gives it (a scalar: data_end - data would be a
 * pointer subtraction, which the verifier allows only with CAP_PERFMON).
 */
static __always_inline int decide(void *ctx, int xdp, void *data, void *data_end, __u64 bytes, __u8 dir)
{
	struct fw_packet p = { .dir = dir, .rule = FW_DECISION_DEFAULT };
	__u32 zero = 0;
	struct fw_config *cfg = bpf_map_lookup_elem(&fw_config, &zero);
	struct fw_range *range;
	__u32 cls;
	int ip;

	if (!cfg)
		return FW_DENY;
	ip = parse(&p, ctx, xdp, data, data_end);
	if (ip < 0)
		return record(FW_DECISION_MALFORMED, bytes, FW_DENY);
	if (ip == 0)
		return record(FW_DECISION_NON_IP, bytes, cfg->non_ip_action);
	p.action = cfg->default_action;
	cls = class_of(&p);
	range = bpf_map_lookup_elem(&fw_classes, &cls);
	if (!range)
		return record(FW_DECISION_DEFAULT, bytes, p.action);
	p.start = range->start;
	bpf_loop(range->count < FW_MAX_INDEX ? range->count : FW_MAX_INDEX, match_entry, &p, 0);
	return record(p.rule, bytes, p.action);
}

SEC("xdp")
int rules_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	return decide(ctx, 1, data, data_end, bpf_xdp_get_buff_len(ctx), FW_INGRESS) == FW_ALLOW ? XDP_PASS : XDP_DROP;
}

SEC("tc")
int rules_tc_ingress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	return decide(skb, 0, data, data_end, skb->len, FW_INGRESS) == FW_ALLOW ? TC_ACT_OK : TC_ACT_SHOT;
}

SEC("tc")
int rules_tc_egress(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	return decide(skb, 0, data, data_end, skb->len, FW_EGRESS) == FW_ALLOW ? TC_ACT_OK : TC_ACT_SHOT;
}

char LICENSE[] SEC("license") = "GPL";
