// SPDX-License-Identifier: GPL-2.0
// Hash map updates and lookups, the same work in xdplab and the kernel (bench/hash.js): a
// program runs bpf_loop over KEYS pseudo-random u32 keys (xorshift32) to insert them into a
// BPF_MAP_TYPE_HASH of u64 values, then over as many lookups (half of them keys it holds).
// Each program runs once; its duration per operation is the figure, its return value a count.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define KEYS 1000000
#define LOOKUPS 1000000

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, KEYS);
} table SEC(".maps");

__u32 state;
__u32 hits;

static __always_inline __u32 next(void)
{
	__u32 x = state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	state = x;
	return x;
}

static long update_one(__u32 i, void *ctx)
{
	__u32 key = next();
	__u64 value = i;

	if (bpf_map_update_elem(&table, &key, &value, BPF_ANY) == 0)
		hits++;
	return 0;
}

static long lookup_one(__u32 i, void *ctx)
{
	/* Even steps replay the insert sequence (present), odd ones draw new keys (mostly absent). */
	__u32 key = next();
	__u64 *value = bpf_map_lookup_elem(&table, &key);

	if (value)
		hits++;
	return 0;
}

SEC("xdp")
int hash_update(struct xdp_md *ctx)
{
	state = 0x1badb002;
	hits = 0;
	bpf_loop(KEYS, update_one, NULL, 0);
	return hits;
}

SEC("xdp")
int hash_lookup(struct xdp_md *ctx)
{
	state = 0x1badb002;
	hits = 0;
	bpf_loop(LOOKUPS / 2, lookup_one, NULL, 0);
	state = 0x5eed;
	bpf_loop(LOOKUPS / 2, lookup_one, NULL, 0);
	return hits;
}

char LICENSE[] SEC("license") = "GPL";
