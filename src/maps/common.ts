/**
 * Pieces every map type shares: the kernel's jhash (include/linux/jhash.h, bit for bit, so
 * that bucket layouts and bloom filter bits match the kernel's), power-of-two rounding, and
 * little-endian reads of the arena.
 */

import { JHASH_INITVAL } from '../vm/map-layout.js';

const rol32 = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** A little-endian u32 (as an int32) from arena bytes at any alignment. */
export const readWord = (u8: Uint8Array, p: number): number => u8[p] | (u8[p + 1] << 8) | (u8[p + 2] << 16) | (u8[p + 3] << 24);

/** The kernel's jhash(key, length, initval) over arena bytes at `p`; a uint32. */
export const jhash = (u8: Uint8Array, p: number, length: number, initval: number): number => jhashBlocks(u8, p, length, initval, false);

/** The kernel's jhash2(k, nwords, initval): `nwords` little-endian u32s at arena byte `p`. */
export const jhash2 = (u8: Uint8Array, p: number, nwords: number, initval: number): number => jhashBlocks(u8, p, nwords << 2, initval, true);

/**
 * jhash and jhash2 are one algorithm: 12-byte blocks through __jhash_mix, then the last block
 * (up to 12 bytes, read byte by byte for jhash, as u32 words for jhash2) through __jhash_final.
 */
function jhashBlocks(u8: Uint8Array, p: number, length: number, initval: number, words: boolean): number {
  let a = (JHASH_INITVAL + length + initval) | 0;
  let b = a;
  let c = a;
  while (length > 12) {
    a = (a + readWord(u8, p)) | 0;
    b = (b + readWord(u8, p + 4)) | 0;
    c = (c + readWord(u8, p + 8)) | 0;
    // __jhash_mix
    a = (a - c) | 0; a ^= rol32(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rol32(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rol32(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rol32(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rol32(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rol32(b, 4); b = (b + a) | 0;
    length -= 12;
    p += 12;
  }
  if (length === 0) return c >>> 0;
  if (words) {
    if (length === 12) c = (c + readWord(u8, p + 8)) | 0;
    if (length >= 8) b = (b + readWord(u8, p + 4)) | 0;
    a = (a + readWord(u8, p)) | 0;
    return jhashFinal(a, b, c);
  }
  // The last block (the kernel's fall-through switch): the remaining bytes, then the final mix.
  if (length >= 12) c = (c + (u8[p + 11] << 24)) | 0;
  if (length >= 11) c = (c + (u8[p + 10] << 16)) | 0;
  if (length >= 10) c = (c + (u8[p + 9] << 8)) | 0;
  if (length >= 9) c = (c + u8[p + 8]) | 0;
  if (length >= 8) b = (b + (u8[p + 7] << 24)) | 0;
  if (length >= 7) b = (b + (u8[p + 6] << 16)) | 0;
  if (length >= 6) b = (b + (u8[p + 5] << 8)) | 0;
  if (length >= 5) b = (b + u8[p + 4]) | 0;
  if (length >= 4) a = (a + (u8[p + 3] << 24)) | 0;
  if (length >= 3) a = (a + (u8[p + 2] << 16)) | 0;
  if (length >= 2) a = (a + (u8[p + 1] << 8)) | 0;
  a = (a + u8[p]) | 0;
  return jhashFinal(a, b, c);
}

function jhashFinal(a: number, b: number, c: number): number {
  c ^= b; c = (c - rol32(b, 14)) | 0;
  a ^= c; a = (a - rol32(c, 11)) | 0;
  b ^= a; b = (b - rol32(a, 25)) | 0;
  c ^= b; c = (c - rol32(b, 16)) | 0;
  a ^= c; a = (a - rol32(c, 4)) | 0;
  b ^= a; b = (b - rol32(a, 14)) | 0;
  c ^= b; c = (c - rol32(b, 24)) | 0;
  return c >>> 0;
}

/** htab_map_hash: jhash2 when the key is a whole number of u32s, else jhash. */
export const keyHash = (u8: Uint8Array, p: number, size: number, seed: number): number =>
  (size & 3) === 0 ? jhash2(u8, p, size >>> 2, seed) : jhash(u8, p, size, seed);

/** roundup_pow_of_two for 1 ≤ n ≤ 2^31. */
export const roundUpPow2 = (n: number): number => (n <= 1 ? 1 : 2 ** (32 - Math.clz32(n - 1)));

export const isPow2 = (n: number): boolean => n > 0 && (n & (n - 1)) === 0;

/** A u32 from four arena bytes. */
export const readU32 = (u8: Uint8Array, p: number): number => readWord(u8, p) >>> 0;

export function writeU32(u8: Uint8Array, p: number, v: number): void {
  u8[p] = v;
  u8[p + 1] = v >>> 8;
  u8[p + 2] = v >>> 16;
  u8[p + 3] = v >>> 24;
}

/** A u32 key as 4 little-endian bytes (user-face keys of array-like maps). */
export function u32Bytes(v: number): Uint8Array {
  const b = new Uint8Array(4);
  writeU32(b, 0, v);
  return b;
}

/** Whether `size` bytes at arena addresses `p` and `q` are equal. */
export function bytesEqual(u8: Uint8Array, p: number, q: number, size: number): boolean {
  for (let i = 0; i < size; i++) if (u8[p + i] !== u8[q + i]) return false;
  return true;
}

/**
 * array_map_get_next_key: index 0 for no key or an index past the end, -ENOENT (undefined)
 * after the last, else index + 1. Shared by every array-like map type.
 */
export function arrayNextKey(key: Uint8Array | undefined, maxEntries: number): Uint8Array | undefined {
  const index = key === undefined ? 0xffffffff : readU32(key, 0);
  if (index >= maxEntries) return u32Bytes(0);
  if (index === maxEntries - 1) return undefined;
  return u32Bytes(index + 1);
}

/** BPF_F_RDONLY_PROG and friends as region flags: what a program may do with a map's values. */
export const NO_PROGRAM_ACCESS = 0;
