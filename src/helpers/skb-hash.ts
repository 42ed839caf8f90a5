/**
 * The skb's flow hash (net/core/filter.c): bpf_get_hash_recalc, bpf_set_hash_invalid, bpf_set_hash.
 *
 * Each helper follows the kernel's checks in the kernel's order, because the error a program
 * sees is part of the semantics (docs/architecture.md: where a test run differs).
 */
import { argU32 } from '../vm/helper-table.js';
import { helper, type HelperDef } from './registry.js';
import type { SkBuff } from '../netcore/skbuff.js';
import { ETH_P_IP, ETH_P_IPV6 } from '../uapi/if-ether.js';
import { isVlanType, onSkb } from './skb-call.js';

/**
 * __skb_get_hash's stand-in: the kernel hashes the dissected flow keys with a secret chosen at
 * boot, so its values cannot be reproduced; this hashes the same keys (addresses, protocol,
 * ports) with a fixed seed, so a flow keeps one hash across runs, and never returns 0.
 */
export function flowHash(u8: Uint8Array, data: number, len: number): { hash: number; l4: boolean } {
  const view = new DataView(u8.buffer, u8.byteOffset);
  let h = 0x2c5f2c5f;
  const mix = (word: number): void => {
    let k = Math.imul(word, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  };
  let off = 12;
  let proto = len >= 14 ? view.getUint16(data + 12, false) : 0;
  while (isVlanType(proto) && off + 6 <= len) {
    off += 4;
    proto = view.getUint16(data + off, false);
  }
  off += 2;
  let ipProto = -1;
  let l4 = false;
  if (proto === ETH_P_IP && off + 20 <= len) {
    const ihl = (u8[data + off] & 0x0f) * 4;
    const frag = view.getUint16(data + off + 6, false) & 0x3fff;
    mix(view.getUint32(data + off + 12, false));
    mix(view.getUint32(data + off + 16, false));
    ipProto = frag ? -1 : u8[data + off + 9];
    mix(u8[data + off + 9]);
    off += ihl;
  } else if (proto === ETH_P_IPV6 && off + 40 <= len) {
    for (let i = 8; i < 40; i += 4) mix(view.getUint32(data + off + i, false));
    ipProto = u8[data + off + 6];
    mix(ipProto);
    off += 40;
  } else {
    mix(proto);
  }
  if ((ipProto === 6 || ipProto === 17 || ipProto === 132 || ipProto === 136) && off + 4 <= len) {
    mix(view.getUint32(data + off, false));
    l4 = true;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return { hash: (h >>> 0) || 1, l4 };
}

function getHashRecalc(skb: SkBuff): number {
  if (!skb.l4Hash && !skb.swHash) {
    const { hash, l4 } = flowHash(skb.arena.u8, skb.data, skb.len);
    skb.hash = hash;
    skb.swHash = true;
    skb.l4Hash = l4;
  }
  return skb.hash;
}

export const SKB_HASH_HELPERS: readonly HelperDef[] = [
  helper('get_hash_recalc', onSkb(getHashRecalc)),
  helper('set_hash_invalid', onSkb((skb) => {
    skb.clearHash();
    return 0;
  })),
  helper('set_hash', onSkb((skb, call) => {
    skb.hash = argU32(call, 2);
    skb.swHash = true;
    skb.l4Hash = true;
    return 0;
  })),
];
