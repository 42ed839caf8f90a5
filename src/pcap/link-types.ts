/**
 * Captures of other link types as the Ethernet frames xdplab's hooks take: Linux cooked
 * captures (`tcpdump -i any`: LINKTYPE_LINUX_SLL, LINUX_SLL2) and raw IP (LINKTYPE_RAW, IPV4,
 * IPV6) get the Ethernet header the kernel would have seen had the packet come in by an
 * Ethernet device:
 * - destination: the receiving interface's MAC for a packet to this host (SLL's PACKET_HOST,
 *   PACKET_OUTGOING, or raw IP to a unicast address); ff:ff:ff:ff:ff:ff for a broadcast; the
 *   multicast MAC of the destination address for a multicast (01:00:5e:… for IPv4, 33:33:… for
 *   IPv6, as ip_eth_mc_map / ipv6_eth_mc_map make them); 02:00:00:00:00:00 for PACKET_OTHERHOST;
 * - source: the link-layer address SLL recorded when it is a 6-byte Ethernet one, else
 *   02:00:00:00:00:00 (raw IP records no sender);
 * - EtherType: SLL's protocol field; for raw IP, the IP version's.
 * A VLAN tag SLL took out of band is not put back. Each packet's lengths grow by the header.
 */
import {
  ARPHRD_ETHER, ETH_HLEN, ETH_P_IP, ETH_P_IPV6, PACKET_BROADCAST, PACKET_HOST, PACKET_MULTICAST, PACKET_OTHERHOST,
} from '../uapi/if-ether.js';
import { LINKTYPE_RAW } from '../packet/constants.js';

export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

/** Link types made into Ethernet frames, and what each is, for the note a reader gives once. */
export const TO_ETHERNET: ReadonlyMap<number, string> = new Map([
  [LINKTYPE_LINUX_SLL, 'a Linux cooked capture (tcpdump -i any)'],
  [LINKTYPE_LINUX_SLL2, 'a Linux cooked capture v2 (tcpdump -i any)'],
  [LINKTYPE_RAW, 'raw IP'],
  [LINKTYPE_IPV4, 'raw IPv4'],
  [LINKTYPE_IPV6, 'raw IPv6'],
]);

const UNKNOWN = Uint8Array.of(0x02, 0, 0, 0, 0, 0);
const BROADCAST = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);

/** A packet's header as the link type gives it: the header's length and what the Ethernet header takes from it. */
interface Cooked {
  header: number;
  pktType: number;
  source: Uint8Array | undefined;
  protocol: number;
}

const be16 = (b: Uint8Array, at: number): number => (b[at] << 8) | b[at + 1];

function cooked(linkType: number, b: Uint8Array, at: number, len: number): Cooked | string {
  if (linkType === LINKTYPE_LINUX_SLL || linkType === LINKTYPE_LINUX_SLL2) {
    const sll2 = linkType === LINKTYPE_LINUX_SLL2;
    const header = sll2 ? 20 : 16;
    if (len < header) return `${len} bytes: shorter than the ${header}-byte cooked header`;
    const hatype = be16(b, at + (sll2 ? 8 : 2));
    const halen = sll2 ? b[at + 11] : be16(b, at + 4);
    const addr = at + (sll2 ? 12 : 6);
    return {
      header,
      pktType: sll2 ? b[at + 10] : be16(b, at),
      source: hatype === ARPHRD_ETHER && halen === 6 ? b.subarray(addr, addr + 6) : undefined,
      protocol: be16(b, at + (sll2 ? 0 : 14)),
    };
  }
  const version = len > 0 ? b[at] >> 4 : 0;
  const protocol = linkType === LINKTYPE_IPV4 || (linkType === LINKTYPE_RAW && version === 4) ? ETH_P_IP
    : linkType === LINKTYPE_IPV6 || (linkType === LINKTYPE_RAW && version === 6) ? ETH_P_IPV6 : 0;
  if (protocol === 0) return `raw IP packet of IP version ${version}`;
  return { header: 0, pktType: ipPacketType(protocol, b, at, len), source: undefined, protocol };
}

/** A raw IP packet's destination as SLL's packet type would say it. */
function ipPacketType(protocol: number, b: Uint8Array, at: number, len: number): number {
  if (protocol === ETH_P_IP && len >= 20) {
    if (b[at + 16] === 255 && b[at + 17] === 255 && b[at + 18] === 255 && b[at + 19] === 255) return PACKET_BROADCAST;
    return b[at + 16] >> 4 === 0xe ? PACKET_MULTICAST : PACKET_HOST;
  }
  return protocol === ETH_P_IPV6 && len >= 40 && b[at + 24] === 0xff ? PACKET_MULTICAST : PACKET_HOST;
}

/** The multicast MAC of the packet's IP destination (ip_eth_mc_map, ipv6_eth_mc_map). */
function multicastMac(protocol: number, ip: Uint8Array, at: number, len: number): Uint8Array {
  if (protocol === ETH_P_IP && len >= 20) return Uint8Array.of(0x01, 0x00, 0x5e, ip[at + 17] & 0x7f, ip[at + 18], ip[at + 19]);
  if (protocol === ETH_P_IPV6 && len >= 40) return Uint8Array.of(0x33, 0x33, ip[at + 36], ip[at + 37], ip[at + 38], ip[at + 39]);
  return Uint8Array.of(0x01, 0x00, 0x5e, 0x00, 0x00, 0x01);
}

/**
 * Write into `out` (from 0) the Ethernet frame of the `len` bytes at `at` of `b`, of link type
 * `linkType`, received by an interface of MAC `host`. Returns how many bytes the frame grew by
 * (14 less the link type's own header), or why the packet cannot be made one.
 */
export function toEthernet(linkType: number, b: Uint8Array, at: number, len: number, host: Uint8Array, out: Uint8Array): number | string {
  const c = cooked(linkType, b, at, len);
  if (typeof c === 'string') return c;
  const ip = at + c.header;
  const ipLen = len - c.header;
  const dst = c.pktType === PACKET_BROADCAST ? BROADCAST
    : c.pktType === PACKET_MULTICAST ? multicastMac(c.protocol, b, ip, ipLen)
      : c.pktType === PACKET_OTHERHOST ? UNKNOWN : host;
  out.set(dst, 0);
  out.set(c.source ?? UNKNOWN, 6);
  out[12] = c.protocol >> 8;
  out[13] = c.protocol & 0xff;
  out.set(b.subarray(ip, ip + ipLen), ETH_HLEN);
  return ETH_HLEN - c.header;
}
