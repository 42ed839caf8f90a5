/**
 * 64-bit integer arithmetic on (low, high) int32 pairs, for the interpreter.
 *
 * Registers are 64 bits; V8 computes on int32 many times faster than on BigInt, so every
 * operation here works on two int32 words. Functions that produce 64 bits return the low
 * word and leave the high word in `int64.hi` (a module variable, so nothing allocates).
 * Semantics follow RFC 9669 4.1: unsigned wrap-around, division by zero gives 0, modulo by
 * zero leaves the dividend, INT_MIN / -1 wraps to INT_MIN and INT_MIN % -1 is 0.
 */

export const int64 = { hi: 0 };

const TWO32 = 4294967296;

/** High 32 bits of the unsigned 64-bit product of two uint32 values. */
function mulHighU32(a: number, b: number): number {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16;
  const lowLow = a0 * b0;
  const mid1 = a1 * b0;
  const mid2 = a0 * b1;
  // Sum the middle terms' contribution to bit 32 and above without losing carries.
  const carry = ((lowLow >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff)) >>> 16;
  return (a1 * b1 + (mid1 >>> 16) + (mid2 >>> 16) + carry) | 0;
}

export function mul64(alo: number, ahi: number, blo: number, bhi: number): number {
  int64.hi = (mulHighU32(alo >>> 0, blo >>> 0) + Math.imul(alo, bhi) + Math.imul(ahi, blo)) | 0;
  return Math.imul(alo, blo);
}

const toBig = (lo: number, hi: number): bigint => (BigInt(hi) << 32n) | BigInt(lo >>> 0);
function fromBig(v: bigint): number {
  int64.hi = Number(BigInt.asIntN(32, v >> 32n));
  return Number(BigInt.asIntN(32, v));
}

/** Unsigned 64-bit division; the common case (both operands below 2^32) needs no BigInt. */
export function udiv64(alo: number, ahi: number, blo: number, bhi: number): number {
  if (bhi === 0 && blo === 0) return (int64.hi = 0);
  if (ahi === 0 && bhi === 0) {
    int64.hi = 0;
    return Math.floor((alo >>> 0) / (blo >>> 0)) | 0;
  }
  return fromBig(BigInt.asUintN(64, toBig(alo, ahi)) / BigInt.asUintN(64, toBig(blo, bhi)));
}

export function umod64(alo: number, ahi: number, blo: number, bhi: number): number {
  if (bhi === 0 && blo === 0) {
    int64.hi = ahi;
    return alo;
  }
  if (ahi === 0 && bhi === 0) {
    int64.hi = 0;
    return ((alo >>> 0) % (blo >>> 0)) | 0;
  }
  return fromBig(BigInt.asUintN(64, toBig(alo, ahi)) % BigInt.asUintN(64, toBig(blo, bhi)));
}

/** Whether (lo, hi) is the sign extension of lo, i.e. the value fits in an int32. */
const fitsInt32 = (lo: number, hi: number): boolean => hi === lo >> 31;

/** Signed 64-bit division (sdiv): truncates toward zero. */
export function sdiv64(alo: number, ahi: number, blo: number, bhi: number): number {
  if (bhi === 0 && blo === 0) return (int64.hi = 0);
  if (fitsInt32(alo, ahi) && fitsInt32(blo, bhi)) {
    const q = Math.trunc(alo / blo); // exact: |alo| <= 2^31; -2^31 / -1 = 2^31 needs 64 bits
    int64.hi = Math.floor(q / TWO32) | 0;
    return q | 0;
  }
  return fromBig(BigInt.asIntN(64, toBig(alo, ahi) / toBig(blo, bhi)));
}

/** Signed 64-bit modulo (smod): the sign of the dividend. */
export function smod64(alo: number, ahi: number, blo: number, bhi: number): number {
  if (bhi === 0 && blo === 0) {
    int64.hi = ahi;
    return alo;
  }
  if (fitsInt32(alo, ahi) && fitsInt32(blo, bhi)) {
    const r = alo % blo; // JS % keeps the dividend's sign; -0 | 0 is 0
    int64.hi = r < 0 ? -1 : 0;
    return r | 0;
  }
  return fromBig(toBig(alo, ahi) % toBig(blo, bhi));
}

/** 32-bit division and modulo (ALU class): the results are zero-extended by the caller. */
export const udiv32 = (a: number, b: number): number => (b === 0 ? 0 : Math.floor((a >>> 0) / (b >>> 0)) | 0);
export const umod32 = (a: number, b: number): number => (b === 0 ? a : ((a >>> 0) % (b >>> 0)) | 0);
export const sdiv32 = (a: number, b: number): number => (b === 0 ? 0 : Math.trunc(a / b) | 0);
export const smod32 = (a: number, b: number): number => (b === 0 ? a : (a % b) | 0);

export function shl64(lo: number, hi: number, n: number): number {
  n &= 63;
  if (n === 0) {
    int64.hi = hi;
    return lo;
  }
  if (n < 32) {
    int64.hi = (hi << n) | (lo >>> (32 - n));
    return lo << n;
  }
  int64.hi = lo << (n - 32);
  return 0;
}

export function shr64(lo: number, hi: number, n: number): number {
  n &= 63;
  if (n === 0) {
    int64.hi = hi;
    return lo;
  }
  if (n < 32) {
    int64.hi = hi >>> n;
    return (lo >>> n) | (hi << (32 - n));
  }
  int64.hi = 0;
  return hi >>> (n - 32);
}

export function sar64(lo: number, hi: number, n: number): number {
  n &= 63;
  if (n === 0) {
    int64.hi = hi;
    return lo;
  }
  if (n < 32) {
    int64.hi = hi >> n;
    return (lo >>> n) | (hi << (32 - n));
  }
  int64.hi = hi >> 31;
  return hi >> (n - 32);
}

/** Unsigned a < b on 64-bit pairs. */
export const ult64 = (alo: number, ahi: number, blo: number, bhi: number): boolean =>
  ahi !== bhi ? ahi >>> 0 < bhi >>> 0 : alo >>> 0 < blo >>> 0;
/** Signed a < b on 64-bit pairs. */
export const slt64 = (alo: number, ahi: number, blo: number, bhi: number): boolean =>
  ahi !== bhi ? ahi < bhi : alo >>> 0 < blo >>> 0;

/** Byte-swap the low 16 / all 32 bits of a word. */
export const bswap16 = (v: number): number => ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
export const bswap32 = (v: number): number =>
  ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);

/** A pair as a BigInt (uint64), for results shown to users; never on a hot path. */
export const pairToBigInt = (lo: number, hi: number): bigint => BigInt.asUintN(64, toBig(lo, hi));
