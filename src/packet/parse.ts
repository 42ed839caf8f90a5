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

export function parsePacket(bytes: Uint8Array, linkType: number = LINKTYPE_ETHERNET): Layer[] {
  const layers: Layer[] = [];
  const len = bytes.length;
  let o = 0;
  /** End of the outermost IP packet: what follows is padding. */
  let limit = len;
  let ipSeen = false;
  let next: Next;

  if (linkType === LINKTYPE_ETHERNET) {
    if (len < 14) next = 'end';
    else {
      let type = u16(bytes, 12);
      layers.push({ kind: 'eth', dst: formatMac(bytes, 0), src: formatMac(bytes, 6), type });
      o = 14;
      while ((type === ETH_P_8021Q || type === ETH_P_8021AD || type === ETH_P_QINQ1) && o + 4 <= len) {
        const tci = u16(bytes, o);
        const tpid = type;
        type = u16(bytes, o + 2);
        layers.push({ kind: 'vlan', vid: tci & 0xfff, pcp: tci >> 13, dei: (tci >> 12) & 1, tpid, type });
        o += 4;
      }
      next = byEtherType(type);
    }
  } else if (linkType === LINKTYPE_RAW) {
    const version = len > 0 ? bytes[0] >> 4 : 0;
    next = version === 4 ? 'ipv4' : version === 6 ? 'ipv6' : 'end';
  } else {
    throw new XdplabError('UNSUPPORTED', `link type ${linkType}: packets are parsed from Ethernet (1) or raw IP (101)`);
  }

  const ipLimit = (end: number): void => {
    if (!ipSeen && end <= len) limit = end;
    ipSeen = true;
  };

  while (next !== 'end') {
    const avail = limit - o;
    switch (next) {
      case 'arp': {
        if (avail < 28 || u16(bytes, o) !== 1 || u16(bytes, o + 2) !== ETH_P_IP || bytes[o + 4] !== 6 || bytes[o + 5] !== 4) {
          next = 'end';
          break;
        }
        layers.push({
          kind: 'arp',
          op: u16(bytes, o + 6),
          senderMac: formatMac(bytes, o + 8),
          senderIp: formatIpv4(bytes, o + 14),
          targetMac: formatMac(bytes, o + 18),
          targetIp: formatIpv4(bytes, o + 24),
        });
        o += 28;
        limit = o; // what follows an ARP message is padding
        next = 'end';
        break;
      }
      case 'ipv4': {
        const hlen = avail >= 20 && bytes[o] >> 4 === 4 ? (bytes[o] & 0x0f) * 4 : 0;
        if (hlen < 20 || hlen > avail) {
          next = 'end';
          break;
        }
        const totalLength = u16(bytes, o + 2);
        const frag = u16(bytes, o + 6);
        const protocol = bytes[o + 9];
        layers.push({
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
        if (totalLength >= hlen) ipLimit(o + totalLength);
        o += hlen;
        next = (frag & 0x1fff) === 0 ? byProtocol(protocol) : 'end';
        break;
      }
      case 'ipv6': {
        if (avail < 40 || bytes[o] >> 4 !== 6) {
          next = 'end';
          break;
        }
        const w = u32(bytes, o);
        const payloadLength = u16(bytes, o + 4);
        const nextHeader = bytes[o + 6];
        layers.push({
          kind: 'ipv6',
          src: formatIpv6(bytes, o + 8),
          dst: formatIpv6(bytes, o + 24),
          hopLimit: bytes[o + 7],
          trafficClass: (w >>> 20) & 0xff,
          flowLabel: w & 0xfffff,
          nextHeader,
          payloadLength,
        });
        ipLimit(o + 40 + payloadLength);
        o += 40;
        next = byProtocol(nextHeader);
        break;
      }
      case 'tcp': {
        const hlen = avail >= 20 ? (bytes[o + 12] >> 4) * 4 : 0;
        if (hlen < 20 || hlen > avail) {
          next = 'end';
          break;
        }
        layers.push({
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
        o += hlen;
        next = 'end';
        break;
      }
      case 'udp': {
        if (avail < 8) {
          next = 'end';
          break;
        }
        layers.push({ kind: 'udp', sport: u16(bytes, o), dport: u16(bytes, o + 2), length: u16(bytes, o + 4), checksum: u16(bytes, o + 6) });
        o += 8;
        next = 'end';
        break;
      }
      case 'icmp':
      case 'icmpv6': {
        if (avail < 8) {
          next = 'end';
          break;
        }
        layers.push({ kind: next, type: bytes[o], code: bytes[o + 1], id: u16(bytes, o + 4), seq: u16(bytes, o + 6), checksum: u16(bytes, o + 2) });
        o += 8;
        next = 'end';
        break;
      }
    }
  }
  if (o < limit) layers.push({ kind: 'payload', data: bytes.slice(o, limit) });
  if (limit < len) layers.push({ kind: 'padding', data: bytes.slice(Math.max(o, limit), len) });
  return layers;
}
