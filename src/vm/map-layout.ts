/**
 * Layout facts of the maps whose program lookups the JIT can compile inline (the kernel's
 * array_map_gen_lookup / percpu_array_map_gen_lookup) or into a wasm function of the program's
 * module (hash maps, jit/lower-hash.ts): maps/ publishes them per arena, by the
 * map's header address (what `lddw rX, map` loads); jit/ reads them when it compiles a call to
 * bpf_map_lookup_elem whose map argument is such a constant. vm/ knows no map types.
 */
import type { Arena } from './arena.js';

/** An array map's values: element i, CPU c at base + (i × slots + c) × stride. */
export interface ArrayLookupLayout {
  readonly kind?: 'array';
  readonly base: number;
  readonly stride: number;
  /** 1, or the CPU count of a per-CPU array (the lookup takes the running CPU's slot). */
  readonly slots: number;
  readonly maxEntries: number;
}

/**
 * A hash map's arena layout (maps/hash.ts), all a lookup reads: the bucket of hash h is the u32
 * at bucketBase + (h & bucketMask) × 4, holding 1 + the first element's index (0: empty);
 * element e's meta record is metaBytes at metaBase + e × metaBytes, its next link, hash and key
 * at the offsets given; its value (CPU c's slot) at valueBase + e × valueStride + c × cpuStride.
 * An LRU map's lookup also sets `ref.bit` in the u32 at `ref.offset` of the record.
 */
/** The kernel's JHASH_INITVAL (include/linux/jhash.h): maps/common.ts's jhash and the JIT's unrolled one. */
export const JHASH_INITVAL = 0xdeadbeef;

/** Word indices of a hash map's pool state (HashLookupLayout.update.stateBase), for maps/hash.ts and the JIT alike. */
export const HASH_STATE = { COUNT: 0, FREE: 1, SPARE: 2 } as const;

export interface HashLookupLayout {
  readonly kind: 'hash';
  readonly keySize: number;
  readonly bucketBase: number;
  readonly bucketMask: number;
  readonly metaBase: number;
  readonly metaBytes: number;
  readonly nextOffset: number;
  readonly hashOffset: number;
  readonly keyOffset: number;
  readonly valueBase: number;
  readonly valueStride: number;
  /** 0 unless per-CPU: the lookup takes the running CPU's slot. */
  readonly cpuStride: number;
  /** LRU maps only: the reference bit a program's lookup sets. */
  readonly ref?: { readonly offset: number; readonly bit: number };
  /**
   * Hash and per-CPU hash maps (updates and deletes a program may compile): the pool's state words
   * [elements in use, free list head (1 + index), spare element (1 + index)] at `stateBase`.
   */
  readonly update?: { readonly stateBase: number; readonly valueSize: number };
}

/**
 * An LPM trie node (maps/lpm-trie.ts), as u32 word offsets: the external bitmap (8 words), the
 * cumulative counts of its words (8 u16s), the children and results arrays (word indices), the
 * relative lengths present (bits 1..8 of INFO), the internal bitmap as 16 [bits, rank] pairs.
 */
export const LPM_NODE = { EXT: 0, EXTCUM: 8, CHILD: 12, RESULT: 13, INFO: 14, COUNTS: 15, INT: 16, WORDS: 48 } as const;

/**
 * An LPM trie's arena layout, all a lookup reads: the root node's byte address; at `control` + 4
 * 1 + the /0 prefix's entry (0: none); per chunk of 2^chunkShift entries the values' base
 * address (u32 at dirBase + chunk × 8); entry e's value at that base + (e & chunkMask) ×
 * valueStride. `path`: 8 bytes a level of scratch the compiled lookup keeps its path in.
 */
export interface LpmLookupLayout {
  readonly kind: 'lpm';
  readonly keySize: number;
  readonly maxPrefixLen: number;
  readonly root: number;
  readonly control: number;
  readonly path: number;
  readonly dirBase: number;
  readonly chunkShift: number;
  readonly chunkMask: number;
  readonly valueStride: number;
}

/** What the JIT may compile a lookup of a constant map into. */
export type MapLookupLayout = ArrayLookupLayout | HashLookupLayout | LpmLookupLayout;

/** Publish (or, with undefined, withdraw) the lookup layout of the map whose header is at `header` (kept by the arena). */
export function setMapLookupLayout(arena: Arena, header: number, layout: MapLookupLayout | undefined): void {
  if (layout) arena.mapLookupLayouts.set(header, layout);
  else arena.mapLookupLayouts.delete(header);
}

/** The lookup layout (array, hash or LPM) of the map whose header is at `addr`, if one is published. */
export function mapLookupLayoutAt(arena: Arena, addr: number): MapLookupLayout | undefined {
  return arena.mapLookupLayouts.get(addr);
}

/** The mark markInlineMapLookup sets on a helper function. */
const INLINE_MAP_LOOKUP = Symbol('xdplab.inlineMapLookup');

/**
 * Declare `fn` the standard bpf_map_lookup_elem (or update / delete: helpers/maps.ts): the JIT
 * compiles calls of published maps only where this is the helper the engine's table would call.
 */
export function markInlineMapLookup<F extends object>(fn: F): F {
  (fn as { [INLINE_MAP_LOOKUP]?: boolean })[INLINE_MAP_LOOKUP] = true;
  return fn;
}

export const isInlineMapLookup = (fn: unknown): boolean =>
  typeof fn === 'function' && (fn as { [INLINE_MAP_LOOKUP]?: boolean })[INLINE_MAP_LOOKUP] === true;
