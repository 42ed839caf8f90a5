// SPDX-License-Identifier: GPL-2.0
/*
 * l4-lb: a layer-4 load balancer in XDP, built the way katran is: the load balancer owns
 * virtual IPs (VIPs); each TCP/UDP flow to a VIP is pinned to one backend, and its packets
 * are sent to that backend wrapped in an outer IP header (IPv4-in-IPv4 for IPv4 VIPs,
 * IPv6-in-IPv6 for IPv6 VIPs) straight back out of the interface they came in on (XDP_TX).
 * Backends decapsulate and answer clients directly (direct server return).
 *
 * The work is a chain of three programs joined by tail calls through lb_chain, so each stage
 * stays small for the verifier and can be replaced on its own:
 *
 *   xdp_lb       parse Ethernet, IPv4/IPv6 and the TCP/UDP ports into a per-CPU scratch
 *                record (lb_scratch); ICMP and non-IP frames go to the stack
 *   lb_classify  is the destination a VIP (vips_v4 / vips_v6)? Known flow: its backend from
 *                the LRU connection table (conn_table). New flow: hash the 5-tuple onto the
 *                VIP's Maglev lookup table (maglev_ring) and remember the choice
 *   lb_encap     grow the headroom with bpf_xdp_adjust_head(), write the new Ethernet header
 *                (to the gateway) and the outer IP header (header checksum computed here),
 *                and XDP_TX
 *
 * The Maglev table of each VIP (RING_SIZE slots, a prime) is computed by the control plane:
 * every backend fills about the same number of slots, and removing one backend moves only
 * the flows that hashed to its slots. Backends are numbered from 1 (0 is "no backend") in
 * one id space; backends_v4 / backends_v6 hold their addresses.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "../common/parsing.h"

#define MAX_VIPS 16
#define MAX_BACKENDS 64
#define RING_SIZE 61		/* slots per VIP: a prime, as Maglev requires */
#define LB_HASH_SEED 0x4c42

enum lb_stage {
	LB_STAGE_CLASSIFY = 0,
	LB_STAGE_ENCAP = 1,
};

/* Outcomes, the index into lb_stats. Keep in step with the README. */
enum lb_outcome {
	LB_TX_NEW_FLOW = 0,	/* new flow: Maglev chose the backend, encapsulated, XDP_TX */
	LB_TX_CONN_HIT,		/* known flow: backend from conn_table, encapsulated, XDP_TX */
	LB_PASS_NOT_VIP,	/* IP traffic that is not for a VIP: the host's own */
	LB_PASS_ICMP,		/* ICMP / ICMPv6: the host's stack answers */
	LB_PASS_NON_IP,		/* ARP, LLDP, anything not IPv4/IPv6 */
	LB_DROP_MALFORMED,	/* truncated or inconsistent headers */
	LB_DROP_FRAGMENT,	/* fragments carry no (or not all) ports: not balanced */
	LB_DROP_NO_BACKEND,	/* the VIP's slot has no backend */
	LB_DROP_TOO_BIG,	/* the encapsulated packet would exceed lb_mtu */
	LB_DROP_ERROR,		/* a broken tail-call chain or a failed adjust_head */
	LB_OUTCOME_MAX,
};

/* Set before load (the topology's `globals:`); the defaults fit the shipped topology. */
const volatile __u8 gw_mac[ETH_ALEN] = { 0x02, 0x00, 0x00, 0x00, 0x64, 0x01 };
const volatile __be32 lb_src_v4 = __bpf_constant_htonl(0x0a640002);	/* 10.100.0.2 */
const volatile __u8 lb_src_v6[16] = { 0xfd, 0x00, 0x01, 0x00, [15] = 0x02 };	/* fd00:100::2 */
const volatile __u32 lb_mtu = 1500;

/* A VIP: address, port (host byte order) and IP protocol. */
struct vip4_key {
	__be32 addr;
	__u16 port;
	__u8 proto;
	__u8 pad;
};

struct vip6_key {
	__u8 addr[16];
	__u16 port;
	__u8 proto;
	__u8 pad;
};

/* The 5-tuple of a flow (IPv4 addresses in the first word), the connection table's key. */
struct flow_key {
	__be32 src[4];
	__be32 dst[4];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 family;		/* 4 or 6 */
	__u8 pad[2];
};

/* What one stage leaves for the next, in lb_scratch. */
struct lb_pkt {
	struct flow_key flow;
	__u32 vip_num;
	__u32 backend;
	__u16 inner_len;	/* the inner IP packet's length: what gets encapsulated */
	__u8 tos;		/* IPv4 TOS / IPv6 traffic class, copied to the outer header */
	__u8 new_flow;
};

struct ring {
	__u32 backends[RING_SIZE];
};

struct datarec {
	__u64 packets;
	__u64 bytes;
};

SEC("xdp") int lb_classify(struct xdp_md *ctx);
SEC("xdp") int lb_encap(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(__u32));	/* no BTF types: the kernel refuses them on prog arrays */
	__array(values, int (void *));
} lb_chain SEC(".maps") = {
	.values = {
		[LB_STAGE_CLASSIFY] = (void *)&lb_classify,
		[LB_STAGE_ENCAP] = (void *)&lb_encap,
	},
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lb_pkt);
} lb_scratch SEC(".maps");

/* VIP -> vip_num, the index of its Maglev table. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VIPS);
	__type(key, struct vip4_key);
	__type(value, __u32);
} vips_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_VIPS);
	__type(key, struct vip6_key);
	__type(value, __u32);
} vips_v6 SEC(".maps");

/* vip_num -> its Maglev lookup table of backend ids. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_VIPS);
	__type(key, __u32);
	__type(value, struct ring);
} maglev_ring SEC(".maps");

/* backend id -> address (0 / :: for an unused id). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_BACKENDS);
	__type(key, __u32);
	__type(value, __be32);
} backends_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct in6_addr);
} backends_v6 SEC(".maps");

/* Flow -> backend id. LRU: idle flows make room for new ones when it fills up. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct flow_key);
	__type(value, __u32);
} conn_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LB_OUTCOME_MAX);
	__type(key, __u32);
	__type(value, struct datarec);
} lb_stats SEC(".maps");

/* Packets and bytes sent to each backend, by id. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct datarec);
} backend_stats SEC(".maps");

/*
 * Not inlined: inlined, the compiler merges every `return count(…, XDP_DROP);` into one shared
 * tail, and nothing in the object says any more which return was taken; called, each call site
 * keeps its own verdict, which xdplab follows into the drop comment's source line.
 */
static __noinline int count(struct xdp_md *ctx, __u32 outcome, int action)
{
	struct datarec *rec = bpf_map_lookup_elem(&lb_stats, &outcome);

	if (rec) {
		rec->packets++;
		rec->bytes += ctx->data_end - ctx->data;
	}
	return action;
}

static __always_inline struct lb_pkt *scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&lb_scratch, &zero);
}

/* ---- stage 1: parse ------------------------------------------------------------------- */

static __always_inline int parse_ports(struct lb_pkt *pkt, void *l4, void *data_end)
{
	if (pkt->flow.proto == IPPROTO_TCP) {
		struct tcphdr *tcph = l4;

		if ((void *)(tcph + 1) > data_end || tcph->doff < 5)
			return -1;
		pkt->flow.sport = tcph->source;
		pkt->flow.dport = tcph->dest;
	} else {
		struct udphdr *udph = l4;

		if ((void *)(udph + 1) > data_end)
			return -1;
		pkt->flow.sport = udph->source;
		pkt->flow.dport = udph->dest;
	}
	return 0;
}

static __always_inline int parse_ipv4(struct xdp_md *ctx, struct lb_pkt *pkt, void *l3, void *data_end)
{
	struct iphdr *iph = l3;
	__u16 tot_len;

	if ((void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5)
		return count(ctx, LB_DROP_MALFORMED, XDP_DROP);
	tot_len = bpf_ntohs(iph->tot_len);
	if (tot_len < iph->ihl * 4 || l3 + tot_len > data_end)
		return count(ctx, LB_DROP_MALFORMED, XDP_DROP);
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return count(ctx, LB_DROP_FRAGMENT, XDP_DROP);
	if (iph->protocol == IPPROTO_ICMP)
		return count(ctx, LB_PASS_ICMP, XDP_PASS);
	if (iph->protocol != IPPROTO_TCP && iph->protocol != IPPROTO_UDP)
		return count(ctx, LB_PASS_NOT_VIP, XDP_PASS);

	pkt->flow.family = 4;
	pkt->flow.proto = iph->protocol;
	pkt->flow.src[0] = iph->saddr;
	pkt->flow.dst[0] = iph->daddr;
	pkt->inner_len = tot_len;
	pkt->tos = iph->tos;
	if (parse_ports(pkt, l3 + iph->ihl * 4, data_end) < 0)
		return count(ctx, LB_DROP_MALFORMED, XDP_DROP);
	return -1;	/* balance it */
}

static __always_inline int parse_ipv6(struct xdp_md *ctx, struct lb_pkt *pkt, void *l3, void *data_end)
{
	struct ipv6hdr *ip6h = l3;
	__u16 len;

	if ((void *)(ip6h + 1) > data_end || ip6h->version != 6)
		return count(ctx, LB_DROP_MALFORMED, XDP_DROP);
	len = sizeof(*ip6h) + bpf_ntohs(ip6h->payload_len);
	if (l3 + len > data_end)
		return count(ctx, LB_DROP_MALFORMED, XDP_DROP);
	if (ip6h->nexthdr == IPPROTO_FRAGMENT)
		return count(ctx, LB_DROP_FRAGMENT, XDP_DROP);
	if (ip6h->nexthdr == IPPROTO_ICMPV6)
		return count(ctx, LB_PASS_ICMP, XDP_PASS);
	if (ip6h->nexthdr != IPPROTO_TCP && ip6h->nexthdr != IPPROTO_UDP)
		return count(ctx, LB_PASS_NOT_VIP, XDP_PASS);

	pkt->flow.family = 6;
	pkt->flow.proto = ip6h->nexthdr;
	__builtin_memcpy(pkt->flow.src, &ip6h->saddr, 16);
	__builtin_memcpy(pkt->flow.dst, &ip6h->daddr, 16);
	pkt->inner_len = len;
	pkt->tos = (ip6h->priority << 4) | (ip6h->flow_lbl[0] >> 4);
	if (parse_ports(pkt, ip6h + 1, data_end) < 0)
		return count(ctx, LB_DROP_MALFORMED, XDP_DROP);
	return -1;
}

SEC("xdp")
int xdp_lb(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct lb_pkt *pkt = scratch();
	int action;

	if (!pkt)
		return XDP_ABORTED;
	__builtin_memset(pkt, 0, sizeof(*pkt));
	if ((void *)(eth + 1) > data_end)
		return count(ctx, LB_DROP_MALFORMED, XDP_DROP);

	if (eth->h_proto == bpf_htons(ETH_P_IP))
		action = parse_ipv4(ctx, pkt, eth + 1, data_end);
	else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		action = parse_ipv6(ctx, pkt, eth + 1, data_end);
	else
		return count(ctx, LB_PASS_NON_IP, XDP_PASS);
	if (action >= 0)
		return action;

	bpf_tail_call(ctx, &lb_chain, LB_STAGE_CLASSIFY);
	return count(ctx, LB_DROP_ERROR, XDP_DROP);	/* the chain is broken */
}

/* ---- stage 2: classify ---------------------------------------------------------------- */

/* The kernel's jhash (Bob Jenkins' lookup3) on three words. */
static __always_inline __u32 rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> ((-shift) & 31));
}

#define __jhash_final(a, b, c)			\
	{					\
		c ^= b; c -= rol32(b, 14);	\
		a ^= c; a -= rol32(c, 11);	\
		b ^= a; b -= rol32(a, 25);	\
		c ^= b; c -= rol32(b, 16);	\
		a ^= c; a -= rol32(c, 4);	\
		b ^= a; b -= rol32(a, 14);	\
		c ^= b; c -= rol32(b, 24);	\
	}
#define JHASH_INITVAL 0xdeadbeef

static __always_inline __u32 jhash_3words(__u32 a, __u32 b, __u32 c, __u32 initval)
{
	initval += JHASH_INITVAL + (3 << 2);
	a += initval;
	b += initval;
	c += initval;
	__jhash_final(a, b, c);
	return c;
}

/* Source address, ports and protocol: the destination is the VIP, the same for the ring. */
static __always_inline __u32 flow_hash(const struct flow_key *f)
{
	__u32 ports = ((__u32)f->sport << 16) | f->dport;
	__u32 h = jhash_3words(f->src[0], f->src[1], f->src[2], LB_HASH_SEED);

	return jhash_3words(f->src[3], ports, f->proto, h);
}

static __always_inline int lookup_vip(struct lb_pkt *pkt)
{
	__u32 *vip_num;

	if (pkt->flow.family == 4) {
		struct vip4_key key = {
			.addr = pkt->flow.dst[0],
			.port = bpf_ntohs(pkt->flow.dport),
			.proto = pkt->flow.proto,
		};

		vip_num = bpf_map_lookup_elem(&vips_v4, &key);
	} else {
		struct vip6_key key = {
			.port = bpf_ntohs(pkt->flow.dport),
			.proto = pkt->flow.proto,
		};

		__builtin_memcpy(key.addr, pkt->flow.dst, 16);
		vip_num = bpf_map_lookup_elem(&vips_v6, &key);
	}
	if (!vip_num)
		return -1;
	pkt->vip_num = *vip_num;
	return 0;
}

SEC("xdp")
int lb_classify(struct xdp_md *ctx)
{
	struct lb_pkt *pkt = scratch();
	struct ring *ring;
	__u32 *backend;
	__u32 slot;

	if (!pkt)
		return XDP_ABORTED;
	if (lookup_vip(pkt) < 0)
		return count(ctx, LB_PASS_NOT_VIP, XDP_PASS);

	backend = bpf_map_lookup_elem(&conn_table, &pkt->flow);
	if (backend) {
		pkt->backend = *backend;
		pkt->new_flow = 0;
	} else {
		ring = bpf_map_lookup_elem(&maglev_ring, &pkt->vip_num);
		if (!ring)
			return count(ctx, LB_DROP_NO_BACKEND, XDP_DROP);
		slot = flow_hash(&pkt->flow) % RING_SIZE;
		/* The verifier does not track '%': check again, where clang cannot fold it away. */
		barrier_var(slot);
		if (slot >= RING_SIZE)
			return XDP_ABORTED;
		pkt->backend = ring->backends[slot];
		if (!pkt->backend)
			return count(ctx, LB_DROP_NO_BACKEND, XDP_DROP);
		pkt->new_flow = 1;
		bpf_map_update_elem(&conn_table, &pkt->flow, &pkt->backend, BPF_ANY);
	}

	bpf_tail_call(ctx, &lb_chain, LB_STAGE_ENCAP);
	return count(ctx, LB_DROP_ERROR, XDP_DROP);
}

/* ---- stage 3: encapsulate ------------------------------------------------------------- */

/* RFC 1071 over a 20-byte IPv4 header whose checksum field is zero. */
static __always_inline __u16 ipv4_csum(struct iphdr *iph)
{
	__u16 *word = (__u16 *)iph;
	__u32 csum = 0;
	int i;

#pragma unroll
	for (i = 0; i < (int)sizeof(*iph) / 2; i++)
		csum += word[i];
	csum = (csum & 0xffff) + (csum >> 16);
	csum = (csum & 0xffff) + (csum >> 16);
	return ~csum;
}

static __always_inline void write_eth(struct ethhdr *eth, const __u8 *our_mac, __u16 proto)
{
	int i;

#pragma unroll
	for (i = 0; i < ETH_ALEN; i++) {
		eth->h_dest[i] = gw_mac[i];
		eth->h_source[i] = our_mac[i];
	}
	eth->h_proto = bpf_htons(proto);
}

static __always_inline int encap_ipv4(struct xdp_md *ctx, struct lb_pkt *pkt)
{
	void *data, *data_end;
	struct ethhdr *eth, *old_eth;
	struct iphdr *outer;
	__u8 our_mac[ETH_ALEN];
	__be32 *dst = bpf_map_lookup_elem(&backends_v4, &pkt->backend);

	if (!dst || !*dst)
		return count(ctx, LB_DROP_NO_BACKEND, XDP_DROP);
	if (pkt->inner_len + sizeof(*outer) > lb_mtu)
		return count(ctx, LB_DROP_TOO_BIG, XDP_DROP);
	if (bpf_xdp_adjust_head(ctx, 0 - (int)sizeof(*outer)))
		return count(ctx, LB_DROP_ERROR, XDP_DROP);

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	outer = data + sizeof(*eth);
	/*
	 * The old Ethernet header is still there, sizeof(*outer) bytes in, under what becomes
	 * the outer IP header: take our MAC address (its destination) out of it first.
	 */
	old_eth = data + sizeof(*outer);
	if ((void *)(outer + 1) > data_end)
		return count(ctx, LB_DROP_ERROR, XDP_DROP);
	__builtin_memcpy(our_mac, old_eth->h_dest, ETH_ALEN);
	write_eth(eth, our_mac, ETH_P_IP);

	outer->version = 4;
	outer->ihl = 5;
	outer->tos = pkt->tos;
	outer->tot_len = bpf_htons(pkt->inner_len + sizeof(*outer));
	outer->id = 0;
	outer->frag_off = 0;
	outer->ttl = 64;
	outer->protocol = IPPROTO_IPIP;
	outer->check = 0;
	outer->saddr = lb_src_v4;
	outer->daddr = *dst;
	outer->check = ipv4_csum(outer);
	return XDP_TX;
}

static __always_inline int encap_ipv6(struct xdp_md *ctx, struct lb_pkt *pkt)
{
	void *data, *data_end;
	struct ethhdr *eth, *old_eth;
	struct ipv6hdr *outer;
	__u8 our_mac[ETH_ALEN];
	struct in6_addr *dst = bpf_map_lookup_elem(&backends_v6, &pkt->backend);
	int i;

	if (!dst || !(dst->in6_u.u6_addr32[0] | dst->in6_u.u6_addr32[1] | dst->in6_u.u6_addr32[2] | dst->in6_u.u6_addr32[3]))
		return count(ctx, LB_DROP_NO_BACKEND, XDP_DROP);
	if (pkt->inner_len + sizeof(*outer) > lb_mtu)
		return count(ctx, LB_DROP_TOO_BIG, XDP_DROP);
	if (bpf_xdp_adjust_head(ctx, 0 - (int)sizeof(*outer)))
		return count(ctx, LB_DROP_ERROR, XDP_DROP);

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	outer = data + sizeof(*eth);
	old_eth = data + sizeof(*outer);
	if ((void *)(outer + 1) > data_end)
		return count(ctx, LB_DROP_ERROR, XDP_DROP);
	__builtin_memcpy(our_mac, old_eth->h_dest, ETH_ALEN);
	write_eth(eth, our_mac, ETH_P_IPV6);

	outer->version = 6;
	outer->priority = pkt->tos >> 4;
	outer->flow_lbl[0] = (pkt->tos & 0x0f) << 4;
	outer->flow_lbl[1] = 0;
	outer->flow_lbl[2] = 0;
	outer->payload_len = bpf_htons(pkt->inner_len);
	outer->nexthdr = IPPROTO_IPV6;
	outer->hop_limit = 64;
#pragma unroll
	for (i = 0; i < 16; i++)
		outer->saddr.in6_u.u6_addr8[i] = lb_src_v6[i];
	__builtin_memcpy(&outer->daddr, dst, sizeof(*dst));
	return XDP_TX;
}

SEC("xdp")
int lb_encap(struct xdp_md *ctx)
{
	struct lb_pkt *pkt = scratch();
	struct datarec *rec;
	__u32 backend;
	int action;

	if (!pkt)
		return XDP_ABORTED;
	backend = pkt->backend;
	if (pkt->flow.family == 4)
		action = encap_ipv4(ctx, pkt);
	else
		action = encap_ipv6(ctx, pkt);
	if (action != XDP_TX)
		return action;

	rec = bpf_map_lookup_elem(&backend_stats, &backend);
	if (rec) {
		rec->packets++;
		rec->bytes += ctx->data_end - ctx->data;
	}
	return count(ctx, pkt->new_flow ? LB_TX_NEW_FLOW : LB_TX_CONN_HIT, XDP_TX);
}

char _license[] SEC("license") = "GPL";
