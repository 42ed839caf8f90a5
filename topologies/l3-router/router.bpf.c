// SPDX-License-Identifier: GPL-2.0
/*
 * l3-router: IPv4 / IPv6 forwarding in XDP, after the kernel's samples/bpf/xdp_fwd_kern.c.
 *
 * For each frame the router's own tables decide, through bpf_fib_lookup(), where it goes:
 *
 *   - the route and the neighbour are known, and the egress interface is in tx_ports:
 *       decrement the TTL (IPv4: patch the header checksum incrementally, RFC 1624, as
 *       the kernel's ip_decrease_ttl() does) or the hop limit, write the next hop's MAC
 *       as destination and the egress interface's MAC as source, and send the frame
 *       out of that interface with bpf_redirect_map()                  -> XDP_REDIRECT
 *   - blackhole / unreachable / prohibit routes                        -> XDP_DROP
 *   - everything else goes up to the kernel's stack, which knows what to do with it
 *       (TTL about to expire: it sends ICMP time exceeded; no neighbour entry yet:
 *       it resolves with ARP/NDP; too big: it fragments or sends "packet too big";
 *       local destination; no route; not IP at all)                   -> XDP_PASS
 *
 * tx_ports is a device map (BPF_MAP_TYPE_DEVMAP) of the interfaces the program may
 * redirect to, keyed by ifindex: the control plane (the topology's `maps:`) lists them.
 * router_stats counts packets and bytes per outcome, per CPU.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define AF_INET 2
#define AF_INET6 10
#define IPV6_FLOWINFO_MASK bpf_htonl(0x0FFFFFFF)

/* Outcomes, the index into router_stats. Keep in step with the README. */
enum router_outcome {
	RT_FORWARD_V4 = 0,	/* redirected to the egress interface */
	RT_FORWARD_V6,
	RT_PASS_NOT_IP,		/* ARP, LLDP, anything not IPv4/IPv6 */
	RT_PASS_TTL,		/* TTL / hop limit <= 1: the stack sends time exceeded */
	RT_PASS_LOCAL,		/* BPF_FIB_LKUP_RET_NOT_FWDED: local or no route */
	RT_PASS_NO_NEIGH,	/* next hop not resolved yet */
	RT_PASS_FRAG_NEEDED,	/* larger than the egress MTU */
	RT_PASS_NO_TX_PORT,	/* egress interface not in tx_ports */
	RT_PASS_OTHER,		/* forwarding disabled, LWT, lookup error */
	RT_DROP_UNREACHABLE,	/* blackhole, unreachable, prohibit */
	RT_DROP_MALFORMED,	/* truncated headers */
	RT_OUTCOME_MAX,
};

struct datarec {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 64);
	__type(key, __u32);	/* ifindex */
	__type(value, __u32);	/* ifindex */
} tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RT_OUTCOME_MAX);
	__type(key, __u32);
	__type(value, struct datarec);
} router_stats SEC(".maps");

/*
 * Not inlined: inlined, the compiler merges every `return count(…, XDP_DROP);` into one shared
 * tail, and nothing in the object says any more which return was taken; called, each call site
 * keeps its own verdict, which xdplab follows into the drop comment's source line.
 */
static __noinline int count(struct xdp_md *ctx, __u32 outcome, int action)
{
	struct datarec *rec = bpf_map_lookup_elem(&router_stats, &outcome);

	if (rec) {
		rec->packets++;
		rec->bytes += ctx->data_end - ctx->data;
	}
	return action;
}

/* include/net/ip.h: the checksum covers the TTL as the high byte of a 16-bit word. */
static __always_inline int ip_decrease_ttl(struct iphdr *iph)
{
	__u32 check = (__u32)iph->check;

	check += (__u32)bpf_htons(0x0100);
	iph->check = (__sum16)(check + (check >= 0xFFFF));
	return --iph->ttl;
}

/* What to do with a frame whose lookup did not succeed. */
static __always_inline int fib_failure(struct xdp_md *ctx, int rc)
{
	switch (rc) {
	case BPF_FIB_LKUP_RET_BLACKHOLE:
	case BPF_FIB_LKUP_RET_UNREACHABLE:
	case BPF_FIB_LKUP_RET_PROHIBIT:
		return count(ctx, RT_DROP_UNREACHABLE, XDP_DROP);
	case BPF_FIB_LKUP_RET_NOT_FWDED:
		return count(ctx, RT_PASS_LOCAL, XDP_PASS);
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return count(ctx, RT_PASS_NO_NEIGH, XDP_PASS);
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		return count(ctx, RT_PASS_FRAG_NEEDED, XDP_PASS);
	default:		/* FWD_DISABLED, UNSUPP_LWT, or a negative errno */
		return count(ctx, RT_PASS_OTHER, XDP_PASS);
	}
}

/* The lookup succeeded: may we send out of fib->ifindex? */
static __always_inline int tx_port_ok(struct bpf_fib_lookup *fib)
{
	return bpf_map_lookup_elem(&tx_ports, &fib->ifindex) != NULL;
}

static __always_inline int forward_ipv4(struct xdp_md *ctx, struct ethhdr *eth, void *data_end)
{
	struct iphdr *iph = (void *)(eth + 1);
	struct bpf_fib_lookup fib = {};
	int rc;

	if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5)
		return count(ctx, RT_DROP_MALFORMED, XDP_DROP);
	if (iph->ttl <= 1)
		return count(ctx, RT_PASS_TTL, XDP_PASS);

	fib.family = AF_INET;
	fib.tos = iph->tos;
	fib.l4_protocol = iph->protocol;
	fib.tot_len = bpf_ntohs(iph->tot_len);
	fib.ipv4_src = iph->saddr;
	fib.ipv4_dst = iph->daddr;
	fib.ifindex = ctx->ingress_ifindex;

	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return fib_failure(ctx, rc);
	if (!tx_port_ok(&fib))
		return count(ctx, RT_PASS_NO_TX_PORT, XDP_PASS);

	ip_decrease_ttl(iph);
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	count(ctx, RT_FORWARD_V4, XDP_REDIRECT);
	return bpf_redirect_map(&tx_ports, fib.ifindex, 0);
}

static __always_inline int forward_ipv6(struct xdp_md *ctx, struct ethhdr *eth, void *data_end)
{
	struct ipv6hdr *ip6h = (void *)(eth + 1);
	struct bpf_fib_lookup fib = {};
	int rc;

	if ((void *)(ip6h + 1) > data_end || ip6h->version != 6)
		return count(ctx, RT_DROP_MALFORMED, XDP_DROP);
	if (ip6h->hop_limit <= 1)
		return count(ctx, RT_PASS_TTL, XDP_PASS);

	fib.family = AF_INET6;
	fib.flowinfo = *(__be32 *)ip6h & IPV6_FLOWINFO_MASK;
	fib.l4_protocol = ip6h->nexthdr;
	fib.tot_len = sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
	__builtin_memcpy(fib.ipv6_src, &ip6h->saddr, sizeof(fib.ipv6_src));
	__builtin_memcpy(fib.ipv6_dst, &ip6h->daddr, sizeof(fib.ipv6_dst));
	fib.ifindex = ctx->ingress_ifindex;

	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return fib_failure(ctx, rc);
	if (!tx_port_ok(&fib))
		return count(ctx, RT_PASS_NO_TX_PORT, XDP_PASS);

	ip6h->hop_limit--;	/* no header checksum in IPv6 */
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	count(ctx, RT_FORWARD_V6, XDP_REDIRECT);
	return bpf_redirect_map(&tx_ports, fib.ifindex, 0);
}

SEC("xdp")
int xdp_router(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return count(ctx, RT_DROP_MALFORMED, XDP_DROP);

	switch (eth->h_proto) {
	case bpf_htons(ETH_P_IP):
		return forward_ipv4(ctx, eth, data_end);
	case bpf_htons(ETH_P_IPV6):
		return forward_ipv6(ctx, eth, data_end);
	default:
		return count(ctx, RT_PASS_NOT_IP, XDP_PASS);
	}
}

char _license[] SEC("license") = "GPL";
