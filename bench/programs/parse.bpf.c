// SPDX-License-Identifier: GPL-2.0
// Parse Ethernet, IPv4 (with options) and TCP, and check the ports against a few services:
// the bounds checks and loads of a stateless filter, no map.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_parse(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct tcphdr *tcp;
	__u16 dport, sport;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl < 5 || ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	if (ip->frag_off & bpf_htons(0x1fff))
		return XDP_PASS;
	tcp = (void *)ip + ip->ihl * 4;
	if ((void *)(tcp + 1) > data_end)
		return XDP_DROP;
	dport = bpf_ntohs(tcp->dest);
	sport = bpf_ntohs(tcp->source);
	if (dport == 22 || dport == 23 || dport == 3389)
		return XDP_DROP;
	if (sport < 1024 && dport >= 1024 && !tcp->syn)
		return XDP_PASS;
	if (dport == 80 || dport == 443 || (dport >= 8000 && dport <= 8099))
		return XDP_PASS;
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
