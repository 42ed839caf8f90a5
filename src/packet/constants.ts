/** Protocol numbers under their kernel names (uapi if_ether.h, in.h, if_arp.h). */

/** Link types (LINKTYPE_* of pcap and pcapng): Ethernet frames, bare IPv4/IPv6 packets. */
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;

export const ETH_HLEN = 14;
export const VLAN_HLEN = 4;

export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
export const ETH_P_QINQ1 = 0x9100;
export const ETH_P_IPV6 = 0x86dd;

export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_IPIP = 4;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_GRE = 47;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;
export const IPPROTO_SCTP = 132;

export const ARPHRD_ETHER = 1;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;

/** TCP flag bits (the low byte of the flags field), and their letters as scapy writes them. */
export const TCP_FLAGS = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20, E: 0x40, C: 0x80 } as const;
