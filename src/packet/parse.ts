/**
 * parsePacket: bytes → layers with every field (the inverse of buildPacket: building what
 * it returns gives the same bytes back). Made for tests, replay JSON and people reading
 * packets; it allocates an object per layer and text per address. The per-packet fast path
 * is flowOf (flow.ts).
 *
 * It goes as far as the bytes let it: Ethernet (LINKTYPE_ETHERNET) or a bare IP packet
 * (LINKTYPE_RAW), any number of VLAN tags (0x8100, 0x88a8, 0x9100), ARP, IPv4 (a non-first
 * fragment has no L4 header), IPv6 (no extension headers: another next header ends the
 * parse), IP in IP, TCP, UDP, ICMP, ICMPv6. What it cannot parse further — an unknown
 * protocol, a header cut short — is the `payload`; bytes past the outermost IP packet's
 * length (Ethernet padding) are `padding`.
 */
import { XdplabError } from '../errors.js';
import { formatIpv4, formatIpv6, formatMac } from './address.js';
import { ETH_P_8021AD, ETH_P_8021Q, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, ETH_P_QINQ1 } from '../uapi/if-ether.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_IPIP, IPPROTO_IPV6, IPPROTO_TCP, IPPROTO_UDP } from '../uapi/in.js';
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from './constants.js';
import { tcpFlagsText, type Layer } from './layers.js';

const u16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
const u32 = (b: Uint8Array, o: number): number => ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

type Next = 'ipv4' | 'ipv6' | 'arp' | 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'end';

const byEtherType = (t: number): Next => (t === ETH_P_IP ? 'ipv4' : t === ETH_P_IPV6 ? 'ipv6' : t === ETH_P_ARP ? 'arp' : 'end');

const byProtocol = (p: number): Next =>
  p === IPPROTO_TCP ? 'tcp' : p === IPPROTO_UDP ? 'udp' : p === IPPROTO_ICMP ? 'icmp' : p === IPPROTO_ICMPV6 ? 'icmpv6' : p === IPPROTO_IPIP ? 'ipv4' : p === IPPROTO_IPV6 ? 'ipv6' : 'end';

/** Where a parse is: the layers so far, the next byte, and where the IP packet ends. */
interface Cursor {
  readonly bytes: Uint8Array;
  readonly layers: Layer[];
  o: number;
  /** End of the outermost IP packet: what follows is padding. */
  limit: number;
  ipSeen: boolean;
}

export function parsePacket(bytes: Uint8Array, linkType: number = LINKTYPE_ETHERNET): Layer[] {
  const c: Cursor = { bytes, layers: [], o: 0, limit: bytes.length, ipSeen: false };
  let next = parseLinkLayer(c, linkType);
  while (next !== 'end') next = PARSE[next](c, next);
  const { layers, o, limit } = c;
  if (o < limit) layers.push({ kind: 'payload', data: bytes.slice(o, limit) });
  if (limit < bytes.length) layers.push({ kind: 'padding', data: bytes.slice(Math.max(o, limit), bytes.length) });
  return layers;
}

/** Ethernet and its VLAN tags, or nothing for raw IP: what comes next. */
function parseLinkLayer(c: Cursor, linkType: number): Next {
  const { bytes, layers } = c;
  const len = bytes.length;
  if (linkType === LINKTYPE_RAW) {
    const version = len > 0 ? bytes[0] >> 4 : 0;
    return version === 4 ? 'ipv4' : version === 6 ? 'ipv6' : 'end';
  }
  if (linkType !== LINKTYPE_ETHERNET) {
    throw new XdplabError('UNSUPPORTED', `link type ${linkType}: packets are parsed from Ethernet (1) or raw IP (101)`);
  }
  if (len < 14) return 'end';
  let type = u16(bytes, 12);
  layers.push({ kind: 'eth', dst: formatMac(bytes, 0), src: formatMac(bytes, 6), type });
  c.o = 14;
  while ((type === ETH_P_8021Q || type === ETH_P_8021AD || type === ETH_P_QINQ1) && c.o + 4 <= len) {
    const tci = u16(bytes, c.o);
    const tpid = type;
    type = u16(bytes, c.o + 2);
    layers.push({ kind: 'vlan', vid: tci & 0xfff, pcp: tci >> 13, dei: (tci >> 12) & 1, tpid, type });
    c.o += 4;
  }
  return byEtherType(type);
}

/** The outermost IP packet ends at `end` (if the bytes reach it): what follows is padding. */
function ipLimit(c: Cursor, end: number): void {
  if (!c.ipSeen && end <= c.bytes.length) c.limit = end;
  c.ipSeen = true;
}

/** One parser a layer kind: push the layer and say what comes next ('end' where the bytes stop it). */
const PARSE: Record<Exclude<Next, 'end'>, (c: Cursor, kind: Next) => Next> = {
  arp: parseArp,
  ipv4: parseIpv4,
  ipv6: parseIpv6,
  tcp: parseTcp,
  udp: parseUdp,
  icmp: parseIcmp,
  icmpv6: parseIcmp,
};

function parseArp(c: Cursor): Next {
  const { bytes, o } = c;
  if (c.limit - o < 28 || u16(bytes, o) !== 1 || u16(bytes, o + 2) !== ETH_P_IP || bytes[o + 4] !== 6 || bytes[o + 5] !== 4) return 'end';
  c.layers.push({
    kind: 'arp',
    op: u16(bytes, o + 6),
    senderMac: formatMac(bytes, o + 8),
    senderIp: formatIpv4(bytes, o + 14),
    targetMac: formatMac(bytes, o + 18),
    targetIp: formatIpv4(bytes, o + 24),
  });
  c.o += 28;
  c.limit = c.o; // what follows an ARP message is padding
  return 'end';
}

function parseIpv4(c: Cursor): Next {
  const { bytes, o } = c;
  const avail = c.limit - o;
  const hlen = avail >= 20 && bytes[o] >> 4 === 4 ? (bytes[o] & 0x0f) * 4 : 0;
  if (hlen < 20 || hlen > avail) return 'end';
  const totalLength = u16(bytes, o + 2);
  const frag = u16(bytes, o + 6);
  const protocol = bytes[o + 9];
  c.layers.push({
    kind: 'ipv4',
    src: formatIpv4(bytes, o + 12),
    dst: formatIpv4(bytes, o + 16),
    ttl: bytes[o + 8],
    tos: bytes[o + 1],
    id: u16(bytes, o + 4),
    df: (frag & 0x4000) !== 0,
    mf: (frag & 0x2000) !== 0,
    fragOffset: frag & 0x1fff,
    protocol,
    ...(hlen > 20 ? { options: bytes.slice(o + 20, o + hlen) } : {}),
    totalLength,
    checksum: u16(bytes, o + 10),
  });
  if (totalLength >= hlen) ipLimit(c, o + totalLength);
  c.o += hlen;
  return (frag & 0x1fff) === 0 ? byProtocol(protocol) : 'end';
}

function parseIpv6(c: Cursor): Next {
  const { bytes, o } = c;
  if (c.limit - o < 40 || bytes[o] >> 4 !== 6) return 'end';
  const w = u32(bytes, o);
  const payloadLength = u16(bytes, o + 4);
  const nextHeader = bytes[o + 6];
  c.layers.push({
    kind: 'ipv6',
    src: formatIpv6(bytes, o + 8),
    dst: formatIpv6(bytes, o + 24),
    hopLimit: bytes[o + 7],
    trafficClass: (w >>> 20) & 0xff,
    flowLabel: w & 0xfffff,
    nextHeader,
    payloadLength,
  });
  ipLimit(c, o + 40 + payloadLength);
  c.o += 40;
  return byProtocol(nextHeader);
}

function parseTcp(c: Cursor): Next {
  const { bytes, o } = c;
  const avail = c.limit - o;
  const hlen = avail >= 20 ? (bytes[o + 12] >> 4) * 4 : 0;
  if (hlen < 20 || hlen > avail) return 'end';
  c.layers.push({
    kind: 'tcp',
    sport: u16(bytes, o),
    dport: u16(bytes, o + 2),
    seq: u32(bytes, o + 4),
    ack: u32(bytes, o + 8),
    flags: tcpFlagsText(bytes[o + 13]),
    window: u16(bytes, o + 14),
    urgent: u16(bytes, o + 18),
    ...(hlen > 20 ? { options: bytes.slice(o + 20, o + hlen) } : {}),
    checksum: u16(bytes, o + 16),
  });
  c.o += hlen;
  return 'end';
}

function parseUdp(c: Cursor): Next {
  const { bytes, o } = c;
  if (c.limit - o < 8) return 'end';
  c.layers.push({ kind: 'udp', sport: u16(bytes, o), dport: u16(bytes, o + 2), length: u16(bytes, o + 4), checksum: u16(bytes, o + 6) });
  c.o += 8;
  return 'end';
}

function parseIcmp(c: Cursor, kind: Next): Next {
  const { bytes, o } = c;
  if (c.limit - o < 8 || (kind !== 'icmp' && kind !== 'icmpv6')) return 'end';
  c.layers.push({ kind, type: bytes[o], code: bytes[o + 1], id: u16(bytes, o + 4), seq: u16(bytes, o + 6), checksum: u16(bytes, o + 2) });
  c.o += 8;
  return 'end';
}
