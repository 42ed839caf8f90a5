/**
 * bpf_tail_call without leaving wasm. Every program a runtime loads is bound by its id to its
 * image (Engine.bindProgram); once the engine has instantiated that image, the engine's funcref
 * table holds its `run` at the id. A tail call through a prog array the compiled code knows
 * (r2 an lddw of the block, as clang emits it: prog-array-layout.ts) reads the slot's id from
 * the map's own slots in the arena and enters the target with a call_indirect, returning its
 * status: a nested call, at most MAX_TAIL_CALL_CNT deep (V8's return_call is not stable in
 * Node 20). What the helper and the engine's driver loop did stays exactly as it was:
 * - an index ≥ max_entries, 33 tail calls taken, or an empty slot falls through, r0 unchanged;
 *   only a tail call that happens is counted (as the kernel measured here counts them:
 *   test/fixtures/bpf/rt-tailcall-count.bpf.c);
 * - the target starts at pc 0 in the caller's frame (r10 the same: the kernel reuses the frame),
 *   with the registers, instruction count and budget where the caller left them;
 * - a tail call from a function (depth above the run's base), a target the engine has not
 *   instantiated (or could not compile), or any map the code does not know, goes through the
 *   helper and the driver loop as before — the driver keeps the interpreter's frame rules.
 * The engine learns which program runs (for faults, helpers and the verdict's source) from
 * SCRATCH.TAIL_ID, which the entering code sets.
 */
import { MAX_TAIL_CALL_CNT } from '../../uapi/bpf.js';
import { BPF_FUNC_tail_call } from '../../uapi/helper-ids.js';
import type { Arena } from '../arena.js';
import type { HelperTable } from '../helper-table.js';
import type { ProgramImage } from '../image.js';
import { isInlineTailCall, progArrayLayoutAt, type ProgArrayLayout } from '../prog-array-layout.js';
import { LOCAL, SCRATCH, reg } from './layout.js';
import type { BlockContext } from './lower-control.js';
import { constantRegister } from './lower-map.js';
import { spillCount, spillRegisters } from './spill.js';
import { I32, OP, type CodeWriter } from './wasm-writer.js';
import { XOP } from '../../isa/xop.js';

/** The table every compiled module imports (table 0): a program's `run` at its id. */
export const PROGRAM_TABLE_IMPORT = { module: 'env', name: 'programs' } as const;
const TABLE_SIZE = 0x10; // table.size, after the 0xfc prefix

/** What compiling tail calls needs: the prog arrays of the engine's arena, the type index of `run`. */
export interface TailCallLowering {
  layoutAt: (addr: number) => ProgArrayLayout | undefined;
  runType: number;
  /** Filled while compiling: the pcs of the tail calls compiled into wasm, and their prog arrays. */
  pcs: number[];
  arrays: ProgArrayLayout[];
}

/** Prog arrays over `arena` when `helpers` has the standard bpf_tail_call; else none (the helper path). */
export function progArraysOf(arena: Arena, helpers: HelperTable): ((addr: number) => ProgArrayLayout | undefined) | undefined {
  return isInlineTailCall(helpers.lookup(BPF_FUNC_tail_call)) ? (addr) => progArrayLayoutAt(arena, addr) : undefined;
}

/** SCRATCH.TAIL_CALLS = the count read into LOCAL.REGION, plus one. */
function countTailCall(w: CodeWriter): void {
  w.i32(SCRATCH.TAIL_CALLS).get(LOCAL.REGION).i32(1).op(OP.i32_add).mem(OP.i32_store);
}

/** Enter the program whose id is in LOCAL.T32 (its table entry checked), returning its status. */
function enterTarget(c: BlockContext, runType: number): void {
  const w = c.w;
  countTailCall(w);
  w.i32(SCRATCH.TAIL_ID).get(LOCAL.T32).mem(OP.i32_store);
  spillRegisters(w, c.used);
  spillCount(w, 0);
  w.i32(SCRATCH.R0_PC).i32(-1).mem(OP.i32_store); // r0's writer is one of the target's instructions
  w.i32(0).get(LOCAL.DEPTH).get(LOCAL.DEPTH).get(LOCAL.T32).op(OP.call_indirect).u32(runType).u32(0).op(OP.return);
}

/**
 * Lower bpf_tail_call at `pc` when r2 is a prog array the code knows; false (nothing emitted)
 * otherwise. `helperCall` emits the helper path, for every case the compiled code leaves to it.
 */
export function lowerTailCall(c: BlockContext, pc: number, lowering: TailCallLowering, helperCall: () => void): boolean {
  const map = constantRegister(c.image, c.cfg.blocks[c.index], pc, 2);
  const layout = map === undefined ? undefined : lowering.layoutAt(map);
  if (layout === undefined) return false;
  lowering.pcs.push(pc);
  if (!lowering.arrays.includes(layout)) lowering.arrays.push(layout);
  const w = c.w;
  w.get(LOCAL.DEPTH).get(LOCAL.BASE).op(OP.i32_ne).if();
  helperCall(); // from a function: the driver keeps its frame rules
  w.else();
  // index < max_entries and fewer than 33 counted, else fall through
  w.get(reg(3)).op(OP.i32_wrap_i64).tee(LOCAL.T32).i32(layout.maxEntries | 0).op(OP.i32_lt_u);
  w.i32(0).mem(OP.i32_load, SCRATCH.TAIL_CALLS).tee(LOCAL.REGION).i32(MAX_TAIL_CALL_CNT).op(OP.i32_lt_u).op(OP.i32_and).if();
  w.get(LOCAL.T32).i32(2).op(OP.i32_shl).mem(OP.i32_load, layout.slots).tee(LOCAL.T32).if(); // an empty slot falls through
  // The id has a run function in the table: enter it; else the helper (it instantiates the target).
  w.get(LOCAL.T32).op(OP.prefix_fc).u32(TABLE_SIZE).u32(0).op(OP.i32_lt_u).if(I32);
  w.get(LOCAL.T32).op(OP.table_get).u32(0).op(OP.ref_is_null).op(OP.i32_eqz);
  w.else().i32(0).end();
  w.if();
  enterTarget(c, lowering.runType);
  w.else();
  helperCall();
  w.end();
  w.end(); // a full slot
  w.end(); // index and count
  w.end(); // depth
  return true;
}

type RunFunction = (startPc: number, depth: number, baseDepth: number) => number;

/**
 * An engine's funcref table of programs by id, and the images the ids name. An id's entry is
 * the run function of its image once the engine has instantiated that image, null before (the
 * compiled tail call then takes the helper path, and the driver instantiates the target).
 */
export class ProgramTable {
  readonly table = new WebAssembly.Table({ element: 'anyfunc', initial: 1 });
  private readonly images: (ProgramImage | undefined)[] = [];

  /** Id `id` names `image` now (undefined: nothing); `run`: its run function, if the engine has one. */
  bind(id: number, image: ProgramImage | undefined, run: RunFunction | undefined): void {
    this.images[id] = image;
    if (id >= this.table.length) this.table.grow(id + 1 - this.table.length);
    this.table.set(id, image === undefined ? null : run ?? null);
  }

  /** The engine (re)instantiated `image`: every id bound to it enters `run` from now on. */
  offer(image: ProgramImage, run: RunFunction): void {
    for (let id = 0; id < this.images.length; id++) if (this.images[id] === image) this.table.set(id, run);
  }

  imageOf(id: number): ProgramImage | undefined {
    return this.images[id];
  }

  /** Whether a compiled tail call to `id` enters a run function (rather than taking the helper path). */
  entered(id: number): boolean {
    return id < this.table.length && this.table.get(id) !== null;
  }
}

/**
 * The pcs of the main function (before the first function a call or a function address names):
 * a tail call there runs at the run's base depth, so it never takes the helper path for its frame.
 */
export function mainFunctionEnd(image: ProgramImage): number {
  let end = image.slots;
  for (let pc = 0; pc < image.slots; pc++) {
    const xop = image.xop[pc];
    if (image.insnAt[pc] !== undefined && (xop === XOP.CALL_LOCAL || xop === XOP.LDDW_FUNC)) end = Math.min(end, pc + 1 + image.imm[pc]);
  }
  return end;
}

/** What a repeat loop needs of an image's compiled code (compiler.ts, CompiledImage). */
interface RepeatEntry {
  repeatable: boolean;
  tailArrays: readonly ProgArrayLayout[];
}

/**
 * Whether n runs of `entry` can loop inside wasm: every program its tail calls can reach now
 * (through the slots as they are: nothing changes them while the loop runs, which calls no
 * helper but lookups) is instantiated in `table` and repeatable itself, so no run leaves wasm
 * for the helper and the driver.
 */
export function tailTargetsRepeatable(
  entry: RepeatEntry, programs: ProgramTable, slotWords: Uint32Array, compiledOf: (image: ProgramImage) => RepeatEntry | null,
): boolean {
  const seen = new Set<ProgramImage>();
  const todo = [entry];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    for (const layout of next.tailArrays) {
      for (let i = 0; i < layout.maxEntries; i++) {
        const id = slotWords[(layout.slots >>> 2) + i];
        if (id === 0) continue;
        const target = programs.imageOf(id);
        if (target === undefined || !programs.entered(id)) return false;
        if (seen.has(target)) continue;
        seen.add(target);
        const compiled = compiledOf(target);
        if (compiled === null || !compiled.repeatable) return false;
        todo.push(compiled);
      }
    }
  }
  return true;
}
