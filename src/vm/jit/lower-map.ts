/**
 * Inline bpf_map_lookup_elem on array and per-CPU array maps, as the kernel's verifier does
 * (kernel/bpf/arraymap.c: array_map_gen_lookup, percpu_array_map_gen_lookup): when r1 is a map
 * address an lddw of the same block loaded, the call becomes wasm that reads the u32 key,
 * bounds-checks it against max_entries and computes the value address — the address
 * ArrayMap.lookupElem returns, for the CPU in SCRATCH.CPU. Everything else about the call is
 * what the helper path leaves: r0 set, r1–r5 unchanged, the same instruction count.
 *
 * The helper reads the key with plain byte reads (no access check); so does this code. A key
 * that is not wholly inside the memory (the helper reads zeros past its end) takes the helper
 * path, as does any call whose map is not a published array (map-layout.ts).
 */
import type { ArrayLookupLayout, MapLookupLayout } from '../map-layout.js';
import { XOP, XOP_INFO } from '../../isa/xop.js';
import type { ProgramImage } from '../image.js';
import type { BasicBlock } from './cfg.js';
import { LOCAL, SCRATCH, reg } from './layout.js';
import { OP, type CodeWriter } from './wasm-writer.js';

/**
 * Resolves a map header address to the layout of an array map the JIT may inline, or of a hash
 * map (map-functions.ts); `updates` when hash updates and deletes may be compiled too.
 */
export type MapLayoutResolver = ((addr: number) => MapLookupLayout | undefined) & { readonly updates?: boolean };

/** st, stx and atomics read their dst register (an address) and never write it. */
const readsDstOnly = (xop: number): boolean => {
  const kind = XOP_INFO[xop]?.kind;
  return kind === 'st' || kind === 'stx' || kind === 'atomic';
};

/**
 * The value register `r` holds at the call at `pc`, when an lddw of the block set it and nothing
 * after it can have changed it; undefined otherwise. Conservative: any other instruction naming
 * r as its destination — or as the source of an atomic, which may write it — ends the search.
 */
export function constantRegister(image: ProgramImage, block: BasicBlock, pc: number, r: number): number | undefined {
  for (let p = pc - 1; p >= block.start; p--) {
    if (image.insnAt[p] === undefined) continue;
    const xop = image.xop[p];
    const dst = image.dst2[p] >> 1, src = image.src2[p] >> 1;
    if (dst === r) {
      if (xop === XOP.LDDW) return image.imm[p + 1] === 0 ? image.imm[p] >>> 0 : undefined;
      if (readsDstOnly(xop)) continue; // r is the address, read only
      return undefined;
    }
    if (src === r && XOP_INFO[xop]?.kind === 'atomic') return undefined; // a fetching atomic writes its src
  }
  return undefined;
}

/** The map address r1 holds at the call at `pc` (constantRegister for r1). */
export const constantR1 = (image: ProgramImage, block: BasicBlock, pc: number): number | undefined => constantRegister(image, block, pc, 1);

/**
 * Emit the inline lookup: `fallback` is emitted for a key the helper must read; r0 is the value
 * address or 0 (array_map_lookup_elem).
 */
export function emitArrayLookup(w: CodeWriter, layout: ArrayLookupLayout, fallback: () => void): void {
  // The key's address (r2's low 32 bits), wholly inside the memory?
  w.get(reg(2)).op(OP.i32_wrap_i64).tee(LOCAL.T32).op(OP.i64_extend_i32_u).i64(4).op(OP.i64_add);
  w.byte(0x3f).byte(0x00).op(OP.i64_extend_i32_u).i64(16).op(OP.i64_shl).op(OP.i64_le_u).if();
  w.get(LOCAL.T32).mem(OP.i32_load).tee(LOCAL.T32).i32(layout.maxEntries).op(OP.i32_ge_u).if();
  w.i64(0).set(reg(0));
  w.else();
  // base + (index × slots + cpu) × stride
  w.get(LOCAL.T32);
  if (layout.slots !== 1) w.i32(layout.slots).op(OP.i32_mul).i32(0).mem(OP.i32_load, SCRATCH.CPU).op(OP.i32_add);
  w.i32(layout.stride).op(OP.i32_mul).i32(layout.base).op(OP.i32_add).op(OP.i64_extend_i32_u).set(reg(0));
  w.end();
  w.else();
  fallback();
  w.end();
}
