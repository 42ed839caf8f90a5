/**
 * bpf_map_lookup_elem on a hash map (HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH) compiled to
 * a wasm function of the program's module, one per map the program looks up by a constant r1
 * (lower-map.ts, constantR1), with the map's layout (map-layout.ts, HashLookupLayout) baked in:
 * jhash2 / jhash over the key unrolled for its size (maps/common.ts, keyHash, seed 0), the
 * bucket walk and the key compare of HashMap.find, the value address HashMap.lookupElem returns
 * (the CPU in SCRATCH.CPU for per-CPU maps), and for LRU maps the reference bit
 * LruHashMap.lookupElem sets. The call site calls it wasm-to-wasm instead of crossing into the
 * JS helper; everything else about the call is what the helper path leaves: r0 set, r1–r5
 * unchanged, the same instruction count. A key not wholly inside the memory takes the helper
 * path (it reads zeros past the end), as does a key too large to unroll.
 */
import { JHASH_INITVAL, type HashLookupLayout } from '../map-layout.js';
import { LOCAL, SCRATCH, reg } from './layout.js';
import { OP, CodeWriter } from './wasm-writer.js';

/** Keys above this many bytes go through the helper: their unrolled hash would be large code. */
export const MAX_WASM_KEY = 512;

/** Locals of a map function: the key's address, jhash's a, b, c (c: the hash), an element (1 + index), its meta record. */
export interface HashLocals {
  key: number; a: number; b: number; c: number; e: number; m: number;
}
/** The lookup function's param and locals. */
const L: HashLocals = { key: 0, a: 1, b: 2, c: 3, e: 4, m: 5 };
export const LOOKUP_LOCALS = 5;

/** Whether the JIT compiles lookups of this hash map (else they go through the helper). */
export const canCompileHashLookup = (layout: HashLookupLayout): boolean => layout.keySize <= MAX_WASM_KEY;

/**
 * The call site: r0 = lookup(r2) when the key is wholly inside the memory, else `fallback` (the
 * helper call).
 */
export function emitHashLookupCall(w: CodeWriter, fn: number, keySize: number, fallback: () => void): void {
  w.get(reg(2)).op(OP.i32_wrap_i64).tee(LOCAL.T32).op(OP.i64_extend_i32_u).i64(keySize).op(OP.i64_add);
  w.byte(0x3f).byte(0x00).op(OP.i64_extend_i32_u).i64(16).op(OP.i64_shl).op(OP.i64_le_u).if();
  w.get(LOCAL.T32).call(fn).op(OP.i64_extend_i32_u).set(reg(0));
  w.else();
  fallback();
  w.end();
}

/** lookup(key) → the value address, or 0. */
export function emitHashLookupFunction(layout: HashLookupLayout): CodeWriter {
  const w = new CodeWriter();
  const { c, e, m } = L;
  emitKeyHash(w, layout.keySize, L);
  emitBucketAddress(w, layout, c);
  w.mem(OP.i32_load).set(e);
  w.block().loop();
  w.get(e).op(OP.i32_eqz).brIf(1);
  emitMetaAddress(w, layout, e);
  w.set(m);
  w.get(m).mem(OP.i32_load, layout.hashOffset).get(c).op(OP.i32_eq).if();
  w.block();
  emitKeyCompare(w, layout, L);
  if (layout.ref) w.get(m).get(m).mem(OP.i32_load, layout.ref.offset).i32(layout.ref.bit).op(OP.i32_or).mem(OP.i32_store, layout.ref.offset);
  emitValueAddress(w, layout, e);
  if (layout.cpuStride !== 0) w.i32(0).mem(OP.i32_load, SCRATCH.CPU).i32(layout.cpuStride).op(OP.i32_mul).op(OP.i32_add);
  w.op(OP.return);
  w.end();
  w.end();
  w.get(m).mem(OP.i32_load, layout.nextOffset).set(e);
  w.br(0);
  w.end().end();
  w.i32(0);
  w.end();
  return w;
}

/**
 * HashMap.find: leave in L.e 1 + the index of the element holding the key (hash in L.c), or 0;
 * L.m its meta record.
 */
export function emitFind(w: CodeWriter, layout: HashLookupLayout, l: HashLocals): void {
  emitBucketAddress(w, layout, l.c);
  w.mem(OP.i32_load).set(l.e);
  w.block().loop();
  w.get(l.e).op(OP.i32_eqz).brIf(1);
  emitMetaAddress(w, layout, l.e);
  w.set(l.m);
  w.get(l.m).mem(OP.i32_load, layout.hashOffset).get(l.c).op(OP.i32_eq).if();
  w.block();
  emitKeyCompare(w, layout, l);
  w.br(3); // found
  w.end();
  w.end();
  w.get(l.m).mem(OP.i32_load, layout.nextOffset).set(l.e);
  w.br(0);
  w.end().end();
}

/** Push the address of hash `c`'s bucket word. */
export function emitBucketAddress(w: CodeWriter, layout: HashLookupLayout, c: number): void {
  w.get(c).i32(layout.bucketMask).op(OP.i32_and).i32(2).op(OP.i32_shl).i32(layout.bucketBase).op(OP.i32_add);
}

/** Push the address of the meta record of element `e` - 1. */
export function emitMetaAddress(w: CodeWriter, layout: HashLookupLayout, e: number): void {
  w.get(e).i32(layout.metaBytes).op(OP.i32_mul).i32(layout.metaBase - layout.metaBytes).op(OP.i32_add);
}

/** Branch out of the enclosing block (depth 0) unless the key at l.key equals the key of record l.m. */
function emitKeyCompare(w: CodeWriter, layout: HashLookupLayout, l: HashLocals): void {
  const chunk = (at: number, load: number, ne: number): void => {
    w.get(l.m).mem(load, layout.keyOffset + at).get(l.key).mem(load, at).op(ne).brIf(0);
  };
  let at = 0;
  for (; at + 8 <= layout.keySize; at += 8) chunk(at, OP.i64_load, OP.i64_ne);
  if (at + 4 <= layout.keySize) { chunk(at, OP.i32_load, OP.i32_ne); at += 4; }
  if (at + 2 <= layout.keySize) { chunk(at, OP.i32_load16_u, OP.i32_ne); at += 2; }
  if (at < layout.keySize) chunk(at, OP.i32_load8_u, OP.i32_ne);
}

/** Push valueBase + (e - 1) × valueStride: element e - 1's value (its first CPU's slot). */
export function emitValueAddress(w: CodeWriter, layout: HashLookupLayout, e: number): void {
  w.get(e).i32(layout.valueStride).op(OP.i32_mul).i32(layout.valueBase - layout.valueStride).op(OP.i32_add);
}

// ---- htab_map_hash: jhash2 / jhash, seed 0, unrolled for the key size ---------------------

/** Leave the hash of the key at l.key in l.c. */
export function emitKeyHash(w: CodeWriter, keySize: number, l: HashLocals): void {
  const { a: A, b: B, c: C } = l;
  w.i32((JHASH_INITVAL + keySize) | 0).tee(A).tee(B).set(C);
  let at = 0;
  let left = keySize;
  while (left > 12) {
    addLe(w, l, A, at, 4);
    addLe(w, l, B, at + 4, 4);
    addLe(w, l, C, at + 8, 4);
    emitMix(w, l);
    left -= 12;
    at += 12;
  }
  // The last block: jhash2's words, or jhash's bytes (little-endian, so the same sums).
  addLe(w, l, A, at, Math.min(left, 4));
  if (left > 4) addLe(w, l, B, at + 4, Math.min(left - 4, 4));
  if (left > 8) addLe(w, l, C, at + 8, left - 8);
  emitFinal(w, l);
}

/** x += the `n` (1–4) key bytes at `at`, little-endian. */
function addLe(w: CodeWriter, l: HashLocals, x: number, at: number, n: number): void {
  const key = l.key;
  w.get(x);
  if (n === 4) w.get(key).mem(OP.i32_load, at);
  else if (n === 2) w.get(key).mem(OP.i32_load16_u, at);
  else if (n === 1) w.get(key).mem(OP.i32_load8_u, at);
  else w.get(key).mem(OP.i32_load16_u, at).get(key).mem(OP.i32_load8_u, at + 2).i32(16).op(OP.i32_shl).op(OP.i32_or);
  w.op(OP.i32_add).set(x);
}

/** __jhash_mix: x -= y; x ^= rol32(y, k); y += z — six times. */
function emitMix(w: CodeWriter, l: HashLocals): void {
  const { a: A, b: B, c: C } = l;
  const step = (x: number, y: number, z: number, k: number): void => {
    w.get(x).get(y).op(OP.i32_sub).get(y).i32(k).op(OP.i32_rotl).op(OP.i32_xor).set(x);
    w.get(y).get(z).op(OP.i32_add).set(y);
  };
  step(A, C, B, 4);
  step(B, A, C, 6);
  step(C, B, A, 8);
  step(A, C, B, 16);
  step(B, A, C, 19);
  step(C, B, A, 4);
}

/** __jhash_final: x ^= y; x -= rol32(y, k) — seven times. */
function emitFinal(w: CodeWriter, l: HashLocals): void {
  const { a: A, b: B, c: C } = l;
  const step = (x: number, y: number, k: number): void => {
    w.get(x).get(y).op(OP.i32_xor).get(y).i32(k).op(OP.i32_rotl).op(OP.i32_sub).set(x);
  };
  step(C, B, 14);
  step(A, C, 11);
  step(B, A, 25);
  step(C, B, 16);
  step(A, C, 4);
  step(B, A, 14);
  step(C, B, 24);
}
