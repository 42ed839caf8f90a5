/**
 * Packet constants that are not the kernel's: pcap link types and TCP flag letters. The kernel's
 * (if_ether.h, in.h, if_arp.h) are in uapi/.
 */

/** Link types (LINKTYPE_* of pcap and pcapng): Ethernet frames, bare IPv4/IPv6 packets. */
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;

/** TCP flag bits (the low byte of the flags field), and their letters as scapy writes them. */
export const TCP_FLAGS = { F: 0x01, S: 0x02, R: 0x04, P: 0x08, A: 0x10, U: 0x20, E: 0x40, C: 0x80 } as const;
