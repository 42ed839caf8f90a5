/**
 * The names pcap-filter(7) knows without a lookup: the numeric keywords of its lexer (TCP flags,
 * ICMP types and fields), and the few protocol, EtherType and service names this compiler
 * resolves itself (libpcap asks /etc/protocols and /etc/services; xdplab keeps the common ones
 * as data, so a filter means the same on every machine).
 */
import { ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, ETH_P_RARP } from '../uapi/if-ether.js';
import { IPPROTO_AH, IPPROTO_ESP, IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_IGMP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../uapi/in.js';

/** Keywords that stand for numbers in an arithmetic expression (libpcap's scanner.l). */
export const NUMBER_KEYWORDS: Readonly<Record<string, number>> = {
  tcpflags: 13, 'tcp-fin': 0x01, 'tcp-syn': 0x02, 'tcp-rst': 0x04, 'tcp-push': 0x08, 'tcp-ack': 0x10, 'tcp-urg': 0x20,
  'tcp-ece': 0x40, 'tcp-cwr': 0x80,
  icmptype: 0, icmpcode: 1, 'icmp-echoreply': 0, 'icmp-unreach': 3, 'icmp-sourcequench': 4, 'icmp-redirect': 5,
  'icmp-echo': 8, 'icmp-routeradvert': 9, 'icmp-routersolicit': 10, 'icmp-timxceed': 11, 'icmp-paramprob': 12,
  'icmp-tstamp': 13, 'icmp-tstampreply': 14, 'icmp-ireq': 15, 'icmp-ireqreply': 16, 'icmp-maskreq': 17, 'icmp-maskreply': 18,
  icmp6type: 0, icmp6code: 1, 'icmp6-destinationunreach': 1, 'icmp6-packettoobig': 2, 'icmp6-timeexceeded': 3,
  'icmp6-parameterproblem': 4, 'icmp6-echo': 128, 'icmp6-echoreply': 129, 'icmp6-multicastlistenerquery': 130,
  'icmp6-multicastlistenerreportv1': 131, 'icmp6-multicastlistenerdone': 132, 'icmp6-routersolicit': 133,
  'icmp6-routeradvert': 134, 'icmp6-neighborsolicit': 135, 'icmp6-neighboradvert': 136, 'icmp6-redirect': 137,
};

/** IP protocol names (`ip proto \tcp`, `proto udp`). */
export const IP_PROTOCOLS: Readonly<Record<string, number>> = {
  icmp: IPPROTO_ICMP, igmp: IPPROTO_IGMP, tcp: IPPROTO_TCP, udp: IPPROTO_UDP, gre: IPPROTO_GRE, esp: IPPROTO_ESP,
  ah: IPPROTO_AH, icmp6: IPPROTO_ICMPV6, 'ipv6-icmp': IPPROTO_ICMPV6, sctp: IPPROTO_SCTP,
};

/** EtherType names (`ether proto \arp`). */
export const ETHER_TYPES: Readonly<Record<string, number>> = {
  ip: ETH_P_IP, ip6: ETH_P_IPV6, arp: ETH_P_ARP, rarp: ETH_P_RARP,
};

/** Service names for `port` (the same number over TCP, UDP and SCTP, as these all are). */
export const SERVICES: Readonly<Record<string, number>> = {
  'ftp-data': 20, ftp: 21, ssh: 22, telnet: 23, smtp: 25, domain: 53, bootps: 67, bootpc: 68, tftp: 69, http: 80, www: 80,
  pop3: 110, ntp: 123, imap: 143, snmp: 161, bgp: 179, ldap: 389, https: 443, syslog: 514, imaps: 993, pop3s: 995,
  openvpn: 1194, mysql: 3306, postgresql: 5432,
};

/** Every keyword of the language (libpcap's scanner.l) this compiler knows, numeric ones aside. */
export const KEYWORDS = new Set([
  'dst', 'src', 'host', 'net', 'mask', 'port', 'portrange', 'less', 'greater', 'proto', 'protochain',
  'ether', 'link', 'ip', 'ip6', 'arp', 'rarp', 'tcp', 'udp', 'icmp', 'icmp6', 'sctp', 'igmp',
  'broadcast', 'multicast', 'and', 'or', 'not', 'len', 'vlan', 'gateway', 'inbound', 'outbound',
  'mpls', 'pppoed', 'pppoes', 'geneve', 'igrp', 'pim', 'vrrp', 'carp', 'ah', 'esp', 'decnet', 'atalk', 'aarp', 'lat',
  'sca', 'moprc', 'mopdl', 'iso', 'esis', 'isis', 'clnp', 'stp', 'ipx', 'netbeui', 'fddi', 'tr', 'wlan', 'ppp', 'slip',
  'radio', 'ifname', 'on', 'rnr', 'rulenum', 'reason', 'rset', 'ruleset', 'srnr', 'subrulenum', 'action', 'type', 'subtype',
  'dir', 'addr1', 'addr2', 'addr3', 'addr4', 'ra', 'ta', 'llc', 'lane', 'oam', 'oamf4', 'vpi', 'vci', 'metac', 'bcc',
  'sc', 'ilmic', 'connectmsg', 'metaconnect', 'fisu', 'lssu', 'msu', 'sio', 'opc', 'dpc', 'sls', 'byte', 'ipv6',
]);
