/**
 * What each ALU operation does to a scalar's bounds and tnum (adjust_scalar_min_max_vals and
 * the scalar*_ helpers of kernel/bpf/verifier.c, Linux 6.18): add, sub, mul, the bitwise
 * operations, shifts, byte swaps. The results are kept in step by bounds.ts's regBoundsSync.
 */
import {
  big, coerceRegToSize, lo32, maxBig, minBig, regBoundsSync, s64, u64, updateReg32Bounds, updateRegBounds, zext32To64,
} from './bounds.js';
import {
  markKnown, markKnown32, markUnbounded, markUnbounded32, markUnbounded64, markUnknown, S32_MAX, S32_MIN, S64_MAX, S64_MIN,
  U32_MAX, U64_MAX, type RegState,
} from './reg-state.js';
import {
  tnumAdd, tnumAnd, tnumArshift, tnumBswap, tnumIsConst, tnumLshift, tnumMul, tnumNeg, tnumOr, tnumRshift, tnumSub,
  tnumSubreg, tnumSubregIsConst, tnumXor,
} from './tnum.js';

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
