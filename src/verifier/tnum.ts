/**
 * Tristate numbers (kernel/bpf/tnum.c): a 64-bit value whose bits are each known 0, known 1
 * or unknown. `value` holds the known 1 bits, `mask` the unknown ones; a bit is never set in
 * both. The verifier tracks every register's possible values with one, beside its bounds.
 *
 * Values are BigInts in [0, 2^64): the verifier runs once at load, never per packet, and
 * exact 64-bit arithmetic keeps each operation a line of the kernel's.
 */

export interface Tnum {
  readonly value: bigint;
  readonly mask: bigint;
}

export const U64_MAX = (1n << 64n) - 1n;
export const U32_MAX = 0xffffffffn;
const u64 = (x: bigint): bigint => BigInt.asUintN(64, x);

export const tnum = (value: bigint, mask: bigint): Tnum => ({ value, mask });
export const tnumConst = (value: bigint): Tnum => ({ value: u64(value), mask: 0n });
export const TNUM_UNKNOWN: Tnum = { value: 0n, mask: U64_MAX };

/** Index of the highest set bit, counting from 1 (fls64); 0 for 0. */
function fls64(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

/** The tnum of every value in [min, max] (unsigned). */
export function tnumRange(min: bigint, max: bigint): Tnum {
  const chi = min ^ max;
  const bits = fls64(chi);
  if (bits > 63) return TNUM_UNKNOWN;
  const delta = (1n << BigInt(bits)) - 1n;
  return { value: min & ~delta, mask: delta };
}

export const tnumLshift = (a: Tnum, shift: number): Tnum => ({ value: u64(a.value << BigInt(shift)), mask: u64(a.mask << BigInt(shift)) });
export const tnumRshift = (a: Tnum, shift: number): Tnum => ({ value: a.value >> BigInt(shift), mask: a.mask >> BigInt(shift) });

/** Arithmetic right shift of a 32- or 64-bit value. */
export function tnumArshift(a: Tnum, shift: number, bits: 32 | 64): Tnum {
  const s = BigInt(shift);
  if (bits === 32) {
    return {
      value: BigInt.asUintN(32, BigInt.asIntN(32, a.value) >> s),
      mask: BigInt.asUintN(32, BigInt.asIntN(32, a.mask) >> s),
    };
  }
  return { value: u64(BigInt.asIntN(64, a.value) >> s), mask: u64(BigInt.asIntN(64, a.mask) >> s) };
}

export function tnumAdd(a: Tnum, b: Tnum): Tnum {
  const sm = u64(a.mask + b.mask);
  const sv = u64(a.value + b.value);
  const sigma = u64(sm + sv);
  const chi = sigma ^ sv;
  const mu = chi | a.mask | b.mask;
  return { value: sv & ~mu & U64_MAX, mask: mu };
}

export function tnumSub(a: Tnum, b: Tnum): Tnum {
  const dv = u64(a.value - b.value);
  const alpha = u64(dv + a.mask);
  const beta = u64(dv - b.mask);
  const chi = alpha ^ beta;
  const mu = chi | a.mask | b.mask;
  return { value: dv & ~mu & U64_MAX, mask: mu };
}

export const tnumNeg = (a: Tnum): Tnum => tnumSub({ value: 0n, mask: 0n }, a);

export function tnumAnd(a: Tnum, b: Tnum): Tnum {
  const alpha = a.value | a.mask;
  const beta = b.value | b.mask;
  const v = a.value & b.value;
  return { value: v, mask: alpha & beta & ~v & U64_MAX };
}

export function tnumOr(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask | b.mask;
  return { value: v, mask: mu & ~v & U64_MAX };
}

export function tnumXor(a: Tnum, b: Tnum): Tnum {
  const v = a.value ^ b.value;
  const mu = a.mask | b.mask;
  return { value: v & ~mu & U64_MAX, mask: mu };
}

/** Multiplication by shift-and-add over the known and unknown bits of `a`. */
export function tnumMul(a: Tnum, b: Tnum): Tnum {
  const accV = u64(a.value * b.value);
  if (a.mask === 0n && b.mask === 0n) return { value: accV, mask: 0n }; // what the loop below gives, without it
  let accM: Tnum = { value: 0n, mask: 0n };
  while (a.value || a.mask) {
    if (a.value & 1n) accM = tnumAdd(accM, { value: 0n, mask: b.mask });
    else if (a.mask & 1n) accM = tnumAdd(accM, { value: 0n, mask: b.value | b.mask });
    a = tnumRshift(a, 1);
    b = tnumLshift(b, 1);
  }
  return tnumAdd({ value: accV, mask: 0n }, accM);
}

/** What is known in either (both describe the same value). */
export function tnumIntersect(a: Tnum, b: Tnum): Tnum {
  const v = a.value | b.value;
  const mu = a.mask & b.mask;
  return { value: v & ~mu & U64_MAX, mask: mu };
}

/** Keep the low `size` bytes. */
export function tnumCast(a: Tnum, size: number): Tnum {
  if (size >= 8) return a;
  const keep = (1n << BigInt(size * 8)) - 1n;
  return { value: a.value & keep, mask: a.mask & keep };
}

export const tnumIsConst = (a: Tnum): boolean => a.mask === 0n;
export const tnumIsUnknown = (a: Tnum): boolean => a.mask === U64_MAX;
export const tnumEquals = (a: Tnum, b: Tnum): boolean => a.value === b.value && a.mask === b.mask;
export const tnumEqualsConst = (a: Tnum, v: bigint): boolean => a.mask === 0n && a.value === v;

export function tnumIsAligned(a: Tnum, size: number): boolean {
  if (!size) return true;
  return ((a.value | a.mask) & BigInt(size - 1)) === 0n;
}

/** Every value `b` allows, `a` allows too. */
export function tnumIn(a: Tnum, b: Tnum): boolean {
  if (b.mask & ~a.mask) return false;
  return a.value === (b.value & ~a.mask);
}

export const tnumSubreg = (a: Tnum): Tnum => tnumCast(a, 4);
export const tnumClearSubreg = (a: Tnum): Tnum => tnumLshift(tnumRshift(a, 32), 32);
export const tnumWithSubreg = (reg: Tnum, subreg: Tnum): Tnum => tnumOr(tnumClearSubreg(reg), tnumSubreg(subreg));
export const tnumConstSubreg = (a: Tnum, value: bigint): Tnum => tnumWithSubreg(a, tnumConst(value));
export const tnumSubregIsConst = (a: Tnum): boolean => (a.mask & U32_MAX) === 0n;

/** `(0x1; 0xfe)`, as the kernel's tnum_strn prints it. */
export const tnumString = (a: Tnum): string => `(0x${a.value.toString(16)}; 0x${a.mask.toString(16)})`;

/** The bytes of the low `bits` bits in reverse order (swab16/32/64). */
function swab(x: bigint, bits: 16 | 32 | 64): bigint {
  let out = 0n;
  for (let i = 0; i < bits; i += 8) out = (out << 8n) | ((x >> BigInt(i)) & 0xffn);
  return out;
}

/** tnum_bswap16/32/64: the known and unknown bits follow their bytes. */
export const tnumBswap = (a: Tnum, bits: 16 | 32 | 64): Tnum => ({ value: swab(a.value, bits), mask: swab(a.mask, bits) });

/** tnum_step: the smallest member of `t` above `z` (t.value below it, the largest member from it on). */
export function tnumStep(t: Tnum, z: bigint): bigint {
  const tmax = t.value | t.mask;
  if (z >= tmax) return tmax;
  if (z < t.value) return t.value;
  const d = z - t.value;
  const carry = (1n << BigInt(fls64(d & ~t.mask & U64_MAX))) - 1n;
  const filled = (d | carry | ~t.mask) & U64_MAX;
  const inc = u64(filled + 1n) & t.mask;
  return t.value | inc;
}
