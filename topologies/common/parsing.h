/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Header parsing for the scenarios' programs, in the style of xdp-tutorial's
 * parsing_helpers.h: the headers and constants the uapi lacks (struct vlan_hdr, the ICMP
 * header, IP_MF / IP_OFFSET…), and a cursor that walks the packet, every step checking its
 * bounds against data_end (which the verifier demands) and returning the next protocol, or -1
 * when the header is truncated or inconsistent. Every scenario includes it.
 */
#ifndef TOPOLOGIES_PARSING_H
#define TOPOLOGIES_PARSING_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>

#define VLAN_MAX_DEPTH 2	/* 802.1ad + 802.1Q (QinQ) */
#define IPV6_EXT_MAX 4		/* extension headers skipped before giving up */

#ifndef IP_MF
#define IP_MF 0x2000
#endif
#ifndef IP_OFFSET
#define IP_OFFSET 0x1fff
#endif

/* skip_ip6hdrext's answers besides a next-header number. */
#define NEXTHDR_MALFORMED -1
#define NEXTHDR_LATER_FRAGMENT -2

struct hdr_cursor {
	void *pos;
};

/* Not in the uapi headers. */
struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

/*
 * <linux/icmp.h> pulls in libc's socket headers, which a BPF build cannot use: the ICMP
 * header and the types the firewall names, as RFC 792 defines them.
 */
struct icmp4hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be16 id;
	__be16 sequence;
};

#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12

struct ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;	/* offset << 3 | M */
	__be32 identification;
};

static __always_inline int proto_is_vlan(__u16 h_proto)
{
	return h_proto == bpf_htons(ETH_P_8021Q) || h_proto == bpf_htons(ETH_P_8021AD);
}

/* The Ethernet header and up to VLAN_MAX_DEPTH tags; returns the inner EtherType (network order). */
static __always_inline int parse_ethhdr(struct hdr_cursor *nh, void *data_end, struct ethhdr **ethhdr)
{
	struct ethhdr *eth = nh->pos;
	struct vlan_hdr *vlh;
	__u16 h_proto;
	int i;

	if ((void *)(eth + 1) > data_end)
		return -1;
	nh->pos = eth + 1;
	*ethhdr = eth;
	vlh = nh->pos;
	h_proto = eth->h_proto;

#pragma unroll
	for (i = 0; i < VLAN_MAX_DEPTH; i++) {
		if (!proto_is_vlan(h_proto))
			break;
		if ((void *)(vlh + 1) > data_end)
			return -1;
		h_proto = vlh->h_vlan_encapsulated_proto;
		vlh++;
	}
	nh->pos = vlh;
	return h_proto;
}

/* An IPv4 header with its options; returns the protocol. */
static __always_inline int parse_iphdr(struct hdr_cursor *nh, void *data_end, struct iphdr **iphdr)
{
	struct iphdr *iph = nh->pos;
	int hdrsize;

	if ((void *)(iph + 1) > data_end)
		return -1;
	if (iph->version != 4 || iph->ihl < 5)
		return -1;
	hdrsize = iph->ihl * 4;
	if (nh->pos + hdrsize > data_end)
		return -1;
	if (bpf_ntohs(iph->tot_len) < hdrsize)
		return -1;
	nh->pos += hdrsize;
	*iphdr = iph;
	return iph->protocol;
}

/* The fixed IPv6 header; returns its next header. */
static __always_inline int parse_ip6hdr(struct hdr_cursor *nh, void *data_end, struct ipv6hdr **ip6hdr)
{
	struct ipv6hdr *ip6h = nh->pos;

	if ((void *)(ip6h + 1) > data_end)
		return -1;
	if (ip6h->version != 6)
		return -1;
	nh->pos = ip6h + 1;
	*ip6hdr = ip6h;
	return ip6h->nexthdr;
}

/*
 * Skip the extension headers a firewall may step over (hop-by-hop, routing, destination
 * options, fragment, AH) to the upper-layer protocol. A fragment header with a non-zero
 * offset means the upper-layer header is in another packet.
 */
static __always_inline int skip_ip6hdrext(struct hdr_cursor *nh, void *data_end, __u8 next_hdr_type)
{
	int i;

#pragma unroll
	for (i = 0; i < IPV6_EXT_MAX; i++) {
		struct ipv6_opt_hdr *hdr = nh->pos;
		struct ipv6_frag_hdr *frag;

		switch (next_hdr_type) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
			if ((void *)(hdr + 1) > data_end)
				return NEXTHDR_MALFORMED;
			nh->pos = (void *)hdr + (hdr->hdrlen + 1) * 8;
			next_hdr_type = hdr->nexthdr;
			break;
		case IPPROTO_AH:
			if ((void *)(hdr + 1) > data_end)
				return NEXTHDR_MALFORMED;
			nh->pos = (void *)hdr + (hdr->hdrlen + 2) * 4;
			next_hdr_type = hdr->nexthdr;
			break;
		case IPPROTO_FRAGMENT:
			frag = nh->pos;
			if ((void *)(frag + 1) > data_end)
				return NEXTHDR_MALFORMED;
			if (frag->frag_off & bpf_htons(0xfff8))
				return NEXTHDR_LATER_FRAGMENT;
			nh->pos = frag + 1;
			next_hdr_type = frag->nexthdr;
			break;
		default:
			return next_hdr_type;	/* the upper-layer protocol */
		}
	}
	return NEXTHDR_MALFORMED;	/* a longer chain than we are willing to walk */
}

static __always_inline int parse_tcphdr(struct hdr_cursor *nh, void *data_end, struct tcphdr **tcphdr)
{
	struct tcphdr *h = nh->pos;
	int len;

	if ((void *)(h + 1) > data_end)
		return -1;
	len = h->doff * 4;
	if (len < (int)sizeof(*h))
		return -1;
	if (nh->pos + len > data_end)
		return -1;
	nh->pos += len;
	*tcphdr = h;
	return len;
}

static __always_inline int parse_udphdr(struct hdr_cursor *nh, void *data_end, struct udphdr **udphdr)
{
	struct udphdr *h = nh->pos;
	int len;

	if ((void *)(h + 1) > data_end)
		return -1;
	len = bpf_ntohs(h->len);
	if (len < (int)sizeof(*h))
		return -1;
	nh->pos = h + 1;
	*udphdr = h;
	return len;
}

#endif /* TOPOLOGIES_PARSING_H */
