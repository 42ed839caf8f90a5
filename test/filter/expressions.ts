/**
 * The expressions the filter compiler is held to tcpdump on: every primitive, qualifier and
 * operator the compiler takes, and the corners where libpcap's semantics are particular
 * (later IPv4 fragments have no ports, `host` takes ARP, IPv6 checks the fixed header's next
 * header, `vlan` moves the offsets after it, a load past the end rejects even under `not`).
 */
export const EXPRESSIONS: readonly string[] = [
  '', 'tcp', 'udp', 'icmp', 'icmp6', 'sctp', 'ip', 'ip6', 'arp', 'rarp', 'igmp',
  'port 22', 'tcp port 22', 'udp port 53', 'src port 22', 'dst port 22 or 80', 'tcp dst port 22 and src net 10.0.0.0/8',
  'portrange 50-100', 'tcp portrange 8000-8100', 'udp src portrange 100-200', 'sctp port 3868', 'udp port domain', 'tcp port ssh or http',
  'src or dst port 123', 'src and dst port 123',
  'host 10.0.0.1', 'src host 10.0.0.1', 'dst host 10.0.0.2', 'host 10.0.0.1 or 10.0.0.2', 'src and dst net 10.0.0.0/24',
  'net 10.0.0.0 mask 255.255.255.0', 'net 192.168', 'net 10', 'ip host 10.0.0.1', 'arp host 10.0.0.2', 'rarp host 0.0.0.0',
  'ip6 host 2001:db8::1', 'net 2001:db8::/32', 'ip6 dst net ff00::/8', 'host ::1', 'src net fe80::/10',
  'ether host 02:00:00:00:00:0a', 'ether src 02:00:00:00:00:0a', 'ether dst ff:ff:ff:ff:ff:ff', 'ether broadcast', 'broadcast',
  'multicast', 'ip multicast', 'ip6 multicast', 'ip broadcast', 'ether src 2-0-0-0-0-b', 'ether dst 0200.0000.000b',
  'ether proto 0x88b5', 'ether proto \\arp', 'ether proto 0x42', 'ether proto 0x06', 'proto 17', 'ip proto \\udp', 'ip6 proto 6',
  'ip proto 89', 'proto \\sctp',
  'vlan', 'vlan 10', 'vlan 10 and tcp', 'vlan and vlan 10', 'vlan 100 and vlan 10 and tcp port 80', 'vlan and ip6', 'not vlan and tcp',
  'tcp or vlan', 'vlan and arp', 'vlan 20 and udp src port 53', 'vlan and icmp and ip[8] = 64',
  'tcp[tcpflags] & (tcp-syn|tcp-ack) != 0', 'tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack = 0', 'tcp[13] = 0x12',
  'tcp[tcpflags] & (tcp-ece|tcp-cwr) != 0', 'tcp[tcpflags] & tcp-urg != 0', 'tcp[tcpflags] & (tcp-fin|tcp-rst) != 0',
  'tcp[tcpflags] & tcp-push != 0',
  'icmp[icmptype] == icmp-echo', 'icmp[icmptype] != icmp-echo and icmp[icmptype] != icmp-echoreply', 'icmp[icmpcode] = 3',
  'icmp6[icmp6type] = icmp6-echo', 'icmp6[icmp6type] == icmp6-neighborsolicit or icmp6[0] = 134', 'icmp6 and ip6[40] = 135',
  'ip[8] < 64', 'ip[1] & 0xfc = 0xb8', 'ip[6:2] & 0x1fff != 0', 'ip[6] & 0x20 != 0', 'ether[0] & 1 = 1', 'ether[12:2] = 0x0800',
  'ip[0] & 0xf > 5', 'ip and ip[9] = 132', 'ip6[6] = 44',
  'len > 100', 'len <= 60', 'less 64', 'greater 200', 'len % 3 = 1', 'len - 14 >= 50', '-len + 100 > 0', 'greater 0',
  'ip[2:2] * 2 > 100', 'ip[2:2] / 4 = 10', 'ether[0] ^ ether[1] = 0', 'ip[0] >> 4 = 4', 'ip[0] << 28 = 0x50000000',
  'len & 1 = 0 or ether[5] | 0x10 = 0x1b', 'ether[ether[0] & 3] = 0', 'tcp[(tcp[12] & 0xf0) >> 2] = 0x47', 'udp[4:2] > 20',
  'udp[8] = 0x64', 'ether[0] / ether[1] = 0', 'ether[1] % ether[2] = 0', 'ether[0] << ether[13] = 0', 'ether[len - 1] = 0',
  'ether[len] = 0', 'ether[70000] = 1', 'ip[0xffffffff] = 1', 'tcp[1000] = 0', 'ip[40] = 0', 'not ip[40] = 0',
  'ether[12:4] & 0xffff0000 = 0x81000000', 'ip[12:4] = 0x0a000001',
  'not tcp', 'not ip and not arp', '!(tcp or udp)', 'tcp and not port 22', 'host 10.0.0.1 and (tcp or udp)',
  'host 10.0.0.1 and not (port 22 or 80)', 'tcp port 80 and not host 10.1.2.3 and 192.168.1.5', 'port 22 or udp and dst port 53',
  'ip && tcp || arp', 'host 10.0.0.1 and (10.0.0.2 or 10.1.2.3)', 'not not ip6',
];
