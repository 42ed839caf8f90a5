/**
 * The RSS hash replay spreads packets with: the Microsoft RSS specification's verification
 * vectors ("Verifying the RSS Hash Calculation": default key, IPv4 and IPv6, with and without
 * ports), then what the hash reads of a frame (VLAN tags, fragments, non-IP).
 */
import { describe, expect, it } from 'vitest';
import { RssHasher, rssQueue } from '../../src/hooks/flow-hash.js';
import { ip4, ip6, tcp4, tcp6, udp4, plainFrame, withVlan } from '../support/packets.js';
import { ETH_P_8021AD } from '../../src/uapi/if-ether.js';

const hasher = new RssHasher();
const hashOf = (frame: Uint8Array): number => hasher.hash(frame, 0, frame.length);

/** [destination, destination port, source, source port, hash of addresses, hash with ports] */
const IPV4_VECTORS: Array<[string, number, string, number, number, number]> = [
  ['161.142.100.80', 1766, '66.9.149.187', 2794, 0x323e8fc2, 0x51ccc178],
  ['65.69.140.83', 4739, '199.92.111.2', 14230, 0xd718262a, 0xc626b0ea],
  ['12.22.207.184', 38024, '24.19.198.95', 12898, 0xd2d0a5de, 0x5c2b394a],
  ['209.142.163.6', 2217, '38.27.205.30', 48228, 0x82989176, 0xafc7327f],
  ['202.188.127.2', 1303, '153.39.163.191', 44251, 0x5d1809c5, 0x10e828a2],
];

const IPV6_VECTORS: Array<[string, number, string, number, number, number]> = [
  ['3ffe:2501:200:3::1', 1766, '3ffe:2501:200:1fff::7', 2794, 0x2cc18cd5, 0x40207d3d],
  ['ff02::1', 4739, '3ffe:501:8::260:97ff:fe40:efab', 14230, 0x0f0c461c, 0xdde51bbf],
  ['fe80::200:f8ff:fe21:67cf', 38024, '3ffe:1900:4545:3:200:f8ff:fe21:67cf', 44251, 0x4b61e985, 0x02d1feef],
];

describe('RSS Toeplitz hash (Microsoft verification vectors, default key)', () => {
  it.each(IPV4_VECTORS)('IPv4 %s:%d <- %s:%d', (dst, dport, src, sport, l3, l4) => {
    expect(hashOf(tcp4({ src: ip4(src), dst: ip4(dst), sport, dport }))).toBe(l4);
    expect(hasher.l4).toBe(true);
    expect(hashOf(udp4({ src: ip4(src), dst: ip4(dst), sport, dport }))).toBe(l4);
    // ICMP has no ports: the addresses alone.
    const icmp = tcp4({ src: ip4(src), dst: ip4(dst) });
    icmp[23] = 1;
    expect(hashOf(icmp)).toBe(l3);
    expect(hasher.l4).toBe(false);
  });

  it.each(IPV6_VECTORS)('IPv6 %s:%d <- %s:%d', (dst, dport, src, sport, l3, l4) => {
    expect(hashOf(tcp6({ src: ip6(src), dst: ip6(dst), sport, dport }))).toBe(l4);
    const other = tcp6({ src: ip6(src), dst: ip6(dst) });
    other[20] = 58; // next header ICMPv6
    expect(hashOf(other)).toBe(l3);
  });
});

describe('what the hash reads of a frame', () => {
  const [dst, dport, src, sport, l3, l4] = IPV4_VECTORS[0];
  const frame = tcp4({ src: ip4(src), dst: ip4(dst), sport, dport });

  it('skips up to two VLAN tags', () => {
    expect(hashOf(withVlan(frame, 100))).toBe(l4);
    expect(hashOf(withVlan(withVlan(frame, 100), 200, ETH_P_8021AD))).toBe(l4);
  });

  it('hashes fragments by their addresses only (the ports are not in every fragment)', () => {
    const more = frame.slice();
    more[20] = 0x20; // MF
    expect(hashOf(more)).toBe(l3);
    const later = frame.slice();
    later[20] = 0x00;
    later[21] = 0x10; // offset 16
    expect(hashOf(later)).toBe(l3);
    const dontFragment = frame.slice();
    dontFragment[20] = 0x40;
    expect(hashOf(dontFragment)).toBe(l4);
  });

  it('gives 0 for frames that are not IP or are too short to say', () => {
    expect(hashOf(plainFrame(0x0806, 60))).toBe(0);
    expect(hashOf(frame.subarray(0, 30))).toBe(0);
    expect(hashOf(frame.subarray(0, 12))).toBe(0);
  });

  it('picks queues through the default indirection table (hash mod 128, mod queues)', () => {
    expect(rssQueue(l4, 1)).toBe(0);
    expect(rssQueue(0x51ccc178, 4)).toBe((0x78 & 127) % 4);
    expect(rssQueue(0xffffffff, 3)).toBe(127 % 3);
    expect(rssQueue(0, 16)).toBe(0);
  });
});
