// SPDX-License-Identifier: GPL-2.0
// Per-flow counting, the map-heavy programs of issue 14's table (bench/programs.js), the same
// object in xdplab and the kernel:
// - xdp_flow: parse Ethernet/IPv4/TCP|UDP, look the flow (addresses, ports, protocol) up in a
//   hash map and write its count back with bpf_map_update_elem — one lookup and one update a run;
// - xdp_flow_chain: a tail-call chain of two programs with hash operations: the first parses
//   and looks the flow up, the second (flow_update) parses again and counts it as xdp_flow does.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct flow {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u32 proto;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow);
	__type(value, __u64);
	__uint(max_entries, 65536);
} flows SEC(".maps");

int flow_update(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} next SEC(".maps") = {
	.values = { [0] = (void *)&flow_update },
};

/* The flow of an IPv4 TCP or UDP frame; 0 when it is not one. */
static __always_inline int parse(struct xdp_md *ctx, struct flow *f)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	__u16 *ports;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return 0;
	ports = (void *)ip + ip->ihl * 4;
	if ((void *)(ports + 2) > end)
		return 0;
	f->saddr = ip->saddr;
	f->daddr = ip->daddr;
	f->sport = ports[0];
	f->dport = ports[1];
	f->proto = ip->protocol;
	return 1;
}

static __always_inline __u64 seen(struct flow *f)
{
	__u64 *n = bpf_map_lookup_elem(&flows, f);

	return n ? *n : 0;
}

static __always_inline int store(struct flow *f, __u64 n)
{
	bpf_map_update_elem(&flows, f, &n, BPF_ANY);
	return XDP_PASS;
}

SEC("xdp")
int xdp_flow(struct xdp_md *ctx)
{
	struct flow f = {};

	if (!parse(ctx, &f))
		return XDP_PASS;
	return store(&f, seen(&f) + 1);
}

SEC("xdp")
int xdp_flow_chain(struct xdp_md *ctx)
{
	struct flow f = {};

	if (!parse(ctx, &f))
		return XDP_PASS;
	if (seen(&f) > 0xffffffffull)
		return XDP_DROP;
	bpf_tail_call(ctx, &next, 0);
	return XDP_ABORTED;
}

SEC("xdp")
int flow_update(struct xdp_md *ctx)
{
	struct flow f = {};

	if (!parse(ctx, &f))
		return XDP_PASS;
	return store(&f, seen(&f) + 1);
}

char _license[] SEC("license") = "GPL";
