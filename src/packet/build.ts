/**
 * buildPacket: layers → bytes, with every EtherType, protocol number, length and checksum
 * that was left out filled in from the layers that follow:
 *
 *   buildPacket([eth({ src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' }), vlan({ vid: 10 }),
 *                ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }), tcp({ sport: 1234, dport: 80, flags: 'S' }),
 *                payload('hello')])
 *
 * Lengths cover everything after a header up to the end of the packet, less trailing
 * `padding` layers. Checksums are computed innermost first (so tunnels work): IPv4 over its
 * header, TCP / UDP / ICMPv6 over the segment and the pseudo-header of the nearest IP layer
 * before them, ICMP over its message.
 */
import { XdplabError } from '../errors.js';
import { parseIpv4, parseIpv6, parseMac } from './address.js';
import { internetChecksum, pseudoHeaderSum } from './checksum.js';
import { ARPHRD_ETHER, ETH_P_8021Q, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6 } from '../uapi/if-ether.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_NONE, IPPROTO_TCP, IPPROTO_UDP } from '../uapi/in.js';
import { tcpFlagsValue, type Layer } from './layers.js';

const fail = (layer: Layer, i: number, message: string): never => {
  throw new XdplabError('BAD_INPUT', `packet layer ${i} (${layer.kind}): ${message}`);
};

function check(layer: Layer, i: number, field: string, v: number | undefined, bits: number): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) fail(layer, i, `${field} ${v} is not a ${bits}-bit unsigned integer`);
}

function optionBytes(layer: Layer, i: number, options: Uint8Array | undefined): number {
  const n = options?.length ?? 0;
  if (n % 4 !== 0 || n > 40) fail(layer, i, `options of ${n} bytes (a multiple of 4, at most 40)`);
  return n;
}

function headerSize(layer: Layer, i: number): number {
  switch (layer.kind) {
    case 'eth':
      return 14;
    case 'vlan':
      return 4;
    case 'arp':
      return 28;
    case 'ipv4':
      return 20 + optionBytes(layer, i, layer.options);
    case 'ipv6':
      return 40;
    case 'tcp':
      return 20 + optionBytes(layer, i, layer.options);
    case 'udp':
    case 'icmp':
    case 'icmpv6':
      return 8;
    case 'payload':
    case 'padding':
      return layer.data.length;
  }
}

/** The EtherType that announces `next`, if it has one. */
function etherTypeOf(next: Layer | undefined): number | undefined {
  switch (next?.kind) {
    case 'vlan':
      return next.tpid ?? ETH_P_8021Q;
    case 'ipv4':
      return ETH_P_IP;
    case 'ipv6':
      return ETH_P_IPV6;
    case 'arp':
      return ETH_P_ARP;
    default:
      return undefined;
  }
}

/** The IP protocol number of `next`, if it has one. */
function protocolOf(next: Layer | undefined): number | undefined {
  switch (next?.kind) {
    case 'tcp':
      return IPPROTO_TCP;
    case 'udp':
      return IPPROTO_UDP;
    case 'icmp':
      return IPPROTO_ICMP;
    case 'icmpv6':
      return IPPROTO_ICMPV6;
    case 'ipv4':
      return IPPROTO_IPIP;
    case 'ipv6':
      return IPPROTO_IPV6;
    case undefined:
    case 'padding':
      return IPPROTO_NONE;
    default:
      return undefined;
  }
}

type LayerOf<K extends Layer['kind']> = Extract<Layer, { kind: K }>;

/** A packet being written: its layers, where each starts, where the lengths end, the bytes. */
interface Frame {
  readonly layers: readonly Layer[];
  readonly offsets: readonly number[];
  /** The end of what lengths and checksums cover: the packet less its trailing padding. */
  readonly dataEnd: number;
  readonly out: Uint8Array;
  readonly v: DataView;
}

export function buildPacket(layers: readonly Layer[]): Uint8Array {
  const f = layOut(layers);
  for (let i = 0; i < layers.length; i++) writeLayer(f, i);
  for (let i = layers.length - 1; i >= 0; i--) writeChecksum(f, i); // innermost first
  return f.out;
}

/** Where each layer starts and where the lengths end; padding only at the end. */
function layOut(layers: readonly Layer[]): Frame {
  const n = layers.length;
  const offsets: number[] = [];
  let total = 0;
  for (let i = 0; i < n; i++) {
    offsets.push(total);
    total += headerSize(layers[i], i);
  }
  // Trailing padding layers are outside every length and checksum.
  let dataEnd = total;
  for (let i = n - 1; i >= 0 && layers[i].kind === 'padding'; i--) dataEnd = offsets[i];
  for (let i = 0; i < n; i++) {
    if (layers[i].kind === 'padding' && offsets[i] < dataEnd) fail(layers[i], i, 'padding may only end a packet');
  }
  const out = new Uint8Array(total);
  return { layers, offsets, dataEnd, out, v: new DataView(out.buffer) };
}

/** A type field: the one given, else the one the next layer implies, else an error. */
function needType(f: Frame, i: number, given: number | undefined, derived: number | undefined, what: string): number {
  const t = given ?? derived;
  if (t === undefined) return fail(f.layers[i], i, `give its ${what}: the next layer (${f.layers[i + 1]?.kind ?? 'none'}) does not say`);
  return t;
}

function writeLayer(f: Frame, i: number): void {
  const L = f.layers[i];
  switch (L.kind) {
    case 'eth': return writeEth(f, i, L);
    case 'vlan': return writeVlan(f, i, L);
    case 'arp': return writeArp(f, i, L);
    case 'ipv4': return writeIpv4(f, i, L);
    case 'ipv6': return writeIpv6(f, i, L);
    case 'tcp': return writeTcp(f, i, L);
    case 'udp': return writeUdp(f, i, L);
    case 'icmp':
    case 'icmpv6': return writeIcmp(f, i, L);
    case 'payload':
    case 'padding':
      f.out.set(L.data, f.offsets[i]);
  }
}

function writeEth(f: Frame, i: number, L: LayerOf<'eth'>): void {
  const { out, v } = f;
  const o = f.offsets[i];
  check(L, i, 'type', L.type, 16);
  out.set(parseMac(L.dst), o);
  out.set(parseMac(L.src), o + 6);
  v.setUint16(o + 12, needType(f, i, L.type, etherTypeOf(f.layers[i + 1]), 'type (EtherType)'));
}

function writeVlan(f: Frame, i: number, L: LayerOf<'vlan'>): void {
  const o = f.offsets[i];
  check(L, i, 'vid', L.vid, 12);
  check(L, i, 'pcp', L.pcp, 3);
  check(L, i, 'dei', L.dei, 1);
  check(L, i, 'type', L.type, 16);
  f.v.setUint16(o, ((L.pcp ?? 0) << 13) | ((L.dei ?? 0) << 12) | L.vid);
  f.v.setUint16(o + 2, needType(f, i, L.type, etherTypeOf(f.layers[i + 1]), 'type (EtherType)'));
}

function writeArp(f: Frame, i: number, L: LayerOf<'arp'>): void {
  const { out, v } = f;
  const o = f.offsets[i];
  check(L, i, 'op', L.op, 16);
  v.setUint16(o, ARPHRD_ETHER);
  v.setUint16(o + 2, ETH_P_IP);
  out[o + 4] = 6;
  out[o + 5] = 4;
  v.setUint16(o + 6, L.op);
  out.set(parseMac(L.senderMac), o + 8);
  out.set(parseIpv4(L.senderIp), o + 14);
  out.set(parseMac(L.targetMac ?? '00:00:00:00:00:00'), o + 18);
  out.set(parseIpv4(L.targetIp), o + 24);
}

function writeIpv4(f: Frame, i: number, L: LayerOf<'ipv4'>): void {
  const { out, v } = f;
  const o = f.offsets[i];
  const hlen = headerSize(L, i);
  for (const [field, bits] of [['ttl', 8], ['tos', 8], ['id', 16], ['fragOffset', 13], ['protocol', 8], ['totalLength', 16], ['checksum', 16]] as const) {
    check(L, i, field, L[field], bits);
  }
  const totalLength = L.totalLength ?? f.dataEnd - o;
  if (totalLength > 0xffff) fail(L, i, `total length ${totalLength} does not fit 16 bits`);
  out[o] = 0x40 | (hlen / 4);
  out[o + 1] = L.tos ?? 0;
  v.setUint16(o + 2, totalLength);
  v.setUint16(o + 4, L.id ?? 0);
  v.setUint16(o + 6, (L.df ? 0x4000 : 0) | (L.mf ? 0x2000 : 0) | (L.fragOffset ?? 0));
  out[o + 8] = L.ttl ?? 64;
  out[o + 9] = needType(f, i, L.protocol, protocolOf(f.layers[i + 1]), 'protocol');
  out.set(parseIpv4(L.src), o + 12);
  out.set(parseIpv4(L.dst), o + 16);
  if (L.options) out.set(L.options, o + 20);
  v.setUint16(o + 10, L.checksum ?? internetChecksum(out, o, o + hlen));
}

function writeIpv6(f: Frame, i: number, L: LayerOf<'ipv6'>): void {
  const { out, v } = f;
  const o = f.offsets[i];
  for (const [field, bits] of [['hopLimit', 8], ['trafficClass', 8], ['flowLabel', 20], ['nextHeader', 8], ['payloadLength', 16]] as const) {
    check(L, i, field, L[field], bits);
  }
  const payloadLength = L.payloadLength ?? f.dataEnd - o - 40;
  if (payloadLength > 0xffff) fail(L, i, `payload length ${payloadLength} does not fit 16 bits (jumbograms are not built)`);
  v.setUint32(o, ((6 << 28) | ((L.trafficClass ?? 0) << 20) | (L.flowLabel ?? 0)) >>> 0);
  v.setUint16(o + 4, payloadLength);
  out[o + 6] = needType(f, i, L.nextHeader, protocolOf(f.layers[i + 1]), 'nextHeader');
  out[o + 7] = L.hopLimit ?? 64;
  out.set(parseIpv6(L.src), o + 8);
  out.set(parseIpv6(L.dst), o + 24);
}

function writeTcp(f: Frame, i: number, L: LayerOf<'tcp'>): void {
  const { out, v } = f;
  const o = f.offsets[i];
  for (const [field, bits] of [['sport', 16], ['dport', 16], ['seq', 32], ['ack', 32], ['window', 16], ['urgent', 16], ['checksum', 16]] as const) {
    check(L, i, field, L[field], bits);
  }
  let flags: number;
  try {
    flags = tcpFlagsValue(L.flags ?? 'S');
  } catch (err) {
    return fail(L, i, (err as Error).message);
  }
  v.setUint16(o, L.sport);
  v.setUint16(o + 2, L.dport);
  v.setUint32(o + 4, L.seq ?? 0);
  v.setUint32(o + 8, L.ack ?? 0);
  out[o + 12] = (headerSize(L, i) / 4) << 4;
  out[o + 13] = flags;
  v.setUint16(o + 14, L.window ?? 65535);
  v.setUint16(o + 18, L.urgent ?? 0);
  if (L.options) out.set(L.options, o + 20);
}

function writeUdp(f: Frame, i: number, L: LayerOf<'udp'>): void {
  const o = f.offsets[i];
  for (const [field, bits] of [['sport', 16], ['dport', 16], ['length', 16], ['checksum', 16]] as const) check(L, i, field, L[field], bits);
  const length = L.length ?? f.dataEnd - o;
  if (length > 0xffff) fail(L, i, `length ${length} does not fit 16 bits`);
  f.v.setUint16(o, L.sport);
  f.v.setUint16(o + 2, L.dport);
  f.v.setUint16(o + 4, length);
}

function writeIcmp(f: Frame, i: number, L: LayerOf<'icmp' | 'icmpv6'>): void {
  const o = f.offsets[i];
  for (const [field, bits] of [['type', 8], ['code', 8], ['id', 16], ['seq', 16], ['checksum', 16]] as const) check(L, i, field, L[field], bits);
  f.out[o] = L.type;
  f.out[o + 1] = L.code ?? 0;
  f.v.setUint16(o + 4, L.id ?? 0);
  f.v.setUint16(o + 6, L.seq ?? 0);
}

/** A TCP, UDP, ICMP or ICMPv6 layer's checksum (given, or over the segment and the nearest IP layer's pseudo-header). */
function writeChecksum(f: Frame, i: number): void {
  const { layers, offsets, dataEnd, out, v } = f;
  const L = layers[i];
  if (L.kind !== 'tcp' && L.kind !== 'udp' && L.kind !== 'icmp' && L.kind !== 'icmpv6') return;
  const o = offsets[i];
  const at = o + (L.kind === 'tcp' ? 16 : L.kind === 'udp' ? 6 : 2);
  if (L.checksum !== undefined) {
    v.setUint16(at, L.checksum);
    return;
  }
  const length = dataEnd - o;
  let sum = 0;
  if (L.kind !== 'icmp') {
    let ip = i - 1;
    while (ip >= 0 && layers[ip].kind !== 'ipv4' && layers[ip].kind !== 'ipv6') ip--;
    if (ip >= 0) sum = pseudoHeaderSum(out, offsets[ip], L.kind === 'tcp' ? IPPROTO_TCP : L.kind === 'udp' ? IPPROTO_UDP : IPPROTO_ICMPV6, length);
  }
  let c = internetChecksum(out, o, dataEnd, sum);
  if (c === 0 && L.kind === 'udp') c = 0xffff;
  v.setUint16(at, c);
}
