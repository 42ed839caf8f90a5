/**
 * Growing and shrinking an skb (net/core/filter.c): at the head (bpf_skb_change_head), at the tail
 * (bpf_skb_change_tail), inside (bpf_skb_adjust_room, with encapsulation and GSO), and the
 * protocol and packet-type changes (bpf_skb_change_proto, bpf_skb_change_type).
 *
 * Each helper follows the kernel's checks in the kernel's order, because the error a program
 * sees is part of the semantics (docs/architecture.md: where a test run differs).
 */
import { argU32, type HelperCall } from '../vm/helper-table.js';
import { CHECKSUM_COMPLETE, CHECKSUM_NONE, postpullRcsum, resetChecksumUnnecessary } from './csum.js';
import { helper, type HelperDef } from './registry.js';
import { BPF_SKB_MAX_LEN, swap16, type SkBuff } from '../netcore/skbuff.js';
import {
  BPF_ADJ_ROOM_MAC, BPF_ADJ_ROOM_NET, BPF_F_ADJ_ROOM_DECAP_L3_IPV4 as F_DECAP_L3_IPV4,
  BPF_F_ADJ_ROOM_DECAP_L3_IPV6 as F_DECAP_L3_IPV6, BPF_F_ADJ_ROOM_ENCAP_L2_ETH as F_ENCAP_L2_ETH,
  BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 as F_ENCAP_L3_IPV4, BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 as F_ENCAP_L3_IPV6,
  BPF_F_ADJ_ROOM_ENCAP_L4_GRE as F_ENCAP_L4_GRE, BPF_F_ADJ_ROOM_ENCAP_L4_UDP as F_ENCAP_L4_UDP,
  BPF_F_ADJ_ROOM_FIXED_GSO as F_FIXED_GSO, BPF_F_ADJ_ROOM_NO_CSUM_RESET as F_NO_CSUM_RESET,
} from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import { ETH_HLEN, ETH_P_IP, ETH_P_IPV6, ETH_P_TEB } from '../uapi/if-ether.js';
import { argHi, argS32, onSkb, resetMacLen } from './skb-call.js';

/** skb_cow / skb_cow_head: room for `n` more bytes of headroom (the buffer is large). */
function cow(skb: SkBuff, n: number): number {
  return skb.headroom >= n ? 0 : -ERRNO.ENOMEM;
}

function changeHead(skb: SkBuff, call: HelperCall): number {
  const headRoom = argU32(call, 2);
  const newLen = skb.len + headRoom;
  if (argU32(call, 3) || argHi(call, 3) || (!skb.isGso && newLen > BPF_SKB_MAX_LEN) || newLen > 0xffffffff) return -ERRNO.EINVAL;
  const err = cow(skb, headRoom);
  if (err) return err;
  skb.push(headRoom);
  skb.arena.u8.fill(0, skb.data, skb.data + headRoom);
  skb.macHeader = skb.data;
  resetMacLen(skb);
  return 0;
}

/** __bpf_skb_min_len */
function minLen(skb: SkBuff): number {
  let min = 0;
  if (skb.networkOffset > 0) min = skb.networkOffset;
  if (skb.transportHeaderSet && skb.transportHeader - skb.data > 0) min = skb.transportHeader - skb.data;
  return min;
}

function changeTail(skb: SkBuff, call: HelperCall): number {
  const newLen = argU32(call, 2);
  if (argU32(call, 3) || argHi(call, 3) || newLen > BPF_SKB_MAX_LEN || newLen < minLen(skb)) return -ERRNO.EINVAL;
  if (skb.encapsulation) return -ERRNO.ENOTSUPP;
  if (newLen !== skb.len && skb.ipSummed === CHECKSUM_COMPLETE) skb.ipSummed = CHECKSUM_NONE;
  skb.setLen(newLen);
  if (skb.isGso) {
    skb.gsoSize = 0;
    skb.gsoSegs = 0;
    skb.gsoType = 0;
  }
  return 0;
}

/** bpf_skb_net_hdr_push: `len` zero bytes inserted at offset `off` from data. */
function netHdrPush(skb: SkBuff, off: number, len: number): void {
  const transSame = skb.transportHeader === skb.networkHeader;
  const { u8 } = skb.arena;
  skb.push(len);
  u8.copyWithin(skb.data, skb.data + len, skb.data + len + off);
  u8.fill(0, skb.data + off, skb.data + off + len);
  skb.macHeader -= len;
  skb.networkHeader -= len;
  if (transSame) skb.transportHeader = skb.networkHeader;
}

/** bpf_skb_net_hdr_pop: `len` bytes at offset `off` removed. */
function netHdrPop(skb: SkBuff, off: number, len: number): number {
  const transSame = skb.transportHeader === skb.networkHeader;
  if (!skb.ensureWritable(off + len)) return -ERRNO.ENOMEM;
  const { u8 } = skb.arena;
  const old = skb.data;
  skb.pull(len);
  postpullRcsum(skb, u8, old + off, len);
  u8.copyWithin(skb.data, old, old + off);
  skb.macHeader += len;
  skb.networkHeader += len;
  if (transSame) skb.transportHeader = skb.networkHeader;
  return 0;
}

const SKB_GSO_TCPV4 = 1 << 0;
const SKB_GSO_DODGY = 1 << 1;
const SKB_GSO_TCPV6 = 1 << 4;
const SKB_GSO_GRE = 1 << 7;
const SKB_GSO_IPXIP4 = 1 << 9;
const SKB_GSO_IPXIP6 = 1 << 10;
const SKB_GSO_UDP_TUNNEL = 1 << 11;
const SKB_GSO_UDP_L4 = 1 << 17;

const skbMacHeaderLen = (skb: SkBuff): number => skb.networkHeader - skb.macHeader;

function changeProtocol(skb: SkBuff, proto: number): void {
  skb.protocol = proto;
  skb.clearHash();
}

function proto4to6(skb: SkBuff): number {
  const off = skbMacHeaderLen(skb);
  const err = cow(skb, 20);
  if (err) return err;
  netHdrPush(skb, off, 20);
  if (skb.isGso && skb.gsoType & SKB_GSO_TCPV4) skb.gsoType = (skb.gsoType & ~SKB_GSO_TCPV4) | SKB_GSO_TCPV6;
  changeProtocol(skb, ETH_P_IPV6);
  return 0;
}

function proto6to4(skb: SkBuff): number {
  const off = skbMacHeaderLen(skb);
  const err = netHdrPop(skb, off, 20);
  if (err) return err;
  if (skb.isGso && skb.gsoType & SKB_GSO_TCPV6) skb.gsoType = (skb.gsoType & ~SKB_GSO_TCPV6) | SKB_GSO_TCPV4;
  changeProtocol(skb, ETH_P_IP);
  return 0;
}

function changeProto(skb: SkBuff, call: HelperCall): number {
  if (argU32(call, 3) || argHi(call, 3)) return -ERRNO.EINVAL;
  const to = swap16(argU32(call, 2) & 0xffff);
  if (skb.protocol === ETH_P_IP && to === ETH_P_IPV6) return proto4to6(skb);
  if (skb.protocol === ETH_P_IPV6 && to === ETH_P_IP) return proto6to4(skb);
  return -ERRNO.ENOTSUPP;
}

function changeType(skb: SkBuff, call: HelperCall): number {
  const type = argU32(call, 2);
  if (skb.pktType > 3 || type > 3) return -ERRNO.EINVAL;
  skb.pktType = type;
  return 0;
}

const F_ENCAP_L3_MASK = F_ENCAP_L3_IPV4 | F_ENCAP_L3_IPV6;
const F_DECAP_L3_MASK = F_DECAP_L3_IPV4 | F_DECAP_L3_IPV6;
/** The low word of BPF_F_ADJ_ROOM_MASK | NO_CSUM_RESET; the high word may hold ENCAP_L2(len) in bits 24..31. */
const ADJ_ROOM_FLAGS_LO = F_FIXED_GSO | F_ENCAP_L3_MASK | F_ENCAP_L4_GRE | F_ENCAP_L4_UDP | F_NO_CSUM_RESET | F_ENCAP_L2_ETH | F_DECAP_L3_MASK;

const netBaseLen = (skb: SkBuff): number => (skb.protocol === ETH_P_IP ? 20 : skb.protocol === ETH_P_IPV6 ? 40 : 0xffffffff);

function isGsoTcp(skb: SkBuff): boolean {
  return (skb.gsoType & (SKB_GSO_TCPV4 | SKB_GSO_TCPV6)) !== 0;
}

function netGrow(skb: SkBuff, off: number, lenDiff: number, flags: number, innerMacLen: number): number {
  const encap = (flags & F_ENCAP_L3_MASK) !== 0;
  let gsoType = SKB_GSO_DODGY;
  if (skb.isGso && !isGsoTcp(skb) && (!(skb.gsoType & SKB_GSO_UDP_L4) || !(flags & F_FIXED_GSO))) return -ERRNO.ENOTSUPP;
  const err = cow(skb, lenDiff);
  if (err) return err;
  let macLen = 0;
  let innerNet = 0;
  let innerTrans = 0;
  if (encap) {
    if (skb.protocol !== ETH_P_IP && skb.protocol !== ETH_P_IPV6) return -ERRNO.ENOTSUPP;
    if ((flags & F_ENCAP_L3_IPV4) && (flags & F_ENCAP_L3_IPV6)) return -ERRNO.EINVAL;
    if ((flags & F_ENCAP_L4_GRE) && (flags & F_ENCAP_L4_UDP)) return -ERRNO.EINVAL;
    if ((flags & F_ENCAP_L2_ETH) && innerMacLen < ETH_HLEN) return -ERRNO.EINVAL;
    if (skb.encapsulation) return -ERRNO.EALREADY;
    macLen = skb.networkHeader - skb.macHeader;
    innerNet = skb.networkHeader;
    if (innerMacLen > lenDiff) return -ERRNO.EINVAL;
    innerTrans = skb.transportHeader;
  }
  netHdrPush(skb, off, lenDiff);
  if (encap) {
    // Inner header positions do not move: the new bytes are in front of them.
    skb.innerMacHeader = innerNet - innerMacLen;
    skb.innerNetworkHeader = innerNet;
    skb.innerTransportHeader = innerTrans;
    skb.innerProtocol = flags & F_ENCAP_L2_ETH ? ETH_P_TEB : skb.protocol;
    skb.encapsulation = true;
    skb.networkHeader = skb.data + macLen;
    if (flags & F_ENCAP_L4_UDP) gsoType |= SKB_GSO_UDP_TUNNEL;
    else if (flags & F_ENCAP_L4_GRE) gsoType |= SKB_GSO_GRE;
    else if (flags & F_ENCAP_L3_IPV6) gsoType |= SKB_GSO_IPXIP6;
    else if (flags & F_ENCAP_L3_IPV4) gsoType |= SKB_GSO_IPXIP4;
    if (flags & (F_ENCAP_L4_GRE | F_ENCAP_L4_UDP)) {
      skb.transportHeader = skb.data + macLen + (flags & F_ENCAP_L3_IPV6 ? 40 : 20);
    }
    if (skb.protocol === ETH_P_IP && flags & F_ENCAP_L3_IPV6) changeProtocol(skb, ETH_P_IPV6);
    else if (skb.protocol === ETH_P_IPV6 && flags & F_ENCAP_L3_IPV4) changeProtocol(skb, ETH_P_IP);
  }
  if (skb.isGso) {
    skb.gsoType |= gsoType;
    skb.gsoSegs = 0;
    if (!(flags & F_FIXED_GSO)) skb.gsoSize = (skb.gsoSize - lenDiff) & 0xffff;
  }
  return 0;
}

function netShrink(skb: SkBuff, off: number, lenDiff: number, flags: number, hiFlags: number): number {
  if (flags & ~(F_FIXED_GSO | F_DECAP_L3_MASK | F_NO_CSUM_RESET) || hiFlags) return -ERRNO.EINVAL;
  if (skb.isGso && !isGsoTcp(skb) && (!(skb.gsoType & SKB_GSO_UDP_L4) || !(flags & F_FIXED_GSO))) return -ERRNO.ENOTSUPP;
  const err = netHdrPop(skb, off, lenDiff);
  if (err) return err;
  if (skb.protocol === ETH_P_IP && flags & F_DECAP_L3_IPV6) changeProtocol(skb, ETH_P_IPV6);
  else if (skb.protocol === ETH_P_IPV6 && flags & F_DECAP_L3_IPV4) changeProtocol(skb, ETH_P_IP);
  if (skb.isGso) {
    if (!(flags & F_FIXED_GSO)) skb.gsoSize = (skb.gsoSize + lenDiff) & 0xffff;
    skb.gsoType |= SKB_GSO_DODGY;
    skb.gsoSegs = 0;
  }
  return 0;
}

function adjustRoom(skb: SkBuff, call: HelperCall): number {
  const lenDiff = argS32(call, 2);
  const mode = argU32(call, 3);
  const flags = argU32(call, 4);
  const hiFlags = argHi(call, 4);
  const lenDiffAbs = Math.abs(lenDiff);
  const shrink = lenDiff < 0;
  let lenMin = netBaseLen(skb);
  if (flags & ~ADJ_ROOM_FLAGS_LO || hiFlags & 0x00ffffff) return -ERRNO.EINVAL;
  if (lenDiffAbs > 0xfff) return -ERRNO.EFAULT;
  if (skb.protocol !== ETH_P_IP && skb.protocol !== ETH_P_IPV6) return -ERRNO.ENOTSUPP;
  let off = skbMacHeaderLen(skb);
  if (mode === BPF_ADJ_ROOM_NET) off += netBaseLen(skb);
  else if (mode !== BPF_ADJ_ROOM_MAC) return -ERRNO.ENOTSUPP;
  if (flags & F_DECAP_L3_MASK) {
    if (!shrink) return -ERRNO.EINVAL;
    const decap = flags & F_DECAP_L3_MASK;
    if (decap === F_DECAP_L3_IPV4) lenMin = 20;
    else if (decap === F_DECAP_L3_IPV6) lenMin = 40;
    else return -ERRNO.EINVAL;
  }
  const lenCur = skb.len - skb.networkOffset;
  if ((shrink && (lenDiffAbs >= lenCur || lenCur - lenDiffAbs < lenMin)) || (!shrink && skb.len + lenDiffAbs > BPF_SKB_MAX_LEN && !skb.isGso)) {
    return -ERRNO.ENOTSUPP;
  }
  const r = shrink ? netShrink(skb, off, lenDiffAbs, flags, hiFlags) : netGrow(skb, off, lenDiffAbs, flags, hiFlags >>> 24);
  if (r === 0 && !(flags & F_NO_CSUM_RESET)) resetChecksumUnnecessary(skb);
  return r;
}

export const SKB_RESIZE_HELPERS: readonly HelperDef[] = [
  helper('skb_change_head', onSkb(changeHead)),
  helper('skb_change_tail', onSkb(changeTail)),
  helper('skb_change_proto', onSkb(changeProto)),
  helper('skb_change_type', onSkb(changeType)),
  helper('skb_adjust_room', onSkb(adjustRoom)),
];
