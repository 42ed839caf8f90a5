// SPDX-License-Identifier: GPL-2.0
// The smallest XDP program: drop everything. Its run time is the hook's own cost.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
