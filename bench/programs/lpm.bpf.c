// The kernel's side of bench/lpm.js: the same 1M random IPv4 prefixes (/8../32, the same
// xorshift32 sequence) inserted into a kernel LPM trie, then the same random /32 lookups and
// a hot set of 1024 of them. Each program is run once with BPF_PROG_TEST_RUN; its duration is
// the figure, its return value a count to check against xdplab's.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define PREFIXES 1000000
#define LOOKUPS 1000000
#define HOT_KEYS 1024
#define HOT_LOOKUPS (4 * LOOKUPS)

struct lpm_key {
	__u32 prefixlen;
	__u32 addr; /* network order, as the data bytes of the key */
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, PREFIXES);
} trie SEC(".maps");

__u32 state;
__u32 hits;
__u32 hot[HOT_KEYS];

static __always_inline __u32 next(void)
{
	__u32 x = state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	state = x;
	return x;
}

static long insert_one(__u32 i, void *ctx)
{
	struct lpm_key key;
	__u32 value = i;

	key.prefixlen = 8 + next() % 25;
	key.addr = bpf_htonl(next());
	if (bpf_map_update_elem(&trie, &key, &value, BPF_ANY) == 0)
		hits++;
	return 0;
}

static long lookup_one(__u32 i, void *ctx)
{
	struct lpm_key key = { .prefixlen = 32, .addr = bpf_htonl(next()) };

	if (i < HOT_KEYS)
		hot[i] = key.addr;
	if (bpf_map_lookup_elem(&trie, &key))
		hits++;
	return 0;
}

static long lookup_hot(__u32 i, void *ctx)
{
	struct lpm_key key = { .prefixlen = 32 };

	key.addr = hot[i & (HOT_KEYS - 1)];
	if (bpf_map_lookup_elem(&trie, &key))
		hits++;
	return 0;
}

SEC("xdp")
int lpm_insert(struct xdp_md *ctx)
{
	state = 0x1badb002;
	hits = 0;
	bpf_loop(PREFIXES, insert_one, NULL, 0);
	return hits;
}

SEC("xdp")
int lpm_lookup(struct xdp_md *ctx)
{
	state = 0x5eed;
	hits = 0;
	bpf_loop(LOOKUPS, lookup_one, NULL, 0);
	return hits;
}

SEC("xdp")
int lpm_lookup_hot(struct xdp_md *ctx)
{
	hits = 0;
	bpf_loop(HOT_LOOKUPS, lookup_hot, NULL, 0);
	return hits;
}

char LICENSE[] SEC("license") = "GPL";
