// SPDX-License-Identifier: GPL-2.0
/*
 * The far end of the tc-nat-vlan scenario: "the Internet" as one XDP program on the
 * provider's router, which answers every packet by sending it back where it came from
 * (xdp-tutorial's packet-rewriting lesson, made into a reflector):
 *
 *   - Ethernet source and destination swapped; a VLAN tag stays as it is;
 *   - IPv4 / IPv6 source and destination swapped, TCP / UDP ports swapped: both are sums of
 *     the same 16-bit words before and after, so no checksum changes;
 *   - an ICMP echo request becomes an echo reply (ICMPv6: 128 -> 129), its checksum patched
 *     incrementally for the changed type (RFC 1624);
 *   - then XDP_TX, out of the interface it came in on.
 *
 * Other ICMP types and IP protocols are dropped; frames that are not IP (ARP) go to the
 * router's stack. The gateway's NAT therefore sees an answer for each packet it sent,
 * from the address it sent it to.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "../common/parsing.h"

#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY 129

/* The first 4 bytes of ICMP and ICMPv6: type, code, checksum. */
struct icmp_common {
	__u8 type;
	__u8 code;
	__sum16 checksum;
};

/* RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for one 16-bit word changing from m to m'. */
static __always_inline __u16 csum_replace2(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u16)~check + (__u16)~old + new;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* Turn an echo request into a reply in place; 0 if the packet was not an echo request. */
static __always_inline int echo_reply(struct icmp_common *icmp, __u8 request, __u8 reply)
{
	__u16 old, new;

	if (icmp->type != request)
		return 0;
	old = *(__u16 *)icmp;		/* type and code, as one checksummed word */
	icmp->type = reply;
	new = *(__u16 *)icmp;
	icmp->checksum = csum_replace2(icmp->checksum, old, new);
	return 1;
}

/* Swap the ports of a TCP or UDP header at l4; -1 if truncated or another protocol. */
static __always_inline int swap_ports(void *l4, void *data_end, __u8 proto)
{
	__be16 *ports = l4;	/* source and destination lead both headers */
	__be16 tmp;

	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return -1;
	if ((void *)(ports + 2) > data_end)
		return -1;
	tmp = ports[0];
	ports[0] = ports[1];
	ports[1] = tmp;
	return 0;
}

static __always_inline int reflect_ipv4(struct iphdr *iph, void *data_end)
{
	void *l4 = (void *)iph + iph->ihl * 4;
	__be32 tmp;

	if (iph->ihl < 5 || l4 > data_end)
		return XDP_DROP;
	if (iph->protocol == IPPROTO_ICMP) {
		if (l4 + sizeof(struct icmp_common) > data_end || !echo_reply(l4, ICMP_ECHO, ICMP_ECHOREPLY))
			return XDP_DROP;
	} else if (swap_ports(l4, data_end, iph->protocol) < 0) {
		return XDP_DROP;
	}
	tmp = iph->saddr;
	iph->saddr = iph->daddr;
	iph->daddr = tmp;
	return XDP_TX;
}

static __always_inline int reflect_ipv6(struct ipv6hdr *ip6h, void *data_end)
{
	void *l4 = ip6h + 1;
	struct in6_addr tmp;

	if (ip6h->nexthdr == IPPROTO_ICMPV6) {
		if (l4 + sizeof(struct icmp_common) > data_end ||
		    !echo_reply(l4, ICMPV6_ECHO_REQUEST, ICMPV6_ECHO_REPLY))
			return XDP_DROP;
	} else if (swap_ports(l4, data_end, ip6h->nexthdr) < 0) {
		return XDP_DROP;
	}
	tmp = ip6h->saddr;
	ip6h->saddr = ip6h->daddr;
	ip6h->daddr = tmp;
	return XDP_TX;
}

SEC("xdp")
int xdp_mirror(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	void *l3 = eth + 1;
	__u16 proto;
	__u8 mac[ETH_ALEN];
	int action;

	if (l3 > data_end)
		return XDP_DROP;
	proto = eth->h_proto;
	if (proto == bpf_htons(ETH_P_8021Q)) {
		struct vlan_hdr *vlh = l3;

		if ((void *)(vlh + 1) > data_end)
			return XDP_DROP;
		proto = vlh->h_vlan_encapsulated_proto;
		l3 = vlh + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		if (l3 + sizeof(struct iphdr) > data_end)
			return XDP_DROP;
		action = reflect_ipv4(l3, data_end);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		if (l3 + sizeof(struct ipv6hdr) > data_end)
			return XDP_DROP;
		action = reflect_ipv6(l3, data_end);
	} else {
		return XDP_PASS;
	}
	if (action != XDP_TX)
		return action;

	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
