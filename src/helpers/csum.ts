/**
 * Internet checksums as the kernel computes them (include/net/checksum.h, lib/checksum.c,
 * x86-64's csum_partial), and the checksum helpers: bpf_csum_diff (XDP and TC),
 * bpf_l3_csum_replace, bpf_l4_csum_replace, bpf_csum_update, bpf_csum_level.
 *
 * Values are kept the way the kernel keeps them on a little-endian machine: a __wsum is a
 * u32 accumulated over the bytes read as little-endian words, a __sum16 is the u16 read from
 * memory little-endian. One's complement sums are byte-order independent, so reading the
 * packet little-endian gives the kernel's bytes exactly. All sums use end-around carry, which
 * makes the representation canonical: 0 only when every operand is 0, otherwise the value in
 * 1..2^w-1 (a sum ≡ 0 is all ones). That is what x86-64's csum_partial returns too, so the
 * results below are the kernel's bit for bit, not only modulo 0xffff.
 */
import { HELPER_CONTINUE, argU32, ret, type HelperCall } from '../vm/helper-table.js';
import { helper, type HelperDef } from './registry.js';
import { memArg, skbOf } from './skb-call.js';
import type { SkBuff } from '../netcore/skbuff.js';
import {
  BPF_CSUM_LEVEL_DEC, BPF_CSUM_LEVEL_INC, BPF_CSUM_LEVEL_QUERY, BPF_CSUM_LEVEL_RESET, BPF_F_HDR_FIELD_MASK, BPF_F_IPV6,
  BPF_F_MARK_ENFORCE, BPF_F_MARK_MANGLED_0, BPF_F_PSEUDO_HDR,
} from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';

// ---- arithmetic on __wsum (u32) and __sum16 (u16) -----------------------------------------

/** csum_add: 32-bit one's complement addition. */
export function csumAdd(a: number, b: number): number {
  const s = (a >>> 0) + (b >>> 0);
  return s > 0xffffffff ? (s - 0xffffffff) >>> 0 : s;
}

/** csum_sub: a + ~b. */
export const csumSub = (a: number, b: number): number => csumAdd(a, ~b >>> 0);

/** csum_fold: the 32-bit sum folded to 16 bits and inverted (a __sum16 ready to store). */
export function csumFold(sum: number): number {
  return ~from32to16(sum) & 0xffff;
}

/** The end-around fold of a u32 to 16 bits (lib/checksum.c from32to16, csum_from32to16). */
export function from32to16(x: number): number {
  let s = (x & 0xffff) + (x >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s;
}

/**
 * csum_partial(buf, len, seed): the 32-bit sum of `len` bytes at `off`, read as little-endian
 * 32-bit words (a trailing partial word is zero-padded at its high end), plus the seed.
 */
export function csumPartial(u8: Uint8Array, off: number, len: number, seed: number): number {
  let total = seed >>> 0;
  let i = 0;
  // The sum of up to 2^21 u32s stays an exact integer (< 2^53); reduce as we go beyond that.
  for (; i + 4 <= len; i += 4) {
    const p = off + i;
    total += (u8[p] | (u8[p + 1] << 8) | (u8[p + 2] << 16) | (u8[p + 3] << 24)) >>> 0;
    if (total > 2 ** 52) total = reduce32(total);
  }
  if (i < len) {
    let word = 0;
    for (let k = 0; i + k < len; k++) word |= u8[off + i + k] << (8 * k);
    total += word >>> 0;
  }
  return reduce32(total);
}

/** A non-negative integer sum of u32s reduced with end-around carry to its canonical u32. */
function reduce32(total: number): number {
  if (total === 0) return 0;
  const r = total % 0xffffffff;
  return r === 0 ? 0xffffffff : r;
}

/** csum_unfold: a __sum16 as a __wsum. */
const unfold = (sum16: number): number => sum16 & 0xffff;

/** csum16_add (include/net/checksum.h): 16-bit one's complement addition. */
export function csum16Add(csum: number, addend: number): number {
  let res = (csum & 0xffff) + (addend & 0xffff);
  res = (res & 0xffff) + (res >>> 16);
  return res & 0xffff;
}

/** csum_replace4: the checksum `sum` after a 32-bit field changed from `from` to `to`. */
export function csumReplace4(sum: number, from: number, to: number): number {
  const tmp = csumSub(~unfold(sum) >>> 0, from >>> 0);
  return csumFold(csumAdd(tmp, to >>> 0));
}

/** csum_replace2: the same for a 16-bit field, with 16-bit arithmetic (it can differ in ±0). */
export function csumReplace2(sum: number, from: number, to: number): number {
  return ~csum16Add(csum16Add(~sum & 0xffff, ~from & 0xffff), to) & 0xffff;
}

/** csum_replace_by_diff: the checksum after adding a precomputed 32-bit difference. */
export function csumReplaceByDiff(sum: number, diff: number): number {
  return csumFold(csumAdd(diff >>> 0, ~unfold(sum) >>> 0));
}

/** The RFC 1071 checksum to store for `len` bytes: ~fold(sum). */
export function ipChecksum(u8: Uint8Array, off: number, len: number, seed = 0): number {
  return csumFold(csumPartial(u8, off, len, seed));
}

// ---- skb checksum state (ip_summed) --------------------------------------------------------

export const CHECKSUM_NONE = 0;
export const CHECKSUM_UNNECESSARY = 1;
export const CHECKSUM_COMPLETE = 2;
export const CHECKSUM_PARTIAL = 3;
/** SKB_MAX_CSUM_LEVEL */
const SKB_MAX_CSUM_LEVEL = 3;

/** The part of an skb the receive-checksum bookkeeping touches. */
export interface RcsumState {
  ipSummed: number;
  csum: number;
}

/** csum_shift: a sum over bytes starting at an odd offset, rotated onto a 16-bit boundary. */
const csumShift = (sum: number, offset: number): number => (offset & 1 ? ((sum >>> 8) | (sum << 24)) >>> 0 : sum);

/** skb_postpull_rcsum: keep skb->csum (CHECKSUM_COMPLETE) right after `len` bytes at `addr` left. */
export function postpullRcsum(skb: RcsumState, u8: Uint8Array, addr: number, len: number): void {
  if (skb.ipSummed !== CHECKSUM_COMPLETE) return;
  const negated = (-skb.csum) >>> 0;
  skb.csum = (-csumPartial(u8, addr, len, negated)) >>> 0;
}

/** skb_postpush_rcsum / __skb_postpush_rcsum: the same after `len` bytes at `addr` (offset `off`) arrived. */
export function postpushRcsum(skb: RcsumState, u8: Uint8Array, addr: number, len: number, off = 0): void {
  if (skb.ipSummed === CHECKSUM_COMPLETE) skb.csum = csumAdd(skb.csum, csumShift(csumPartial(u8, addr, len, 0), off));
}

/** __skb_postpull_rcsum with an offset (csum_block_sub), as bpf_skb_store_bytes uses it. */
export function postpullRcsumAt(skb: RcsumState, u8: Uint8Array, addr: number, len: number, off: number): void {
  if (skb.ipSummed === CHECKSUM_COMPLETE) skb.csum = csumAdd(skb.csum, csumShift(~csumPartial(u8, addr, len, 0) >>> 0, off));
}

/** The __skb_*_checksum_unnecessary family. */
export function incrChecksumUnnecessary(skb: SkBuff): void {
  if (skb.ipSummed === CHECKSUM_UNNECESSARY) {
    if (skb.csumLevel < SKB_MAX_CSUM_LEVEL) skb.csumLevel++;
  } else if (skb.ipSummed === CHECKSUM_NONE) {
    skb.ipSummed = CHECKSUM_UNNECESSARY;
    skb.csumLevel = 0;
  }
}

export function decrChecksumUnnecessary(skb: SkBuff): void {
  if (skb.ipSummed !== CHECKSUM_UNNECESSARY) return;
  if (skb.csumLevel === 0) skb.ipSummed = CHECKSUM_NONE;
  else skb.csumLevel--;
}

export function resetChecksumUnnecessary(skb: SkBuff): void {
  if (skb.ipSummed === CHECKSUM_UNNECESSARY) {
    skb.ipSummed = CHECKSUM_NONE;
    skb.csumLevel = 0;
  }
}

// ---- the helpers ---------------------------------------------------------------------------

const CSUM_MANGLED_0 = 0xffff;


/** The u64 argument n as (low, high) u32s. */
const argLo = (call: HelperCall, n: number): number => call.regs[n * 2] >>> 0;
const argHi = (call: HelperCall, n: number): number => call.regs[n * 2 + 1] >>> 0;

/**
 * bpf_csum_diff(from, from_size, to, to_size, seed) on `fromSize` bytes at `from` and `toSize`
 * bytes at `to`: since Linux 6.12 the result is folded to 16 bits (csum_from32to16) on every
 * architecture, and the sizes need not be multiples of 4.
 */
export function csumDiffValue(u8: Uint8Array, from: number, fromSize: number, to: number, toSize: number, seed: number): number {
  let sum = seed >>> 0;
  if (fromSize && toSize) sum = csumSub(csumPartial(u8, to, toSize, sum), csumPartial(u8, from, fromSize, 0));
  else if (toSize) sum = csumPartial(u8, to, toSize, sum);
  else if (fromSize) sum = ~csumPartial(u8, from, fromSize, ~sum >>> 0) >>> 0;
  return from32to16(sum);
}

function csumDiff(call: HelperCall): number {
  const fromSize = argU32(call, 2);
  const toSize = argU32(call, 4);
  const from = fromSize ? memArg(call, 1, fromSize, false) : 0;
  const to = toSize ? memArg(call, 3, toSize, false) : 0;
  return csumDiffValue(call.arena.u8, from, fromSize, to, toSize, argLo(call, 5));
}

/** The checks bpf_l3/l4_csum_replace share; returns the field's address or an error. */
function csumFieldAt(skb: SkBuff, offset: number): number {
  if (offset > 0xffff || offset & 1) return -ERRNO.EFAULT;
  if (!skb.ensureWritable(offset + 2)) return -ERRNO.EFAULT;
  return skb.data + offset;
}

function l3CsumReplace(call: HelperCall): number {
  const skb = skbOf(call);
  const offset = argU32(call, 2);
  const flagsLo = argLo(call, 5);
  if (flagsLo & ~BPF_F_HDR_FIELD_MASK || argHi(call, 5)) return -ERRNO.EINVAL;
  const at = csumFieldAt(skb, offset);
  if (at < 0) return at;
  const { view } = call.arena;
  const sum = view.getUint16(at, true);
  const from = argLo(call, 3);
  const to = argLo(call, 4);
  switch (flagsLo & BPF_F_HDR_FIELD_MASK) {
    case 0:
      if (from !== 0 || argHi(call, 3) !== 0) return -ERRNO.EINVAL;
      view.setUint16(at, csumReplaceByDiff(sum, to), true);
      break;
    case 2:
      view.setUint16(at, csumReplace2(sum, from & 0xffff, to & 0xffff), true);
      break;
    case 4:
      view.setUint16(at, csumReplace4(sum, from, to), true);
      break;
    default:
      return -ERRNO.EINVAL;
  }
  return 0;
}

function l4CsumReplace(call: HelperCall): number {
  const skb = skbOf(call);
  const offset = argU32(call, 2);
  const flags = argLo(call, 5);
  const allowed = BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_PSEUDO_HDR | BPF_F_HDR_FIELD_MASK | BPF_F_IPV6;
  if (flags & ~allowed || argHi(call, 5)) return -ERRNO.EINVAL;
  const at = csumFieldAt(skb, offset);
  if (at < 0) return at;
  const { view } = call.arena;
  const isPseudo = (flags & BPF_F_PSEUDO_HDR) !== 0;
  const isMmzero = (flags & BPF_F_MARK_MANGLED_0) !== 0;
  const isIpv6 = (flags & BPF_F_IPV6) !== 0;
  if (isMmzero && !(flags & BPF_F_MARK_ENFORCE) && view.getUint16(at, true) === 0) return 0;
  const from = argLo(call, 3);
  const to = argLo(call, 4);
  switch (flags & BPF_F_HDR_FIELD_MASK) {
    case 0:
      if (from !== 0 || argHi(call, 3) !== 0) return -ERRNO.EINVAL;
      protoCsumReplaceByDiff(skb, view, at, to, isPseudo, isIpv6);
      break;
    case 2:
      // inet_proto_csum_replace2 widens the 16-bit values and uses the 32-bit replace.
      protoCsumReplace4(skb, view, at, from & 0xffff, to & 0xffff, isPseudo);
      break;
    case 4:
      protoCsumReplace4(skb, view, at, from, to, isPseudo);
      break;
    default:
      return -ERRNO.EINVAL;
  }
  if (isMmzero && view.getUint16(at, true) === 0) view.setUint16(at, CSUM_MANGLED_0, true);
  return 0;
}

/** inet_proto_csum_replace4 (net/core/utils.c). */
function protoCsumReplace4(skb: SkBuff, view: DataView, at: number, from: number, to: number, pseudo: boolean): void {
  const sum = view.getUint16(at, true);
  if (skb.ipSummed !== CHECKSUM_PARTIAL) {
    view.setUint16(at, csumReplace4(sum, from, to), true);
    if (skb.ipSummed === CHECKSUM_COMPLETE && pseudo) skb.csum = ~csumAdd(csumSub(~skb.csum >>> 0, from), to) >>> 0;
  } else if (pseudo) {
    view.setUint16(at, ~csumFold(csumAdd(csumSub(unfold(sum), from), to)) & 0xffff, true);
  }
}

/** inet_proto_csum_replace_by_diff. */
function protoCsumReplaceByDiff(skb: SkBuff, view: DataView, at: number, diff: number, pseudo: boolean, ipv6: boolean): void {
  const sum = view.getUint16(at, true);
  if (skb.ipSummed !== CHECKSUM_PARTIAL) {
    view.setUint16(at, csumReplaceByDiff(sum, diff), true);
    if (skb.ipSummed === CHECKSUM_COMPLETE && pseudo && !ipv6) skb.csum = ~csumSub(diff, skb.csum) >>> 0;
  } else if (pseudo) {
    view.setUint16(at, ~csumFold(csumAdd(diff, unfold(sum))) & 0xffff, true);
  }
}

function csumUpdate(call: HelperCall): number {
  const skb = skbOf(call);
  if (skb.ipSummed !== CHECKSUM_COMPLETE) return -ERRNO.ENOTSUPP;
  skb.csum = csumAdd(skb.csum, argLo(call, 2));
  // The helper returns the new csum as a __wsum widened to s64: a u32.
  return skb.csum;
}

function csumLevel(call: HelperCall): number {
  const skb = skbOf(call);
  if (argHi(call, 2) !== 0) return -ERRNO.EINVAL;
  switch (argLo(call, 2)) {
    case BPF_CSUM_LEVEL_INC:
      incrChecksumUnnecessary(skb);
      return 0;
    case BPF_CSUM_LEVEL_DEC:
      decrChecksumUnnecessary(skb);
      return 0;
    case BPF_CSUM_LEVEL_RESET:
      resetChecksumUnnecessary(skb);
      return 0;
    case BPF_CSUM_LEVEL_QUERY:
      return skb.ipSummed === CHECKSUM_UNNECESSARY ? skb.csumLevel : -ERRNO.EACCES;
    default:
      return -ERRNO.EINVAL;
  }
}

export const CSUM_HELPERS: readonly HelperDef[] = [
  helper('csum_diff', (call) => {
    ret(call, csumDiff(call));
    return HELPER_CONTINUE;
  }),
  helper('l3_csum_replace', (call) => {
    ret(call, l3CsumReplace(call));
    skbOf(call).syncCtx();
    return HELPER_CONTINUE;
  }),
  helper('l4_csum_replace', (call) => {
    ret(call, l4CsumReplace(call));
    skbOf(call).syncCtx();
    return HELPER_CONTINUE;
  }),
  helper('csum_update', (call) => {
    ret(call, csumUpdate(call));
    return HELPER_CONTINUE;
  }),
  helper('csum_level', (call) => {
    ret(call, csumLevel(call));
    return HELPER_CONTINUE;
  }),
];
