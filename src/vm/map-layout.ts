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

const layouts = new WeakMap<Arena, Map<number, ArrayLookupLayout>>();

/** Publish (or, with undefined, withdraw) the layout of the map whose header is at `header`. */
export function setArrayLookupLayout(arena: Arena, header: number, layout: ArrayLookupLayout | undefined): void {
  let byHeader = layouts.get(arena);
  if (!byHeader) layouts.set(arena, (byHeader = new Map()));
  if (layout) byHeader.set(header, layout);
  else byHeader.delete(header);
}

/** The layout of the array map whose header is at `addr`, if one is published. */
export function arrayLookupLayoutAt(arena: Arena, addr: number): ArrayLookupLayout | undefined {
  return layouts.get(arena)?.get(addr);
}

const inlineLookups = new WeakSet<object>();

/**
 * Declare `fn` the standard bpf_map_lookup_elem (helpers/maps.ts): the JIT inlines lookups of
 * published arrays only where this is the helper the engine's table would call.
 */
export function markInlineMapLookup<F extends object>(fn: F): F {
  inlineLookups.add(fn);
  return fn;
}

export const isInlineMapLookup = (fn: unknown): boolean => typeof fn === 'function' && inlineLookups.has(fn);
