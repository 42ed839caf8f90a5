/**
 * The JIT compiler: a ProgramImage (with all its subprograms) → one WebAssembly module whose
 * exported `run(startPc, depth, baseDepth) → status` executes it over the arena's memory (and
 * `repeat(n)`, n runs of a self-contained program).
 *
 * eBPF registers are i64 locals. Local calls stay inside `run` with an explicit frame stack
 * (lower-control.ts), so a call costs no host stack, a callback can start at any function,
 * and a tail-called program can return through frames its caller pushed. Control flow: one
 * loop around nested blocks, a block per basic block: forward edges are plain branches,
 * structured loops (structure.ts) wasm loops, and any other backward edge goes through a
 * br_table over pcs, correct for any graph.
 *
 * The module imports the memory, five functions (layout.ts, IMPORT): helper calls, faults,
 * legacy packet loads and callx, and the engine's table of programs (tail-call.ts). Everything a
 * run needs from the engine (budget, stack top, registers) is read from the scratch area at
 * entry, so a module depends on no engine: it is compiled once per image and instantiated per
 * engine.
 */
import { buildControlFlow, endsBlock, isLegacyLoad, type ControlFlow } from './cfg.js';
import { IMPORT_COUNT, LOCAL, LOCAL_TYPES, SCRATCH, STATUS, reg } from './layout.js';
import { XOP, XOP_INFO } from '../../isa/xop.js';
import type { ProgramImage } from '../image.js';
import { ORIGIN_COPY, ORIGIN_HERE } from '../r0-origin.js';
import { lowerAlu } from './lower-alu.js';
import {
  emitReturn, loadRegisters, lowerControl, setFramePointer, type BlockContext,
} from './lower-control.js';
import type { MapLayoutResolver } from './lower-map.js';
import { MapFunctions, isMapHelper } from './map-functions.js';
import { emitGroupGuard, lowerLegacyLoad, lowerMemory } from './lower-memory.js';
import { planCheckGroups } from './check-groups.js';
import { LabelStack, planLayout, type LayoutItem } from './structure.js';
import { CodeWriter, I32, I64, OP, typeIndexOf, writeModule, type FunctionImport } from './wasm-writer.js';
import { PROGRAM_TABLE_IMPORT, mainFunctionEnd, type TailCallLowering } from './tail-call.js';
import type { ProgArrayLayout } from '../prog-array-layout.js';
import { XdplabError } from '../../errors.js';

/** An image the JIT cannot compile: it runs in the interpreter instead. */
export class JitUnsupported extends XdplabError {
  constructor(message: string) {
    super('UNSUPPORTED', message);
  }
}

/** The imported functions, in IMPORT's order (layout.ts). */
const IMPORTS: FunctionImport[] = [
  { module: 'env', name: 'helper', type: { params: [I32, I32], results: [I32] } },
  { module: 'env', name: 'fault', type: { params: [I32, I32, I32], results: [] } },
  { module: 'env', name: 'memFault', type: { params: [I32, I32, I32, I32, I32], results: [] } },
  { module: 'env', name: 'ldPacket', type: { params: [I32, I32, I32, I32], results: [I32] } },
  { module: 'env', name: 'callx', type: { params: [I32, I32, I32], results: [I32] } },
];
const RUN_TYPE = { params: [I32, I32, I32], results: [I32] };
const REPEAT_TYPE = { params: [I32], results: [I32] };
/** The type index of `run`, which compiled tail calls enter through the program table (tail-call.ts). */
const RUN_TYPE_INDEX = typeIndexOf(IMPORTS, [RUN_TYPE, REPEAT_TYPE], RUN_TYPE);

export interface CompiledImage {
  module: WebAssembly.Module;
  /** Milliseconds spent emitting and compiling. */
  compileMs: number;
  /** Bytes of wasm. */
  bytes: number;
  blocks: number;
  /** 1 for each pc the dispatcher can start at (callbacks, resumes); 0 elsewhere. */
  dispatchable: Uint8Array;
  /** No helper, callx, kfunc or legacy packet load: a run depends on nothing but memory and registers. */
  selfContained: boolean;
  /**
   * Self-contained but for map lookups, updates and deletes (compiled or not) and tail calls
   * compiled into wasm from the main function: `repeat` gives what n runs would (when the tail
   * calls' targets are repeatable too: tail-call.ts, tailTargetsRepeatable).
   */
  repeatable: boolean;
  /** The prog arrays of the tail calls compiled into wasm. */
  tailArrays: readonly ProgArrayLayout[];
  extraLeaders: readonly number[];
}

/** Registers the program names anywhere, plus r0 (helpers' result) and r10. */
function usedRegisters(image: ProgramImage): number[] {
  const used = new Set<number>([0, 10]);
  for (let pc = 0; pc < image.slots; pc++) {
    if (image.insnAt[pc] === undefined) continue;
    used.add(image.dst2[pc] >> 1);
    used.add(image.src2[pc] >> 1);
  }
  return [...used].filter((r) => r >= 0 && r <= 10).sort((a, b) => a - b);
}

/** Emit the body of `run`. */
export function emitRun(
  image: ProgramImage, cfg: ControlFlow, extraLeaders: readonly number[] = [], mapLayout?: MapLayoutResolver, mapFunctions?: MapFunctions,
  tailCalls?: TailCallLowering,
): { code: CodeWriter; dispatchable: Uint8Array } {
  const w = new CodeWriter();
  const dispatchable = new Uint8Array(image.slots);
  const used = usedRegisters(image);
  // Entry: the run's state from the scratch area, registers from the register file.
  w.i32(0).mem(OP.i32_load, SCRATCH.N).set(LOCAL.N);
  w.i32(0).mem(OP.i32_load, SCRATCH.BUDGET).set(LOCAL.BUDGET);
  w.i32(0).mem(OP.i32_load, SCRATCH.STACK_TOP).set(LOCAL.STACK_TOP);
  w.i32(0).mem(OP.i32_load, SCRATCH.R0_PC).set(LOCAL.ORIGIN0);
  for (let r = 1; r <= 10; r++) w.i32(-1).set(LOCAL.ORIGIN0 + r);
  loadRegisters({ w, used });
  setFramePointer(w);
  w.get(LOCAL.START_PC).set(LOCAL.NEXT);

  const items = planLayout(image, cfg, extraLeaders);
  const labels = new LabelStack();
  const emit = (index: number): void => emitBlock({ w, image, cfg, index, labels, used, mapLayout, mapFunctions, tailCalls });
  w.loop();
  labels.push('dispatch');
  for (let i = items.length - 1; i >= 0; i--) {
    w.block();
    labels.push('E', items[i].first);
  }
  w.block();
  labels.push('other');
  // Dispatch: pc → the label of its block (only blocks that start an item; 0 is "not a block start").
  w.get(LOCAL.NEXT).op(OP.br_table).u32(image.slots);
  for (let pc = 0; pc < image.slots; pc++) {
    const depth = cfg.blockAt[pc] >= 0 ? labels.depth('E', cfg.blockAt[pc]) : -1;
    if (depth >= 0) dispatchable[pc] = 1;
    w.u32(depth >= 0 ? depth : 0);
  }
  w.u32(0);
  w.end();
  labels.pop();
  w.i32(0).get(LOCAL.NEXT).mem(OP.i32_store, SCRATCH.RESUME_PC);
  emitReturn({ w, used }, STATUS.NOT_A_BLOCK);
  const emitItem = (item: LayoutItem): void => {
    if (!item.loop) {
      emit(item.first);
      return;
    }
    // A structured loop: its header's code, then its inner items, each after its block's end.
    const inner = item.inner ?? [];
    w.loop();
    labels.push('L', item.first);
    for (let i = inner.length - 1; i >= 0; i--) {
      w.block();
      labels.push('E', inner[i].first);
    }
    emit(item.first);
    for (const child of inner) {
      w.end();
      labels.pop();
      emitItem(child);
    }
    w.end();
    labels.pop();
  };
  for (const item of items) {
    w.end();
    labels.pop();
    emitItem(item);
  }
  w.end(); // loop
  emitReturn({ w, used }, STATUS.FELL_OFF);
  w.i32(STATUS.FELL_OFF); // unreachable after the return; satisfies the validator
  w.end();
  return { code: w, dispatchable };
}

/**
 * Where the value an instruction writes comes from, when it may reach r0 at an exit
 * (r0-origin.ts): a local set — a constant, or another register's origin for a copy.
 */
function emitOrigin(w: CodeWriter, image: ProgramImage, pc: number): void {
  const { kind, reg: r, from } = image.origins;
  if (kind[pc] === ORIGIN_HERE) w.i32(pc).set(LOCAL.ORIGIN0 + r[pc]);
  else if (kind[pc] === ORIGIN_COPY) w.get(LOCAL.ORIGIN0 + from[pc]).set(LOCAL.ORIGIN0 + r[pc]);
}

function emitBlock(c: BlockContext): void {
  const { w, image, cfg } = c;
  const block = cfg.blocks[c.index];
  w.get(LOCAL.N).i32(block.count).op(OP.i32_add).set(LOCAL.N);
  const groups = planCheckGroups(image, block);
  for (let pc = block.start; pc < block.end; pc++) {
    if (image.insnAt[pc] === undefined) continue;
    const guard = groups.guardAt.get(pc);
    if (guard) emitGroupGuard(w, guard.base, guard.lo, guard.span, guard.need);
    emitOrigin(w, image, pc);
    const xop = image.xop[pc];
    const dst = image.dst2[pc] >> 1, src = image.src2[pc] >> 1;
    if (lowerAlu(w, { xop, dst, src, imm: image.imm[pc], immHi: image.imm[pc + 1] ?? 0, pc })) continue;
    if (xop === XOP.LDDW_FUNC) { // its instruction index
      w.i64(pc + 1 + image.imm[pc]).set(reg(dst));
      continue;
    }
    const operands = {
      xop, dst, src, off: image.off[pc], imm: image.imm[pc], pc, after: cfg.after[pc], grouped: groups.grouped.has(pc), used: c.used,
      proven: image.proven?.[pc] === 1,
    };
    if (lowerMemory(w, operands)) continue;
    if (isLegacyLoad(xop)) {
      lowerLegacyLoad(w, operands, () => emitReturn(c, STATUS.EXIT, pc));
      continue;
    }
    if (endsBlock(xop) && lowerControl(c, pc)) continue;
    throw new JitUnsupported(`pc ${pc}: ${image.insnAt[pc]!.toString()} (xop 0x${xop.toString(16)})`);
  }
}

/**
 * Whether runs of the image call out of the module only to fault — or, with `lookups`, also
 * to bpf_map_lookup_elem, update_elem or delete_elem, which read and change memory and maps alone (no per-run state of
 * the hook, no tail call).
 */
function isSelfContained(image: ProgramImage, lookups = false, tailCalls: readonly number[] = []): boolean {
  for (let pc = 0; pc < image.slots; pc++) {
    if (image.insnAt[pc] === undefined) continue;
    const xop = image.xop[pc];
    const kind = XOP_INFO[image.xop[pc]]!.kind;
    if (kind === 'call' && lookups && (isMapHelper(image.imm[pc]) || tailCalls.includes(pc))) continue;
    if (kind === 'call' || kind === 'callx' || kind === 'kfunc' || isLegacyLoad(xop)) return false;
  }
  return true;
}

/**
 * `repeat(n) → status`: run the program n times from the register file as it is at the call
 * (each run starts from the same registers, with a fresh count), inside wasm — BPF_PROG_TEST_RUN's
 * repeat without a JS-to-wasm call a run. Stops at the first run that does not exit normally.
 * Used only for repeatable images (no helper but map lookups, updates, deletes: nothing outside memory and maps
 * changes between runs).
 */
function emitRepeat(): CodeWriter {
  const w = new CodeWriter();
  const N = 0, I = 1, STATUS_LOCAL = 2, SAVED = 3; // param n; locals i, status, r0..r10
  for (let r = 0; r <= 10; r++) w.i32(0).mem(OP.i64_load, SCRATCH.REGS + r * 8).set(SAVED + r);
  w.block().loop();
  for (let r = 0; r <= 10; r++) w.i32(0).get(SAVED + r).mem(OP.i64_store, SCRATCH.REGS + r * 8);
  w.i32(0).i32(0).mem(OP.i32_store, SCRATCH.N);
  // What run() resets too: r0's origin, and the tail calls (tail-call.ts) of the run before.
  w.i32(0).i32(-1).mem(OP.i32_store, SCRATCH.R0_PC);
  w.i32(0).i32(0).mem(OP.i32_store, SCRATCH.TAIL_CALLS);
  w.i32(0).i32(0).mem(OP.i32_store, SCRATCH.TAIL_ID);
  w.i32(0).i32(0).i32(0).call(IMPORT_COUNT).tee(STATUS_LOCAL).brIf(1);
  w.get(I).i32(1).op(OP.i32_add).tee(I).get(N).op(OP.i32_lt_u).brIf(0);
  w.end().end();
  w.get(STATUS_LOCAL).end();
  return w;
}

/** V8's limit on br_table entries (kV8MaxWasmFunctionBrTableSize): the dispatcher has one a slot. */
export const MAX_JIT_SLOTS = 65520;

/**
 * Compile an image to a module (synchronously: images are small and compiled once).
 * `mapLayout`: the array maps whose lookups may be compiled inline (lower-map.ts), the hash maps
 * whose calls may be compiled (map-functions.ts); `progArrays`: the prog arrays whose tail calls
 * may stay in wasm (tail-call.ts).
 */
export function compileImage(
  image: ProgramImage, extraLeaders: readonly number[] = [], mapLayout?: MapLayoutResolver, progArrays?: (addr: number) => ProgArrayLayout | undefined,
): CompiledImage {
  const started = performance.now();
  if (image.slots > MAX_JIT_SLOTS) {
    throw new JitUnsupported(`${image.slots} instruction slots: the JIT's dispatch table holds ${MAX_JIT_SLOTS}`);
  }
  const cfg = buildControlFlow(image, extraLeaders);
  const mapFunctions = new MapFunctions(IMPORT_COUNT + 2); // after run and repeat
  const tailCalls = progArrays && { layoutAt: progArrays, runType: RUN_TYPE_INDEX, pcs: [], arrays: [] };
  const { code, dispatchable } = emitRun(image, cfg, extraLeaders, mapLayout, mapFunctions, tailCalls);
  const bytes = writeModule(IMPORTS, [{
    type: RUN_TYPE,
    locals: LOCAL_TYPES,
    code,
    export: 'run',
  }, {
    type: REPEAT_TYPE,
    locals: [I32, I32, ...new Array<number>(11).fill(I64)],
    code: emitRepeat(),
    export: 'repeat',
  }, ...mapFunctions.bodies()], PROGRAM_TABLE_IMPORT);
  const module = new WebAssembly.Module(bytes);
  const mainEnd = mainFunctionEnd(image);
  const mainTailCalls = tailCalls?.pcs.filter((pc) => pc < mainEnd) ?? [];
  return {
    module, compileMs: performance.now() - started, bytes: bytes.length, blocks: cfg.blocks.length, dispatchable, extraLeaders,
    selfContained: isSelfContained(image), repeatable: isSelfContained(image, true, mainTailCalls), tailArrays: tailCalls?.arrays ?? [],
  };
}
