/**
 * include/uapi/linux/if_ether.h (and the few if_vlan.h / if_arp.h / if_packet.h constants the
 * packet path needs), under their kernel names.
 */

/** Octets in one Ethernet address. */
export const ETH_ALEN = 6;
/** Bytes of an Ethernet header: two addresses and the EtherType. */
export const ETH_HLEN = 14;
/** Bytes of an 802.1Q tag (include/linux/if_vlan.h). */
export const VLAN_HLEN = 4;

/** EtherTypes (ETH_P_*): the protocol ids of an Ethernet frame and of skb->protocol. */
export const ETH_P_802_3 = 0x0001;
export const ETH_P_802_2 = 0x0004;
/** EtherTypes start here; a smaller value is an 802.3 length. */
export const ETH_P_802_3_MIN = 0x0600;
export const ETH_P_IP = 0x0800;
export const ETH_P_ARP = 0x0806;
export const ETH_P_RARP = 0x8035;
export const ETH_P_TEB = 0x6558;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_8021AD = 0x88a8;
export const ETH_P_QINQ1 = 0x9100;

/** include/uapi/linux/if_arp.h. */
export const ARPHRD_ETHER = 1;
export const ARPOP_REQUEST = 1;
export const ARPOP_REPLY = 2;

/** skb->pkt_type (include/uapi/linux/if_packet.h). */
export const PACKET_HOST = 0;
export const PACKET_BROADCAST = 1;
export const PACKET_MULTICAST = 2;
export const PACKET_OTHERHOST = 3;
