// SPDX-License-Identifier: GPL-2.0
// An XDP filter that drops TCP packets to one port — twice: xdp_port_filter forgets to check
// that the TCP header is inside the packet (the kernel's verifier refuses it: try
// `xdplab verify examples/port-filter.bpf.o`), xdp_port_filter_fixed checks it.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* The port to drop; a loader may set it (xdplab: setGlobal, or `globals:` in a topology). */
const volatile __u16 blocked_port = 22;

static __always_inline struct iphdr *ipv4_of(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	return ip;
}

SEC("xdp")
int xdp_port_filter(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	struct tcphdr *tcp;

	if (!ip || ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	tcp = (void *)ip + ip->ihl * 4;
	return tcp->dest == bpf_htons(blocked_port) ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int xdp_port_filter_fixed(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *ip = ipv4_of(data, data_end);
	struct tcphdr *tcp;

	if (!ip || ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	tcp = (void *)ip + ip->ihl * 4;
	if ((void *)(tcp + 1) > data_end)
		return XDP_PASS;
	return tcp->dest == bpf_htons(blocked_port) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
