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

export function buildPacket(layers: readonly Layer[]): Uint8Array {
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
  const v = new DataView(out.buffer);

  const following = (i: number): Layer | undefined => layers[i + 1];
  const needType = (layer: Layer, i: number, given: number | undefined, derived: number | undefined, what: string): number => {
    const t = given ?? derived;
    if (t === undefined) return fail(layer, i, `give its ${what}: the next layer (${following(i)?.kind ?? 'none'}) does not say`);
    return t;
  };

  for (let i = 0; i < n; i++) {
    const L = layers[i];
    const o = offsets[i];
    switch (L.kind) {
      case 'eth': {
        check(L, i, 'type', L.type, 16);
        out.set(parseMac(L.dst), o);
        out.set(parseMac(L.src), o + 6);
        v.setUint16(o + 12, needType(L, i, L.type, etherTypeOf(following(i)), 'type (EtherType)'));
        break;
      }
      case 'vlan': {
        check(L, i, 'vid', L.vid, 12);
        check(L, i, 'pcp', L.pcp, 3);
        check(L, i, 'dei', L.dei, 1);
        check(L, i, 'type', L.type, 16);
        v.setUint16(o, ((L.pcp ?? 0) << 13) | ((L.dei ?? 0) << 12) | L.vid);
        v.setUint16(o + 2, needType(L, i, L.type, etherTypeOf(following(i)), 'type (EtherType)'));
        break;
      }
      case 'arp': {
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
        break;
      }
      case 'ipv4': {
        const hlen = headerSize(L, i);
        for (const [f, bits] of [['ttl', 8], ['tos', 8], ['id', 16], ['fragOffset', 13], ['protocol', 8], ['totalLength', 16], ['checksum', 16]] as const) {
          check(L, i, f, L[f], bits);
        }
        const totalLength = L.totalLength ?? dataEnd - o;
        if (totalLength > 0xffff) fail(L, i, `total length ${totalLength} does not fit 16 bits`);
        out[o] = 0x40 | (hlen / 4);
        out[o + 1] = L.tos ?? 0;
        v.setUint16(o + 2, totalLength);
        v.setUint16(o + 4, L.id ?? 0);
        v.setUint16(o + 6, (L.df ? 0x4000 : 0) | (L.mf ? 0x2000 : 0) | (L.fragOffset ?? 0));
        out[o + 8] = L.ttl ?? 64;
        out[o + 9] = needType(L, i, L.protocol, protocolOf(following(i)), 'protocol');
        out.set(parseIpv4(L.src), o + 12);
        out.set(parseIpv4(L.dst), o + 16);
        if (L.options) out.set(L.options, o + 20);
        v.setUint16(o + 10, L.checksum ?? internetChecksum(out, o, o + hlen));
        break;
      }
      case 'ipv6': {
        for (const [f, bits] of [['hopLimit', 8], ['trafficClass', 8], ['flowLabel', 20], ['nextHeader', 8], ['payloadLength', 16]] as const) {
          check(L, i, f, L[f], bits);
        }
        const payloadLength = L.payloadLength ?? dataEnd - o - 40;
        if (payloadLength > 0xffff) fail(L, i, `payload length ${payloadLength} does not fit 16 bits (jumbograms are not built)`);
        v.setUint32(o, ((6 << 28) | ((L.trafficClass ?? 0) << 20) | (L.flowLabel ?? 0)) >>> 0);
        v.setUint16(o + 4, payloadLength);
        out[o + 6] = needType(L, i, L.nextHeader, protocolOf(following(i)), 'nextHeader');
        out[o + 7] = L.hopLimit ?? 64;
        out.set(parseIpv6(L.src), o + 8);
        out.set(parseIpv6(L.dst), o + 24);
        break;
      }
      case 'tcp': {
        for (const [f, bits] of [['sport', 16], ['dport', 16], ['seq', 32], ['ack', 32], ['window', 16], ['urgent', 16], ['checksum', 16]] as const) {
          check(L, i, f, L[f], bits);
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
        break;
      }
      case 'udp': {
        for (const [f, bits] of [['sport', 16], ['dport', 16], ['length', 16], ['checksum', 16]] as const) check(L, i, f, L[f], bits);
        const length = L.length ?? dataEnd - o;
        if (length > 0xffff) fail(L, i, `length ${length} does not fit 16 bits`);
        v.setUint16(o, L.sport);
        v.setUint16(o + 2, L.dport);
        v.setUint16(o + 4, length);
        break;
      }
      case 'icmp':
      case 'icmpv6': {
        for (const [f, bits] of [['type', 8], ['code', 8], ['id', 16], ['seq', 16], ['checksum', 16]] as const) check(L, i, f, L[f], bits);
        out[o] = L.type;
        out[o + 1] = L.code ?? 0;
        v.setUint16(o + 4, L.id ?? 0);
        v.setUint16(o + 6, L.seq ?? 0);
        break;
      }
      case 'payload':
      case 'padding':
        out.set(L.data, o);
        break;
    }
  }

  // Checksums, innermost first.
  for (let i = n - 1; i >= 0; i--) {
    const L = layers[i];
    if (L.kind !== 'tcp' && L.kind !== 'udp' && L.kind !== 'icmp' && L.kind !== 'icmpv6') continue;
    const o = offsets[i];
    const at = o + (L.kind === 'tcp' ? 16 : L.kind === 'udp' ? 6 : 2);
    if (L.checksum !== undefined) {
      v.setUint16(at, L.checksum);
      continue;
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
  return out;
}
