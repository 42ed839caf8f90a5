#!/usr/bin/env node
/**
 * Generate the captures the shipped scenarios replay: pcaps/<scenario>.pcapng, one for each
 * of topologies/{edge-firewall,l3-router,l4-lb,tc-nat-vlan}.
 *
 *   npm run build && node scripts/gen-pcaps.mjs [scenario ...]
 *
 * Deterministic: fixed addresses, ports and sequence numbers, timestamps from a fixed epoch
 * (2024-01-01T00:00:00Z) 1 ms apart unless a scenario says otherwise, and flows interleaved
 * by a PRNG with a fixed seed — the same bytes on every run, on every machine.
 *
 * Every packet carries a pcapng comment whose first line starts with what the scenario's
 * program is expected to do with it (the reason it is counted under, e.g.
 * `FW_DROP_BLOCKLIST_V4`), then a short description; test/topologies/*.test.ts replays the
 * captures through the programs and holds them to these labels. The next lines are the same
 * expectations in the words xdplab checks (docs/topology.md, "Expectations"): `expect:
 * XDP_DROP`, the program's verdict (`xdplab replay … --expect`; none where the program never
 * sees the packet), and `expect: dropped edge/wan0 xdp`, what the scenario's network does with
 * it (`xdplab run … --expect`).
 *
 * The frames are built here byte by byte (checksums included) because half of them are
 * deliberately broken in ways a packet builder refuses to make: truncated headers, bad IHL,
 * inconsistent lengths, fragments, over-long extension header chains.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { internetChecksum, onesSum, parseIpv4, parseIpv6, parseMac } from '../dist/packet/index.js';
import { createCaptureWriter } from '../dist/pcap/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const EPOCH_SEC = 1704067200; // 2024-01-01T00:00:00Z

// ---- bytes -------------------------------------------------------------------------------

const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const u16 = (v) => Uint8Array.of((v >> 8) & 0xff, v & 0xff);
const u32 = (v) => Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
const fill = (n, byte) => new Uint8Array(n).fill(byte);
const text = (s) => new TextEncoder().encode(s);

// Addresses and checksums: src/packet's (built into dist/ by `npm run build`).
export const mac = parseMac;
export const ip4 = parseIpv4;
export const ip6 = parseIpv6;

/** RFC 1071: the one's complement of the one's complement sum (plus `initial`), ready to store. */
const checksum = (bytes, initial = 0) => internetChecksum(bytes, 0, bytes.length, initial);

/** The TCP/UDP/ICMPv6 pseudo-header's sum (RFC 793, RFC 768, RFC 8200 §8.1). */
function pseudoSum(src, dst, proto, length) {
  const ph = src.length === 4 ? concat(src, dst, Uint8Array.of(0, proto), u16(length)) : concat(src, dst, u32(length), Uint8Array.of(0, 0, 0, proto));
  return onesSum(ph, 0, ph.length);
}

// ---- headers -----------------------------------------------------------------------------

const ETH_P = { IP: 0x0800, ARP: 0x0806, IPV6: 0x86dd, VLAN: 0x8100, QINQ: 0x88a8, LLDP: 0x88cc };
const PROTO = { ICMP: 1, TCP: 6, UDP: 17, GRE: 47, ESP: 50, ICMPV6: 58, NONE: 59, SCTP: 132, HOPOPTS: 0, DSTOPTS: 60, FRAGMENT: 44 };
export const TCP = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 };

/** An Ethernet frame; `vlans` are TCIs, outermost first (802.1ad outer when two). */
function ether(o, type, payload) {
  const tags = (o.vlans ?? []).map((tci, i, all) => concat(u16(all.length > 1 && i === 0 ? ETH_P.QINQ : ETH_P.VLAN), u16(tci)));
  return concat(mac(o.dst), mac(o.src), ...tags, u16(type), payload);
}

/** A TCP segment (20-byte header, no options) with its checksum. */
function tcpSegment(src, dst, o) {
  const payload = o.payload ?? new Uint8Array(0);
  const h = concat(u16(o.sport), u16(o.dport), u32(o.seq ?? 1000), u32(o.ack ?? 0), Uint8Array.of((o.doff ?? 5) << 4, o.flags ?? TCP.ACK), u16(o.window ?? 64240), u16(0), u16(0));
  const seg = concat(h, payload);
  seg.set(u16(checksum(seg, pseudoSum(src, dst, PROTO.TCP, seg.length))), 16);
  return seg;
}

/** A UDP datagram; `zeroCsum` leaves the (IPv4-optional) checksum 0. */
function udpDatagram(src, dst, o) {
  const payload = o.payload ?? fill(16, 0x5a);
  const d = concat(u16(o.sport), u16(o.dport), u16(o.len ?? 8 + payload.length), u16(0), payload);
  if (!o.zeroCsum) {
    let c = checksum(d, pseudoSum(src, dst, PROTO.UDP, d.length));
    if (c === 0) c = 0xffff;
    d.set(u16(c), 6);
  }
  return d;
}

/** ICMP (v4): type, code, then id/sequence (echo) or 4 bytes of "rest of header". */
function icmpMessage(o) {
  const m = concat(Uint8Array.of(o.type, o.code ?? 0), u16(0), u16(o.id ?? 0), u16(o.seq ?? 0), o.payload ?? fill(32, 0x61));
  m.set(u16(checksum(m)), 2);
  return m;
}

/** ICMPv6, whose checksum covers the pseudo-header. */
function icmp6Message(src, dst, o) {
  const m = concat(Uint8Array.of(o.type, o.code ?? 0), u16(0), u16(o.id ?? 0), u16(o.seq ?? 0), o.payload ?? fill(32, 0x62));
  m.set(u16(checksum(m, pseudoSum(src, dst, PROTO.ICMPV6, m.length))), 2);
  return m;
}

/** An IPv4 header + payload. `frag` is the flags/offset word; `totLen` / `ihl` override for broken packets. */
function ipv4Packet(o, proto, payload) {
  const opts = o.options ?? new Uint8Array(0);
  const ihl = o.ihl ?? 5 + opts.length / 4;
  const h = concat(
    Uint8Array.of(((o.version ?? 4) << 4) | (ihl & 0xf), o.tos ?? 0), u16(o.totLen ?? 20 + opts.length + payload.length),
    u16(o.id ?? 0x1000), u16(o.frag ?? 0x4000), Uint8Array.of(o.ttl ?? 64, proto), u16(0), ip4(o.srcIp), ip4(o.dstIp), opts,
  );
  h.set(u16(checksum(h)), 10);
  return concat(h, payload);
}

function ipv6Packet(o, nextHeader, payload) {
  const h = concat(u32((6 << 28) | ((o.tc ?? 0) << 20) | (o.flow ?? 0)), u16(o.payloadLen ?? payload.length), Uint8Array.of(nextHeader, o.hop ?? 64), ip6(o.srcIp), ip6(o.dstIp));
  return concat(h, payload);
}

// Frame makers: o = { src, dst (MACs), vlans?, srcIp, dstIp, ttl?, ... , sport, dport, flags ... }
export const tcp4 = (o) => ether(o, ETH_P.IP, ipv4Packet(o, PROTO.TCP, tcpSegment(ip4(o.srcIp), ip4(o.dstIp), o)));
export const udp4 = (o) => ether(o, ETH_P.IP, ipv4Packet(o, PROTO.UDP, udpDatagram(ip4(o.srcIp), ip4(o.dstIp), o)));
export const icmp4 = (o) => ether(o, ETH_P.IP, ipv4Packet(o, PROTO.ICMP, icmpMessage(o)));
export const raw4 = (o, proto, payload) => ether(o, ETH_P.IP, ipv4Packet(o, proto, payload));
export const tcp6 = (o) => ether(o, ETH_P.IPV6, ipv6Packet(o, PROTO.TCP, tcpSegment(ip6(o.srcIp), ip6(o.dstIp), o)));
export const udp6 = (o) => ether(o, ETH_P.IPV6, ipv6Packet(o, PROTO.UDP, udpDatagram(ip6(o.srcIp), ip6(o.dstIp), o)));
export const icmp6 = (o) => ether(o, ETH_P.IPV6, ipv6Packet(o, PROTO.ICMPV6, icmp6Message(ip6(o.srcIp), ip6(o.dstIp), o)));
export const raw6 = (o, nextHeader, payload) => ether(o, ETH_P.IPV6, ipv6Packet(o, nextHeader, payload));

/** An ARP request (who-has `targetIp` tell `senderIp`), broadcast. */
function arpRequest(o) {
  const body = concat(u16(1), u16(ETH_P.IP), Uint8Array.of(6, 4), u16(1), mac(o.src), ip4(o.senderIp), fill(6, 0), ip4(o.targetIp));
  return ether({ ...o, dst: 'ff:ff:ff:ff:ff:ff' }, ETH_P.ARP, concat(body, fill(18, 0)));
}

/** An LLDP frame (chassis id, port id, TTL, end), to the nearest-bridge group address. */
function lldp(o) {
  const tlv = (type, value) => concat(u16((type << 9) | value.length), value);
  const body = concat(tlv(1, concat(Uint8Array.of(4), mac(o.src))), tlv(2, concat(Uint8Array.of(7), text('uplink1'))), tlv(3, u16(120)), tlv(0, new Uint8Array(0)));
  return ether({ ...o, dst: '01:80:c2:00:00:0e' }, ETH_P.LLDP, body);
}

// ---- capture assembly --------------------------------------------------------------------

/** mulberry32: a small PRNG, seeded, for interleaving flows the same way every time. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Interleave flows (each an ordered list of packets) at random but keeping each flow's own
 * order: at every step one flow with packets left is picked, weighted by how many it has.
 */
function interleave(flows, seed) {
  const rand = prng(seed);
  const queues = flows.filter((f) => f.length > 0).map((f) => [...f]);
  const out = [];
  let left = queues.reduce((n, q) => n + q.length, 0);
  while (left > 0) {
    let pick = Math.floor(rand() * left);
    const q = queues.find((x) => (pick -= x.length) < 0);
    out.push(q.shift());
    left--;
  }
  return out;
}

/** A packet: its frame and the comment "<EXPECTED> | <description>". */
const pkt = (expect, what, frame) => ({ comment: `${expect} | ${what}`, frame });

/** The frame's EtherType after any VLAN tags, and where its network header starts. */
function l3Of(frame) {
  let at = 12;
  let tagged = false;
  while (at + 4 <= frame.length && (((frame[at] << 8) | frame[at + 1]) === ETH_P.VLAN || ((frame[at] << 8) | frame[at + 1]) === ETH_P.QINQ)) {
    at += 4;
    tagged = true;
  }
  return { type: at + 2 <= frame.length ? (frame[at] << 8) | frame[at + 1] : 0, off: at + 2, tagged };
}

/** Whether the frame is IP (untagged) to one of `addresses` (text). */
function untaggedTo(frame, ...addresses) {
  const { type, off, tagged } = l3Of(frame);
  if (tagged) return false;
  const [at, n] = type === ETH_P.IP ? [off + 16, 4] : type === ETH_P.IPV6 ? [off + 24, 16] : [0, 0];
  if (n === 0 || frame.length < at + n) return false;
  const dst = frame.subarray(at, at + n);
  return addresses.some((a) => {
    const b = a.includes(':') ? ip6(a) : ip4(a);
    return b.length === n && b.every((x, i) => x === dst[i]);
  });
}

/** Whether the frame is IP from `address` (text). */
function from(frame, address) {
  const { type, off } = l3Of(frame);
  const [at, n] = type === ETH_P.IP ? [off + 12, 4] : type === ETH_P.IPV6 ? [off + 8, 16] : [0, 0];
  const b = address.includes(':') ? ip6(address) : ip4(address);
  return n === b.length && frame.length >= at + n && b.every((x, i) => x === frame[at + i]);
}

/**
 * Each scenario's expectations in xdplab's words, from a packet's label, description and
 * frame: [the program's verdict or undefined, what the network does with it].
 */
const EXPECT = {
  'edge-firewall': (label, _what, frame) => {
    if (label.startsWith('FW_DROP')) return ['XDP_DROP', 'dropped edge/wan0 xdp'];
    return ['XDP_PASS', untaggedTo(frame, '192.168.1.10', '2001:db8:1::10') ? 'delivered server/eth0' : 'delivered edge/wan0'];
  },
  'l3-router': (label, what, frame) => {
    if (label.startsWith('RT_DROP')) return ['XDP_DROP', 'dropped r1/eth1 xdp'];
    if (label.startsWith('RT_FORWARD')) {
      return untaggedTo(frame, '10.2.0.10', '2001:db8:2::10')
        ? ['XDP_REDIRECT ifindex 3', 'sent r1/eth2, delivered b/eth0']
        : ['XDP_REDIRECT ifindex 4', 'sent r1/eth3, delivered isp/eth0'];
    }
    const net = {
      RT_PASS_LOCAL: what.includes('no route') ? 'dropped r1/eth1 stack' : 'delivered r1/eth1',
      RT_PASS_NOT_IP: 'delivered r1/eth1',
      RT_PASS_NO_TX_PORT: 'sent r1/eth4, delivered mgmt/eth0',
    }[label] ?? 'dropped r1/eth1 stack';
    return ['XDP_PASS', net];
  },
  'l4-lb': (label) => {
    if (label.startsWith('LB_DROP')) return ['XDP_DROP', 'dropped lb/eth0 xdp'];
    // Sent back out of eth0, encapsulated, to the backend Maglev picks (test/topologies/l4-lb.test.ts checks which).
    if (label.startsWith('LB_TX')) return ['XDP_TX', 'sent lb/eth0'];
    return ['XDP_PASS', 'delivered lb/eth0'];
  },
  'tc-nat-vlan': (label, _what, frame) => {
    const [egress, ingress] = label.split(',');
    if (label === 'STACK_LOCAL') return [undefined, 'delivered gw/lan0'];
    if (label === 'STACK_TTL_EXCEEDED') return [undefined, 'dropped gw/lan0 stack'];
    if (egress.startsWith('EG_DROP')) return ['TC_ACT_SHOT', 'dropped gw/wan0 tc-egress'];
    if (ingress === 'IN_DROP_RATE') return ['TC_ACT_OK', 'sent gw/wan0, dropped gw/wan0 tc-ingress'];
    const pc = from(frame, '10.0.0.20') ? 'pc2' : 'pc1';
    return ['TC_ACT_OK', `sent gw/wan0, delivered ${pc}/eth0`];
  },
};

/** The comment with its expectation lines: `expect: <verdict>` and `expect: <outcomes>`. */
function withExpectations(name, p) {
  const [labels, what] = p.comment.split(' | ');
  const [verdict, net] = EXPECT[name](labels, what, p.frame);
  const lines = [p.comment];
  if (verdict) lines.push(`expect: ${verdict}`);
  lines.push(`expect: ${net}`);
  return lines.join('\n');
}

async function write(name, packets, spacingNs = () => 1_000_000) {
  const dir = path.join(ROOT, 'pcaps');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.pcapng`);
  const writer = createCaptureWriter(file, { format: 'pcapng' });
  let ns = 0;
  packets.forEach((p, i) => {
    if (i > 0) ns += spacingNs(i, p);
    writer.write(p.frame, EPOCH_SEC + Math.floor(ns / 1e9), ns % 1e9, withExpectations(name, p));
  });
  await writer.close();
  const counts = new Map();
  for (const p of packets) for (const label of p.comment.split(' | ')[0].split(',')) counts.set(label, (counts.get(label) ?? 0) + 1);
  console.log(`${path.relative(ROOT, file)}: ${packets.length} packets`);
  for (const [label, n] of [...counts].sort()) console.log(`  ${String(n).padStart(5)}  ${label}`);
}

/** A TCP connection's packets, client side: handshake, `data` segments, close. */
function tcpConversation(base, data = 1) {
  const seq0 = 1000 + ((base.sport * 7919) % 100000);
  const out = [{ ...base, flags: TCP.SYN, seq: seq0 }, { ...base, flags: TCP.ACK, seq: seq0 + 1, ack: 5001 }];
  for (let i = 0; i < data; i++) out.push({ ...base, flags: TCP.PSH | TCP.ACK, seq: seq0 + 1 + i * 64, ack: 5001, payload: fill(64, 0x41 + i) });
  out.push({ ...base, flags: TCP.FIN | TCP.ACK, seq: seq0 + 1 + data * 64, ack: 5001 });
  return out;
}

const fmtFlags = (f) => ['FIN', 'SYN', 'RST', 'PSH', 'ACK'].filter((_, i) => f & (1 << i)).join('|') || 'none';

// ---- edge-firewall -----------------------------------------------------------------------

function edgeFirewall() {
  const W = { src: '02:00:00:00:00:fe', dst: '02:00:00:00:00:01' }; // upstream router -> edge/wan0
  const SERVER = '192.168.1.10';
  const SERVER6 = '2001:db8:1::10';
  const EDGE = '198.51.100.1';
  const EDGE6 = '2001:db8:100::1';
  const flows = [];
  const one = (expect, what, frame) => flows.push([pkt(expect, what, frame)]);
  const conv = (expect, base, data, label) => {
    flows.push(tcpConversation(base, data).map((o) => pkt(expect, `${label} tcp ${o.srcIp}:${o.sport} > ${o.dstIp}:${o.dport} ${fmtFlags(o.flags)}`, (o.srcIp.includes(':') ? tcp6 : tcp4)(o))));
  };

  // Allowed: TCP services on the server, v4 and v6.
  for (let i = 0; i < 40; i++) conv('FW_PASS_ALLOWED', { ...W, srcIp: `192.0.2.${10 + i}`, dstIp: SERVER, sport: 40000 + i, dport: i < 30 ? 80 : 443 }, 1, 'web');
  for (let i = 0; i < 5; i++) conv('FW_PASS_ALLOWED', { ...W, srcIp: `192.0.2.${100 + i}`, dstIp: SERVER, sport: 50000 + i, dport: 25 }, 0, 'smtp');
  for (let i = 0; i < 2; i++) conv('FW_PASS_ALLOWED', { ...W, srcIp: `192.0.2.${120 + i}`, dstIp: SERVER, sport: 51000 + i, dport: 53 }, 0, 'dns-tcp');
  for (let i = 0; i < 10; i++) conv('FW_PASS_ALLOWED', { ...W, srcIp: `2001:db8:beef::${(i + 1).toString(16)}`, dstIp: SERVER6, sport: 42000 + i, dport: 443 }, 1, 'web6');
  // Allowed: UDP services.
  for (let i = 0; i < 40; i++) one('FW_PASS_ALLOWED', `dns query #${i}`, udp4({ ...W, srcIp: `192.0.2.${130 + (i % 20)}`, dstIp: SERVER, sport: 30000 + i, dport: 53 }));
  for (let i = 0; i < 10; i++) one('FW_PASS_ALLOWED', `ntp to the router #${i}`, udp4({ ...W, srcIp: `192.0.2.${160 + i}`, dstIp: EDGE, sport: 123, dport: 123, payload: fill(48, 0x23) }));
  flows.push(Array.from({ length: 20 }, (_, i) => pkt('FW_PASS_ALLOWED', `quic #${i}`, udp4({ ...W, srcIp: '192.0.2.170', dstIp: SERVER, sport: 55555, dport: 443, payload: fill(64, 0xc0) }))));
  for (let i = 0; i < 10; i++) one('FW_PASS_ALLOWED', `dns6 query #${i}`, udp6({ ...W, srcIp: `2001:db8:beef::1:${i + 1}`, dstIp: SERVER6, sport: 31000 + i, dport: 53 }));

  // Dropped: ports that are not open (or open for the other protocol).
  const closed = [[22, 15], [23, 5], [3389, 10], [445, 10]];
  let n = 0;
  for (const [port, count] of closed) for (let i = 0; i < count; i++, n++) one('FW_DROP_PORT', `tcp SYN to closed port ${port}`, tcp4({ ...W, srcIp: `192.0.2.${180 + (n % 20)}`, dstIp: SERVER, sport: 60000 + n, dport: port, flags: TCP.SYN }));
  for (const [port, count] of [[161, 5], [1900, 5], [11211, 10]]) for (let i = 0; i < count; i++, n++) one('FW_DROP_PORT', `udp to closed port ${port}`, udp4({ ...W, srcIp: `192.0.2.${180 + (n % 20)}`, dstIp: SERVER, sport: 60000 + n, dport: port }));
  for (let i = 0; i < 5; i++) one('FW_DROP_PORT', 'udp to 80 (open for TCP only)', udp4({ ...W, srcIp: '192.0.2.200', dstIp: SERVER, sport: 61000 + i, dport: 80 }));
  for (let i = 0; i < 5; i++) one('FW_DROP_PORT', 'tcp to 123 (open for UDP only)', tcp4({ ...W, srcIp: '192.0.2.201', dstIp: EDGE, sport: 61100 + i, dport: 123, flags: TCP.SYN }));
  for (let i = 0; i < 10; i++) one('FW_DROP_PORT', 'tcp6 SYN to closed port 22', tcp6({ ...W, srcIp: `2001:db8:beef::2:${i + 1}`, dstIp: SERVER6, sport: 62000 + i, dport: 22, flags: TCP.SYN }));

  // Dropped: blocklisted sources, whatever the port.
  const scanPorts = [21, 22, 25, 53, 80, 110, 143, 443, 445, 993, 3306, 3389, 5432, 5900, 6379, 8080, 8443, 9200, 11211, 27017];
  for (let i = 0; i < 40; i++) one('FW_DROP_BLOCKLIST_V4', 'scanner in 203.0.113.0/24 (rule 1)', tcp4({ ...W, srcIp: `203.0.113.${7 + (i % 3)}`, dstIp: i % 2 ? SERVER : EDGE, sport: 44444, dport: scanPorts[i % scanPorts.length], flags: TCP.SYN }));
  for (let i = 0; i < 20; i++) one('FW_DROP_BLOCKLIST_V4', 'spoofed source in 198.18.0.0/15 (rule 2)', udp4({ ...W, srcIp: `198.${18 + (i % 2)}.${i * 7}.${i * 13 + 1}`, dstIp: SERVER, sport: 1024 + i, dport: 53 }));
  conv('FW_DROP_BLOCKLIST_V4', { ...W, srcIp: '192.0.2.66', dstIp: SERVER, sport: 40666, dport: 80 }, 1, 'blocked host 192.0.2.66/32 (rule 3)');
  for (let i = 0; i < 5; i++) one('FW_DROP_BLOCKLIST_V4', 'blocked host 192.0.2.66/32, udp (rule 3)', udp4({ ...W, srcIp: '192.0.2.66', dstIp: SERVER, sport: 3000 + i, dport: 53 }));
  for (let i = 0; i < 15; i++) one('FW_DROP_BLOCKLIST_V6', 'scanner in 2001:db8:bad::/48 (rule 101)', tcp6({ ...W, srcIp: `2001:db8:bad:${i + 1}::1`, dstIp: SERVER6, sport: 45000, dport: scanPorts[i], flags: TCP.SYN }));
  for (let i = 0; i < 5; i++) one('FW_DROP_BLOCKLIST_V6', 'host in 2001:db8:dead:beef::/64 (rule 102)', udp6({ ...W, srcIp: '2001:db8:dead:beef::1', dstIp: SERVER6, sport: 5000 + i, dport: 53 }));

  // ICMP.
  flows.push(Array.from({ length: 20 }, (_, i) => pkt('FW_PASS_ICMP', `echo request seq ${i + 1}`, icmp4({ ...W, srcIp: '192.0.2.50', dstIp: SERVER, type: 8, id: 0x4242, seq: i + 1 }))));
  for (let i = 0; i < 5; i++) one('FW_PASS_ICMP', 'echo reply', icmp4({ ...W, srcIp: '192.0.2.51', dstIp: EDGE, type: 0, id: 0x0707, seq: i + 1 }));
  for (let i = 0; i < 3; i++) one('FW_PASS_ICMP', 'destination unreachable: fragmentation needed', icmp4({ ...W, srcIp: '192.0.2.52', dstIp: SERVER, type: 3, code: 4, seq: 1400 }));
  for (let i = 0; i < 2; i++) one('FW_PASS_ICMP', 'time exceeded', icmp4({ ...W, srcIp: '192.0.2.53', dstIp: EDGE, type: 11 }));
  for (let i = 0; i < 3; i++) one('FW_DROP_ICMP', 'timestamp request (type 13)', icmp4({ ...W, srcIp: '192.0.2.54', dstIp: EDGE, type: 13 }));
  for (let i = 0; i < 2; i++) one('FW_DROP_ICMP', 'redirect (type 5)', icmp4({ ...W, srcIp: '192.0.2.55', dstIp: SERVER, type: 5, code: 1 }));
  for (let i = 0; i < 10; i++) one('FW_PASS_ICMP', 'icmp6 echo request to the router', icmp6({ ...W, srcIp: '2001:db8:beef::50', dstIp: EDGE6, type: 128, id: 0x6666, seq: i + 1 }));
  for (let i = 0; i < 5; i++) one('FW_PASS_ICMP', 'icmp6 neighbour solicitation', icmp6({ ...W, dst: '33:33:ff:00:00:01', srcIp: '2001:db8:100::fe', dstIp: 'ff02::1:ff00:1', hop: 255, type: 135, payload: concat(ip6(EDGE6), Uint8Array.of(1, 1), mac(W.src)) }));
  for (let i = 0; i < 2; i++) one('FW_PASS_ICMP', 'icmp6 router advertisement', icmp6({ ...W, dst: '33:33:00:00:00:01', srcIp: 'fe80::fe', dstIp: 'ff02::1', hop: 255, type: 134, payload: fill(8, 0) }));
  for (let i = 0; i < 3; i++) one('FW_DROP_ICMP', 'icmp6 type 200 (private experimentation)', icmp6({ ...W, srcIp: '2001:db8:beef::51', dstIp: SERVER6, type: 200 }));

  // Other IP protocols.
  for (let i = 0; i < 5; i++) one('FW_DROP_PROTO', 'GRE', raw4({ ...W, srcIp: '192.0.2.60', dstIp: EDGE }, PROTO.GRE, concat(u16(0), u16(ETH_P.IP), fill(40, 0x45))));
  for (let i = 0; i < 5; i++) one('FW_DROP_PROTO', 'ESP', raw4({ ...W, srcIp: '192.0.2.61', dstIp: EDGE }, PROTO.ESP, concat(u32(0x1001), u32(i + 1), fill(48, 0xee))));
  for (let i = 0; i < 3; i++) one('FW_DROP_PROTO', 'SCTP', raw4({ ...W, srcIp: '192.0.2.62', dstIp: SERVER }, PROTO.SCTP, fill(28, 0x13)));
  for (let i = 0; i < 2; i++) one('FW_DROP_PROTO', 'IPv6 no next header (59)', raw6({ ...W, srcIp: '2001:db8:beef::52', dstIp: SERVER6 }, PROTO.NONE, new Uint8Array(0)));

  // Fragments: the first carries the ports and is judged by them; the rest cannot be.
  const fragPayload = tcpSegment(ip4('192.0.2.63'), ip4(SERVER), { sport: 40063, dport: 80, flags: TCP.PSH | TCP.ACK, payload: fill(200, 0x46) });
  for (let i = 0; i < 3; i++) {
    flows.push([
      pkt('FW_PASS_ALLOWED', 'first fragment (tcp to 80)', raw4({ ...W, srcIp: '192.0.2.63', dstIp: SERVER, id: 0x2000 + i, frag: 0x2000 }, PROTO.TCP, fragPayload.subarray(0, 120))),
      pkt('FW_DROP_FRAGMENT', 'later fragment (offset 120)', raw4({ ...W, srcIp: '192.0.2.63', dstIp: SERVER, id: 0x2000 + i, frag: 15 }, PROTO.TCP, fragPayload.subarray(120))),
      pkt('FW_DROP_FRAGMENT', 'later fragment again (a retransmission)', raw4({ ...W, srcIp: '192.0.2.63', dstIp: SERVER, id: 0x2000 + i, frag: 15 }, PROTO.TCP, fragPayload.subarray(120))),
    ]);
  }
  const fragHdr = (next, offsetWord, id) => concat(Uint8Array.of(next, 0), u16(offsetWord), u32(id));
  const udp6Body = udpDatagram(ip6('2001:db8:beef::53'), ip6(SERVER6), { sport: 32000, dport: 53, payload: fill(200, 0x36) });
  for (let i = 0; i < 2; i++) {
    flows.push([
      pkt('FW_PASS_ALLOWED', 'ipv6 first fragment (udp to 53)', raw6({ ...W, srcIp: '2001:db8:beef::53', dstIp: SERVER6 }, PROTO.FRAGMENT, concat(fragHdr(PROTO.UDP, 0x0001, 0x77 + i), udp6Body.subarray(0, 112)))),
      pkt('FW_DROP_FRAGMENT', 'ipv6 later fragment (offset 112)', raw6({ ...W, srcIp: '2001:db8:beef::53', dstIp: SERVER6 }, PROTO.FRAGMENT, concat(fragHdr(PROTO.UDP, 112, 0x77 + i), udp6Body.subarray(112)))),
    ]);
  }
  // IPv6 extension headers the parser steps over, and a chain too long to follow.
  const opt = (next) => concat(Uint8Array.of(next, 0), Uint8Array.of(1, 4, 0, 0, 0, 0)); // PadN
  for (let i = 0; i < 3; i++) one('FW_PASS_ALLOWED', 'ipv6 hop-by-hop + udp to 53', raw6({ ...W, srcIp: '2001:db8:beef::54', dstIp: SERVER6 }, PROTO.HOPOPTS, concat(opt(PROTO.UDP), udpDatagram(ip6('2001:db8:beef::54'), ip6(SERVER6), { sport: 33000 + i, dport: 53 }))));
  one('FW_DROP_MALFORMED', 'ipv6 with 5 destination-options headers (more than the parser follows)', raw6({ ...W, srcIp: '2001:db8:beef::55', dstIp: SERVER6 }, PROTO.DSTOPTS, concat(opt(PROTO.DSTOPTS), opt(PROTO.DSTOPTS), opt(PROTO.DSTOPTS), opt(PROTO.DSTOPTS), opt(PROTO.UDP), udpDatagram(ip6('2001:db8:beef::55'), ip6(SERVER6), { sport: 34000, dport: 53 }))));

  // VLAN-tagged frames are parsed through (one 802.1Q tag, or 802.1ad + 802.1Q).
  for (let i = 0; i < 3; i++) one('FW_PASS_ALLOWED', '802.1Q vid 100: tcp to 80', tcp4({ ...W, vlans: [100], srcIp: '192.0.2.64', dstIp: SERVER, sport: 47000 + i, dport: 80, flags: TCP.SYN }));
  for (let i = 0; i < 2; i++) one('FW_PASS_ALLOWED', 'QinQ 200/100: udp to 53', udp4({ ...W, vlans: [200, 100], srcIp: '192.0.2.65', dstIp: SERVER, sport: 47100 + i, dport: 53 }));
  for (let i = 0; i < 2; i++) one('FW_DROP_PORT', '802.1Q vid 100: tcp to 22', tcp4({ ...W, vlans: [100], srcIp: '192.0.2.64', dstIp: SERVER, sport: 47200 + i, dport: 22, flags: TCP.SYN }));

  // Not IP: left to the stack.
  for (let i = 0; i < 8; i++) one('FW_PASS_NON_IP', 'ARP who-has 198.51.100.1', arpRequest({ src: W.src, senderIp: '198.51.100.254', targetIp: EDGE }));
  for (let i = 0; i < 2; i++) one('FW_PASS_NON_IP', 'LLDP', lldp({ src: W.src }));

  // Malformed.
  const good = tcp4({ ...W, srcIp: '192.0.2.70', dstIp: SERVER, sport: 48000, dport: 80, flags: TCP.SYN });
  const good6 = udp6({ ...W, srcIp: '2001:db8:beef::70', dstIp: SERVER6, sport: 48000, dport: 53 });
  one('FW_DROP_MALFORMED', 'ipv4 header cut after 10 bytes', good.slice(0, 24));
  one('FW_DROP_MALFORMED', 'ipv4 header cut after 19 bytes', good.slice(0, 33));
  one('FW_DROP_MALFORMED', 'ipv4 ihl 4', tcp4({ ...W, srcIp: '192.0.2.71', dstIp: SERVER, sport: 48001, dport: 80, ihl: 4 }));
  one('FW_DROP_MALFORMED', 'ipv4 ihl 4 (again)', udp4({ ...W, srcIp: '192.0.2.71', dstIp: SERVER, sport: 48002, dport: 53, ihl: 4 }));
  one('FW_DROP_MALFORMED', 'version 6 in an IPv4 EtherType', tcp4({ ...W, srcIp: '192.0.2.72', dstIp: SERVER, sport: 48003, dport: 80, version: 6 }));
  one('FW_DROP_MALFORMED', 'ipv4 ihl 15 beyond the frame', tcp4({ ...W, srcIp: '192.0.2.73', dstIp: SERVER, sport: 48004, dport: 80, ihl: 15 }).slice(0, 60));
  one('FW_DROP_MALFORMED', 'ipv4 total length 12 < header', tcp4({ ...W, srcIp: '192.0.2.74', dstIp: SERVER, sport: 48005, dport: 80, totLen: 12 }));
  one('FW_DROP_MALFORMED', 'tcp header cut after 12 bytes', good.slice(0, 14 + 20 + 12));
  one('FW_DROP_MALFORMED', 'tcp header cut after 19 bytes', good.slice(0, 14 + 20 + 19));
  one('FW_DROP_MALFORMED', 'tcp data offset 3', tcp4({ ...W, srcIp: '192.0.2.75', dstIp: SERVER, sport: 48006, dport: 80, doff: 3 }));
  one('FW_DROP_MALFORMED', 'tcp data offset 15 beyond the frame', tcp4({ ...W, srcIp: '192.0.2.76', dstIp: SERVER, sport: 48007, dport: 80, doff: 15 }));
  one('FW_DROP_MALFORMED', 'udp header cut after 6 bytes', udp4({ ...W, srcIp: '192.0.2.77', dstIp: SERVER, sport: 48008, dport: 53 }).slice(0, 14 + 20 + 6));
  one('FW_DROP_MALFORMED', 'udp length 4 < header', udp4({ ...W, srcIp: '192.0.2.78', dstIp: SERVER, sport: 48009, dport: 53, len: 4 }));
  one('FW_DROP_MALFORMED', 'icmp header cut after 4 bytes', icmp4({ ...W, srcIp: '192.0.2.79', dstIp: SERVER, type: 8 }).slice(0, 14 + 20 + 4));
  one('FW_DROP_MALFORMED', 'ipv6 header cut after 30 bytes', good6.slice(0, 14 + 30));
  one('FW_DROP_MALFORMED', 'ipv6 header cut after 39 bytes', good6.slice(0, 14 + 39));
  one('FW_DROP_MALFORMED', 'version 4 in an IPv6 EtherType', (() => { const f = good6.slice(); f[14] = 0x40; return f; })());
  one('FW_DROP_MALFORMED', '802.1Q tag cut in half', concat(mac(W.dst), mac(W.src), u16(ETH_P.VLAN), u16(100)));
  one('FW_DROP_MALFORMED', 'QinQ with the inner tag cut', concat(mac(W.dst), mac(W.src), u16(ETH_P.QINQ), u16(200), u16(ETH_P.VLAN), u16(100)));

  return interleave(flows, 0xf1e2);
}

// ---- l3-router ---------------------------------------------------------------------------

function l3Router() {
  const A = { src: '02:00:00:00:01:0a', dst: '02:00:00:00:01:01' }; // host a -> r1/eth1
  const HA = '10.1.0.10';
  const HA6 = '2001:db8:1::10';
  const flows = [];
  const one = (expect, what, frame) => flows.push([pkt(expect, what, frame)]);
  const burst = (n, expect, what, make) => flows.push(Array.from({ length: n }, (_, i) => pkt(expect, `${what} #${i + 1}`, make(i))));

  // Forwarded in XDP: to b (eth2), to the internet via isp (eth3), IPv6 to b.
  for (let i = 0; i < 12; i++) flows.push(tcpConversation({ ...A, srcIp: HA, dstIp: '10.2.0.10', sport: 40000 + i, dport: 443 }, 2).map((o) => pkt('RT_FORWARD_V4', `a > b tcp ${o.sport} ${fmtFlags(o.flags)}`, tcp4(o))));
  burst(30, 'RT_FORWARD_V4', 'a > b udp', (i) => udp4({ ...A, srcIp: HA, dstIp: '10.2.0.10', sport: 5000 + (i % 5), dport: 9000 }));
  burst(20, 'RT_FORWARD_V4', 'a > b ping', (i) => icmp4({ ...A, srcIp: HA, dstIp: '10.2.0.10', type: 8, id: 0x0a0b, seq: i + 1 }));
  burst(30, 'RT_FORWARD_V4', 'a > internet (192.0.2.1) via isp', (i) => udp4({ ...A, srcIp: HA, dstIp: '192.0.2.1', sport: 6000 + i, dport: 53, tos: i % 2 ? 0x10 : 0 }));
  for (let i = 0; i < 6; i++) flows.push(tcpConversation({ ...A, srcIp: HA6, dstIp: '2001:db8:2::10', sport: 41000 + i, dport: 22 }, 3).map((o) => pkt('RT_FORWARD_V6', `a > b tcp6 ${o.sport} ${fmtFlags(o.flags)}`, tcp6(o))));
  burst(20, 'RT_FORWARD_V6', 'a > b ping6', (i) => icmp6({ ...A, srcIp: HA6, dstIp: '2001:db8:2::10', type: 128, id: 0x6a6b, seq: i + 1 }));
  burst(10, 'RT_FORWARD_V6', 'a > internet (2001:db8:ffff::1) via isp', (i) => udp6({ ...A, srcIp: HA6, dstIp: '2001:db8:ffff::1', sport: 7000 + i, dport: 53 }));
  burst(2, 'RT_FORWARD_V4', 'a > b with TTL 2 (leaves with 1)', () => udp4({ ...A, srcIp: HA, dstIp: '10.2.0.10', sport: 5999, dport: 33434, ttl: 2 }));

  // Passed to the stack.
  burst(10, 'RT_PASS_TTL', 'a > b with TTL 1 (traceroute probe)', (i) => udp4({ ...A, srcIp: HA, dstIp: '10.2.0.10', sport: 5998, dport: 33435 + i, ttl: 1 }));
  burst(4, 'RT_PASS_TTL', 'a > b with hop limit 1', (i) => udp6({ ...A, srcIp: HA6, dstIp: '2001:db8:2::10', sport: 5997, dport: 33435 + i, hop: 1 }));
  burst(10, 'RT_PASS_LOCAL', 'a > r1 (ping the gateway)', (i) => icmp4({ ...A, srcIp: HA, dstIp: '10.1.0.1', type: 8, id: 0x0101, seq: i + 1 }));
  burst(5, 'RT_PASS_LOCAL', 'a > r1 on another interface (10.2.0.1)', (i) => tcp4({ ...A, srcIp: HA, dstIp: '10.2.0.1', sport: 42000 + i, dport: 22, flags: TCP.SYN }));
  burst(5, 'RT_PASS_LOCAL', 'a > r1 ipv6', (i) => icmp6({ ...A, srcIp: HA6, dstIp: '2001:db8:1::1', type: 128, id: 0x0102, seq: i + 1 }));
  burst(5, 'RT_PASS_LOCAL', 'ipv6 to 2001:db8:99::1: no route', (i) => udp6({ ...A, srcIp: HA6, dstIp: '2001:db8:99::1', sport: 8000 + i, dport: 53 }));
  burst(8, 'RT_PASS_NO_NEIGH', 'a > 10.88.0.5 via 10.2.0.99, which nobody answers for', (i) => udp4({ ...A, srcIp: HA, dstIp: '10.88.0.5', sport: 8100 + i, dport: 53 }));
  burst(6, 'RT_PASS_FRAG_NEEDED', 'a > b 1400 bytes, b\'s link has MTU 1280', (i) => udp4({ ...A, srcIp: HA, dstIp: '10.2.0.10', sport: 8200 + i, dport: 9000, payload: fill(1372, 0x42) }));
  burst(15, 'RT_PASS_NO_TX_PORT', 'a > mgmt (eth4 is not in tx_ports)', (i) => tcp4({ ...A, srcIp: HA, dstIp: '10.4.0.10', sport: 43000 + i, dport: 161, flags: TCP.SYN }));
  burst(6, 'RT_PASS_NOT_IP', 'ARP who-has 10.1.0.1', () => arpRequest({ src: A.src, senderIp: HA, targetIp: '10.1.0.1' }));
  burst(3, 'RT_PASS_NOT_IP', '802.1Q-tagged IPv4 (not for the router to route)', (i) => udp4({ ...A, vlans: [10], srcIp: HA, dstIp: '10.2.0.10', sport: 8300 + i, dport: 9000 }));

  // Dropped in XDP.
  burst(8, 'RT_DROP_UNREACHABLE', 'a > 10.66.1.1 (blackhole route)', (i) => udp4({ ...A, srcIp: HA, dstIp: '10.66.1.1', sport: 8400 + i, dport: 53 }));
  burst(5, 'RT_DROP_UNREACHABLE', 'a > 10.77.1.1 (unreachable route)', (i) => tcp4({ ...A, srcIp: HA, dstIp: '10.77.1.1', sport: 8500 + i, dport: 80, flags: TCP.SYN }));
  burst(5, 'RT_DROP_UNREACHABLE', 'a > 10.99.1.1 (prohibit route)', (i) => tcp4({ ...A, srcIp: HA, dstIp: '10.99.1.1', sport: 8600 + i, dport: 80, flags: TCP.SYN }));
  const g = udp4({ ...A, srcIp: HA, dstIp: '10.2.0.10', sport: 8700, dport: 9000 });
  one('RT_DROP_MALFORMED', 'ipv4 header cut after 12 bytes', g.slice(0, 26));
  one('RT_DROP_MALFORMED', 'ipv4 ihl 3', udp4({ ...A, srcIp: HA, dstIp: '10.2.0.10', sport: 8701, dport: 9000, ihl: 3 }));
  one('RT_DROP_MALFORMED', 'ipv6 header cut after 20 bytes', udp6({ ...A, srcIp: HA6, dstIp: '2001:db8:2::10', sport: 8702, dport: 9000 }).slice(0, 34));
  one('RT_DROP_MALFORMED', 'Ethernet header only, cut after 13 bytes... of an IPv4 header', concat(mac(A.dst), mac(A.src), u16(ETH_P.IP), fill(13, 0x45)));

  return interleave(flows, 0x13);
}

// ---- l4-lb -------------------------------------------------------------------------------

function l4Lb() {
  const G = { src: '02:00:00:00:64:01', dst: '02:00:00:00:64:02' }; // gw/lb0 -> lb/eth0
  const VIP_WEB = '203.0.113.10';
  const VIP_DRAINED = '203.0.113.20';
  const VIP_BROKEN = '203.0.113.30';
  const VIP6 = '2001:db8:f::10';
  const LB = '10.100.0.2';
  const flows = [];
  const one = (expect, what, frame) => flows.push([pkt(expect, what, frame)]);
  /** A flow to a VIP: its first packet makes the connection-table entry, the rest find it. */
  const vipFlow = (frames, what) => flows.push(frames.map((f, i) => pkt(i === 0 ? 'LB_TX_NEW_FLOW' : 'LB_TX_CONN_HIT', `${what} #${i + 1}`, f)));

  // TCP to the IPv4 web VIP, many clients; some short, some long.
  for (let i = 0; i < 60; i++) {
    const base = { ...G, srcIp: `192.0.2.${1 + (i % 200)}`, dstIp: VIP_WEB, sport: 32768 + i * 37, dport: 80 };
    vipFlow(tcpConversation(base, i % 10 === 0 ? 8 : 2).map(tcp4), `tcp ${base.srcIp}:${base.sport} > ${VIP_WEB}:80`);
  }
  // Its first client comes back with the same 5-tuple after the flow ended: still in the table.
  const again = { ...G, srcIp: '192.0.2.1', dstIp: VIP_WEB, sport: 32768, dport: 80 };
  flows[0].push(...tcpConversation(again, 1).map((o) => pkt('LB_TX_CONN_HIT', 'the first web flow again (same 5-tuple, still in conn_table)', tcp4(o))));
  // UDP (QUIC) to the IPv4 VIP's port 443, which has its own ring (two backends).
  for (let i = 0; i < 30; i++) {
    const base = { ...G, srcIp: `198.51.100.${10 + i}`, dstIp: VIP_WEB, sport: 50000 + i, dport: 443 };
    vipFlow(Array.from({ length: 4 }, (_, k) => udp4({ ...base, payload: fill(100 + k, 0xc3) })), `quic ${base.srcIp}:${base.sport} > ${VIP_WEB}:443`);
  }
  // TCP to the IPv6 VIP.
  for (let i = 0; i < 30; i++) {
    const base = { ...G, srcIp: `2001:db8:c::${(i + 1).toString(16)}`, dstIp: VIP6, sport: 40000 + i * 11, dport: 443 };
    vipFlow(tcpConversation(base, 1).map(tcp6), `tcp6 [${base.srcIp}]:${base.sport} > [${VIP6}]:443`);
  }

  // Not for a VIP: the host's own traffic and other ports of a VIP address.
  for (let i = 0; i < 10; i++) one('LB_PASS_NOT_VIP', 'ssh to the balancer itself', tcp4({ ...G, srcIp: '10.100.0.1', dstIp: LB, sport: 52000 + i, dport: 22, flags: TCP.SYN }));
  for (let i = 0; i < 10; i++) one('LB_PASS_NOT_VIP', 'tcp to the VIP on port 8443 (no such service)', tcp4({ ...G, srcIp: `192.0.2.${210 + i}`, dstIp: VIP_WEB, sport: 53000 + i, dport: 8443, flags: TCP.SYN }));
  for (let i = 0; i < 5; i++) one('LB_PASS_NOT_VIP', 'udp6 to the v6 VIP on port 53 (no such service)', udp6({ ...G, srcIp: '2001:db8:c::99', dstIp: VIP6, sport: 53100 + i, dport: 53 }));
  for (let i = 0; i < 3; i++) one('LB_PASS_NOT_VIP', 'GRE to the balancer', raw4({ ...G, srcIp: '10.100.0.1', dstIp: LB }, PROTO.GRE, concat(u16(0), u16(ETH_P.IP), fill(40, 0x45))));
  for (let i = 0; i < 10; i++) one('LB_PASS_ICMP', 'ping the VIP', icmp4({ ...G, srcIp: '192.0.2.220', dstIp: VIP_WEB, type: 8, id: 0x1b1b, seq: i + 1 }));
  for (let i = 0; i < 5; i++) one('LB_PASS_ICMP', 'ping6 the VIP', icmp6({ ...G, srcIp: '2001:db8:c::98', dstIp: VIP6, type: 128, id: 0x1b1c, seq: i + 1 }));
  for (let i = 0; i < 6; i++) one('LB_PASS_NON_IP', 'ARP who-has 10.100.0.2', arpRequest({ src: G.src, senderIp: '10.100.0.1', targetIp: LB }));

  // Dropped.
  for (let i = 0; i < 10; i++) one('LB_DROP_NO_BACKEND', 'tcp to the drained VIP (empty ring)', tcp4({ ...G, srcIp: `192.0.2.${230 + i}`, dstIp: VIP_DRAINED, sport: 54000 + i, dport: 80, flags: TCP.SYN }));
  for (let i = 0; i < 5; i++) one('LB_DROP_NO_BACKEND', 'tcp to a VIP whose ring names a backend without an address', tcp4({ ...G, srcIp: `192.0.2.${240 + i}`, dstIp: VIP_BROKEN, sport: 55000 + i, dport: 80, flags: TCP.SYN }));
  for (let i = 0; i < 4; i++) one('LB_DROP_TOO_BIG', '1490-byte packet to the VIP: 1510 once encapsulated', tcp4({ ...G, srcIp: `192.0.2.${245 + i}`, dstIp: VIP_WEB, sport: 56000 + i, dport: 80, flags: TCP.PSH | TCP.ACK, payload: fill(1450, 0x54) }));
  for (let i = 0; i < 2; i++) one('LB_DROP_TOO_BIG', '1470-byte IPv6 packet to the v6 VIP: 1510 once encapsulated', tcp6({ ...G, srcIp: '2001:db8:c::97', dstIp: VIP6, sport: 56100 + i, dport: 443, flags: TCP.PSH | TCP.ACK, payload: fill(1410, 0x54) }));
  for (let i = 0; i < 4; i++) one('LB_DROP_FRAGMENT', 'ipv4 fragment to the VIP', raw4({ ...G, srcIp: '192.0.2.250', dstIp: VIP_WEB, id: 0x3000 + i, frag: i % 2 ? 20 : 0x2000 }, PROTO.TCP, fill(160, 0x46)));
  for (let i = 0; i < 2; i++) one('LB_DROP_FRAGMENT', 'ipv6 fragment to the v6 VIP', raw6({ ...G, srcIp: '2001:db8:c::96', dstIp: VIP6 }, PROTO.FRAGMENT, concat(Uint8Array.of(PROTO.TCP, 0), u16(1), u32(0x99 + i), fill(64, 0x46))));
  const g = tcp4({ ...G, srcIp: '192.0.2.251', dstIp: VIP_WEB, sport: 57000, dport: 80, flags: TCP.SYN });
  one('LB_DROP_MALFORMED', 'ipv4 header cut after 16 bytes', g.slice(0, 30));
  one('LB_DROP_MALFORMED', 'tcp header cut after 10 bytes', g.slice(0, 44));
  one('LB_DROP_MALFORMED', 'ipv4 total length beyond the frame', tcp4({ ...G, srcIp: '192.0.2.252', dstIp: VIP_WEB, sport: 57001, dport: 80, flags: TCP.SYN, totLen: 400 }));
  one('LB_DROP_MALFORMED', 'ipv6 payload length beyond the frame', tcp6({ ...G, srcIp: '2001:db8:c::95', dstIp: VIP6, sport: 57002, dport: 443, flags: TCP.SYN, payloadLen: 400 }));
  one('LB_DROP_MALFORMED', 'udp header cut after 4 bytes', udp4({ ...G, srcIp: '192.0.2.253', dstIp: VIP_WEB, sport: 57003, dport: 443 }).slice(0, 38));

  return interleave(flows, 0x4c42);
}

// ---- tc-nat-vlan -------------------------------------------------------------------------

/**
 * The LAN side of the gateway: packets from two PCs to the Internet. Labels are
 * "<egress outcome>,<ingress outcome of the mirrored answer>"; the ingress rate limiter's
 * verdicts come from the same token bucket the program keeps (rate_pps 100, burst 20, per
 * remote address) over these timestamps, so they are exact too.
 */
function tcNatVlan() {
  const PC1 = { src: '02:00:00:00:0a:0a', dst: '02:00:00:00:0a:01', srcIp: '10.0.0.10' };
  const PC2 = { src: '02:00:00:00:0a:14', dst: '02:00:00:00:0a:01', srcIp: '10.0.0.20' };
  const PC1_6 = { ...PC1, srcIp: '2001:db8:10::10' };
  const flows = [];
  const nat = new Set(); // inside endpoints already mapped
  const eg = (proto, o, id) => {
    const key = `${proto}/${o.srcIp}/${id}`;
    const fresh = !nat.has(key);
    nat.add(key);
    return fresh ? 'EG_SNAT_NEW' : 'EG_SNAT';
  };
  // Labels for NAT are assigned in capture order after interleaving (see below).
  const flow = (items) => flows.push(items);

  for (let i = 0; i < 6; i++) flow(tcpConversation({ ...PC1, dstIp: '203.0.113.80', sport: 41000 + i, dport: 443 }, 3).map((o) => ({ kind: 'tcp', o, what: `pc1 tcp ${o.sport} > 203.0.113.80:443 ${fmtFlags(o.flags)}` })));
  for (let i = 0; i < 4; i++) flow(tcpConversation({ ...PC2, dstIp: '203.0.113.81', sport: 42000 + i, dport: 80 }, 2).map((o) => ({ kind: 'tcp', o, what: `pc2 tcp ${o.sport} > 203.0.113.81:80 ${fmtFlags(o.flags)}` })));
  for (let i = 0; i < 10; i++) flow([{ kind: 'udp', o: { ...PC1, dstIp: '203.0.113.53', sport: 33000 + i * 101, dport: 53 }, what: 'pc1 dns query' }]);
  flow(Array.from({ length: 4 }, () => ({ kind: 'udp', o: { ...PC2, dstIp: '203.0.113.123', sport: 123, dport: 123, payload: fill(48, 0x23) }, what: 'pc2 ntp' })));
  flow(Array.from({ length: 3 }, () => ({ kind: 'udp', o: { ...PC2, dstIp: '203.0.113.53', sport: 6000, dport: 53, zeroCsum: true }, what: 'pc2 udp without checksum' })));
  flow(Array.from({ length: 8 }, (_, k) => ({ kind: 'icmp', o: { ...PC1, dstIp: '203.0.113.1', type: 8, id: 0x0101, seq: k + 1 }, what: `pc1 ping seq ${k + 1}` })));
  flow(Array.from({ length: 4 }, (_, k) => ({ kind: 'icmp', o: { ...PC2, dstIp: '203.0.113.2', type: 8, id: 0x0202, seq: k + 1 }, what: `pc2 ping seq ${k + 1}` })));
  flow(Array.from({ length: 3 }, () => ({ kind: 'gre', o: { ...PC1, dstIp: '203.0.113.47' }, what: 'pc1 GRE (NAT cannot translate it)' })));
  flow(Array.from({ length: 2 }, () => ({ kind: 'icmp', o: { ...PC2, dstIp: '203.0.113.2', type: 13 }, what: 'pc2 ICMP timestamp request (not translated)' })));
  flow(Array.from({ length: 2 }, (_, k) => ({ kind: 'frag', o: { ...PC1, dstIp: '203.0.113.53', id: 0x5000 + k, frag: 0x2000 }, what: 'pc1 first fragment (not translated)' })));
  for (let i = 0; i < 3; i++) flow(tcpConversation({ ...PC1_6, dstIp: '2001:db8:ff::80', sport: 43000 + i, dport: 443 }, 1).map((o) => ({ kind: 'tcp6', o, what: `pc1 tcp6 ${o.sport} > [2001:db8:ff::80]:443 ${fmtFlags(o.flags)}` })));
  flow(Array.from({ length: 4 }, (_, k) => ({ kind: 'icmp6', o: { ...PC1_6, dstIp: '2001:db8:ff::1', type: 128, id: 0x0606, seq: k + 1 }, what: `pc1 ping6 seq ${k + 1}` })));
  flow(Array.from({ length: 2 }, () => ({ kind: 'arp', o: { src: PC1.src, senderIp: PC1.srcIp, targetIp: '10.0.0.1' }, what: 'pc1 ARP who-has 10.0.0.1 (stays on the LAN)' })));
  flow([{ kind: 'udp', o: { ...PC2, dstIp: '203.0.113.53', sport: 6100, dport: 53, ttl: 1 }, what: 'pc2 udp with TTL 1 (the gateway drops it: TTL exceeded)' }]);

  const normal = interleave(flows, 0x7c);
  // Two floods after the normal traffic: pc2 to one remote at 5000 packets/s, pc1 pings an
  // IPv6 remote at 2000/s. Their answers come back over the rate.
  const floods = [
    ...Array.from({ length: 150 }, (_, k) => ({ kind: 'udp', o: { ...PC2, dstIp: '203.0.113.99', sport: 7000, dport: 9, payload: fill(32, k & 0xff) }, what: `pc2 flood #${k + 1}`, gapNs: 200_000 })),
    ...Array.from({ length: 50 }, (_, k) => ({ kind: 'icmp6', o: { ...PC1_6, dstIp: '2001:db8:ff::99', type: 128, id: 0x0909, seq: k + 1 }, what: `pc1 ping6 flood #${k + 1}`, gapNs: 500_000 })),
  ];
  const items = [...normal, ...floods];

  // Timestamps: normal traffic every 10 ms, floods at their own pace.
  const times = [];
  let t = 0;
  items.forEach((it, i) => {
    if (i > 0) t += it.gapNs ?? 10_000_000;
    times.push(t);
  });

  // The ingress token bucket, per remote address, exactly as tc_wan_ingress keeps it.
  const RATE = 100;
  const BURST = 20;
  const NS = 1_000_000_000;
  const cap = BURST * NS;
  const buckets = new Map();
  const overRate = (remote, now) => {
    const b = buckets.get(remote);
    if (!b) {
      buckets.set(remote, { tokens: cap - NS, last: now });
      return false;
    }
    const elapsed = now > b.last ? now - b.last : 0;
    let tokens = elapsed >= Math.floor(cap / RATE) ? cap : b.tokens + elapsed * RATE;
    if (tokens > cap) tokens = cap;
    b.last = now;
    if (tokens < NS) {
      b.tokens = tokens;
      return true;
    }
    b.tokens = tokens - NS;
    return false;
  };

  return items.map((it, i) => {
    const { kind, o, what } = it;
    let frame;
    let label;
    switch (kind) {
      case 'tcp': frame = tcp4(o); label = eg('tcp', o, o.sport); break;
      case 'udp': frame = udp4(o); label = o.ttl === 1 ? 'STACK_TTL_EXCEEDED' : eg('udp', o, o.sport); break;
      case 'icmp': frame = icmp4(o); label = o.type === 8 ? eg('icmp', o, o.id) : 'EG_DROP_UNSUPPORTED'; break;
      case 'gre': frame = raw4(o, PROTO.GRE, concat(u16(0), u16(ETH_P.IP), fill(40, 0x45))); label = 'EG_DROP_UNSUPPORTED'; break;
      case 'frag': frame = raw4(o, PROTO.UDP, udpDatagram(ip4(o.srcIp), ip4(o.dstIp), { sport: 6200, dport: 53, payload: fill(64, 0x46) })); label = 'EG_DROP_UNSUPPORTED'; break;
      case 'tcp6': frame = tcp6(o); label = 'EG_PASS'; break;
      case 'icmp6': frame = icmp6(o); label = 'EG_PASS'; break;
      case 'arp': frame = arpRequest(o); label = 'STACK_LOCAL'; break;
      default: throw new Error(kind);
    }
    if (label.startsWith('EG_SNAT') || label === 'EG_PASS') {
      const over = overRate(o.dstIp, times[i]);
      label += over ? ',IN_DROP_RATE' : label === 'EG_PASS' ? ',IN_PASS' : ',IN_DNAT';
    }
    return { comment: `${label} | ${what}`, frame, ns: times[i] };
  });
}

// ---- main ----------------------------------------------------------------------------------

const SCENARIOS = {
  'edge-firewall': () => write('edge-firewall', edgeFirewall()),
  'l3-router': () => write('l3-router', l3Router()),
  'l4-lb': () => write('l4-lb', l4Lb()),
  'tc-nat-vlan': () => {
    const packets = tcNatVlan();
    return write('tc-nat-vlan', packets, (i) => packets[i].ns - packets[i - 1].ns);
  },
};

const wanted = process.argv.slice(2);
for (const name of wanted) if (!SCENARIOS[name]) throw new Error(`no scenario ${name} (have: ${Object.keys(SCENARIOS).join(', ')})`);
for (const name of wanted.length ? wanted : Object.keys(SCENARIOS)) await SCENARIOS[name]();
