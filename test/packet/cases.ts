/** Packets the builder tests share: one of each kind the builder knows. */
import { arp, eth, icmp, icmpv6, ipv4, ipv6, padding, payload, tcp, udp, vlan, type Layer } from '../../src/packet/index.js';

export const MAC_A = '02:00:00:00:00:01';
export const MAC_B = '02:00:00:00:00:02';
const E = eth({ src: MAC_A, dst: MAC_B });

export const PACKETS: { name: string; layers: Layer[] }[] = [
  {
    name: 'VLAN, IPv4, TCP SYN, payload (the design example)',
    layers: [E, vlan({ vid: 10 }), ipv4({ src: '10.0.0.1', dst: '10.0.0.2', ttl: 64 }), tcp({ sport: 1234, dport: 80, flags: 'S' }), payload('hello')],
  },
  {
    name: 'IPv4 with options, UDP',
    layers: [E, ipv4({ src: '192.0.2.1', dst: '198.51.100.7', options: Uint8Array.of(1, 1, 1, 0, 0x94, 4, 0, 0), id: 0x1234, df: true, tos: 0xb8 }), udp({ sport: 4242, dport: 33333 }), payload('odd length!')],
  },
  {
    name: 'IPv6, UDP',
    layers: [E, ipv6({ src: '2001:db8::1', dst: '2001:db8::7', flowLabel: 0xabcde, trafficClass: 0x2e }), udp({ sport: 44444, dport: 33333 }), payload(new Uint8Array(33).fill(0x5a))],
  },
  {
    name: 'IPv6, TCP with options (MSS, SACK permitted, window scale)',
    layers: [
      E,
      ipv6({ src: 'fe80::1', dst: 'ff02::1:ff00:1', hopLimit: 255 }),
      tcp({ sport: 443, dport: 50000, seq: 0xdeadbeef, ack: 0x01020304, flags: 'SA', window: 29200, options: Uint8Array.of(2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7, 0, 0) }),
    ],
  },
  {
    name: 'TCP with every flag and data',
    layers: [E, ipv4({ src: '10.1.1.1', dst: '10.2.2.2' }), tcp({ sport: 1, dport: 65535, flags: 'FSRPAUEC', urgent: 7 }), payload('x'.repeat(1000))],
  },
  { name: 'ICMP echo request', layers: [E, ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }), icmp({ type: 8, id: 0x4242, seq: 1 }), payload('abcdefghijklmnopqrstuvwabcdefghi')] },
  { name: 'ICMPv6 echo reply', layers: [E, ipv6({ src: '2001:db8::2', dst: '2001:db8::1' }), icmpv6({ type: 129, id: 7, seq: 9 }), payload('ping')] },
  {
    name: 'QinQ (802.1ad outer, 802.1Q inner), IPv4, UDP',
    layers: [E, vlan({ vid: 100, tpid: 0x88a8, pcp: 5 }), vlan({ vid: 200, dei: 1 }), ipv4({ src: '172.16.0.1', dst: '172.16.0.2' }), udp({ sport: 1000, dport: 2000 }), payload('qinq')],
  },
  { name: 'ARP request', layers: [eth({ src: MAC_A, dst: 'ff:ff:ff:ff:ff:ff' }), arp({ op: 1, senderMac: MAC_A, senderIp: '10.0.0.1', targetIp: '10.0.0.2' }), padding(18)] },
  {
    name: 'IPv4 in IPv4, UDP inside',
    layers: [E, ipv4({ src: '203.0.113.1', dst: '203.0.113.2' }), ipv4({ src: '10.0.0.1', dst: '10.0.0.2', ttl: 3 }), udp({ sport: 33333, dport: 44444 }), payload('tunnelled')],
  },
  {
    name: 'IPv6 in IPv4 (6in4), TCP inside',
    layers: [E, ipv4({ src: '203.0.113.1', dst: '203.0.113.2' }), ipv6({ src: '2001:db8::a', dst: '2001:db8::b' }), tcp({ sport: 44444, dport: 40000, flags: 'PA' }), payload('ssh')],
  },
  {
    name: 'short UDP padded to 60 bytes',
    layers: [E, ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }), udp({ sport: 1, dport: 2 }), payload('hi'), padding(16)],
  },
];
