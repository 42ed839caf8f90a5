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
import type { HashLookupLayout } from '../map-layout.js';
import { LOCAL, SCRATCH, reg } from './layout.js';
import { I32, OP, CodeWriter, type FunctionBody } from './wasm-writer.js';

/** The kernel's JHASH_INITVAL (include/linux/jhash.h). */
const JHASH_INITVAL = 0xdeadbeef;
/** Keys above this many bytes go through the helper: their unrolled hash would be large code. */
export const MAX_WASM_KEY = 512;

/** The lookup function's param and locals. */
const KEY = 0, A = 1, B = 2, C = 3, E = 4, M = 5;
const LOOKUP_LOCALS = [I32, I32, I32, I32, I32];

/** The hash-map lookup functions a module defines, given indices from `first` on. */
export class MapFunctions {
  private readonly layouts: HashLookupLayout[] = [];

  constructor(private readonly first: number) {}

  /** The function index of `layout`'s lookup (defined on first use). */
  lookupIndex(layout: HashLookupLayout): number {
    let i = this.layouts.indexOf(layout);
    if (i < 0) i = this.layouts.push(layout) - 1;
    return this.first + i;
  }

  bodies(): FunctionBody[] {
    return this.layouts.map((layout) => ({
      type: { params: [I32], results: [I32] },
      locals: LOOKUP_LOCALS,
      code: emitHashLookupFunction(layout),
    }));
  }
}

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
  emitKeyHash(w, layout.keySize);
  // e = buckets[hash & mask]
  w.get(C).i32(layout.bucketMask).op(OP.i32_and).i32(2).op(OP.i32_shl).mem(OP.i32_load, layout.bucketBase).set(E);
  w.block().loop();
  w.get(E).op(OP.i32_eqz).brIf(1);
  // m = the meta record of element e - 1
  w.get(E).i32(layout.metaBytes).op(OP.i32_mul).i32(layout.metaBase - layout.metaBytes).op(OP.i32_add).set(M);
  w.get(M).mem(OP.i32_load, layout.hashOffset).get(C).op(OP.i32_eq).if();
  w.block();
  emitKeyCompare(w, layout);
  if (layout.ref) w.get(M).get(M).mem(OP.i32_load, layout.ref.offset).i32(layout.ref.bit).op(OP.i32_or).mem(OP.i32_store, layout.ref.offset);
  emitValueAddress(w, layout);
  w.op(OP.return);
  w.end();
  w.end();
  w.get(M).mem(OP.i32_load, layout.nextOffset).set(E);
  w.br(0);
  w.end().end();
  w.i32(0);
  w.end();
  return w;
}

/** Branch out of the enclosing block (depth 0) unless the key at KEY equals the record's key. */
function emitKeyCompare(w: CodeWriter, layout: HashLookupLayout): void {
  const chunk = (at: number, load: number, ne: number): void => {
    w.get(M).mem(load, layout.keyOffset + at).get(KEY).mem(load, at).op(ne).brIf(0);
  };
  let at = 0;
  for (; at + 8 <= layout.keySize; at += 8) chunk(at, OP.i64_load, OP.i64_ne);
  if (at + 4 <= layout.keySize) { chunk(at, OP.i32_load, OP.i32_ne); at += 4; }
  if (at + 2 <= layout.keySize) { chunk(at, OP.i32_load16_u, OP.i32_ne); at += 2; }
  if (at < layout.keySize) chunk(at, OP.i32_load8_u, OP.i32_ne);
}

/** valueBase + (e - 1) × valueStride (+ cpu × cpuStride). */
function emitValueAddress(w: CodeWriter, layout: HashLookupLayout): void {
  w.get(E).i32(layout.valueStride).op(OP.i32_mul).i32(layout.valueBase - layout.valueStride).op(OP.i32_add);
  if (layout.cpuStride !== 0) w.i32(0).mem(OP.i32_load, SCRATCH.CPU).i32(layout.cpuStride).op(OP.i32_mul).op(OP.i32_add);
}

// ---- htab_map_hash: jhash2 / jhash, seed 0, unrolled for the key size ---------------------

/** Leave the key's hash in C. */
function emitKeyHash(w: CodeWriter, keySize: number): void {
  w.i32((JHASH_INITVAL + keySize) | 0).tee(A).tee(B).set(C);
  let at = 0;
  let left = keySize;
  while (left > 12) {
    addLe(w, A, at, 4);
    addLe(w, B, at + 4, 4);
    addLe(w, C, at + 8, 4);
    emitMix(w);
    left -= 12;
    at += 12;
  }
  // The last block: jhash2's words, or jhash's bytes (little-endian, so the same sums).
  addLe(w, A, at, Math.min(left, 4));
  if (left > 4) addLe(w, B, at + 4, Math.min(left - 4, 4));
  if (left > 8) addLe(w, C, at + 8, left - 8);
  emitFinal(w);
}

/** x += the `n` (1–4) key bytes at `at`, little-endian. */
function addLe(w: CodeWriter, x: number, at: number, n: number): void {
  w.get(x);
  if (n === 4) w.get(KEY).mem(OP.i32_load, at);
  else if (n === 2) w.get(KEY).mem(OP.i32_load16_u, at);
  else if (n === 1) w.get(KEY).mem(OP.i32_load8_u, at);
  else w.get(KEY).mem(OP.i32_load16_u, at).get(KEY).mem(OP.i32_load8_u, at + 2).i32(16).op(OP.i32_shl).op(OP.i32_or);
  w.op(OP.i32_add).set(x);
}

/** __jhash_mix: x -= y; x ^= rol32(y, k); y += z — six times. */
function emitMix(w: CodeWriter): void {
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
function emitFinal(w: CodeWriter): void {
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
