// SPDX-License-Identifier: GPL-2.0
/*
 * tc-nat-vlan: the WAN side of a home / small-office gateway, in two TC programs on the
 * uplink. The provider delivers service on VLAN 7 (as many fibre providers do), and the
 * private network (10.0.0.0/8) leaves through one public IPv4 address.
 *
 * tc_wan_egress (TC egress of the WAN interface), for every frame the gateway sends out:
 *   1. source NAT, IPv4 from the inside only: the source address becomes nat_addr and the
 *      source port (the identifier of an ICMP echo request) one from the pool
 *      [nat_port_min, nat_port_max]. A mapping (inside address, port, protocol) <->
 *      (nat_addr, pool port, protocol) is made on a flow's first packet and kept in
 *      nat_out / nat_in (endpoint-independent mapping, RFC 4787). The IP header checksum is
 *      patched with bpf_l3_csum_replace(), the TCP/UDP checksum (whose pseudo-header covers
 *      the address) and the ICMP checksum with bpf_l4_csum_replace(). A protocol NAT cannot
 *      translate (GRE, fragments, ICMP other than echo) is dropped rather than leaked with a
 *      private source address. IPv6 and the gateway's own traffic are not translated.
 *   2. VLAN push: every frame gets the provider's tag (bpf_skb_vlan_push). The tag is put in
 *      the socket buffer's VLAN field, as a NIC with VLAN offload gets it; the device (or
 *      the emulator's wire) writes it into the frame.
 *
 * tc_wan_ingress (TC ingress of the WAN interface), for every frame that arrives:
 *   1. VLAN pop: only frames tagged with the provider's VLAN are accepted, and the tag is
 *      removed (bpf_skb_vlan_pop) whether the stack has already moved it out of the frame
 *      (skb->vlan_present) or it is still in the frame; untagged frames and other VLANs
 *      are dropped.
 *   2. Rate limit: a token bucket per remote source address (IPv4 or IPv6), refilled at
 *      config.rate_pps packets a second up to config.burst packets, on bpf_ktime_get_ns();
 *      a packet that finds the bucket empty is dropped (TC_ACT_SHOT). rate_pps 0: no limit.
 *   3. Reverse NAT: a packet to nat_addr whose destination port (or echo reply identifier)
 *      has a mapping in nat_in gets the inside address and port back, checksums patched; one
 *      without a mapping is for the gateway itself and passes unchanged.
 *
 * nat_stats counts, per CPU, each packet once by what happened to it.
 */
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "../common/parsing.h"

#define NSEC_PER_SEC 1000000000ULL
#define NAT_ALLOC_TRIES 8
#define VLAN_VID_MASK 0x0fff

/* What happened to a packet: the index into nat_stats. Keep in step with the README. */
enum nat_outcome {
	EG_SNAT_NEW = 0,	/* egress: translated, new mapping made */
	EG_SNAT,		/* egress: translated with an existing mapping */
	EG_PASS,		/* egress: not translated (IPv6, the gateway's own, not IP), tagged */
	EG_DROP_UNSUPPORTED,	/* egress: inside source, a protocol NAT cannot translate */
	EG_DROP_NO_PORT,	/* egress: no free port in the pool */
	EG_DROP_MALFORMED,	/* egress: truncated headers */
	EG_DROP_VLAN,		/* egress: bpf_skb_vlan_push failed */
	IN_DNAT,		/* ingress: destination restored from a mapping */
	IN_PASS,		/* ingress: no mapping (IPv6, the gateway's own, not IP) */
	IN_DROP_VLAN,		/* ingress: untagged, or another VLAN */
	IN_DROP_RATE,		/* ingress: over the source's rate */
	IN_DROP_MALFORMED,	/* ingress: truncated headers */
	NAT_OUTCOME_MAX,
};

/* Set before load (the topology's `globals:`); the defaults fit the shipped topology. */
const volatile __u16 wan_vid = 7;
const volatile __be32 nat_addr = __bpf_constant_htonl(0xc6336401);	/* 198.51.100.1 */
const volatile __be32 inside_net = __bpf_constant_htonl(0x0a000000);	/* 10.0.0.0 */
const volatile __be32 inside_mask = __bpf_constant_htonl(0xff000000);	/* /8 */
const volatile __u16 nat_port_min = 20000;
const volatile __u16 nat_port_max = 20999;

/* The next pool port to try (an index into the pool), shared by all CPUs. */
__u32 nat_port_cursor = 0;

/* One side of a translation. For ICMP echo, `port` is the identifier. */
struct nat_endpoint {
	__be32 addr;
	__be16 port;
	__u8 proto;
	__u8 pad;
};

struct rl_config {
	__u32 rate_pps;		/* refill rate, packets per second */
	__u32 burst;		/* bucket size, packets */
};

struct rl_key {
	__u8 addr[16];		/* IPv4 as ::ffff:a.b.c.d */
};

struct rl_bucket {
	__u64 tokens;		/* in billionths of a packet: one packet is NSEC_PER_SEC */
	__u64 last_ns;
};

struct datarec {
	__u64 packets;
	__u64 bytes;
};

/* inside endpoint -> outside endpoint */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct nat_endpoint);
	__type(value, struct nat_endpoint);
} nat_out SEC(".maps");

/* outside endpoint -> inside endpoint */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct nat_endpoint);
	__type(value, struct nat_endpoint);
} nat_in SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rl_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct rl_key);
	__type(value, struct rl_bucket);
} rl_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, NAT_OUTCOME_MAX);
	__type(key, __u32);
	__type(value, struct datarec);
} nat_stats SEC(".maps");

static __always_inline int count(struct __sk_buff *skb, __u32 outcome, int action)
{
	struct datarec *rec = bpf_map_lookup_elem(&nat_stats, &outcome);

	if (rec) {
		rec->packets++;
		rec->bytes += skb->len;
	}
	return action;
}

/* Where the translated fields of an IPv4 packet are. */
struct l4_fields {
	__u32 csum_off;		/* the TCP/UDP/ICMP checksum */
	__u32 port_off;		/* the port (or echo identifier) being translated */
	__u32 csum_flags;	/* BPF_F_PSEUDO_HDR (TCP/UDP), BPF_F_MARK_MANGLED_0 (UDP) */
	__be16 port;
};

#define IP_OFF sizeof(struct ethhdr)
#define IP_CSUM_OFF (IP_OFF + offsetof(struct iphdr, check))
#define IP_SRC_OFF (IP_OFF + offsetof(struct iphdr, saddr))
#define IP_DST_OFF (IP_OFF + offsetof(struct iphdr, daddr))

/*
 * Find the port (or echo identifier) to translate: the source (egress) or destination
 * (ingress) port of TCP/UDP, the identifier of an ICMP echo request (egress) or reply
 * (ingress). Returns -1 for what NAT cannot translate, -2 for truncated headers.
 */
static __always_inline int l4_fields(void *data, void *data_end, struct iphdr *iph, int egress, struct l4_fields *f)
{
	__u32 l4_off = IP_OFF + iph->ihl * 4;
	void *l4 = data + l4_off;

	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return -1;	/* a real NAT reassembles first */
	switch (iph->protocol) {
	case IPPROTO_TCP: {
		struct tcphdr *tcph = l4;

		if ((void *)(tcph + 1) > data_end)
			return -2;
		f->csum_off = l4_off + offsetof(struct tcphdr, check);
		f->port_off = l4_off + (egress ? offsetof(struct tcphdr, source) : offsetof(struct tcphdr, dest));
		f->csum_flags = BPF_F_PSEUDO_HDR;
		f->port = egress ? tcph->source : tcph->dest;
		return 0;
	}
	case IPPROTO_UDP: {
		struct udphdr *udph = l4;

		if ((void *)(udph + 1) > data_end)
			return -2;
		f->csum_off = l4_off + offsetof(struct udphdr, check);
		f->port_off = l4_off + (egress ? offsetof(struct udphdr, source) : offsetof(struct udphdr, dest));
		/* A UDP checksum of 0 means "none": keep it so, and never compute a 0. */
		f->csum_flags = BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0;
		f->port = egress ? udph->source : udph->dest;
		return 0;
	}
	case IPPROTO_ICMP: {
		__u8 *icmp = l4;

		if ((void *)(icmp + 8) > data_end)
			return -2;
		if (icmp[0] != (egress ? ICMP_ECHO : ICMP_ECHOREPLY))
			return -1;
		f->csum_off = l4_off + 2;
		f->port_off = l4_off + 4;	/* the identifier */
		f->csum_flags = 0;		/* no pseudo-header in ICMP's checksum */
		f->port = *(__be16 *)(icmp + 4);
		return 0;
	}
	default:
		return -1;
	}
}

/* Rewrite an address (at addr_off) and a port, patching the checksums that cover them. */
static __always_inline int rewrite(struct __sk_buff *skb, __u32 addr_off, __be32 old_addr, __be32 new_addr,
				   struct l4_fields *f, __be16 new_port)
{
	if (f->csum_flags & BPF_F_PSEUDO_HDR) {
		if (bpf_l4_csum_replace(skb, f->csum_off, old_addr, new_addr, f->csum_flags | sizeof(new_addr)))
			return -1;
	}
	if (bpf_l4_csum_replace(skb, f->csum_off, f->port, new_port, (f->csum_flags & ~BPF_F_PSEUDO_HDR) | sizeof(new_port)))
		return -1;
	if (bpf_l3_csum_replace(skb, IP_CSUM_OFF, old_addr, new_addr, sizeof(new_addr)))
		return -1;
	if (bpf_skb_store_bytes(skb, addr_off, &new_addr, sizeof(new_addr), 0))
		return -1;
	if (bpf_skb_store_bytes(skb, f->port_off, &new_port, sizeof(new_port), 0))
		return -1;
	return 0;
}

/* A new mapping for `in`: the next pool port whose outside endpoint is free. */
static __always_inline int nat_alloc(struct nat_endpoint *in, struct nat_endpoint *out)
{
	__u32 range = (__u32)nat_port_max - nat_port_min + 1;
	int i;

	out->addr = nat_addr;
	out->proto = in->proto;
	out->pad = 0;
	for (i = 0; i < NAT_ALLOC_TRIES; i++) {
		__u32 n = __sync_fetch_and_add(&nat_port_cursor, 1);

		out->port = bpf_htons(nat_port_min + n % range);
		if (bpf_map_update_elem(&nat_in, out, in, BPF_NOEXIST) == 0) {
			bpf_map_update_elem(&nat_out, in, out, BPF_ANY);
			return 0;
		}
	}
	return -1;
}

/* Egress step 1: the outcome (EG_*) of source NAT. */
static __always_inline __u32 snat(struct __sk_buff *skb)
{
	void *data_end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	struct nat_endpoint in = {}, out, *mapped;
	struct l4_fields f = {};
	__u32 outcome = EG_SNAT;
	int rc;

	if ((void *)(eth + 1) > data_end)
		return EG_DROP_MALFORMED;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return EG_PASS;
	if ((void *)(iph + 1) > data_end || iph->ihl < 5)
		return EG_DROP_MALFORMED;
	if ((iph->saddr & inside_mask) != inside_net)
		return EG_PASS;

	rc = l4_fields(data, data_end, iph, 1, &f);
	if (rc == -2)
		return EG_DROP_MALFORMED;
	if (rc < 0)
		return EG_DROP_UNSUPPORTED;

	in.addr = iph->saddr;
	in.port = f.port;
	in.proto = iph->protocol;
	mapped = bpf_map_lookup_elem(&nat_out, &in);
	if (mapped) {
		out = *mapped;
	} else {
		if (nat_alloc(&in, &out) < 0)
			return EG_DROP_NO_PORT;
		outcome = EG_SNAT_NEW;
	}
	if (rewrite(skb, IP_SRC_OFF, in.addr, out.addr, &f, out.port) < 0)
		return EG_DROP_MALFORMED;
	return outcome;
}

SEC("tc")
int tc_wan_egress(struct __sk_buff *skb)
{
	__u32 outcome = snat(skb);

	if (outcome >= EG_DROP_UNSUPPORTED && outcome <= EG_DROP_MALFORMED)
		return count(skb, outcome, TC_ACT_SHOT);
	if (bpf_skb_vlan_push(skb, bpf_htons(ETH_P_8021Q), wan_vid) < 0)
		return count(skb, EG_DROP_VLAN, TC_ACT_SHOT);
	return count(skb, outcome, TC_ACT_OK);
}

/* Ingress step 1: is the frame on the provider's VLAN? Pops the tag; -1 to drop. */
static __always_inline int vlan_accept(struct __sk_buff *skb)
{
	__u16 vid;

	if (skb->vlan_present) {
		/* The stack (or the NIC) has already moved the tag out of the frame. */
		vid = skb->vlan_tci & VLAN_VID_MASK;
	} else if (skb->protocol == bpf_htons(ETH_P_8021Q)) {
		void *data_end = (void *)(long)skb->data_end;
		void *data = (void *)(long)skb->data;
		__be16 *tci = data + sizeof(struct ethhdr);

		if ((void *)(tci + 1) > data_end)
			return -1;
		vid = bpf_ntohs(*tci) & VLAN_VID_MASK;
	} else {
		return -1;	/* untagged (or 802.1ad) */
	}
	if (vid != wan_vid)
		return -1;
	return bpf_skb_vlan_pop(skb) < 0 ? -1 : 0;
}

/* Ingress step 2: 1 when the source is over its rate. */
static __always_inline int over_rate(struct rl_key *key)
{
	__u32 zero = 0;
	struct rl_config *cfg = bpf_map_lookup_elem(&config, &zero);
	struct rl_bucket *b, fresh;
	__u64 now, elapsed, cap, tokens;

	if (!cfg || !cfg->rate_pps)
		return 0;
	now = bpf_ktime_get_ns();
	cap = (cfg->burst ? cfg->burst : 1) * NSEC_PER_SEC;

	b = bpf_map_lookup_elem(&rl_buckets, key);
	if (!b) {
		/* A new source starts with a full bucket, less this packet. */
		fresh.tokens = cap - NSEC_PER_SEC;
		fresh.last_ns = now;
		bpf_map_update_elem(&rl_buckets, key, &fresh, BPF_ANY);
		return 0;
	}
	/*
	 * Not atomic: two CPUs updating one source's bucket at once may let a packet more
	 * through. A bpf_spin_lock would make it exact, but LRU maps cannot hold one.
	 */
	elapsed = now > b->last_ns ? now - b->last_ns : 0;
	if (elapsed >= cap / cfg->rate_pps)
		tokens = cap;	/* idle long enough to fill up (and no overflow below) */
	else
		tokens = b->tokens + elapsed * cfg->rate_pps;
	if (tokens > cap)
		tokens = cap;
	b->last_ns = now;
	if (tokens < NSEC_PER_SEC) {
		b->tokens = tokens;
		return 1;
	}
	b->tokens = tokens - NSEC_PER_SEC;
	return 0;
}

/* Ingress step 3: the outcome (IN_*) of reverse NAT. */
static __always_inline __u32 dnat(struct __sk_buff *skb, struct iphdr *iph, void *data, void *data_end)
{
	struct nat_endpoint out = {}, *in;
	struct l4_fields f = {};
	int rc;

	if (iph->daddr != nat_addr)
		return IN_PASS;
	rc = l4_fields(data, data_end, iph, 0, &f);
	if (rc == -2)
		return IN_DROP_MALFORMED;
	if (rc < 0)
		return IN_PASS;

	out.addr = iph->daddr;
	out.port = f.port;
	out.proto = iph->protocol;
	in = bpf_map_lookup_elem(&nat_in, &out);
	if (!in)
		return IN_PASS;	/* for the gateway itself */
	if (rewrite(skb, IP_DST_OFF, out.addr, in->addr, &f, in->port) < 0)
		return IN_DROP_MALFORMED;
	return IN_DNAT;
}

SEC("tc")
int tc_wan_ingress(struct __sk_buff *skb)
{
	struct rl_key key = {};
	void *data_end, *data;
	struct ethhdr *eth;
	struct iphdr *iph;
	struct ipv6hdr *ip6h;
	__u32 outcome;

	if (vlan_accept(skb) < 0)
		return count(skb, IN_DROP_VLAN, TC_ACT_SHOT);

	/* The pop moved the headers: the pointers are read after it. */
	data_end = (void *)(long)skb->data_end;
	data = (void *)(long)skb->data;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return count(skb, IN_DROP_MALFORMED, TC_ACT_SHOT);

	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		iph = (void *)(eth + 1);
		if ((void *)(iph + 1) > data_end || iph->ihl < 5)
			return count(skb, IN_DROP_MALFORMED, TC_ACT_SHOT);
		key.addr[10] = 0xff;
		key.addr[11] = 0xff;
		__builtin_memcpy(&key.addr[12], &iph->saddr, 4);
		if (over_rate(&key))
			return count(skb, IN_DROP_RATE, TC_ACT_SHOT);
		outcome = dnat(skb, iph, data, data_end);
		if (outcome == IN_DROP_MALFORMED)
			return count(skb, outcome, TC_ACT_SHOT);
		return count(skb, outcome, TC_ACT_OK);
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		ip6h = (void *)(eth + 1);
		if ((void *)(ip6h + 1) > data_end)
			return count(skb, IN_DROP_MALFORMED, TC_ACT_SHOT);
		__builtin_memcpy(key.addr, &ip6h->saddr, 16);
		if (over_rate(&key))
			return count(skb, IN_DROP_RATE, TC_ACT_SHOT);
	}
	return count(skb, IN_PASS, TC_ACT_OK);
}

char _license[] SEC("license") = "GPL";
