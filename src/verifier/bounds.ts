/**
 * Scalar bounds: keeping a register's tnum and its four ranges (s64, u64, s32, u32) in step
 * (reg_bounds_sync), and narrowing or widening them (coerce_reg_to_size and its kin), as
 * kernel/bpf/verifier.c of Linux 6.18 computes them; what each ALU operation does to them is
 * scalar-alu.ts. 64-bit bounds are BigInts, 32-bit bounds plain numbers.
 */
import { markUnbounded32, setKnownBounds, S32_MAX, S32_MIN, S64_MAX, S64_MIN, U32_MAX, U64_MAX, type RegState } from './reg-state.js';
import {
  TNUM_UNKNOWN, tnumCast, tnumStep, tnumClearSubreg, tnumConst, tnumIntersect, tnumIsConst, tnumOr, tnumRange, tnumSubreg,
} from './tnum.js';

export const s64 = (x: bigint): bigint => BigInt.asIntN(64, x);
export const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);
export const LOW32 = 0xffffffffn;
export const lo32 = (x: bigint): number => Number(x & LOW32);
export const big = (x: number): bigint => BigInt(x);
export const maxBig = (a: bigint, b: bigint): bigint => (a > b ? a : b);
export const minBig = (a: bigint, b: bigint): bigint => (a < b ? a : b);

// ---- keeping the tnum and the ranges in step (reg_bounds_sync) ---------------------------

export function updateReg32Bounds(reg: RegState): void {
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
