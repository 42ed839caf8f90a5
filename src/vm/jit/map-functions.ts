/**
 * The map functions a compiled module defines after `run` and `repeat`: one per (hash map,
 * operation) the program calls with a constant map (lower-hash.ts: lookup; lower-hash-update.ts:
 * update and delete), each with the map's layout baked in.
 */
import { BPF_FUNC_map_delete_elem, BPF_FUNC_map_lookup_elem, BPF_FUNC_map_update_elem } from '../../uapi/helper-ids.js';
import type { HashLookupLayout, LpmLookupLayout } from '../map-layout.js';
import { LOOKUP_LOCALS, canCompileHashLookup, emitHashLookupCall, emitHashLookupFunction } from './lower-hash.js';
import {
  DELETE_LOCALS, UPDATE_LOCALS, emitHashDeleteCall, emitHashDeleteFunction, emitHashUpdateCall, emitHashUpdateFunction,
} from './lower-hash-update.js';
import { LPM_LOOKUP_LOCALS, emitLpmLookupFunction } from './lower-lpm.js';
import { I32, type CodeWriter, type FunctionBody } from './wasm-writer.js';

export type MapOperation = 'lookup' | 'update' | 'delete' | 'lpm-lookup';
type Layout = HashLookupLayout | LpmLookupLayout;

const i32s = (n: number): number[] => new Array<number>(n).fill(I32);
const BODY: Record<MapOperation, (layout: Layout) => FunctionBody> = {
  'lpm-lookup': (layout) => ({ type: { params: [I32], results: [I32] }, locals: i32s(LPM_LOOKUP_LOCALS), code: emitLpmLookupFunction(layout as LpmLookupLayout) }),
  lookup: (layout) => ({ type: { params: [I32], results: [I32] }, locals: i32s(LOOKUP_LOCALS), code: emitHashLookupFunction(layout as HashLookupLayout) }),
  update: (layout) => ({ type: { params: [I32, I32, I32], results: [I32] }, locals: i32s(UPDATE_LOCALS), code: emitHashUpdateFunction(layout as HashLookupLayout) }),
  delete: (layout) => ({ type: { params: [I32], results: [I32] }, locals: i32s(DELETE_LOCALS), code: emitHashDeleteFunction(layout as HashLookupLayout) }),
};

export class MapFunctions {
  private readonly defined: { layout: Layout; op: MapOperation }[] = [];

  /** `first`: the index of the first function defined here. */
  constructor(private readonly first: number) {}

  /** The function index of `op` on the map of `layout` (defined on first use). */
  indexOf(layout: Layout, op: MapOperation): number {
    let i = this.defined.findIndex((d) => d.layout === layout && d.op === op);
    if (i < 0) i = this.defined.push({ layout, op }) - 1;
    return this.first + i;
  }

  bodies(): FunctionBody[] {
    return this.defined.map(({ layout, op }) => BODY[op](layout));
  }
}

/** The map helpers a call may compile to a map function. */
export const isMapHelper = (id: number): boolean =>
  id === BPF_FUNC_map_lookup_elem || id === BPF_FUNC_map_update_elem || id === BPF_FUNC_map_delete_elem;

/**
 * Emit helper `id`'s call on the hash map of `layout` as a call of a map function (with
 * `fallback`, the helper call, for arguments the function cannot take); false, having emitted
 * nothing, when the call stays the helper's. `updates`: the engine's update and delete helpers
 * are the standard ones.
 */
export function emitHashMapCall(w: CodeWriter, fns: MapFunctions, id: number, layout: Layout, updates: boolean, fallback: () => void): boolean {
  if (layout.kind === 'lpm') {
    if (id !== BPF_FUNC_map_lookup_elem) return false;
    emitHashLookupCall(w, fns.indexOf(layout, 'lpm-lookup'), layout.keySize, fallback);
    return true;
  }
  if (!canCompileHashLookup(layout)) return false;
  if (id === BPF_FUNC_map_lookup_elem) {
    emitHashLookupCall(w, fns.indexOf(layout, 'lookup'), layout.keySize, fallback);
    return true;
  }
  if (!updates || layout.update === undefined) return false;
  if (id === BPF_FUNC_map_update_elem) emitHashUpdateCall(w, fns.indexOf(layout, 'update'), layout, fallback);
  else if (id === BPF_FUNC_map_delete_elem) emitHashDeleteCall(w, fns.indexOf(layout, 'delete'), layout, fallback);
  else return false;
  return true;
}
