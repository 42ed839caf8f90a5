/**
 * The captures the filter compiler is held to tcpdump on: frames laid out with the repo's
 * packet builder, deterministic, one capture per kind of traffic (IPv4, IPv6, VLAN, IPv4
 * fragments, ARP/RARP, odd frames: 802.3 LLC, truncated headers, Ethernet broadcast and
 * multicast). The recorded answers (test/fixtures/filter/answers.json) are per packet index
 * of these lists: change a list and record again.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { arp, buildPacket, eth, icmp, icmpv6, ipv4, ipv6, padding, payload, tcp, udp, vlan, type Layer } from '../../src/packet/index.js';
import { createCaptureWriter } from '../../src/pcap/writer.js';
import { FIRST_SECOND } from './run.js';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const E = (dst = B, src = A, type?: number): Layer => eth({ dst, src, type });
const be16 = (v: number): number[] => [v >> 8, v & 0xff];

/** An SCTP common header and a DATA chunk's first bytes (no builder layer for SCTP). */
const sctp = (sport: number, dport: number): Layer => payload([...be16(sport), ...be16(dport), 0, 0, 0, 1, 0, 0, 0, 0, 0, 3, 0, 16, 0, 0, 0, 0]);
/** A raw TCP header (ports, flags) as bytes, for where the builder's layer cannot go (after an IPv6 extension header). */
const rawTcp = (sport: number, dport: number, flags: number): number[] => [...be16(sport), ...be16(dport), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0];

const v4 = (src: string, dst: string, l4: Layer[], extra: Partial<Parameters<typeof ipv4>[0]> = {}): Uint8Array =>
  buildPacket([E(), ipv4({ src, dst, ...extra }), ...l4]);
const v6 = (src: string, dst: string, l4: Layer[], nextHeader?: number): Uint8Array =>
  buildPacket([E(), ipv6({ src, dst, nextHeader }), ...l4]);

function ipv4Capture(): Uint8Array[] {
  return [
    v4('10.0.0.1', '10.0.0.2', [tcp({ sport: 40000, dport: 22, flags: 'S' })]),
    v4('10.0.0.2', '10.0.0.1', [tcp({ sport: 22, dport: 40000, flags: 'SA' })]),
    v4('10.0.0.1', '10.0.0.2', [tcp({ sport: 40000, dport: 22, flags: 'A' }), payload('ssh')]),
    v4('192.168.1.5', '10.1.2.3', [tcp({ sport: 5555, dport: 80, flags: 'PA' }), payload('GET / HTTP/1.1\r\n')]),
    v4('10.1.2.3', '192.168.1.5', [tcp({ sport: 80, dport: 5555, flags: 'FA' })]),
    v4('172.16.0.9', '10.0.0.2', [tcp({ sport: 1234, dport: 443, flags: 'R' })]),
    v4('172.16.0.9', '10.0.0.2', [tcp({ sport: 1234, dport: 8080, flags: 'SEC' })]),
    v4('10.0.0.7', '8.8.8.8', [udp({ sport: 33333, dport: 53 }), payload('dns?')]),
    v4('8.8.8.8', '10.0.0.7', [udp({ sport: 53, dport: 33333 }), payload('dns!')]),
    v4('10.0.0.7', '10.0.0.8', [udp({ sport: 123, dport: 123 }), payload(new Uint8Array(48))]),
    v4('10.0.0.1', '10.0.0.2', [icmp({ type: 8, id: 7, seq: 1 }), payload('ping')]),
    v4('10.0.0.2', '10.0.0.1', [icmp({ type: 0, id: 7, seq: 1 }), payload('ping')]),
    v4('10.0.0.254', '10.0.0.1', [icmp({ type: 3, code: 3 }), payload(new Uint8Array(28))]),
    v4('10.0.0.1', '10.0.0.2', [sctp(3868, 3868)], { protocol: 132 }),
    v4('10.0.0.3', '224.0.0.5', [payload(new Uint8Array(24))], { protocol: 89, ttl: 1 }),
    v4('10.0.0.3', '255.255.255.255', [udp({ sport: 68, dport: 67 }), payload(new Uint8Array(32))]),
    v4('10.0.0.1', '10.0.0.2', [tcp({ sport: 2000, dport: 25, flags: 'U' })], { options: new Uint8Array([1, 1, 1, 0]) }),
    v4('10.0.0.1', '10.0.0.9', [tcp({ sport: 9000, dport: 9001, flags: 'PA' }), payload('x')], { ttl: 3, tos: 0xb8 }),
    v4('0.0.0.0', '10.0.0.2', [payload(new Uint8Array(8))], { protocol: 2 }),
    buildPacket([E('ff:ff:ff:ff:ff:ff'), ipv4({ src: '10.0.0.4', dst: '10.0.0.255' }), udp({ sport: 137, dport: 137 }), payload(new Uint8Array(20))]),
  ];
}

function ipv6Capture(): Uint8Array[] {
  const a = '2001:db8::1';
  const b = '2001:db8::2';
  return [
    v6(a, b, [tcp({ sport: 40000, dport: 22, flags: 'S' })]),
    v6(b, a, [tcp({ sport: 22, dport: 40000, flags: 'SA' })]),
    v6(a, '2001:db8:1::80', [tcp({ sport: 5000, dport: 80, flags: 'PA' }), payload('GET')]),
    v6(a, b, [udp({ sport: 5353, dport: 53 }), payload('q')]),
    v6('fe80::1', 'ff02::1', [icmpv6({ type: 134 }), payload(new Uint8Array(12))]),
    v6(a, b, [icmpv6({ type: 128, id: 1, seq: 1 }), payload('ping')]),
    v6(b, a, [icmpv6({ type: 129, id: 1, seq: 1 }), payload('ping')]),
    v6('fe80::2', 'ff02::1:ff00:1', [icmpv6({ type: 135 }), payload(new Uint8Array(20))]),
    v6(a, b, [sctp(5060, 5061)], 132),
    // A fragment header (44) before TCP: libpcap's `tcp` looks one header further; `port` does not.
    v6(a, b, [payload([6, 0, 0, 1, 0, 0, 0, 9, ...rawTcp(1111, 22, 0x02)])], 44),
    // Hop-by-hop options (0) before UDP: libpcap looks at the fixed header's next header only.
    v6(a, b, [payload([17, 0, 1, 4, 0, 0, 0, 0, ...be16(7777), ...be16(53), 0, 8, 0, 0])], 0),
    v6('::1', '::1', [udp({ sport: 1, dport: 2 })]),
  ];
}

function vlanCapture(): Uint8Array[] {
  return [
    buildPacket([E(), vlan({ vid: 10 }), ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }), tcp({ sport: 1000, dport: 22, flags: 'S' })]),
    buildPacket([E(), vlan({ vid: 20, pcp: 5 }), ipv4({ src: '10.0.0.3', dst: '10.0.0.4' }), udp({ sport: 53, dport: 999 })]),
    buildPacket([E(), vlan({ vid: 100, tpid: 0x88a8 }), vlan({ vid: 10 }), ipv4({ src: '10.9.0.1', dst: '10.9.0.2' }), tcp({ sport: 80, dport: 1234, flags: 'A' })]),
    buildPacket([E(), vlan({ vid: 30 }), ipv6({ src: '2001:db8::1', dst: '2001:db8::2' }), tcp({ sport: 443, dport: 5555, flags: 'SA' })]),
    buildPacket([E('ff:ff:ff:ff:ff:ff'), vlan({ vid: 10 }), arp({ op: 1, senderMac: A, senderIp: '10.0.0.1', targetIp: '10.0.0.2' })]),
    buildPacket([E(), ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }), tcp({ sport: 1000, dport: 22, flags: 'S' })]),
    buildPacket([E(), vlan({ vid: 4095, tpid: 0x9100 }), ipv4({ src: '10.0.0.5', dst: '10.0.0.6' }), icmp({ type: 8 })]),
    buildPacket([E(), vlan({ vid: 10 }), ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }), icmp({ type: 8 }), padding(10)]),
  ];
}

function fragmentCapture(): Uint8Array[] {
  const data = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);
  return [
    // First fragment (MF, offset 0): the TCP header is there.
    v4('10.0.0.1', '10.0.0.2', [tcp({ sport: 1234, dport: 22, flags: 'PA' }), payload(data(32))], { mf: true, id: 9 }),
    // A later fragment whose bytes look like ports 22 → 22.
    v4('10.0.0.1', '10.0.0.2', [payload([0, 22, 0, 22, ...data(28)])], { fragOffset: 7, id: 9, protocol: 6 }),
    // Last fragment of UDP.
    v4('10.0.0.5', '10.0.0.6', [payload([0, 53, 0, 53, ...data(12)])], { fragOffset: 100, id: 10, protocol: 17 }),
    v4('10.0.0.5', '10.0.0.6', [udp({ sport: 53, dport: 4444 }), payload(data(16))], { df: true }),
    v4('10.0.0.5', '10.0.0.6', [icmp({ type: 8 }), payload(data(40))], { mf: true, id: 11 }),
    v4('10.0.0.5', '10.0.0.6', [payload(data(40))], { fragOffset: 6, id: 11, protocol: 1 }),
  ];
}

function arpCapture(): Uint8Array[] {
  return [
    buildPacket([E('ff:ff:ff:ff:ff:ff'), arp({ op: 1, senderMac: A, senderIp: '10.0.0.1', targetIp: '10.0.0.2' })]),
    buildPacket([E(A, B), arp({ op: 2, senderMac: B, senderIp: '10.0.0.2', targetMac: A, targetIp: '10.0.0.1' })]),
    buildPacket([E('ff:ff:ff:ff:ff:ff', A, 0x8035), arp({ op: 3, senderMac: A, senderIp: '0.0.0.0', targetMac: A, targetIp: '0.0.0.0' })]),
    buildPacket([E('ff:ff:ff:ff:ff:ff'), arp({ op: 1, senderMac: B, senderIp: '192.168.7.1', targetIp: '192.168.7.200' })]),
    v4('10.0.0.1', '10.0.0.2', [udp({ sport: 1, dport: 2 })]),
  ];
}

function miscCapture(): Uint8Array[] {
  return [
    // 802.3 with LLC (DSAP/SSAP 0x42: spanning tree).
    buildPacket([eth({ dst: '01:80:c2:00:00:00', src: A, type: 38 }), payload([0x42, 0x42, 0x03, ...new Array<number>(35).fill(0)])]),
    // 802.3, LLC for IP (0x06 0x06).
    buildPacket([eth({ dst: B, src: A, type: 46 }), payload([0x06, 0x06, 0x03, ...new Array<number>(43).fill(0)])]),
    // An unknown EtherType.
    buildPacket([eth({ dst: B, src: A, type: 0x88b5 }), payload(new Uint8Array(46))]),
    // Ethernet multicast, IPv4 multicast.
    buildPacket([E('01:00:5e:00:00:fb'), ipv4({ src: '10.0.0.9', dst: '224.0.0.251' }), udp({ sport: 5353, dport: 5353 })]),
    // IPv4 EtherType but only 10 bytes of header: loads past the end reject.
    buildPacket([E(B, A, 0x0800), payload(new Uint8Array([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 6]))]),
    // IPv4 + TCP cut after the ports.
    v4('10.0.0.1', '10.0.0.2', [tcp({ sport: 5000, dport: 80, flags: 'S' })]).slice(0, 38),
    // A bare Ethernet header.
    buildPacket([eth({ dst: B, src: A, type: 0x0800 })]),
    // Jumbo-ish: a long UDP datagram.
    v4('10.0.0.1', '10.0.0.2', [udp({ sport: 9, dport: 9 }), payload(new Uint8Array(1400))]),
  ];
}

/** Frames cut short inside a header a filter may read: where libpcap's optimizer (which moves and drops loads) may answer otherwise than its unoptimized code. */
export const TRUNCATED: Readonly<Record<string, readonly number[]>> = { misc: [4, 5, 6] };

export const CAPTURES: Readonly<Record<string, () => Uint8Array[]>> = {
  ipv4: ipv4Capture, ipv6: ipv6Capture, vlan: vlanCapture, fragments: fragmentCapture, arp: arpCapture, misc: miscCapture,
};

/** Each capture written as a pcap into a fresh temporary directory: name → file. */
export async function writeCaptures(): Promise<Record<string, string>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-filter-'));
  const files: Record<string, string> = {};
  for (const [name, make] of Object.entries(CAPTURES)) {
    const file = path.join(dir, `${name}.pcap`);
    const w = createCaptureWriter(file, { format: 'pcap' });
    make().forEach((p, i) => w.write(p, FIRST_SECOND + i, 0));
    await w.close();
    files[name] = file;
  }
  return files;
}
