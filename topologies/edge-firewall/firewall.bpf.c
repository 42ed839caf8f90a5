// SPDX-License-Identifier: GPL-2.0
/*
 * edge-firewall: a stateless XDP packet filter for the WAN interface of an edge router.
 *
 * Every frame that arrives on the WAN port is classified once, before the kernel allocates a
 * socket buffer for it:
 *
 *   1. headers that are truncated or inconsistent                      -> XDP_DROP (malformed)
 *   2. anything that is not IPv4 / IPv6 (ARP, LLDP, ...)               -> XDP_PASS (the stack's)
 *   3. IPv4 fragments after the first (no ports to check)              -> XDP_DROP (fragment)
 *   4. a source address inside a blocklisted prefix (LPM tries)        -> XDP_DROP (blocklist)
 *   5. ICMP / ICMPv6: errors, echo replies and neighbour discovery pass; echo requests pass
 *      unless `drop_icmp` is set; every other type is dropped
 *   6. TCP / UDP to a destination port in `allowed_ports`              -> XDP_PASS
 *      (the value is a bit mask: 1 = TCP, 2 = UDP), to any other port  -> XDP_DROP
 *   7. any other IP protocol (GRE, ESP, SCTP, ...)                     -> XDP_DROP
 *
 * Each verdict is counted, per CPU, by reason in `fw_stats` (packets and bytes), the way
 * xdp-tutorial's xdp_stats_map does it; `log_drops` makes blocklist drops print a trace line.
 *
 * The blocklists and the allowed ports are filled by the control plane (here: the topology's
 * `maps:` section). Both LPM tries are keyed by the source address, so a /32 (or /128) blocks
 * one host and a /0 would block the whole family.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "../common/parsing.h"

/* Why a packet got its verdict: the index into fw_stats. Keep in step with the README. */
enum fw_reason {
	FW_PASS_ALLOWED = 0,	/* TCP/UDP to an allowed port */
	FW_PASS_ICMP,		/* ICMP/ICMPv6 errors, echo, neighbour discovery */
	FW_PASS_NON_IP,		/* not IPv4/IPv6: left to the stack */
	FW_DROP_MALFORMED,	/* truncated or inconsistent headers */
	FW_DROP_BLOCKLIST_V4,	/* IPv4 source in blocklist_v4 */
	FW_DROP_BLOCKLIST_V6,	/* IPv6 source in blocklist_v6 */
	FW_DROP_PORT,		/* TCP/UDP to a port that is not allowed */
	FW_DROP_ICMP,		/* ICMP type not allowed (or echo with drop_icmp) */
	FW_DROP_PROTO,		/* another IP protocol */
	FW_DROP_FRAGMENT,	/* a non-first fragment */
	FW_REASON_MAX,
};

#define ALLOW_TCP (1U << 0)
#define ALLOW_UDP (1U << 1)

/* Knobs, set before load (the topology's `globals:`). */
const volatile __u32 drop_icmp = 0;	/* 1: drop ICMP/ICMPv6 echo requests (ping) */
const volatile __u32 log_drops = 0;	/* 1: bpf_printk() a line for every blocklist drop */

struct lpm_v4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct lpm_v6_key {
	__u32 prefixlen;
	__u8 addr[16];
};

struct datarec {
	__u64 packets;
	__u64 bytes;
};

/* Source prefixes to drop; the value is a rule id, printed with log_drops. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4_key);
	__type(value, __u32);
} blocklist_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v6_key);
	__type(value, __u32);
} blocklist_v6 SEC(".maps");

/* Destination port (host byte order) -> ALLOW_TCP | ALLOW_UDP. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u16);
	__type(value, __u32);
} allowed_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FW_REASON_MAX);
	__type(key, __u32);
	__type(value, struct datarec);
} fw_stats SEC(".maps");

/*
 * Not inlined: inlined, the compiler merges every `return verdict(…, XDP_DROP);` into one shared
 * tail, and nothing in the object says any more which return was taken; called, each call site
 * keeps its own verdict, which xdplab follows into the drop comment's source line.
 */
static __noinline int verdict(struct xdp_md *ctx, __u32 reason, int action)
{
	struct datarec *rec = bpf_map_lookup_elem(&fw_stats, &reason);

	if (rec) {
		/* A per-CPU slot: no other CPU writes it, no atomics needed. */
		rec->packets++;
		rec->bytes += ctx->data_end - ctx->data;
	}
	return action;
}

/* TCP/UDP: is the destination port open for this protocol? */
static __always_inline int port_allowed(__be16 dport, __u32 proto_bit)
{
	__u16 port = bpf_ntohs(dport);
	__u32 *mask = bpf_map_lookup_elem(&allowed_ports, &port);

	return mask && (*mask & proto_bit);
}

static __always_inline int filter_l4(struct xdp_md *ctx, struct hdr_cursor *nh, void *data_end, __u8 proto)
{
	struct tcphdr *tcph;
	struct udphdr *udph;

	switch (proto) {
	case IPPROTO_TCP:
		if (parse_tcphdr(nh, data_end, &tcph) < 0)
			return verdict(ctx, FW_DROP_MALFORMED, XDP_DROP);
		if (port_allowed(tcph->dest, ALLOW_TCP))
			return verdict(ctx, FW_PASS_ALLOWED, XDP_PASS);
		return verdict(ctx, FW_DROP_PORT, XDP_DROP);
	case IPPROTO_UDP:
		if (parse_udphdr(nh, data_end, &udph) < 0)
			return verdict(ctx, FW_DROP_MALFORMED, XDP_DROP);
		if (port_allowed(udph->dest, ALLOW_UDP))
			return verdict(ctx, FW_PASS_ALLOWED, XDP_PASS);
		return verdict(ctx, FW_DROP_PORT, XDP_DROP);
	default:
		return verdict(ctx, FW_DROP_PROTO, XDP_DROP);
	}
}

static __always_inline int filter_icmp(struct xdp_md *ctx, struct hdr_cursor *nh, void *data_end)
{
	struct icmp4hdr *icmph = nh->pos;

	if ((void *)(icmph + 1) > data_end)
		return verdict(ctx, FW_DROP_MALFORMED, XDP_DROP);
	switch (icmph->type) {
	case ICMP_ECHO:
		if (drop_icmp)
			return verdict(ctx, FW_DROP_ICMP, XDP_DROP);
		/* fall through */
	case ICMP_ECHOREPLY:
	case ICMP_DEST_UNREACH:	/* path MTU discovery needs "fragmentation needed" */
	case ICMP_TIME_EXCEEDED:
	case ICMP_PARAMETERPROB:
		return verdict(ctx, FW_PASS_ICMP, XDP_PASS);
	default:		/* redirects, timestamps, router adverts, ... */
		return verdict(ctx, FW_DROP_ICMP, XDP_DROP);
	}
}

static __always_inline int filter_icmp6(struct xdp_md *ctx, struct hdr_cursor *nh, void *data_end)
{
	struct icmp6hdr *icmp6h = nh->pos;

	if ((void *)(icmp6h + 1) > data_end)
		return verdict(ctx, FW_DROP_MALFORMED, XDP_DROP);
	switch (icmp6h->icmp6_type) {
	case ICMPV6_ECHO_REQUEST:
		if (drop_icmp)
			return verdict(ctx, FW_DROP_ICMP, XDP_DROP);
		/* fall through */
	case ICMPV6_ECHO_REPLY:
	case ICMPV6_DEST_UNREACH:
	case ICMPV6_PKT_TOOBIG:
	case ICMPV6_TIME_EXCEED:
	case ICMPV6_PARAMPROB:
	case 133 ... 137:	/* router/neighbour solicitation and advertisement, redirect */
		return verdict(ctx, FW_PASS_ICMP, XDP_PASS);
	default:
		return verdict(ctx, FW_DROP_ICMP, XDP_DROP);
	}
}

static __always_inline int filter_ipv4(struct xdp_md *ctx, struct hdr_cursor *nh, void *data_end)
{
	struct lpm_v4_key key = { .prefixlen = 32 };
	struct iphdr *iph;
	__u32 *rule;

	if (parse_iphdr(nh, data_end, &iph) < 0)
		return verdict(ctx, FW_DROP_MALFORMED, XDP_DROP);

	__builtin_memcpy(key.addr, &iph->saddr, sizeof(key.addr));
	rule = bpf_map_lookup_elem(&blocklist_v4, &key);
	if (rule) {
		if (log_drops)
			bpf_printk("edge-fw: drop %pI4 (rule %u)", &iph->saddr, *rule);
		return verdict(ctx, FW_DROP_BLOCKLIST_V4, XDP_DROP);
	}

	/* Only the first fragment carries the L4 header. */
	if (iph->frag_off & bpf_htons(IP_OFFSET))
		return verdict(ctx, FW_DROP_FRAGMENT, XDP_DROP);

	if (iph->protocol == IPPROTO_ICMP)
		return filter_icmp(ctx, nh, data_end);
	return filter_l4(ctx, nh, data_end, iph->protocol);
}

static __always_inline int filter_ipv6(struct xdp_md *ctx, struct hdr_cursor *nh, void *data_end)
{
	struct lpm_v6_key key = { .prefixlen = 128 };
	struct ipv6hdr *ip6h;
	__u32 *rule;
	int nexthdr;

	if (parse_ip6hdr(nh, data_end, &ip6h) < 0)
		return verdict(ctx, FW_DROP_MALFORMED, XDP_DROP);

	__builtin_memcpy(key.addr, &ip6h->saddr, sizeof(key.addr));
	rule = bpf_map_lookup_elem(&blocklist_v6, &key);
	if (rule) {
		if (log_drops)
			bpf_printk("edge-fw: drop %pI6 (rule %u)", &ip6h->saddr, *rule);
		return verdict(ctx, FW_DROP_BLOCKLIST_V6, XDP_DROP);
	}

	nexthdr = skip_ip6hdrext(nh, data_end, ip6h->nexthdr);
	if (nexthdr == NEXTHDR_MALFORMED)
		return verdict(ctx, FW_DROP_MALFORMED, XDP_DROP);
	if (nexthdr == NEXTHDR_LATER_FRAGMENT)
		return verdict(ctx, FW_DROP_FRAGMENT, XDP_DROP);

	if (nexthdr == IPPROTO_ICMPV6)
		return filter_icmp6(ctx, nh, data_end);
	return filter_l4(ctx, nh, data_end, nexthdr);
}

SEC("xdp")
int xdp_firewall(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct hdr_cursor nh = { .pos = data };
	struct ethhdr *eth;
	int eth_type;

	eth_type = parse_ethhdr(&nh, data_end, &eth);
	if (eth_type < 0)
		return verdict(ctx, FW_DROP_MALFORMED, XDP_DROP);
	if (eth_type == bpf_htons(ETH_P_IP))
		return filter_ipv4(ctx, &nh, data_end);
	if (eth_type == bpf_htons(ETH_P_IPV6))
		return filter_ipv6(ctx, &nh, data_end);
	return verdict(ctx, FW_PASS_NON_IP, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
