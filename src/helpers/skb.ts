/**
 * Socket-buffer helpers for TC programs (net/core/filter.c): loading and storing bytes,
 * VLAN tags, growing and shrinking the packet at either end or inside (adjust_room), protocol
 * and packet-type changes, the flow hash, tunnel metadata, cgroup and socket queries,
 * bpf_clone_redirect, bpf_check_mtu (XDP and TC) and bpf_skb_ecn_set_ce.
 *
 * Each helper follows the kernel's checks in the kernel's order, because the error a program
 * sees is part of the semantics. Where a result depends on host state a test run does not
 * have, the helper returns what BPF_PROG_TEST_RUN returns (see docs/architecture.md).
 */
import { HELPER_CONTINUE, HelperError, argU32, ret, type HelperCall } from '../vm/helper-table.js';
import { REGION_READ, REGION_WRITE } from '../vm/arena.js';
import { postpullRcsum, postpullRcsumAt, postpushRcsum, resetChecksumUnnecessary } from './csum.js';
import { envOf } from './env.js';
import { helper, type HelperDef } from './registry.js';
import { skbOf } from './skb-model.js';
import { deviceByIndex, type NetDevice } from '../netcore/net-device.js';
import { BPF_SKB_MAX_LEN, type SkBuff } from '../netcore/skbuff.js';
import {
  BPF_ADJ_ROOM_MAC, BPF_ADJ_ROOM_NET, BPF_F_ADJ_ROOM_DECAP_L3_IPV4 as F_DECAP_L3_IPV4, BPF_F_ADJ_ROOM_DECAP_L3_IPV6 as F_DECAP_L3_IPV6,
  BPF_F_ADJ_ROOM_ENCAP_L2_ETH as F_ENCAP_L2_ETH, BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 as F_ENCAP_L3_IPV4,
  BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 as F_ENCAP_L3_IPV6, BPF_F_ADJ_ROOM_ENCAP_L4_GRE as F_ENCAP_L4_GRE,
  BPF_F_ADJ_ROOM_ENCAP_L4_UDP as F_ENCAP_L4_UDP, BPF_F_ADJ_ROOM_FIXED_GSO as F_FIXED_GSO,
  BPF_F_ADJ_ROOM_NO_CSUM_RESET as F_NO_CSUM_RESET, BPF_F_DONT_FRAGMENT, BPF_F_INGRESS, BPF_F_INVALIDATE_HASH,
  BPF_F_NO_TUNNEL_KEY, BPF_F_RECOMPUTE_CSUM, BPF_F_SEQ_NUMBER, BPF_F_TUNINFO_FLAGS, BPF_F_TUNINFO_IPV6, BPF_F_ZERO_CSUM_TX,
  BPF_HDR_START_MAC, BPF_HDR_START_NET, BPF_MTU_CHK_RET_FRAG_NEEDED, BPF_MTU_CHK_RET_SUCCESS, BPF_MTU_CHK_SEGS,
} from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import {
  ETH_HLEN, ETH_P_802_2, ETH_P_802_3, ETH_P_802_3_MIN, ETH_P_8021AD, ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6, ETH_P_TEB, VLAN_HLEN,
} from '../uapi/if-ether.js';


// ---- arguments -----------------------------------------------------------------------------

const argLo = (call: HelperCall, n: number): number => call.regs[n * 2] >>> 0;
const argHi = (call: HelperCall, n: number): number => call.regs[n * 2 + 1] >>> 0;
/** Argument n as a signed 32-bit number (an `s32` or `int` parameter). */
const argS32 = (call: HelperCall, n: number): number => call.regs[n * 2] | 0;

/** A memory argument the verifier would have checked: refuse it loudly when it is wrong. */
function memArg(call: HelperCall, n: number, len: number, write: boolean): number {
  const addr = argU32(call, n);
  if (len > 0 && !call.arena.canAccess(addr, call.regs[n * 2 + 1], len, write ? REGION_WRITE : REGION_READ)) {
    throw new HelperError(`argument ${n} (0x${addr.toString(16)}, ${len} bytes) is not ${write ? 'writable' : 'readable'} memory (the kernel's verifier refuses this program)`);
  }
  return addr;
}

/** Run a helper body on the program's skb, then show the skb's state in the context again. */
function onSkb(fn: (skb: SkBuff, call: HelperCall) => number): (call: HelperCall) => number {
  return (call) => {
    const skb = skbOf(call);
    ret(call, fn(skb, call));
    skb.storeCtx();
    return HELPER_CONTINUE;
  };
}

const isVlanType = (proto: number): boolean => proto === ETH_P_8021Q || proto === ETH_P_8021AD;

// ---- bytes -----------------------------------------------------------------------------------

const INT_MAX = 0x7fffffff;

function loadBytes(skb: SkBuff, call: HelperCall): number {
  const offset = argU32(call, 2);
  const len = argU32(call, 4);
  const to = memArg(call, 3, len, true);
  const { u8 } = call.arena;
  if (offset > INT_MAX || offset + len > skb.len) {
    u8.fill(0, to, to + len);
    return -ERRNO.EFAULT;
  }
  u8.copyWithin(to, skb.data + offset, skb.data + offset + len);
  return 0;
}


function loadBytesRelative(skb: SkBuff, call: HelperCall): number {
  const offset = argU32(call, 2);
  const len = argU32(call, 4);
  const to = memArg(call, 3, len, true);
  const header = argU32(call, 5);
  const { u8 } = call.arena;
  let start = -1;
  if (offset <= 0xffff) {
    if (header === BPF_HDR_START_MAC) start = skb.macHeader;
    else if (header === BPF_HDR_START_NET) start = skb.networkHeader;
  }
  if (start < 0 || start + offset + len > skb.tail) {
    u8.fill(0, to, to + len);
    return -ERRNO.EFAULT;
  }
  u8.copyWithin(to, start + offset, start + offset + len);
  return 0;
}


function storeBytes(skb: SkBuff, call: HelperCall): number {
  const offset = argU32(call, 2);
  const len = argU32(call, 4);
  const from = memArg(call, 3, len, false);
  const flags = argLo(call, 5);
  if (flags & ~(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH) || argHi(call, 5)) return -ERRNO.EINVAL;
  if (offset > INT_MAX) return -ERRNO.EFAULT;
  if (!skb.ensureWritable(offset + len)) return -ERRNO.EFAULT;
  const { u8 } = call.arena;
  const ptr = skb.data + offset;
  if (flags & BPF_F_RECOMPUTE_CSUM) postpullRcsumAt(skb, u8, ptr, len, offset);
  u8.copyWithin(ptr, from, from + len);
  if (flags & BPF_F_RECOMPUTE_CSUM) postpushRcsum(skb, u8, ptr, len, offset);
  if (flags & BPF_F_INVALIDATE_HASH) skb.clearHash();
  return 0;
}

function pullData(skb: SkBuff, call: HelperCall): number {
  const len = argU32(call, 2);
  return skb.ensureWritable(len || skb.len) ? 0 : -ERRNO.ENOMEM;
}

// ---- VLAN ------------------------------------------------------------------------------------

/** bpf_push_mac_rcsum / bpf_pull_mac_rcsum: only at TC ingress, where skb->csum excludes the MAC header. */
function pushMacRcsum(skb: SkBuff): void {
  if (skb.atIngress) postpushRcsum(skb, skb.arena.u8, skb.macHeader, skb.macLen);
}

function pullMacRcsum(skb: SkBuff): void {
  if (skb.atIngress) postpullRcsum(skb, skb.arena.u8, skb.macHeader, skb.macLen);
}

/** skb_reset_mac_len */
function resetMacLen(skb: SkBuff): void {
  skb.macLen = skb.networkHeader - skb.macHeader;
}

/** vlan_set_encap_proto: skb->protocol from the EtherType after a VLAN header at `vhdr`. */
function setEncapProto(skb: SkBuff, encapsulated: number, after: number): void {
  if (encapsulated >= ETH_P_802_3_MIN) {
    skb.protocol = encapsulated;
    return;
  }
  skb.protocol = skb.arena.view.getUint16(after, true) === 0xffff ? ETH_P_802_3 : ETH_P_802_2;
}

/** __skb_vlan_pop: take the VLAN header after the MAC addresses out of the packet; its TCI, or an error. */
function popVlanFromData(skb: SkBuff): number {
  if (skb.data !== skb.macHeader) return -ERRNO.EINVAL;
  if (!skb.ensureWritable(ETH_HLEN + VLAN_HLEN)) return -ERRNO.ENOMEM;
  const { u8, view } = skb.arena;
  const d = skb.data;
  postpullRcsum(skb, u8, d + 2 * 6, VLAN_HLEN);
  const tci = view.getUint16(d + ETH_HLEN, false);
  const encapsulated = view.getUint16(d + ETH_HLEN + 2, false);
  u8.copyWithin(d + VLAN_HLEN, d, d + 12);
  skb.pull(VLAN_HLEN);
  setEncapProto(skb, encapsulated, d + ETH_HLEN + VLAN_HLEN);
  skb.macHeader += VLAN_HLEN;
  if (skb.networkOffset < ETH_HLEN) skb.networkHeader = skb.data + ETH_HLEN;
  resetMacLen(skb);
  return tci;
}

function vlanPop(skb: SkBuff): number {
  pushMacRcsum(skb);
  let err = 0;
  if (skb.vlanPresent) {
    skb.vlanPresent = false;
    skb.vlanTci = 0;
    skb.vlanProto = 0;
  } else if (isVlanType(skb.protocol)) {
    const r = popVlanFromData(skb);
    if (r < 0) err = r;
  } else {
    pullMacRcsum(skb);
    return 0;
  }
  if (err === 0 && isVlanType(skb.protocol)) {
    // The next tag moves out of the packet into the skb (hardware-accelerated form).
    const proto = skb.protocol;
    const tci = popVlanFromData(skb);
    if (tci < 0) err = tci;
    else {
      skb.vlanPresent = true;
      skb.vlanProto = proto;
      skb.vlanTci = tci;
    }
  }
  pullMacRcsum(skb);
  return err;
}

function vlanPush(skb: SkBuff, call: HelperCall): number {
  let proto = swap16(argLo(call, 2) & 0xffff);
  const tci = argLo(call, 3) & 0xffff;
  if (!isVlanType(proto)) proto = ETH_P_8021Q;
  pushMacRcsum(skb);
  let err = 0;
  if (skb.vlanPresent) {
    // The tag the skb already carries goes into the packet first (__vlan_insert_tag).
    if (skb.data !== skb.macHeader) err = -ERRNO.EINVAL;
    else {
      const { u8, view } = skb.arena;
      skb.push(VLAN_HLEN);
      const d = skb.data;
      u8.copyWithin(d, d + VLAN_HLEN, d + VLAN_HLEN + 12);
      skb.macHeader -= VLAN_HLEN;
      view.setUint16(d + 12, skb.vlanProto, false);
      view.setUint16(d + 14, skb.vlanTci, false);
      skb.protocol = skb.vlanProto;
      // Linux 6.18 moves the network header back onto the inserted tag (checked by experiment).
      skb.networkHeader -= VLAN_HLEN;
      postpushRcsum(skb, u8, d + 12, VLAN_HLEN);
    }
  }
  if (err === 0) {
    skb.vlanPresent = true;
    skb.vlanProto = proto;
    skb.vlanTci = tci;
  }
  pullMacRcsum(skb);
  return err;
}

const swap16 = (v: number): number => ((v & 0xff) << 8) | (v >>> 8);

// ---- growing and shrinking -------------------------------------------------------------------

/** skb_cow / skb_cow_head: room for `n` more bytes of headroom (the buffer is large). */
function cow(skb: SkBuff, n: number): number {
  return skb.headroom >= n ? 0 : -ERRNO.ENOMEM;
}

function changeHead(skb: SkBuff, call: HelperCall): number {
  const headRoom = argU32(call, 2);
  const newLen = skb.len + headRoom;
  if (argLo(call, 3) || argHi(call, 3) || (!skb.isGso && newLen > BPF_SKB_MAX_LEN) || newLen > 0xffffffff) return -ERRNO.EINVAL;
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
  if (argLo(call, 3) || argHi(call, 3) || newLen > BPF_SKB_MAX_LEN || newLen < minLen(skb)) return -ERRNO.EINVAL;
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

const CHECKSUM_NONE = 0;
const CHECKSUM_COMPLETE = 2;

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
  if (argLo(call, 3) || argHi(call, 3)) return -ERRNO.EINVAL;
  const to = swap16(argLo(call, 2) & 0xffff);
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
  const flags = argLo(call, 4);
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

// ---- hash ------------------------------------------------------------------------------------

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

// ---- tunnel metadata -------------------------------------------------------------------------

const IP_TUNNEL_INFO_TX = 1;
const IP_TUNNEL_INFO_IPV6 = 2;
const TUNNEL_CSUM = 1 << 0;
const TUNNEL_KEY = 1 << 2;
const TUNNEL_SEQ = 1 << 3;
const TUNNEL_DONT_FRAGMENT = 1 << 8;
const TUNNEL_NOCACHE = 1 << 13;
/** TUNNEL_GENEVE_OPT | TUNNEL_VXLAN_OPT | TUNNEL_ERSPAN_OPT | TUNNEL_GTP_OPT */
const TUNNEL_OPTIONS_PRESENT = (1 << 11) | (1 << 12) | (1 << 14) | (1 << 15);
const IP_TUNNEL_OPTS_MAX = 252;

/** struct bpf_tunnel_key: its size and the older sizes the kernel still accepts. */
const TUNNEL_KEY_SIZE = 44;
const TK = { tunnel_id: 0, remote: 4, tos: 20, ttl: 21, ext: 22, label: 24, local: 28 } as const;
const COMPAT_SIZES: readonly number[] = [TK.local, TK.label, TK.ext];
const COMPAT_V4_ONLY = 8; // offsetof(remote_ipv6[1])

function getTunnelKey(skb: SkBuff, call: HelperCall): number {
  const size = argU32(call, 3);
  const to = memArg(call, 2, size, true);
  const flags = argLo(call, 4);
  const { u8 } = call.arena;
  const info = skb.tunnel;
  const fail = (err: number): number => {
    u8.fill(0, to, to + size);
    return err;
  };
  if (!info || flags & ~(BPF_F_TUNINFO_IPV6 | BPF_F_TUNINFO_FLAGS) || argHi(call, 4)) return fail(-ERRNO.EINVAL);
  const infoV6 = (info.mode & IP_TUNNEL_INFO_IPV6) !== 0;
  if (infoV6 !== ((flags & BPF_F_TUNINFO_IPV6) !== 0)) return fail(-ERRNO.EPROTO);
  if (size !== TUNNEL_KEY_SIZE && !COMPAT_SIZES.includes(size) && !(size === COMPAT_V4_ONLY && !infoV6)) return fail(-ERRNO.EINVAL);
  const key = new Uint8Array(TUNNEL_KEY_SIZE);
  const kv = new DataView(key.buffer);
  kv.setUint32(TK.tunnel_id, info.tunIdLo, true);
  key[TK.tos] = info.tos;
  key[TK.ttl] = info.ttl;
  if (flags & BPF_F_TUNINFO_FLAGS) kv.setUint16(TK.ext, info.tunFlags & 0xffff, false);
  if (flags & BPF_F_TUNINFO_IPV6) {
    key.set(info.src, TK.remote);
    key.set(info.dst, TK.local);
    kv.setUint32(TK.label, info.label, true);
  } else {
    kv.setUint32(TK.remote, new DataView(info.src.buffer, info.src.byteOffset).getUint32(0, false), true);
    kv.setUint32(TK.local, new DataView(info.dst.buffer, info.dst.byteOffset).getUint32(0, false), true);
  }
  // Bytes of the caller's buffer past what the kernel writes (compat sizes) are left alone;
  // a full-size key has every byte written.
  u8.set(key.subarray(0, size), to);
  return 0;
}

function setTunnelKey(skb: SkBuff, call: HelperCall): number {
  const size = argU32(call, 3);
  const from = memArg(call, 2, size, false);
  const flags = argLo(call, 4);
  const allowed = BPF_F_TUNINFO_IPV6 | BPF_F_ZERO_CSUM_TX | BPF_F_DONT_FRAGMENT | BPF_F_SEQ_NUMBER | BPF_F_NO_TUNNEL_KEY;
  if (flags & ~allowed || argHi(call, 4)) return -ERRNO.EINVAL;
  if (size !== TUNNEL_KEY_SIZE && !COMPAT_SIZES.includes(size) && size !== COMPAT_V4_ONLY) return -ERRNO.EINVAL;
  const key = new Uint8Array(TUNNEL_KEY_SIZE);
  key.set(call.arena.u8.subarray(from, from + size));
  const kv = new DataView(key.buffer);
  const ipv6 = (flags & BPF_F_TUNINFO_IPV6) !== 0;
  const label = kv.getUint32(TK.label, true);
  if ((!ipv6 && label) || kv.getUint16(TK.ext, true)) return -ERRNO.EINVAL;
  let tunFlags = TUNNEL_NOCACHE;
  if (flags & BPF_F_DONT_FRAGMENT) tunFlags |= TUNNEL_DONT_FRAGMENT;
  if (!(flags & BPF_F_ZERO_CSUM_TX)) tunFlags |= TUNNEL_CSUM;
  if (flags & BPF_F_SEQ_NUMBER) tunFlags |= TUNNEL_SEQ;
  if (!(flags & BPF_F_NO_TUNNEL_KEY)) tunFlags |= TUNNEL_KEY;
  const src = new Uint8Array(16);
  const dst = new Uint8Array(16);
  if (ipv6) {
    dst.set(key.subarray(TK.remote, TK.remote + 16));
    src.set(key.subarray(TK.local, TK.local + 16));
  } else {
    new DataView(dst.buffer).setUint32(0, kv.getUint32(TK.remote, true), false);
    new DataView(src.buffer).setUint32(0, kv.getUint32(TK.local, true), false);
  }
  skb.tunnel = {
    mode: IP_TUNNEL_INFO_TX | (ipv6 ? IP_TUNNEL_INFO_IPV6 : 0),
    tunIdHi: 0,
    tunIdLo: kv.getUint32(TK.tunnel_id, true),
    tos: key[TK.tos],
    ttl: key[TK.ttl],
    tunFlags,
    label: ipv6 ? label & 0xfffff : 0,
    src,
    dst,
    options: undefined,
  };
  return 0;
}

function getTunnelOpt(skb: SkBuff, call: HelperCall): number {
  const size = argU32(call, 3);
  const to = memArg(call, 2, size, true);
  const { u8 } = call.arena;
  const info = skb.tunnel;
  if (!info || !(info.tunFlags & TUNNEL_OPTIONS_PRESENT) || !info.options) {
    u8.fill(0, to, to + size);
    return -ERRNO.ENOENT;
  }
  if (size < info.options.length) {
    u8.fill(0, to, to + size);
    return -ERRNO.ENOMEM;
  }
  u8.set(info.options, to);
  u8.fill(0, to + info.options.length, to + size);
  return info.options.length;
}

function setTunnelOpt(skb: SkBuff, call: HelperCall): number {
  const size = argU32(call, 3);
  const from = memArg(call, 2, size, false);
  const info = skb.tunnel;
  // Options go only on the metadata bpf_skb_set_tunnel_key attached (mode TX).
  if (!info || !(info.mode & IP_TUNNEL_INFO_TX) || size & 3) return -ERRNO.EINVAL;
  if (size > IP_TUNNEL_OPTS_MAX) return -ERRNO.ENOMEM;
  info.options = call.arena.u8.slice(from, from + size);
  info.tunFlags = (info.tunFlags & ~TUNNEL_OPTIONS_PRESENT) | (size ? TUNNEL_OPTIONS_PRESENT : 0);
  return 0;
}

// ---- cgroups, sockets, routes ----------------------------------------------------------------

function socketCookie(skb: SkBuff, call: HelperCall): number {
  if (!skb.sk) return 0;
  if (!skb.sk.cookie) skb.sk.cookie = envOf(call).host.nextSocketCookie();
  return skb.sk.cookie;
}

// ---- clone_redirect --------------------------------------------------------------------------

const NET_RX_DROP = 1;
const NET_XMIT_CN = 2;

/** Whether `dev` takes the frame (is_skb_forwardable). */
function forwardable(dev: NetDevice, skb: SkBuff): boolean {
  if (!dev.up) return false;
  const max = dev.mtu + dev.hardHeaderLen + VLAN_HLEN;
  return skb.len <= max || skb.isGso;
}

function cloneRedirect(skb: SkBuff, call: HelperCall): number {
  const env = envOf(call);
  const ifindex = argU32(call, 2);
  const flags = argLo(call, 3);
  if (flags & ~BPF_F_INGRESS || argHi(call, 3)) return -ERRNO.EINVAL;
  const dev = deviceByIndex(env.devices, ifindex);
  if (!dev) return -ERRNO.EINVAL;
  if (dev.macHeaderXmit && (skb.macHeader >= skb.networkHeader || skb.len === 0)) return -ERRNO.ERANGE;
  if (flags & BPF_F_INGRESS) {
    if (!forwardable(dev, skb)) return NET_RX_DROP;
  } else if (!dev.up) {
    // A device that is down has the noop qdisc, which drops: NET_XMIT_CN (checked on 6.18).
    return NET_XMIT_CN;
  }
  (env.clones ??= []).push({
    ifindex,
    flags,
    data: skb.arena.u8.slice(skb.macHeader, skb.tail),
    vlan: skb.vlanPresent ? { proto: skb.vlanProto, tci: skb.vlanTci } : undefined,
    mark: skb.mark,
    priority: skb.priority,
  });
  return 0;
}

// ---- check_mtu -------------------------------------------------------------------------------


/** bpf_check_mtu for both hooks; `dev` is skb->dev (TC) or the receiving device (XDP). */
function checkMtu(call: HelperCall): number {
  const env = envOf(call);
  const ifindex = argU32(call, 2);
  const mtuLenAddr = memArg(call, 3, 4, true);
  const lenDiff = argS32(call, 4);
  const flags = argLo(call, 5);
  const hiFlags = argHi(call, 5);
  const { view } = call.arena;
  const mtuIn = view.getUint32(mtuLenAddr, true);
  const skb = env.skb;
  let result: number;
  let mtu = 0;
  const current = skb ? skb.dev : deviceByIndex(env.devices, env.ingressIfindex || 1);
  const dev = ifindex ? deviceByIndex(env.devices, ifindex) : current;
  if (skb) {
    skb.loadCtx();
    if (flags & ~BPF_MTU_CHK_SEGS || hiFlags) result = -ERRNO.EINVAL;
    else if (flags & BPF_MTU_CHK_SEGS && (lenDiff || mtuIn)) result = -ERRNO.EINVAL;
    else if (!dev) result = -ERRNO.ENODEV;
    else {
      mtu = dev.mtu;
      const devLen = (mtu + dev.hardHeaderLen) | 0;
      const skbLen = ((mtuIn ? (mtuIn + dev.hardHeaderLen) | 0 : skb.len) + lenDiff) | 0;
      if (skbLen <= devLen) result = BPF_MTU_CHK_RET_SUCCESS;
      else if (skb.isGso) result = BPF_MTU_CHK_RET_SUCCESS; // segments are checked only with BPF_MTU_CHK_SEGS (not emulated)
      else result = BPF_MTU_CHK_RET_FRAG_NEEDED;
    }
  } else {
    const packet = env.packet;
    if (flags || hiFlags) result = -ERRNO.EINVAL;
    else if (!dev) result = -ERRNO.ENODEV;
    else {
      mtu = dev.mtu;
      const devLen = (mtu + dev.hardHeaderLen) | 0;
      let xdpLen = packet ? packet.length : 0;
      if (mtuIn) xdpLen = (mtuIn + dev.hardHeaderLen) | 0;
      xdpLen = (xdpLen + lenDiff) | 0;
      result = xdpLen > devLen ? BPF_MTU_CHK_RET_FRAG_NEEDED : BPF_MTU_CHK_RET_SUCCESS;
    }
  }
  // On an error *mtu_len is left as it was (checked on 6.18).
  if (result >= 0) view.setUint32(mtuLenAddr, mtu, true);
  return result;
}

// ---- ECN -------------------------------------------------------------------------------------

/** vlan_get_protocol: the EtherType under any VLAN headers in the packet. */
function vlanGetProtocol(skb: SkBuff): number {
  let type = skb.protocol;
  if (!isVlanType(type)) return type;
  const view = skb.arena.view;
  let depth = skb.macLen ? skb.macLen - VLAN_HLEN : ETH_HLEN;
  for (let parse = 8; ; ) {
    if (depth + 4 > skb.len || !--parse) return 0;
    type = view.getUint16(skb.data + depth + 2, false);
    depth += VLAN_HLEN;
    if (!isVlanType(type)) return type;
  }
}

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
    skb.csum = addWsum(addWsum(skb.csum, ~fromLe >>> 0), toLe);
    return 1;
  }
  view.setUint32(nh, to, false);
  return 1;
}

function addWsum(a: number, b: number): number {
  const s = a + b;
  return s > 0xffffffff ? s - 0xffffffff : s;
}

// ---- the table -------------------------------------------------------------------------------


export const SKB_HELPERS: readonly HelperDef[] = [
  helper('skb_load_bytes', onSkb(loadBytes)),
  helper('skb_load_bytes_relative', onSkb(loadBytesRelative)),
  helper('skb_store_bytes', onSkb(storeBytes)),
  helper('skb_pull_data', onSkb(pullData)),
  helper('skb_vlan_push', onSkb(vlanPush)),
  helper('skb_vlan_pop', onSkb(vlanPop)),
  helper('skb_change_head', onSkb(changeHead)),
  helper('skb_change_tail', onSkb(changeTail)),
  helper('skb_change_proto', onSkb(changeProto)),
  helper('skb_change_type', onSkb(changeType)),
  helper('skb_adjust_room', onSkb(adjustRoom)),
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
  helper('skb_get_tunnel_key', onSkb(getTunnelKey)),
  helper('skb_set_tunnel_key', onSkb(setTunnelKey)),
  helper('skb_get_tunnel_opt', onSkb(getTunnelOpt)),
  helper('skb_set_tunnel_opt', onSkb(setTunnelOpt)),
  // The classid of the calling task's net_cls cgroup (v1): 0 without one, as on cgroup v2 hosts.
  helper('get_cgroup_classid', onSkb(() => 0)),
  helper('skb_cgroup_classid', onSkb(() => 0)),
  helper('skb_cgroup_id', onSkb((skb) => skb.sk?.cgroupId ?? 0)),
  helper('get_socket_cookie', onSkb(socketCookie)),
  // dst_tclassid: no route is attached to a test-run skb.
  helper('get_route_realm', onSkb(() => 0)),
  helper('clone_redirect', onSkb(cloneRedirect)),
  helper('check_mtu', (call) => {
    ret(call, checkMtu(call));
    envOf(call).skb?.storeCtx();
    return HELPER_CONTINUE;
  }),
  helper('skb_ecn_set_ce', onSkb(ecnSetCe)),
];
