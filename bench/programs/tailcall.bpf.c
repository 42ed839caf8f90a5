// SPDX-License-Identifier: GPL-2.0
// A tail-call chain of four programs through a prog array, each doing a little work on the
// frame's metadata count (a per-CPU array): the cost of bpf_tail_call itself.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hops SEC(".maps");

static __always_inline void count_hop(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&hops, &zero);

	if (n)
		*n += 1;
}

int stage2(struct xdp_md *ctx);
int stage3(struct xdp_md *ctx);
int stage4(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32));
	__array(values, int (void *));
} chain SEC(".maps") = {
	.values = { [1] = (void *)&stage2, [2] = (void *)&stage3, [3] = (void *)&stage4 },
};

SEC("xdp")
int xdp_chain(struct xdp_md *ctx)
{
	count_hop();
	bpf_tail_call(ctx, &chain, 1);
	return XDP_ABORTED;
}

SEC("xdp")
int stage2(struct xdp_md *ctx)
{
	count_hop();
	bpf_tail_call(ctx, &chain, 2);
	return XDP_ABORTED;
}

SEC("xdp")
int stage3(struct xdp_md *ctx)
{
	count_hop();
	bpf_tail_call(ctx, &chain, 3);
	return XDP_ABORTED;
}

SEC("xdp")
int stage4(struct xdp_md *ctx)
{
	count_hop();
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
