// SPDX-License-Identifier: GPL-2.0
// A flow table of the usual shape (bench/programs.js): parse Ethernet, IPv4 and the TCP/UDP
// ports, look the 5-tuple up in a BPF_MAP_TYPE_HASH (16-byte keys: jhash2), count the packet
// in the flow's value. flow_update also records the source's last packet length in a second
// hash map (u32 keys, bpf_map_update_elem with BPF_ANY: a replacement every run after the first).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct flow_key {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u32 proto;
};

struct flow_stats {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow_key);
	__type(value, struct flow_stats);
	__uint(max_entries, 65536);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 65536);
} last_len SEC(".maps");

/* The packet's flow key; 0 when it is no IPv4 TCP/UDP packet. */
static __always_inline int parse(struct xdp_md *ctx, struct flow_key *key)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	__be16 *ports;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl < 5)
		return 0;
	if (ip->protocol != IPPROTO_TCP && ip->protocol != IPPROTO_UDP)
		return 0;
	ports = (void *)ip + ip->ihl * 4;
	asm volatile("" : "+r"(ports));
	if ((void *)(ports + 2) > data_end)
		return 0;
	key->saddr = ip->saddr;
	key->daddr = ip->daddr;
	key->sport = ports[0];
	key->dport = ports[1];
	key->proto = ip->protocol;
	return 1;
}

static __always_inline int count(struct xdp_md *ctx, struct flow_key *key)
{
	struct flow_stats *s = bpf_map_lookup_elem(&flows, key);

	if (!s)
		return XDP_DROP;
	s->packets++;
	s->bytes += ctx->data_end - ctx->data;
	return XDP_PASS;
}

SEC("xdp")
int flow_lookup(struct xdp_md *ctx)
{
	struct flow_key key = {};

	if (!parse(ctx, &key))
		return XDP_ABORTED;
	return count(ctx, &key);
}

SEC("xdp")
int flow_update(struct xdp_md *ctx)
{
	struct flow_key key = {};
	__u64 len = ctx->data_end - ctx->data;

	if (!parse(ctx, &key))
		return XDP_ABORTED;
	bpf_map_update_elem(&last_len, &key.saddr, &len, BPF_ANY);
	return count(ctx, &key);
}

char _license[] SEC("license") = "GPL";
