// SPDX-License-Identifier: GPL-2.0
// The replay benchmark's program (bench/replay.js): a small XDP firewall of the usual shape.
// It parses Ethernet, IPv4 and TCP or UDP ports; looks the source address up in an LPM trie of
// rules (a rule drops, or drops only traffic to one destination port); and counts packets and
// bytes per outcome in a per-CPU array. The same object runs in xdplab and in the kernel.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct v4_key {
	__u32 prefixlen;
	__u32 addr; /* network order */
};

struct rule {
	__u32 action; /* XDP_DROP or XDP_PASS */
	__u16 port;   /* destination port (host order) the rule is limited to; 0: every packet */
	__u16 pad;
};

struct counter {
	__u64 packets;
	__u64 bytes;
};

enum outcome {
	OUT_PASSED,
	OUT_DROPPED,
	OUT_NOT_IP,
	OUT_MALFORMED,
	OUT_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct v4_key);
	__type(value, struct rule);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
} rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct counter);
	__uint(max_entries, OUT_MAX);
} stats SEC(".maps");

static __always_inline int count(__u32 outcome, __u64 bytes, int verdict)
{
	struct counter *c = bpf_map_lookup_elem(&stats, &outcome);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
	return verdict;
}

SEC("xdp")
int xdp_fw(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 len = data_end - data;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct v4_key key;
	struct rule *rule;
	__u16 dport = 0;

	if ((void *)(eth + 1) > data_end)
		return count(OUT_MALFORMED, len, XDP_DROP);
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return count(OUT_NOT_IP, len, XDP_PASS);
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl < 5)
		return count(OUT_MALFORMED, len, XDP_DROP);

	if (ip->protocol == IPPROTO_TCP || ip->protocol == IPPROTO_UDP) {
		/* TCP and UDP both start with the source and destination ports. */
		__be16 *ports = (void *)ip + ip->ihl * 4;

		/* Keep clang from recomputing the pointer after the check (the verifier would not follow). */
		asm volatile("" : "+r"(ports));
		if ((void *)(ports + 2) > data_end)
			return count(OUT_MALFORMED, len, XDP_DROP);
		dport = bpf_ntohs(ports[1]);
	}

	key.prefixlen = 32;
	key.addr = ip->saddr;
	rule = bpf_map_lookup_elem(&rules, &key);
	if (rule && rule->action == XDP_DROP && (rule->port == 0 || rule->port == dport))
		return count(OUT_DROPPED, len, XDP_DROP);
	return count(OUT_PASSED, len, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
