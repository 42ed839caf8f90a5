/**
 * Layout facts of the prog arrays whose tail calls the JIT compiles into wasm (jit/tail-call.ts):
 * maps/ publishes, in the arena's table (Arena.progArrayLayouts) by the map's header address (what `lddw r2, map` loads), where
 * the slots live in the arena (one u32 program id a slot, 0 = empty) and how many there are. The
 * slots themselves are the map's storage, which every update and delete writes (the program's,
 * the user API's, a collection load's), so compiled code that reads them is never out of step.
 * vm/ knows no map types.
 */
import type { Arena } from './arena.js';

export interface ProgArrayLayout {
  /** Arena address of slot 0: slot i's program id at slots + 4 × i. */
  readonly slots: number;
  readonly maxEntries: number;
}

/** Publish (or, with undefined, withdraw) the layout of the prog array whose header is at `header`. */
export function setProgArrayLayout(arena: Arena, header: number, layout: ProgArrayLayout | undefined): void {
  if (layout) arena.progArrayLayouts.set(header, layout);
  else arena.progArrayLayouts.delete(header);
}

/** The layout of the prog array whose header is at `addr`, if one is published. */
export function progArrayLayoutAt(arena: Arena, addr: number): ProgArrayLayout | undefined {
  return arena.progArrayLayouts.get(addr);
}

/** The mark markInlineTailCall sets on a helper function. */
const INLINE_TAIL_CALL = Symbol('xdplab.inlineTailCall');

/**
 * Declare `fn` the standard bpf_tail_call (helpers/misc.ts): a slot holds a program id that the
 * runtime binds to its image (Engine.bindProgram). The JIT compiles tail calls into wasm only
 * where this is the helper the engine's table would call.
 */
export function markInlineTailCall<F extends object>(fn: F): F {
  (fn as { [INLINE_TAIL_CALL]?: boolean })[INLINE_TAIL_CALL] = true;
  return fn;
}

export const isInlineTailCall = (fn: unknown): boolean =>
  typeof fn === 'function' && (fn as { [INLINE_TAIL_CALL]?: boolean })[INLINE_TAIL_CALL] === true;
