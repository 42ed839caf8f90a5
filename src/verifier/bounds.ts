/**
 * Scalar bounds: keeping a register's tnum and its four ranges (s64, u64, s32, u32) in step
 * (reg_bounds_sync), and what each ALU operation does to them (adjust_scalar_min_max_vals),
 * as kernel/bpf/verifier.c of Linux 6.18 computes them. 64-bit bounds are BigInts, 32-bit
 * bounds plain numbers.
 */
import {
  markKnown, markKnown32, markUnbounded, markUnbounded32, setKnownBounds, markUnbounded64, markUnknown, S32_MAX, S32_MIN, S64_MAX, S64_MIN, U32_MAX, U64_MAX,
  type RegState,
} from './reg-state.js';
import {
  TNUM_UNKNOWN, tnumAdd, tnumAnd, tnumArshift, tnumBswap, tnumCast, tnumStep, tnumClearSubreg, tnumConst, tnumIntersect, tnumIsConst, tnumLshift,
  tnumMul, tnumNeg, tnumOr, tnumRange, tnumRshift, tnumSub, tnumSubreg, tnumSubregIsConst, tnumXor,
} from './tnum.js';

const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const LOW32 = 0xffffffffn;
const lo32 = (x: bigint): number => Number(x & LOW32);
const big = (x: number): bigint => BigInt(x);
const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);

// ---- keeping the tnum and the ranges in step (reg_bounds_sync) ---------------------------

function updateReg32Bounds(reg: RegState): void {
  const value = lo32(reg.varOff.value);
  const mask = lo32(reg.varOff.mask);
  reg.s32min = Math.max(reg.s32min, value | (mask & 0x80000000));
  reg.s32max = Math.min(reg.s32max, value | (mask & 0x7fffffff));
  reg.u32min = Math.max(reg.u32min, value);
  reg.u32max = Math.min(reg.u32max, (value | mask) >>> 0);
}

function updateReg64Bounds(reg: RegState): void {
  const { value, mask } = reg.varOff;
  reg.smin = maxBig(reg.smin, s64(value | (mask & (1n << 63n))));
  reg.smax = minBig(reg.smax, s64(value | (mask & S64_MAX)));
  reg.umin = maxBig(reg.umin, value);
  reg.umax = minBig(reg.umax, value | mask);
  if (mask !== 0n) singleTnumValue(reg);
}

/**
 * The u64 range and the tnum may have one value in common only: the register is that
 * constant (__update_reg64_bounds, since "bpf: Improve bounds when tnum has a single possible
 * value", in 6.18 stable).
 */
function singleTnumValue(reg: RegState): void {
  const t = reg.varOff;
  const next = tnumStep(t, reg.umin);
  const uminIn = (reg.umin & ~t.mask) === t.value;
  const tmax = t.value | t.mask;
  if (uminIn && next > reg.umax) setKnownBounds(reg, reg.umin);
  else if (!uminIn && next === tmax) setKnownBounds(reg, tmax);
  else if (!uminIn && next <= reg.umax && tnumStep(t, next) > reg.umax) setKnownBounds(reg, next);
}

/** __update_reg_bounds: bounds from the tnum. */
export function updateRegBounds(reg: RegState): void {
  updateReg32Bounds(reg);
  updateReg64Bounds(reg);
}

function reg32DeduceBounds(reg: RegState): void {
  if (reg.umin >> 32n === reg.umax >> 32n) {
    const lo = lo32(reg.umin);
    const hi = lo32(reg.umax);
    reg.u32min = Math.max(reg.u32min, lo);
    reg.u32max = Math.min(reg.u32max, hi);
    if ((lo | 0) <= (hi | 0)) {
      reg.s32min = Math.max(reg.s32min, lo | 0);
      reg.s32max = Math.min(reg.s32max, hi | 0);
    }
  }
  if (reg.smin >> 32n === reg.smax >> 32n) {
    const lo = lo32(reg.smin);
    const hi = lo32(reg.smax);
    if (lo <= hi) {
      reg.u32min = Math.max(reg.u32min, lo);
      reg.u32max = Math.min(reg.u32max, hi);
    }
    if ((lo | 0) <= (hi | 0)) {
      reg.s32min = Math.max(reg.s32min, lo | 0);
      reg.s32max = Math.min(reg.s32max, hi | 0);
    }
  }
  // Upper halves one apart and the low halves a sign-crossing s32 range: still a valid s32 range.
  if (((lo32(reg.umin >> 32n) + 1) >>> 0) === lo32(reg.umax >> 32n) && (lo32(reg.umin) | 0) < 0 && (lo32(reg.umax) | 0) >= 0) {
    reg.s32min = Math.max(reg.s32min, lo32(reg.umin) | 0);
    reg.s32max = Math.min(reg.s32max, lo32(reg.umax) | 0);
  }
  if (((lo32(u64(reg.smin) >> 32n) + 1) >>> 0) === lo32(u64(reg.smax) >> 32n) && (lo32(u64(reg.smin)) | 0) < 0 && (lo32(u64(reg.smax)) | 0) >= 0) {
    reg.s32min = Math.max(reg.s32min, lo32(u64(reg.smin)) | 0);
    reg.s32max = Math.min(reg.s32max, lo32(u64(reg.smax)) | 0);
  }
  if ((reg.u32min | 0) <= (reg.u32max | 0)) {
    reg.s32min = Math.max(reg.s32min, reg.u32min | 0);
    reg.s32max = Math.min(reg.s32max, reg.u32max | 0);
  }
  if (reg.s32min >>> 0 <= reg.s32max >>> 0) {
    reg.u32min = Math.max(reg.s32min >>> 0, reg.u32min);
    reg.u32max = Math.min(reg.s32max >>> 0, reg.u32max);
  } else if (reg.u32max < reg.s32min >>> 0) {
    // The s32 range crosses the sign boundary (both ends of the u32 domain) and the u32 range
    // overlaps only its upper end: as __reg64_deduce_bounds does for 64 bits.
    reg.s32min = reg.u32min | 0;
    reg.u32max = Math.min(reg.u32max, reg.s32max >>> 0);
  } else if (reg.s32max >>> 0 < reg.u32min) {
    reg.s32max = reg.u32max | 0;
    reg.u32min = Math.max(reg.u32min, reg.s32min >>> 0);
  }
}

function reg64DeduceBounds(reg: RegState): void {
  if (s64(reg.umin) <= s64(reg.umax)) {
    reg.smin = maxBig(reg.smin, s64(reg.umin));
    reg.smax = minBig(reg.smax, s64(reg.umax));
  }
  if (u64(reg.smin) <= u64(reg.smax)) {
    reg.umin = maxBig(u64(reg.smin), reg.umin);
    reg.umax = minBig(u64(reg.smax), reg.umax);
  } else if (reg.umax < u64(reg.smin)) {
    // The s64 range wraps the u64 domain; the u64 range overlaps only its upper end.
    reg.smin = s64(reg.umin);
    reg.umax = minBig(reg.umax, u64(reg.smax));
  } else if (u64(reg.smax) < reg.umin) {
    reg.smax = s64(reg.umax);
    reg.umin = maxBig(reg.umin, u64(reg.smin));
  }
}

function regDeduceMixedBounds(reg: RegState): void {
  const newUmin = (reg.umin & ~LOW32) | big(reg.u32min);
  const newUmax = (reg.umax & ~LOW32) | big(reg.u32max);
  reg.umin = maxBig(reg.umin, newUmin);
  reg.umax = minBig(reg.umax, newUmax);
  const newSmin = s64((u64(reg.smin) & ~LOW32) | big(reg.u32min));
  const newSmax = s64((u64(reg.smax) & ~LOW32) | big(reg.u32max));
  reg.smin = maxBig(reg.smin, newSmin);
  reg.smax = minBig(reg.smax, newSmax);
  // After a sign-extending load the upper bits are all 0s or all 1s.
  if (reg.s32min >= 0 && reg.smin >= big(S32_MIN) && reg.smax <= big(S32_MAX)) {
    reg.smin = big(reg.s32min);
    reg.smax = big(reg.s32max);
    reg.umin = big(reg.s32min);
    reg.umax = big(reg.s32max);
    reg.varOff = tnumIntersect(reg.varOff, tnumRange(reg.smin, reg.smax));
  }
}

function regDeduceBounds(reg: RegState): void {
  reg32DeduceBounds(reg);
  reg64DeduceBounds(reg);
  regDeduceMixedBounds(reg);
}

/** __reg_bound_offset: the tnum from the unsigned ranges. */
function regBoundOffset(reg: RegState): void {
  const var64 = tnumIntersect(reg.varOff, tnumRange(reg.umin, reg.umax));
  const var32 = tnumIntersect(tnumSubreg(var64), tnumRange(big(reg.u32min), big(reg.u32max)));
  reg.varOff = tnumOr(tnumClearSubreg(var64), var32);
}

/**
 * A register on which reg_bounds_sync changes nothing, cheaply seen: a constant every range
 * agrees on, or a scalar that is fully unknown (tnum and every range unbounded). About a third
 * of the calls in clang-built programs, and BigInt arithmetic is the verifier's main cost.
 */
function alreadyInSync(reg: RegState): boolean {
  const { value, mask } = reg.varOff;
  if (mask === 0n) {
    if (reg.umin !== value || reg.umax !== value) return false;
    const signed = s64(value);
    const low = lo32(value);
    return reg.smin === signed && reg.smax === signed && reg.u32min === low && reg.u32max === low
      && reg.s32min === (low | 0) && reg.s32max === (low | 0);
  }
  return mask === U64_MAX && reg.umin === 0n && reg.umax === U64_MAX && reg.smin === S64_MIN && reg.smax === S64_MAX
    && reg.u32min === 0 && reg.u32max === U32_MAX && reg.s32min === S32_MIN && reg.s32max === S32_MAX;
}

/** reg_bounds_sync: every range and the tnum told what the others know. */
export function regBoundsSync(reg: RegState): void {
  if (alreadyInSync(reg)) return;
  updateRegBounds(reg);
  regDeduceBounds(reg);
  regDeduceBounds(reg);
  regBoundOffset(reg);
  updateRegBounds(reg);
}

/** reg_bounds_sanity_check: false when the ranges contradict each other (a path that cannot happen). */
export function regBoundsSane(reg: RegState): boolean {
  const { value, mask } = reg.varOff;
  return reg.umin <= reg.umax && reg.smin <= reg.smax && reg.u32min <= reg.u32max && reg.s32min <= reg.s32max
    && (value & mask) === 0n && reg.umin <= (value | mask) && reg.umax >= value;
}

// ---- 32 → 64 and narrowing ---------------------------------------------------------------

const reg32BoundS64 = (a: number): boolean => a >= 0 && a <= S32_MAX;

/** __reg_assign_32_into_64. */
export function regAssign32Into64(reg: RegState): void {
  reg.umin = big(reg.u32min);
  reg.umax = big(reg.u32max);
  if (reg32BoundS64(reg.s32min) && reg32BoundS64(reg.s32max)) {
    reg.smin = big(reg.s32min);
    reg.smax = big(reg.s32max);
  } else {
    reg.smin = 0n;
    reg.smax = big(U32_MAX);
  }
}

/** zext_32_to_64: a 32-bit result zero-extends into the whole register. */
export function zext32To64(reg: RegState): void {
  reg.varOff = tnumSubreg(reg.varOff);
  regAssign32Into64(reg);
}

/** coerce_reg_to_size: what a zero-extending load of `size` bytes leaves. */
export function coerceRegToSize(reg: RegState, size: number): void {
  reg.varOff = tnumCast(reg.varOff, size);
  const mask = (1n << big(size * 8)) - 1n;
  if ((reg.umin & ~mask) === (reg.umax & ~mask)) {
    reg.umin &= mask;
    reg.umax &= mask;
  } else {
    reg.umin = 0n;
    reg.umax = mask;
  }
  reg.smin = reg.umin;
  reg.smax = reg.umax;
  if (size < 4) markUnbounded32(reg);
  regBoundsSync(reg);
}

const signExtend = (x: bigint, bytes: number): bigint => BigInt.asIntN(bytes * 8, x);

function setSext64DefaultVal(reg: RegState, size: number): void {
  const bits = size * 8;
  const min = -(2 ** (bits - 1)); // not -(1 << 31): that is +2^31 in JavaScript's int32 shifts
  const max = 2 ** (bits - 1) - 1;
  reg.smin = big(min);
  reg.s32min = min;
  reg.smax = big(max);
  reg.s32max = max;
  reg.umin = 0n;
  reg.u32min = 0;
  reg.umax = U64_MAX;
  reg.u32max = U32_MAX;
  reg.varOff = TNUM_UNKNOWN;
}

/** coerce_reg_to_size_sx: what a sign-extending load or movsx of `size` bytes leaves. */
export function coerceRegToSizeSx(reg: RegState, size: number): void {
  if (tnumIsConst(reg.varOff)) {
    const v = u64(signExtend(reg.varOff.value, size));
    reg.varOff = tnumConst(v);
    reg.smin = reg.smax = s64(v);
    reg.umin = reg.umax = v;
    reg.s32min = reg.s32max = lo32(v) | 0;
    reg.u32min = reg.u32max = lo32(v);
    return;
  }
  const bits = big(size * 8);
  // Every value already a sign-extended `size`-byte value: the extension changes nothing
  // (asked of the running kernel: (s32) of [-2048, 2047] stays [-2048, 2047]).
  if (reg.smin >= -(1n << (bits - 1n)) && reg.smax < 1n << (bits - 1n)) return;
  const topMax = (u64(reg.smax) >> bits) << bits;
  const topMin = (u64(reg.smin) >> bits) << bits;
  if (topMax === topMin) {
    const initMax = signExtend(reg.smax, size);
    const initMin = signExtend(reg.smin, size);
    const max = maxBig(initMax, initMin);
    const min = minBig(initMax, initMin);
    if ((max >= 0n) === (min >= 0n)) {
      reg.smin = min;
      reg.s32min = lo32(u64(min)) | 0;
      reg.smax = max;
      reg.s32max = lo32(u64(max)) | 0;
      reg.umin = u64(min);
      reg.u32min = lo32(u64(min));
      reg.umax = u64(max);
      reg.u32max = lo32(u64(max));
      reg.varOff = tnumRange(u64(min), u64(max));
      return;
    }
  }
  setSext64DefaultVal(reg, size);
}

/** coerce_subreg_to_size_sx: movsx of the low 32 bits (w1 = (s8)w2). */
export function coerceSubregToSizeSx(reg: RegState, size: number): void {
  if (tnumIsConst(reg.varOff)) {
    const v = u64(signExtend(reg.varOff.value, size));
    reg.varOff = tnumConst(v);
    reg.s32min = reg.s32max = lo32(v) | 0;
    reg.u32min = reg.u32max = lo32(v);
    return;
  }
  const bits = size * 8;
  const topMax = ((reg.s32max >>> 0) >>> bits) << bits;
  const topMin = ((reg.s32min >>> 0) >>> bits) << bits;
  if (topMax === topMin) {
    const shift = 32 - bits;
    const initMax = (reg.s32max << shift) >> shift;
    const initMin = (reg.s32min << shift) >> shift;
    const max = Math.max(initMax, initMin);
    const min = Math.min(initMax, initMin);
    if ((min >= 0) === (max >= 0)) {
      reg.s32min = min;
      reg.s32max = max;
      reg.u32min = min >>> 0;
      reg.u32max = max >>> 0;
      reg.varOff = tnumSubreg(tnumRange(u64(big(min)), u64(big(max))));
      return;
    }
  }
  reg.s32min = -(1 << (bits - 1));
  reg.s32max = (1 << (bits - 1)) - 1;
  reg.u32min = 0;
  reg.u32max = U32_MAX;
  reg.varOff = tnumSubreg(TNUM_UNKNOWN);
}

// ---- ALU on scalars (adjust_scalar_min_max_vals) ------------------------------------------

/** is_safe_to_compute_dst_reg_range: shifts only by a constant below the width. */
export function safeToComputeDstRange(op: number, alu64: boolean, src: RegState): boolean {
  let srcIsConst: boolean;
  if (!alu64) {
    srcIsConst = tnumSubregIsConst(src.varOff) && src.s32min === src.s32max && src.u32min === src.u32max;
  } else {
    srcIsConst = tnumIsConst(src.varOff) && src.smin === src.smax && src.umin === src.umax;
  }
  switch (op) {
    case 0x00: case 0x10: case 0x80: case 0x50: case 0xa0: case 0x40: case 0x20: case 0xd0: // add sub neg and xor or mul end
      return true;
    case 0x60: case 0x70: case 0xc0: // lsh rsh arsh
      return srcIsConst && src.umax < (alu64 ? 64n : 32n);
    default:
      return false;
  }
}

const S32 = (x: number): boolean => x >= S32_MIN && x <= S32_MAX;

function scalar32Add(dst: RegState, src: RegState): void {
  const smin = dst.s32min + src.s32min;
  const smax = dst.s32max + src.s32max;
  if (!S32(smin) || !S32(smax)) {
    dst.s32min = S32_MIN;
    dst.s32max = S32_MAX;
  } else {
    dst.s32min = smin;
    dst.s32max = smax;
  }
  const umin = dst.u32min + src.u32min;
  const umax = dst.u32max + src.u32max;
  const minOverflow = umin > U32_MAX;
  const maxOverflow = umax > U32_MAX;
  dst.u32min = umin >>> 0;
  dst.u32max = umax >>> 0;
  if (!minOverflow && maxOverflow) {
    dst.u32min = 0;
    dst.u32max = U32_MAX;
  }
}

function scalarAdd(dst: RegState, src: RegState): void {
  const smin = dst.smin + src.smin;
  const smax = dst.smax + src.smax;
  if (smin < S64_MIN || smin > S64_MAX || smax < S64_MIN || smax > S64_MAX) {
    dst.smin = S64_MIN;
    dst.smax = S64_MAX;
  } else {
    dst.smin = smin;
    dst.smax = smax;
  }
  const umin = dst.umin + src.umin;
  const umax = dst.umax + src.umax;
  const minOverflow = umin > U64_MAX;
  const maxOverflow = umax > U64_MAX;
  dst.umin = u64(umin);
  dst.umax = u64(umax);
  if (!minOverflow && maxOverflow) {
    dst.umin = 0n;
    dst.umax = U64_MAX;
  }
}

function scalar32Sub(dst: RegState, src: RegState): void {
  const smin = dst.s32min - src.s32max;
  const smax = dst.s32max - src.s32min;
  if (!S32(smin) || !S32(smax)) {
    dst.s32min = S32_MIN;
    dst.s32max = S32_MAX;
  } else {
    dst.s32min = smin;
    dst.s32max = smax;
  }
  const umin = dst.u32min - src.u32max;
  const umax = dst.u32max - src.u32min;
  const minUnderflow = umin < 0;
  const maxUnderflow = umax < 0;
  dst.u32min = umin >>> 0;
  dst.u32max = umax >>> 0;
  if (minUnderflow && !maxUnderflow) {
    dst.u32min = 0;
    dst.u32max = U32_MAX;
  }
}

function scalarSub(dst: RegState, src: RegState): void {
  const smin = dst.smin - src.smax;
  const smax = dst.smax - src.smin;
  if (smin < S64_MIN || smin > S64_MAX || smax < S64_MIN || smax > S64_MAX) {
    dst.smin = S64_MIN;
    dst.smax = S64_MAX;
  } else {
    dst.smin = smin;
    dst.smax = smax;
  }
  const umin = dst.umin - src.umax;
  const umax = dst.umax - src.umin;
  const minUnderflow = umin < 0n;
  const maxUnderflow = umax < 0n;
  dst.umin = u64(umin);
  dst.umax = u64(umax);
  if (minUnderflow && !maxUnderflow) {
    dst.umin = 0n;
    dst.umax = U64_MAX;
  }
}

function scalar32Mul(dst: RegState, src: RegState): void {
  const umax = dst.u32max * src.u32max;
  const umin = dst.u32min * src.u32min;
  if (umax > U32_MAX || umin > U32_MAX) {
    dst.u32min = 0;
    dst.u32max = U32_MAX;
  } else {
    dst.u32min = umin;
    dst.u32max = umax;
  }
  const products = [dst.s32min * src.s32min, dst.s32min * src.s32max, dst.s32max * src.s32min, dst.s32max * src.s32max];
  if (products.some((p) => !S32(p))) {
    dst.s32min = S32_MIN;
    dst.s32max = S32_MAX;
  } else {
    dst.s32min = Math.min(...products);
    dst.s32max = Math.max(...products);
  }
}

function scalarMul(dst: RegState, src: RegState): void {
  const umax = dst.umax * src.umax;
  const umin = dst.umin * src.umin;
  if (umax > U64_MAX || umin > U64_MAX) {
    dst.umin = 0n;
    dst.umax = U64_MAX;
  } else {
    dst.umin = umin;
    dst.umax = umax;
  }
  const products = [dst.smin * src.smin, dst.smin * src.smax, dst.smax * src.smin, dst.smax * src.smax];
  if (products.some((p) => p < S64_MIN || p > S64_MAX)) {
    dst.smin = S64_MIN;
    dst.smax = S64_MAX;
  } else {
    dst.smin = products.reduce(minBig);
    dst.smax = products.reduce(maxBig);
  }
}

/** After a bitwise op: s32 bounds from the u32 ones when they do not cross the sign. */
function s32FromU32(dst: RegState): void {
  if ((dst.u32min | 0) <= (dst.u32max | 0)) {
    dst.s32min = dst.u32min | 0;
    dst.s32max = dst.u32max | 0;
  } else {
    dst.s32min = S32_MIN;
    dst.s32max = S32_MAX;
  }
}

function sFromU(dst: RegState): void {
  if (s64(dst.umin) <= s64(dst.umax)) {
    dst.smin = s64(dst.umin);
    dst.smax = s64(dst.umax);
  } else {
    dst.smin = S64_MIN;
    dst.smax = S64_MAX;
  }
}

type Bitwise = 'and' | 'or' | 'xor';

function scalar32Bitwise(dst: RegState, src: RegState, op: Bitwise): void {
  const var32Value = lo32(dst.varOff.value);
  const var32Mask = lo32(dst.varOff.mask);
  if (tnumSubregIsConst(src.varOff) && tnumSubregIsConst(dst.varOff)) {
    markKnown32(dst, var32Value);
    return;
  }
  if (op === 'and') {
    dst.u32min = var32Value;
    dst.u32max = Math.min(dst.u32max, src.u32max);
  } else if (op === 'or') {
    dst.u32min = Math.max(dst.u32min, src.u32min);
    dst.u32max = (var32Value | var32Mask) >>> 0;
  } else {
    dst.u32min = var32Value;
    dst.u32max = (var32Value | var32Mask) >>> 0;
  }
  s32FromU32(dst);
}

function scalarBitwise(dst: RegState, src: RegState, op: Bitwise): void {
  if (tnumIsConst(src.varOff) && tnumIsConst(dst.varOff)) {
    markKnown(dst, dst.varOff.value);
    return;
  }
  const { value, mask } = dst.varOff;
  if (op === 'and') {
    dst.umin = value;
    dst.umax = minBig(dst.umax, src.umax);
  } else if (op === 'or') {
    dst.umin = maxBig(dst.umin, src.umin);
    dst.umax = value | mask;
  } else {
    dst.umin = value;
    dst.umax = value | mask;
  }
  sFromU(dst);
  updateRegBounds(dst);
}

function scalar32Lsh(dst: RegState, umin: number, umax: number): void {
  dst.s32min = S32_MIN;
  dst.s32max = S32_MAX;
  if (umax > 31 || dst.u32max > 2 ** (31 - umax)) {
    dst.u32min = 0;
    dst.u32max = U32_MAX;
  } else {
    dst.u32min = (dst.u32min * 2 ** umin) >>> 0;
    dst.u32max = (dst.u32max * 2 ** umax) >>> 0;
  }
}

function scalar64Lsh(dst: RegState, umin: bigint, umax: bigint): void {
  // `<<32 s>>32` sign-extends a subregister: keep positive 32-bit bounds through it.
  dst.smax = umin === 32n && umax === 32n && dst.s32max >= 0 ? big(dst.s32max) << 32n : S64_MAX;
  dst.smin = umin === 32n && umax === 32n && dst.s32min >= 0 ? big(dst.s32min) << 32n : S64_MIN;
  if (dst.umax > 1n << (63n - umax)) {
    dst.umin = 0n;
    dst.umax = U64_MAX;
  } else {
    dst.umin = u64(dst.umin << umin);
    dst.umax = u64(dst.umax << umax);
  }
}

function shiftOp(dst: RegState, src: RegState, op: number, alu64: boolean): void {
  if (op === 0x60) {
    if (!alu64) {
      const subreg = tnumSubreg(dst.varOff);
      scalar32Lsh(dst, src.u32min, src.u32max);
      dst.varOff = tnumSubreg(tnumLshift(subreg, src.u32min));
      markUnbounded64(dst);
      updateReg32Bounds(dst);
    } else {
      scalar64Lsh(dst, src.umin, src.umax);
      scalar32Lsh(dst, Number(src.umin), Number(src.umax));
      dst.varOff = tnumLshift(dst.varOff, Number(src.umin));
      updateRegBounds(dst);
    }
  } else if (op === 0x70) {
    if (!alu64) {
      const subreg = tnumSubreg(dst.varOff);
      dst.s32min = S32_MIN;
      dst.s32max = S32_MAX;
      dst.varOff = tnumRshift(subreg, src.u32min);
      dst.u32min = dst.u32min >>> src.u32max;
      dst.u32max = dst.u32max >>> src.u32min;
      markUnbounded64(dst);
      updateReg32Bounds(dst);
    } else {
      dst.smin = S64_MIN;
      dst.smax = S64_MAX;
      dst.varOff = tnumRshift(dst.varOff, Number(src.umin));
      dst.umin >>= src.umax;
      dst.umax >>= src.umin;
      markUnbounded32(dst);
      updateRegBounds(dst);
    }
  } else {
    if (!alu64) {
      const shift = src.u32min;
      dst.s32min = dst.s32min >> shift;
      dst.s32max = dst.s32max >> shift;
      dst.varOff = tnumArshift(tnumSubreg(dst.varOff), shift, 32);
      dst.u32min = 0;
      dst.u32max = U32_MAX;
      markUnbounded64(dst);
      updateReg32Bounds(dst);
    } else {
      const shift = src.umin;
      dst.smin >>= shift;
      dst.smax >>= shift;
      dst.varOff = tnumArshift(dst.varOff, Number(shift), 64);
      dst.umin = 0n;
      dst.umax = U64_MAX;
      markUnbounded32(dst);
      updateRegBounds(dst);
    }
  }
}

/**
 * scalar_byte_swap: le/be/bswap on a scalar. The tnum's bytes move with the value (bswap, and
 * be on this little-endian machine); the ranges are rebuilt from it. le16/le32 and every 16-
 * and 32-bit form truncate, and whatever changed the value loses its ties to copies.
 */
export function scalarByteSwap(dst: RegState, alu64: boolean, toBe: boolean, bits: 16 | 32 | 64): void {
  const needSwap = alu64 || toBe;
  if (needSwap || bits !== 64) dst.id = 0;
  if (needSwap) {
    dst.varOff = tnumBswap(dst.varOff, bits);
    markUnbounded(dst);
  }
  if (bits !== 64) coerceRegToSize(dst, bits / 8);
  regBoundsSync(dst);
}

/**
 * adjust_scalar_min_max_vals after the checks: `dst op= src` on two scalars, `op` the BPF_OP
 * bits. Operations whose range cannot be followed leave an unknown scalar.
 */
export function scalarAlu(dst: RegState, src: RegState, op: number, alu64: boolean): void {
  if (!safeToComputeDstRange(op, alu64, src)) {
    markUnknown(dst);
    return;
  }
  switch (op) {
    case 0x00:
      scalar32Add(dst, src);
      scalarAdd(dst, src);
      dst.varOff = tnumAdd(dst.varOff, src.varOff);
      break;
    case 0x10:
      scalar32Sub(dst, src);
      scalarSub(dst, src);
      dst.varOff = tnumSub(dst.varOff, src.varOff);
      break;
    case 0x80: {
      const operand = dst.clone();
      markKnown(dst, 0n);
      scalar32Sub(dst, operand);
      scalarSub(dst, operand);
      dst.varOff = tnumNeg(operand.varOff);
      break;
    }
    case 0x20:
      dst.varOff = tnumMul(dst.varOff, src.varOff);
      scalar32Mul(dst, src);
      scalarMul(dst, src);
      break;
    case 0x50:
      dst.varOff = tnumAnd(dst.varOff, src.varOff);
      scalar32Bitwise(dst, src, 'and');
      scalarBitwise(dst, src, 'and');
      break;
    case 0x40:
      dst.varOff = tnumOr(dst.varOff, src.varOff);
      scalar32Bitwise(dst, src, 'or');
      scalarBitwise(dst, src, 'or');
      break;
    case 0xa0:
      dst.varOff = tnumXor(dst.varOff, src.varOff);
      scalar32Bitwise(dst, src, 'xor');
      scalarBitwise(dst, src, 'xor');
      break;
    default:
      shiftOp(dst, src, op, alu64);
  }
  if (!alu64) zext32To64(dst);
  regBoundsSync(dst);
}
