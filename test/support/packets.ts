import { parseIpv4, parseIpv6, parseMac } from '../../src/packet/address.js';
import { ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6 } from '../../src/uapi/if-ether.js';
/**
 * Test packets: Ethernet frames with IPv4 / IPv6 and TCP / UDP, optionally VLAN-tagged, with
 * correct checksums computed by `rfc1071` — a checksum written from RFC 1071 alone (big-endian
 * 16-bit words, end-around carry), independent of src/helpers/csum.ts, so it can judge it.
 */

/** The RFC 1071 Internet checksum of `bytes` (plus an initial 16-bit-folded `sum`), ready to store. */
export function rfc1071(bytes: Uint8Array, sum = 0): number {
  let s = sum;
  for (let i = 0; i < bytes.length; i += 2) {
    s += (bytes[i] << 8) | (i + 1 < bytes.length ? bytes[i + 1] : 0);
  }
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return ~s & 0xffff;
}

/** True when the bytes (checksum field included) sum to all ones. */
export const checksumValid = (bytes: Uint8Array, sum = 0): boolean => rfc1071(bytes, sum) === 0;

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** Addresses from text: src/packet's parsers (the byte layouts below are this file's own). */
export const mac = parseMac;
export const ip4 = parseIpv4;
export const ip6 = parseIpv6;

export interface EthOptions {
  ethDst?: Uint8Array;
  ethSrc?: Uint8Array;
}

const DST = mac('00:00:00:00:00:00');
const SRC = mac('02:00:00:00:00:01');

export function ethernet(type: number, payload: Uint8Array, o: EthOptions = {}): Uint8Array {
  return concat(o.ethDst ?? DST, o.ethSrc ?? SRC, Uint8Array.of(type >> 8, type & 0xff), payload);
}

/** Insert an 802.1Q (or 802.1ad) tag after the MAC addresses. */
export function withVlan(frame: Uint8Array, tci: number, proto = ETH_P_8021Q): Uint8Array {
  return concat(frame.subarray(0, 12), Uint8Array.of(proto >> 8, proto & 0xff, tci >> 8, tci & 0xff), frame.subarray(12));
}

export interface Ipv4Options {
  src?: Uint8Array;
  dst?: Uint8Array;
  tos?: number;
  ttl?: number;
  id?: number;
  /** Options bytes (a multiple of 4). */
  options?: Uint8Array;
}

export function ipv4(protocol: number, payload: Uint8Array, o: Ipv4Options = {}): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  const h = new Uint8Array(20 + opts.length);
  const v = new DataView(h.buffer);
  h[0] = 0x40 | (h.length / 4);
  h[1] = o.tos ?? 0;
  v.setUint16(2, h.length + payload.length);
  v.setUint16(4, o.id ?? 0x1234);
  v.setUint16(6, 0x4000);
  h[8] = o.ttl ?? 64;
  h[9] = protocol;
  h.set(o.src ?? ip4('192.0.2.1'), 12);
  h.set(o.dst ?? ip4('198.51.100.7'), 16);
  h.set(opts, 20);
  v.setUint16(10, rfc1071(h));
  return concat(h, payload);
}

export interface Ipv6Options {
  src?: Uint8Array;
  dst?: Uint8Array;
  trafficClass?: number;
  flowLabel?: number;
  hopLimit?: number;
}

export function ipv6(nextHeader: number, payload: Uint8Array, o: Ipv6Options = {}): Uint8Array {
  const h = new Uint8Array(40);
  const v = new DataView(h.buffer);
  v.setUint32(0, ((6 << 28) | ((o.trafficClass ?? 0) << 20) | (o.flowLabel ?? 0)) >>> 0);
  v.setUint16(4, payload.length);
  h[6] = nextHeader;
  h[7] = o.hopLimit ?? 64;
  h.set(o.src ?? ip6('2001:db8::1'), 8);
  h.set(o.dst ?? ip6('2001:db8::7'), 24);
  return concat(h, payload);
}

/** The pseudo-header sum (folded, not inverted) for an L4 checksum. */
function pseudoSum(src: Uint8Array, dst: Uint8Array, protocol: number, length: number): number {
  const ph = concat(src, dst, src.length === 4 ? Uint8Array.of(0, protocol, length >> 8, length & 0xff) : Uint8Array.of(length >>> 24, (length >> 16) & 0xff, length >> 8, length & 0xff, 0, 0, 0, protocol));
  return ~rfc1071(ph) & 0xffff;
}

export interface L4Options {
  sport?: number;
  dport?: number;
  payload?: Uint8Array;
}

export interface TcpOptions extends L4Options {
  seq?: number;
  ack?: number;
  flags?: number;
  window?: number;
}

function udpSegment(src: Uint8Array, dst: Uint8Array, o: L4Options): Uint8Array {
  const payload = o.payload ?? new Uint8Array(8).fill(0x5a);
  const u = new Uint8Array(8 + payload.length);
  const v = new DataView(u.buffer);
  v.setUint16(0, o.sport ?? 4242);
  v.setUint16(2, o.dport ?? 53);
  v.setUint16(4, u.length);
  u.set(payload, 8);
  let sum = rfc1071(u, pseudoSum(src, dst, 17, u.length));
  if (sum === 0) sum = 0xffff;
  v.setUint16(6, sum);
  return u;
}

function tcpSegment(src: Uint8Array, dst: Uint8Array, o: TcpOptions): Uint8Array {
  const payload = o.payload ?? new Uint8Array(12).fill(0xa5);
  const t = new Uint8Array(20 + payload.length);
  const v = new DataView(t.buffer);
  v.setUint16(0, o.sport ?? 40000);
  v.setUint16(2, o.dport ?? 80);
  v.setUint32(4, o.seq ?? 1);
  v.setUint32(8, o.ack ?? 0);
  t[12] = 5 << 4;
  t[13] = o.flags ?? 0x18;
  v.setUint16(14, o.window ?? 65535);
  t.set(payload, 20);
  v.setUint16(16, rfc1071(t, pseudoSum(src, dst, 6, t.length)));
  return t;
}

export type FrameOptions = EthOptions & { vlan?: number };

const tagged = (frame: Uint8Array, o: FrameOptions): Uint8Array => (o.vlan === undefined ? frame : withVlan(frame, o.vlan));

export function udp4(o: L4Options & Ipv4Options & FrameOptions = {}): Uint8Array {
  const src = o.src ?? ip4('192.0.2.1');
  const dst = o.dst ?? ip4('198.51.100.7');
  return tagged(ethernet(ETH_P_IP, ipv4(17, udpSegment(src, dst, o), { ...o, src, dst }), o), o);
}

export function tcp4(o: TcpOptions & Ipv4Options & FrameOptions = {}): Uint8Array {
  const src = o.src ?? ip4('192.0.2.1');
  const dst = o.dst ?? ip4('198.51.100.7');
  return tagged(ethernet(ETH_P_IP, ipv4(6, tcpSegment(src, dst, o), { ...o, src, dst }), o), o);
}

export function udp6(o: L4Options & Ipv6Options & FrameOptions = {}): Uint8Array {
  const src = o.src ?? ip6('2001:db8::1');
  const dst = o.dst ?? ip6('2001:db8::7');
  return tagged(ethernet(ETH_P_IPV6, ipv6(17, udpSegment(src, dst, o), { ...o, src, dst }), o), o);
}

export function tcp6(o: TcpOptions & Ipv6Options & FrameOptions = {}): Uint8Array {
  const src = o.src ?? ip6('2001:db8::1');
  const dst = o.dst ?? ip6('2001:db8::7');
  return tagged(ethernet(ETH_P_IPV6, ipv6(6, tcpSegment(src, dst, o), { ...o, src, dst }), o), o);
}

/** A frame of `length` bytes with EtherType `type` and payload bytes 0, 1, 2, … */
export function plainFrame(type: number, length: number, o: EthOptions = {}): Uint8Array {
  const payload = Uint8Array.from({ length: Math.max(0, length - 14) }, (_, i) => i & 0xff);
  return ethernet(type, payload, o).subarray(0, length);
}

/** Whether the IPv4 header at `off` and the TCP/UDP checksum after it are valid. */
export function ipv4ChecksumsValid(frame: Uint8Array, off = 14): { ip: boolean; l4: boolean } {
  const ihl = (frame[off] & 0x0f) * 4;
  const total = (frame[off + 2] << 8) | frame[off + 3];
  const ip = checksumValid(frame.subarray(off, off + ihl));
  const seg = frame.subarray(off + ihl, off + total);
  const proto = frame[off + 9];
  return { ip, l4: checksumValid(seg, pseudoSum(frame.subarray(off + 12, off + 16), frame.subarray(off + 16, off + 20), proto, seg.length)) };
}

/** Whether the TCP/UDP checksum of an IPv6 frame is valid. */
export function ipv6L4ChecksumValid(frame: Uint8Array, off = 14): boolean {
  const len = (frame[off + 4] << 8) | frame[off + 5];
  const seg = frame.subarray(off + 40, off + 40 + len);
  return checksumValid(seg, pseudoSum(frame.subarray(off + 8, off + 24), frame.subarray(off + 24, off + 40), frame[off + 6], len));
}
