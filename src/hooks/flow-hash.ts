import { XdplabError } from '../errors.js';
/**
 * Receive-side scaling as a NIC does it: the Toeplitz hash of the Microsoft RSS specification
 * over a packet's flow, with the specification's default 40-byte key (the key most drivers
 * ship), and the default indirection table Linux programs into a NIC (`ethtool -x`: 128
 * entries, entry i = i % queues). Replay uses it to put each packet on a CPU (queue i is
 * served by CPU i), so the same capture lands on the same CPUs everywhere.
 *
 * Hash input, in network byte order, as RSS defines it:
 * - IPv4 TCP/UDP, not a fragment: source address, destination address, source port,
 *   destination port (12 bytes) — an L4 hash;
 * - IPv6 TCP/UDP (the next header straight after the fixed header): the same with 16-byte
 *   addresses (36 bytes) — an L4 hash;
 * - other IPv4 / IPv6 (fragments, ICMP, extension headers…): the two addresses — an L3 hash;
 * - anything else (ARP, LLDP…): no hash (0), which the table sends to queue 0.
 * Up to two VLAN tags (802.1Q, 802.1ad) before the EtherType are skipped.
 */

/** The Microsoft RSS default key (the specification's verification key). */
export const RSS_DEFAULT_KEY: readonly number[] = [
  0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
  0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
  0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/** Entries of the indirection table (ETH_RXFH_INDIR_DEFAULT size of most drivers). */
export const RSS_INDIRECTION_ENTRIES = 128;

/** The longest hash input: two IPv6 addresses and two ports. */
const MAX_INPUT = 36;

/**
 * table[p * 256 + v]: what input byte p holding v contributes to the hash (the XOR of the
 * 32-bit key windows at the set bits), so a hash is one lookup and XOR per input byte.
 */
function buildTable(key: readonly number[]): Int32Array {
  if (key.length < MAX_INPUT + 4) throw new XdplabError('BAD_INPUT', `RSS key: ${key.length} bytes; at least ${MAX_INPUT + 4} needed`);
  const bit = (i: number): number => (key[i >>> 3] >>> (7 - (i & 7))) & 1;
  const window = new Int32Array(MAX_INPUT * 8);
  for (let i = 0; i < window.length; i++) {
    let w = 0;
    for (let j = 0; j < 32; j++) w = (w << 1) | bit(i + j);
    window[i] = w;
  }
  const table = new Int32Array(MAX_INPUT * 256);
  for (let p = 0; p < MAX_INPUT; p++) {
    for (let v = 0; v < 256; v++) {
      let h = 0;
      for (let j = 0; j < 8; j++) if ((v >>> (7 - j)) & 1) h ^= window[p * 8 + j];
      table[p * 256 + v] = h;
    }
  }
  return table;
}

/** The Toeplitz hash of a flow, with the packet's bytes read in place (nothing allocates). */
export class RssHasher {
  private readonly table: Int32Array;
  /** Whether the last hash covered the ports (an L4 hash), as skb->l4_hash records it. */
  l4 = false;

  constructor(key: readonly number[] = RSS_DEFAULT_KEY) {
    this.table = buildTable(key);
  }

  /** The Toeplitz hash of `n` bytes of `u8` from `at`, placed from hash input byte `pos`. */
  private add(h: number, u8: Uint8Array, at: number, n: number, pos: number): number {
    const t = this.table;
    for (let i = 0; i < n; i++) h ^= t[((pos + i) << 8) | u8[at + i]];
    return h;
  }

  /** The hash of the Ethernet frame u8[start, end), a u32 (0: not IP). */
  hash(u8: Uint8Array, start: number, end: number): number {
    this.l4 = false;
    let at = start + 12;
    if (at + 2 > end) return 0;
    let type = (u8[at] << 8) | u8[at + 1];
    for (let tags = 0; tags < 2 && (type === 0x8100 || type === 0x88a8) && at + 6 <= end; tags++) {
      at += 4;
      type = (u8[at] << 8) | u8[at + 1];
    }
    const l3 = at + 2;
    if (type === 0x0800) {
      if (l3 + 20 > end || u8[l3] >>> 4 !== 4) return 0;
      const ihl = (u8[l3] & 15) * 4;
      let h = this.add(0, u8, l3 + 12, 8, 0);
      const proto = u8[l3 + 9];
      const fragment = (((u8[l3 + 6] << 8) | u8[l3 + 7]) & 0x3fff) !== 0;
      if ((proto === 6 || proto === 17) && !fragment && ihl >= 20 && l3 + ihl + 4 <= end) {
        h = this.add(h, u8, l3 + ihl, 4, 8);
        this.l4 = true;
      }
      return h >>> 0;
    }
    if (type === 0x86dd) {
      if (l3 + 40 > end || u8[l3] >>> 4 !== 6) return 0;
      let h = this.add(0, u8, l3 + 8, 32, 0);
      const next = u8[l3 + 6];
      if ((next === 6 || next === 17) && l3 + 44 <= end) {
        h = this.add(h, u8, l3 + 40, 4, 32);
        this.l4 = true;
      }
      return h >>> 0;
    }
    return 0;
  }
}

/** The queue (and so the CPU) the default indirection table gives a hash: (hash mod 128) mod queues. */
export const rssQueue = (hash: number, queues: number): number => (hash & (RSS_INDIRECTION_ENTRIES - 1)) % queues;
