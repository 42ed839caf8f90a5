/**
 * flowOf: the per-packet fast path — where the headers are and the flow's fields, read
 * straight from the bytes into a Flow object the caller reuses (no allocation per packet,
 * no text). For flow hashing, routing decisions and counters; parsePacket is the slow,
 * complete reading.
 *
 * Ethernet (up to any number of VLAN tags) or raw IP; IPv4 (a fragment other than the first
 * has no ports); IPv6 with its extension headers skipped (hop-by-hop, routing, destination
 * options, fragment, AH) to reach the transport header. Ports are those of TCP, UDP and SCTP.
 */
import { ETH_P_8021AD, ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6, ETH_P_QINQ1 } from '../uapi/if-ether.js';
import {
  IPPROTO_AH, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, IPPROTO_ROUTING, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP,
} from '../uapi/in.js';
import { LINKTYPE_RAW } from './constants.js';

export interface Flow {
  /** The EtherType after any VLAN tags (for raw IP: 0x0800 / 0x86dd); 0 when there is none. */
  ethType: number;
  /** VID of the outermost VLAN tag, or -1 when untagged. */
  vlanId: number;
  /** 4 or 6; 0 when the packet is not IP (or its header is cut short). */
  ipVersion: number;
  /** IPv4 protocol / IPv6 upper-layer next header (after extension headers); -1 when not IP. */
  proto: number;
  /**
   * IPv4: the source / destination address as an unsigned 32-bit number. IPv6: the XOR of the
   * address's four 32-bit words — a hash input, not an address; the addresses themselves are
   * the 16 bytes at l3Offset + 8 and l3Offset + 24.
   */
  src: number;
  dst: number;
  /** TCP / UDP / SCTP ports; 0 otherwise. */
  sport: number;
  dport: number;
  /** Offset of the IP header, or -1. */
  l3Offset: number;
  /** Offset of the transport header, or -1 (not IP, a later fragment, or cut short). */
  l4Offset: number;
  /** The packet is an IP fragment (any: first, middle or last). */
  fragment: boolean;
}

export const newFlow = (): Flow => ({
  ethType: 0,
  vlanId: -1,
  ipVersion: 0,
  proto: -1,
  src: 0,
  dst: 0,
  sport: 0,
  dport: 0,
  l3Offset: -1,
  l4Offset: -1,
  fragment: false,
});

const word = (b: Uint8Array, o: number): number => (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];

/** Fill `flow` (reused: pass the same object every time) from the packet's headers; returns it. */
export function flowOf(bytes: Uint8Array, flow: Flow = newFlow(), linkType = 1): Flow {
  const len = bytes.length;
  flow.ethType = 0;
  flow.vlanId = -1;
  flow.ipVersion = 0;
  flow.proto = -1;
  flow.src = 0;
  flow.dst = 0;
  flow.sport = 0;
  flow.dport = 0;
  flow.l3Offset = -1;
  flow.l4Offset = -1;
  flow.fragment = false;
  let o: number;
  let type: number;
  if (linkType === LINKTYPE_RAW) {
    if (len < 1) return flow;
    const version = bytes[0] >> 4;
    type = version === 4 ? ETH_P_IP : version === 6 ? ETH_P_IPV6 : 0;
    o = 0;
  } else {
    if (len < 14) return flow;
    type = (bytes[12] << 8) | bytes[13];
    o = 14;
    while ((type === ETH_P_8021Q || type === ETH_P_8021AD || type === ETH_P_QINQ1) && o + 4 <= len) {
      if (flow.vlanId < 0) flow.vlanId = ((bytes[o] << 8) | bytes[o + 1]) & 0xfff;
      type = (bytes[o + 2] << 8) | bytes[o + 3];
      o += 4;
    }
  }
  flow.ethType = type;
  let proto: number;
  let l4: number;
  if (type === ETH_P_IP) {
    if (o + 20 > len || bytes[o] >> 4 !== 4) return flow;
    const hlen = (bytes[o] & 0x0f) * 4;
    if (hlen < 20) return flow;
    flow.ipVersion = 4;
    flow.l3Offset = o;
    proto = bytes[o + 9];
    flow.proto = proto;
    flow.src = word(bytes, o + 12) >>> 0;
    flow.dst = word(bytes, o + 16) >>> 0;
    const frag = ((bytes[o + 6] << 8) | bytes[o + 7]) & 0x3fff;
    flow.fragment = frag !== 0;
    if ((frag & 0x1fff) !== 0) return flow;
    l4 = o + hlen;
  } else if (type === ETH_P_IPV6) {
    if (o + 40 > len || bytes[o] >> 4 !== 6) return flow;
    flow.ipVersion = 6;
    flow.l3Offset = o;
    flow.src = (word(bytes, o + 8) ^ word(bytes, o + 12) ^ word(bytes, o + 16) ^ word(bytes, o + 20)) >>> 0;
    flow.dst = (word(bytes, o + 24) ^ word(bytes, o + 28) ^ word(bytes, o + 32) ^ word(bytes, o + 36)) >>> 0;
    proto = bytes[o + 6];
    l4 = o + 40;
    for (;;) {
      if (proto === IPPROTO_HOPOPTS || proto === IPPROTO_ROUTING || proto === IPPROTO_DSTOPTS) {
        if (l4 + 8 > len) return ((flow.proto = proto), flow);
        proto = bytes[l4];
        l4 += (bytes[l4 + 1] + 1) * 8;
      } else if (proto === IPPROTO_FRAGMENT) {
        if (l4 + 8 > len) return ((flow.proto = proto), flow);
        flow.fragment = true;
        const later = (((bytes[l4 + 2] << 8) | bytes[l4 + 3]) & 0xfff8) !== 0;
        proto = bytes[l4];
        l4 += 8;
        if (later) {
          flow.proto = proto;
          return flow;
        }
      } else if (proto === IPPROTO_AH) {
        if (l4 + 8 > len) return ((flow.proto = proto), flow);
        proto = bytes[l4];
        l4 += (bytes[l4 + 1] + 2) * 4;
      } else break;
    }
    flow.proto = proto;
  } else {
    return flow;
  }
  if (l4 > len) return flow;
  flow.l4Offset = l4;
  if ((proto === IPPROTO_TCP || proto === IPPROTO_UDP || proto === IPPROTO_SCTP) && l4 + 4 <= len) {
    flow.sport = (bytes[l4] << 8) | bytes[l4 + 1];
    flow.dport = (bytes[l4 + 2] << 8) | bytes[l4 + 3];
  }
  return flow;
}
