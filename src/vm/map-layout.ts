/**
 * Layout facts of the maps whose program lookups the JIT can compile inline (the kernel's
 * array_map_gen_lookup / percpu_array_map_gen_lookup): maps/ publishes them per arena, by the
 * map's header address (what `lddw rX, map` loads); jit/ reads them when it compiles a call to
 * bpf_map_lookup_elem whose map argument is such a constant. vm/ knows no map types.
 */
import type { Arena } from './arena.js';

/** An array map's values: element i, CPU c at base + (i × slots + c) × stride. */
export interface ArrayLookupLayout {
  readonly base: number;
  readonly stride: number;
  /** 1, or the CPU count of a per-CPU array (the lookup takes the running CPU's slot). */
  readonly slots: number;
  readonly maxEntries: number;
}

/** Publish (or, with undefined, withdraw) the layout of the map whose header is at `header` (kept by the arena). */
export function setArrayLookupLayout(arena: Arena, header: number, layout: ArrayLookupLayout | undefined): void {
  if (layout) arena.arrayLookupLayouts.set(header, layout);
  else arena.arrayLookupLayouts.delete(header);
}

/** The layout of the array map whose header is at `addr`, if one is published. */
export function arrayLookupLayoutAt(arena: Arena, addr: number): ArrayLookupLayout | undefined {
  return arena.arrayLookupLayouts.get(addr);
}

/** The mark markInlineMapLookup sets on a helper function. */
const INLINE_MAP_LOOKUP = Symbol('xdplab.inlineMapLookup');

/**
 * Declare `fn` the standard bpf_map_lookup_elem (helpers/maps.ts): the JIT inlines lookups of
 * published arrays only where this is the helper the engine's table would call.
 */
export function markInlineMapLookup<F extends object>(fn: F): F {
  (fn as { [INLINE_MAP_LOOKUP]?: boolean })[INLINE_MAP_LOOKUP] = true;
  return fn;
}

export const isInlineMapLookup = (fn: unknown): boolean =>
  typeof fn === 'function' && (fn as { [INLINE_MAP_LOOKUP]?: boolean })[INLINE_MAP_LOOKUP] === true;
