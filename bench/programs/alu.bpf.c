// SPDX-License-Identifier: GPL-2.0
// 64 straight-line ALU operations (issue 14's "64 straight ALU ops") on a value the compiler cannot fold (the frame's length),
// no branch, no memory access but the context's: the JIT's arithmetic alone.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define STEP(x, k) x = ((x * 0x9e3779b1u) ^ (x >> 7)) + k
#define STEP4(x, k) STEP(x, k); STEP(x, k + 1); STEP(x, k + 2); STEP(x, k + 3)

SEC("xdp")
int xdp_alu(struct xdp_md *ctx)
{
	__u64 x = ctx->data_end - ctx->data;

	/* 16 steps of multiply, shift, xor and add: 64 ALU operations (and clang's moves between them). */
	asm volatile("" : "+r"(x));
	STEP4(x, 1); STEP4(x, 5); STEP4(x, 9); STEP4(x, 13);
	asm volatile("" : "+r"(x));
	return (x & 1) ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
