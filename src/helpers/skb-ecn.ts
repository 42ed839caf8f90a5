/**
 * bpf_skb_ecn_set_ce (net/core/filter.c, INET_ECN_set_ce): mark an ECN-capable IPv4 or IPv6
 * packet Congestion Experienced, its checksum kept.
 *
 * Each helper follows the kernel's checks in the kernel's order, because the error a program
 * sees is part of the semantics (docs/architecture.md: where a test run differs).
 */
import { helper, type HelperDef } from './registry.js';
import { swap16, type SkBuff } from '../netcore/skbuff.js';
import { ETH_P_IP, ETH_P_IPV6 } from '../uapi/if-ether.js';
import { CHECKSUM_COMPLETE, csumAdd, csumSub } from './csum.js';
import { onSkb } from './skb-call.js';
import { vlanGetProtocol } from './skb-vlan.js';

function ecnSetCe(skb: SkBuff): number {
  const proto = vlanGetProtocol(skb);
  const hdrLen = proto === ETH_P_IP ? 20 : proto === ETH_P_IPV6 ? 40 : 0;
  if (!hdrLen || skb.len < hdrLen) return 0;
  if (skb.networkHeader + hdrLen > skb.tail) return 0;
  const { u8, view } = skb.arena;
  const nh = skb.networkHeader;
  if (proto === ETH_P_IP) {
    const ecn = (u8[nh + 1] + 1) & 3;
    if (!(ecn & 2)) return ecn === 0 ? 1 : 0;
    // check += htons(0xFFFB) + htons(ecn), in 16-bit one's complement, on the raw bytes.
    const add = (swap16(0xfffb) + swap16(ecn)) & 0xffff;
    let sum = view.getUint16(nh + 10, true) + add;
    sum = (sum & 0xffff) + (sum >>> 16);
    view.setUint16(nh + 10, sum & 0xffff, true);
    u8[nh + 1] |= 3;
    return 1;
  }
  const first = view.getUint32(nh, false);
  const dsfield = (first >>> 20) & 0xff;
  if ((dsfield & 3) === 0) return 0;
  const to = (first | (3 << 20)) >>> 0;
  if (skb.ipSummed === CHECKSUM_COMPLETE) {
    // skb->csum = csum_add(csum_sub(csum, from), to) on the raw (little-endian read) words.
    const fromLe = view.getUint32(nh, true);
    view.setUint32(nh, to, false);
    const toLe = view.getUint32(nh, true);
    skb.csum = csumAdd(csumSub(skb.csum, fromLe), toLe);
    return 1;
  }
  view.setUint32(nh, to, false);
  return 1;
}

export const SKB_ECN_HELPERS: readonly HelperDef[] = [
  helper('skb_ecn_set_ce', onSkb(ecnSetCe)),
];
