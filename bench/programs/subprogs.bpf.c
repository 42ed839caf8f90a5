// A program of 24 subprograms, each a bpf-to-bpf call that checks the packet itself: the
// verifier's cost per call (frames, argument checks, returns) against the kernel's, in
// bench/verify.js.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct hdr {
	__u8 b[16];
};

static __attribute__((noinline)) int step0(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[0]) * 3 + 0;
}

static __attribute__((noinline)) int step1(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[1]) * 5 + 1;
}

static __attribute__((noinline)) int step2(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[2]) * 7 + 2;
}

static __attribute__((noinline)) int step3(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[3]) * 9 + 3;
}

static __attribute__((noinline)) int step4(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[4]) * 11 + 4;
}

static __attribute__((noinline)) int step5(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[5]) * 13 + 5;
}

static __attribute__((noinline)) int step6(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[6]) * 15 + 6;
}

static __attribute__((noinline)) int step7(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[7]) * 17 + 7;
}

static __attribute__((noinline)) int step8(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[8]) * 19 + 8;
}

static __attribute__((noinline)) int step9(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[9]) * 21 + 9;
}

static __attribute__((noinline)) int step10(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[10]) * 23 + 10;
}

static __attribute__((noinline)) int step11(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[11]) * 25 + 11;
}

static __attribute__((noinline)) int step12(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[12]) * 27 + 12;
}

static __attribute__((noinline)) int step13(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[13]) * 29 + 13;
}

static __attribute__((noinline)) int step14(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[14]) * 31 + 14;
}

static __attribute__((noinline)) int step15(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[15]) * 33 + 15;
}

static __attribute__((noinline)) int step16(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[0]) * 35 + 16;
}

static __attribute__((noinline)) int step17(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[1]) * 37 + 17;
}

static __attribute__((noinline)) int step18(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[2]) * 39 + 18;
}

static __attribute__((noinline)) int step19(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[3]) * 41 + 19;
}

static __attribute__((noinline)) int step20(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[4]) * 43 + 20;
}

static __attribute__((noinline)) int step21(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[5]) * 45 + 21;
}

static __attribute__((noinline)) int step22(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[6]) * 47 + 22;
}

static __attribute__((noinline)) int step23(struct hdr *h, void *end, __u32 acc)
{
	if ((void *)(h + 1) > end)
		return -1;
	return (acc ^ h->b[7]) * 49 + 23;
}

SEC("xdp")
int subprogs(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct hdr *h = data;
	__u32 acc = 0;

	acc = step0(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step1(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step2(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step3(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step4(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step5(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step6(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step7(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step8(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step9(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step10(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step11(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step12(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step13(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step14(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step15(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step16(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step17(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step18(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step19(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step20(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step21(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step22(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	acc = step23(h, end, acc);
	if ((int)acc < 0)
		return XDP_ABORTED;
	return acc & 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
