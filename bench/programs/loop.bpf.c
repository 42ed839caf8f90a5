// A loop-heavy XDP program: the interpreter's instructions-per-second benchmark, and the
// same object the kernel's JIT runs for the side-by-side figure.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int loop(struct xdp_md *ctx)
{
	__u64 acc = ctx->data_end - ctx->data;
#pragma clang loop unroll(disable)
	for (__u32 i = 0; i < 1000; i++) {
		acc = acc * 31 + i;
		acc ^= acc >> 7;
	}
	return acc & 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
