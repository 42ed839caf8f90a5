/**
 * JitEngine: runs ProgramImages compiled to WebAssembly (compiler.ts), with the interpreter's
 * surface and its exact behaviour (r0, memory, maps, faults with the same reason at the same
 * pc, the same instruction count at the same budget).
 *
 * Each image is compiled once per CompileCache (the engine's own, unless its creator shares one)
 * and instantiated once per engine. The engine's register file is the scratch area of the arena (layout.ts), so
 * `regs` — which hooks fill before a run and helpers read — is a view of the same bytes the
 * compiled code loads and stores. A tail call through a prog array the code knows enters the
 * target's compiled code from wasm (tail-call.ts); any other returns STATUS.TAIL_CALL and the
 * driver loop (execute) starts the next image. An image the JIT cannot
 * compile runs in the interpreter, with a one-line notice to the logger the engine was given.
 */
import { MAX_BPF_STACK, MAX_CALL_FRAMES } from '../../isa/opcodes.js';
import { ARENA_LAYOUT, type Arena, type Region } from '../arena.js';
import type { VmFault } from '../fault.js';
import { HELPER_STOP, type HelperCall, type HelperTable } from '../helper-table.js';
import type { Coverage } from '../coverage.js';
import type { ProgramImage } from '../image.js';
import { pairToBigInt } from '../int64.js';
import { Interpreter } from '../interpreter.js';
import {
  CALL_DEPTH_DETAIL, DEFAULT_BUDGET, HelperCaller, LEGACY_PACKET_DETAIL, describeKfuncFault, PcFault as JitFault, checkCallback, describeBudgetFault, describeMemoryFault,
  isInstructionIndex, loadCallbackArgs, loadRunArgs, storeRegister, toVmFault, type InterpreterOptions, type LegacyPacket, type RunArgs,
} from '../engine-core.js';
import { isInlineMapLookup, mapLookupLayoutAt } from '../map-layout.js';
import type { CompiledImage } from './compiler.js';
import type { MapLayoutResolver } from './lower-map.js';
import {
  CALLX_CONTINUE, CALLX_STOP, FAULT_CODE_REASON, FRAME_BYTES, FRAME_RET_PC, SCRATCH, STATUS,
} from './layout.js';
import { BPF_FUNC_map_delete_elem, BPF_FUNC_map_lookup_elem, BPF_FUNC_map_update_elem } from '../../uapi/helper-ids.js';
import { XdplabError } from '../../errors.js';
import { CompileCache, type CompileStats, type InlineMaps, type Logger } from './compile-cache.js';
import { ProgramTable, progArraysOf, tailTargetsRepeatable } from './tail-call.js';

/** Compiled lookups (updates, deletes) of `arena`'s array and hash maps when `helpers` has the standard map helpers. */
function mapLayoutsOf(arena: Arena, helpers: HelperTable): MapLayoutResolver | undefined {
  if (!isInlineMapLookup(helpers.lookup(BPF_FUNC_map_lookup_elem))) return undefined;
  const updates = isInlineMapLookup(helpers.lookup(BPF_FUNC_map_update_elem)) && isInlineMapLookup(helpers.lookup(BPF_FUNC_map_delete_elem));
  return Object.assign((addr: number) => mapLookupLayoutAt(arena, addr), { updates });
}

export interface JitOptions extends InterpreterOptions {
  /** The compiled images to use (shared with other engines); by default the engine's own. */
  compileCache?: CompileCache;
  /** Where notices go (an image that runs in the interpreter): by default nowhere. */
  log?: Logger;
}

type RunFn = (startPc: number, depth: number, baseDepth: number) => number;
/** ProgramImage.jitInstance: the run function an engine made last, valid while `recompiles` holds. */
interface HotInstance { engine: JitEngine; run: RunFn; recompiles: number }
type RepeatFn = (n: number) => number;

const W = (addr: number): number => (addr - ARENA_LAYOUT.SCRATCH) >> 2;
const N = W(SCRATCH.N), BUDGET = W(SCRATCH.BUDGET), DEPTH = W(SCRATCH.DEPTH), EXIT_PC = W(SCRATCH.EXIT_PC);
const STACK_TOP = W(SCRATCH.STACK_TOP), LD_OUTSIDE = W(SCRATCH.LD_OUTSIDE), FRAMES = W(SCRATCH.FRAMES);
const RESUME_PC = W(SCRATCH.RESUME_PC), CPU = W(SCRATCH.CPU), R0_PC = W(SCRATCH.R0_PC);
const TAIL_CALLS = W(SCRATCH.TAIL_CALLS), TAIL_ID = W(SCRATCH.TAIL_ID);

/**
 * The CPU of a run, for inline per-CPU lookups: the `cpu` of the run's environment, the one the
 * lookup helper reads (helpers/env.ts, RunEnv); 0 when it has none.
 */
function cpuOf(env: unknown): number {
  const cpu = typeof env === 'object' && env !== null ? (env as { cpu?: unknown }).cpu : undefined;
  return typeof cpu === 'number' ? cpu : 0;
}
/**
 * The compiled code counts in an unsigned i32; a larger budget acts as this one (a run of 4
 * billion instructions takes tens of seconds in either engine).
 */
const MAX_JIT_BUDGET = 0xf0000000;

export class JitEngine implements HelperCall {
  readonly stack: Region;
  readonly stackTop: number;
  budget: number;
  legacyPacket: LegacyPacket | undefined;
  env: unknown;
  executed = 0;
  tailCallTarget: ProgramImage | undefined;
  /** The image running, unless compiled code entered another since (SCRATCH.TAIL_ID): see `image`. */
  private current!: ProgramImage;
  /** Programs by id, as the runtime binds them, with their run functions for compiled tail calls. */
  private readonly programTable = new ProgramTable();

  /** The scratch area as int32 words, and its first 22 words as the register file. */
  private words: Int32Array;
  private regsView: Int32Array;
  private readonly instances = new WeakMap<ProgramImage, { entry: CompiledImage; run: RunFn; repeat: RepeatFn; recompiles: number }>();
  private readonly helperCaller: HelperCaller;
  private readonly callbackSaves = Array.from({ length: MAX_CALL_FRAMES }, () => new Int32Array(22));
  private fallback: Interpreter | undefined;
  /** When set, runs are counted in it (through the interpreter: see run). */
  coverage: Coverage | undefined;
  private lastRunFellBack = false;
  /** The image run last and its compiled code: most runs run the same program again. */
  private lastImage: ProgramImage | undefined;
  private lastRun: RunFn | undefined;
  private readonly imports: WebAssembly.Imports;
  /** The callback last started (bpf_loop calls the same one again and again): its pc is known to start a block. */
  private callbackImage: ProgramImage | undefined;
  private callbackPc = -1;
  private callbackRecompiles = -1;
  private inline: InlineMaps | undefined;
  /** The compiled images this engine runs (its own unless its creator shared one). */
  private readonly cache: CompileCache;

  constructor(
    readonly arena: Arena,
    readonly helpers: HelperTable,
    private readonly options: JitOptions = {},
  ) {
    // The register file and frame stack are per arena: one JIT engine an arena.
    if (arena.jitEngine !== undefined) throw new XdplabError('INTERNAL', 'jit: this arena already has a JIT engine');
    arena.jitEngine = this;
    this.cache = options.compileCache ?? new CompileCache(options.log);
    this.helperCaller = new HelperCaller(helpers);
    this.budget = options.budget ?? DEFAULT_BUDGET;
    this.stack = arena.alloc(MAX_BPF_STACK * MAX_CALL_FRAMES, 'stack', 'bpf stack');
    this.stackTop = this.stack.end;
    this.words = this.regsView = new Int32Array(0);
    this.refreshViews();
    this.imports = {
      env: {
        memory: arena.memory,
        helper: (id: number, pc: number) => this.helperImport(id, pc),
        fault: (code: number, pc: number, arg: number) => this.faultImport(code, pc, arg),
        memFault: (pc: number, lo: number, hi: number, off: number, sizeWrite: number) => {
          throw new JitFault('MEMORY', pc, describeMemoryFault(this.arena, (lo >>> 0) + off, hi, sizeWrite & 0xff, (sizeWrite & 0x100) !== 0));
        },
        ldPacket: (pc: number, index: number, imm: number, size: number) => this.ldPacket(pc, index, imm, size),
        callx: (pc: number, lo: number, hi: number) => this.callxImport(pc, lo, hi),
        programs: this.programTable.table,
      },
    };
  }

  /** The image's compiled code for this engine (array lookups inlined over this arena's maps). */
  private compiledOf(image: ProgramImage, extraLeaders?: readonly number[]): CompiledImage | null {
    this.inline ??= { arena: this.arena, mapLayout: mapLayoutsOf(this.arena, this.helpers), progArrays: progArraysOf(this.arena, this.helpers) };
    return this.cache.compiledImage(image, extraLeaders, this.inline);
  }

  private refreshViews(): void {
    const buffer = this.arena.memory.buffer;
    this.words = new Int32Array(buffer, ARENA_LAYOUT.SCRATCH, ARENA_LAYOUT.SCRATCH_BYTES >> 2);
    this.regsView = new Int32Array(buffer, SCRATCH.REGS, 22);
  }

  /** The scratch words (re-made when the memory grew and detached the old view). */
  private scratch(): Int32Array {
    if (this.words.length === 0) this.refreshViews();
    return this.words;
  }

  /** The image running (or run last): the last one compiled code tail-called into, if it did. */
  get image(): ProgramImage {
    const words = this.scratch();
    if (words[TAIL_ID] !== 0) {
      this.current = this.programTable.imageOf(words[TAIL_ID]) ?? this.current; // unbound since: keep the last known
      words[TAIL_ID] = 0;
    }
    return this.current;
  }

  set image(image: ProgramImage) {
    this.current = image;
    this.scratch()[TAIL_ID] = 0;
  }

  /** Tail calls counted in this run (compiled code counts in the scratch area too). */
  get tailCalls(): number {
    return this.scratch()[TAIL_CALLS];
  }

  set tailCalls(n: number) {
    this.scratch()[TAIL_CALLS] = n;
  }

  /** See Engine.bindProgram: a compiled tail call to `id` enters `image` once it is instantiated. */
  bindProgram(id: number, image: ProgramImage | undefined): void {
    const instance = image && this.instances.get(image);
    this.programTable.bind(id, image, instance?.recompiles === this.cache.recompiles ? instance.run : undefined);
  }

  /** r0..r10 as (low, high) int32 pairs, as in the interpreter (a view of the arena). */
  get regs(): Int32Array {
    if (this.regsView.length === 0) this.refreshViews();
    return this.regsView;
  }

  /** What compiling this engine's images cost (its cache's: shared with the engines sharing it). */
  get compileStats(): Readonly<CompileStats> {
    return this.cache.stats;
  }

  /** The image's compiled code (compiled now if it was not), or null when the JIT cannot compile it. */
  compile(image: ProgramImage): CompiledImage | null {
    return this.compiledOf(image);
  }

  get r0(): bigint {
    const regs = this.regs;
    return pairToBigInt(regs[0], regs[1]);
  }

  get exitPc(): number {
    return this.lastRunFellBack ? this.fallback!.exitPc : this.scratch()[EXIT_PC];
  }

  /** See Engine.r0Pc: the compiled code keeps it in a local, stored when `run` returns. */
  get r0Pc(): number {
    return this.lastRunFellBack ? this.fallback!.r0Pc : this.scratch()[R0_PC];
  }

  setReg(n: number, value: bigint): void {
    storeRegister(this.regs, n, value);
  }

  /** Run a program (see Interpreter.run): returns the low 32 bits of r0, unsigned. */
  run(image: ProgramImage, args?: RunArgs): number {
    if (args) loadRunArgs(this.regs, args);
    // Coverage is counted by the interpreter: the compiled code carries no counters.
    if (this.coverage || (image !== this.lastImage && this.hotRun(image) === undefined && this.compiledOf(image) === null)) return this.runInInterpreter(image);
    this.lastRunFellBack = false;
    this.tailCalls = 0;
    this.executed = 0;
    this.words[DEPTH] = 0;
    this.words[CPU] = cpuOf(this.env);
    this.words[R0_PC] = -1;
    try {
      this.execute(image, 0, 0);
    } catch (err) {
      throw this.asVmFault(err);
    }
    return this.regs[0] >>> 0;
  }

  /**
   * Run a repeatable program (no helper calls but map lookups, updates, deletes) `n` times, each run from the
   * registers as they are now, the loop inside wasm; what the last run left is what `run` would
   * have left. Undefined, having run nothing, when the program is not repeatable.
   */
  runRepeat(image: ProgramImage, n: number): number | undefined {
    if (this.coverage) return undefined;
    const entry = this.compiledOf(image);
    if (entry === null || !entry.repeatable || n < 1) return undefined;
    if (entry.tailArrays.length > 0 && !this.tailTargetsRepeatable(entry)) return undefined;
    this.instanceFor(image);
    const repeat = this.instances.get(image)!.repeat;
    this.lastRunFellBack = false;
    this.tailCalls = 0;
    this.executed = 0;
    this.image = image;
    const words = this.scratch();
    words[DEPTH] = 0;
    words[CPU] = cpuOf(this.env);
    words[R0_PC] = -1;
    words[BUDGET] = Math.min(this.budget, MAX_JIT_BUDGET);
    words[STACK_TOP] = this.stackTop;
    let status: number;
    try {
      status = repeat(n);
    } catch (err) {
      throw this.asVmFault(err);
    } finally {
      this.executed = this.scratch()[N] >>> 0;
    }
    // A repeatable image only exits; anything else (a prog array slot changed under the loop
    // to a program not compiled with it) would leave runs undone that r0 does not show.
    if (status !== STATUS.EXIT) throw new XdplabError('INTERNAL', `jit: ${image.name}'s repeat loop stopped with status ${status}, not an exit`);
    return this.regs[0] >>> 0;
  }

  /** Whether every program `entry`'s tail calls reach now loops in wasm with it (tail-call.ts). */
  private tailTargetsRepeatable(entry: CompiledImage): boolean {
    const words = new Uint32Array(this.arena.memory.buffer);
    return tailTargetsRepeatable(entry, this.programTable, words, (image) => this.compiledOf(image));
  }

  /**
   * Compile and instantiate `image` now (see Engine.prepare), and enter its code once at a pc
   * past its end: V8 compiles a wasm function on its first call, and that entry runs nothing
   * (the dispatch sends it straight back, NOT_A_BLOCK, having only round-tripped the register
   * file and scratch words the next run sets again). An image the JIT cannot compile is left
   * for run() to fall back.
   */
  prepare(image: ProgramImage): void {
    if (this.compiledOf(image) === null) return;
    const run = this.instanceFor(image);
    this.scratch()[STACK_TOP] = this.stackTop;
    run(image.slots, 0, 0);
  }

  private runInInterpreter(image: ProgramImage): number {
    // Sharing the stack keeps r10 what the JIT's would be.
    this.fallback ??= new Interpreter(this.arena, this.helpers, { budget: this.options.budget, stack: this.stack });
    const interp = this.fallback;
    this.lastRunFellBack = true;
    interp.regs.set(this.regs);
    interp.env = this.env;
    interp.legacyPacket = this.legacyPacket;
    interp.budget = this.budget;
    interp.coverage = this.coverage;
    try {
      return interp.run(image);
    } finally {
      this.regs.set(interp.regs);
      this.executed = interp.executed;
      this.image = interp.image;
      this.tailCalls = interp.tailCalls;
    }
  }

  /** The image's run function when this engine made it and nothing was recompiled since. */
  private hotRun(image: ProgramImage): RunFn | undefined {
    const hot = image.jitInstance as HotInstance | undefined;
    return hot !== undefined && hot.engine === this && hot.recompiles === this.cache.recompiles ? hot.run : undefined;
  }

  private instanceFor(image: ProgramImage): RunFn {
    if (image === this.lastImage) return this.lastRun!;
    const hotRun = this.hotRun(image);
    if (hotRun !== undefined) {
      this.lastImage = image;
      this.lastRun = hotRun;
      return hotRun;
    }
    let instance = this.instances.get(image);
    if (instance === undefined || instance.recompiles !== this.cache.recompiles) {
      const entry = this.compiledOf(image);
      if (entry === null) throw new XdplabError('UNSUPPORTED', `jit: ${image.name} could not be compiled, and ${this.image.name} tail-calls it`);
      if (instance?.entry !== entry) {
        const exports = new WebAssembly.Instance(entry.module, this.imports).exports;
        instance = { entry, run: exports.run as RunFn, repeat: exports.repeat as RepeatFn, recompiles: this.cache.recompiles };
        this.instances.set(image, instance);
        this.programTable.offer(image, instance.run);
      }
      instance.recompiles = this.cache.recompiles;
    }
    this.lastImage = image;
    this.lastRun = instance.run;
    image.jitInstance = { engine: this, run: instance.run, recompiles: this.cache.recompiles } satisfies HotInstance;
    return instance.run;
  }

  /** Make `pc` start a block of the image's compiled code (recompiling it once if needed); false if it cannot. */
  private ensureBlockStart(image: ProgramImage, pc: number): boolean {
    const entry = this.compiledOf(image);
    if (entry === null) return false;
    if (entry.dispatchable[pc]) {
      // Compiled with it already; this engine may still hold the code from before.
      if (this.lastImage === image && this.instances.get(image)?.entry !== entry) this.lastImage = undefined;
      return true;
    }
    this.lastImage = undefined;
    return this.compiledOf(image, [...entry.extraLeaders, pc]) !== null;
  }

  /** Run from `startPc` in frame `depth` until that frame exits, following tail calls. */
  private execute(entry: ProgramImage, startPc: number, depth: number): void {
    const words = this.scratch();
    words[N] = 0;
    words[BUDGET] = Math.min(this.budget, MAX_JIT_BUDGET);
    words[STACK_TOP] = this.stackTop;
    let image = entry;
    this.image = image;
    let pc = startPc;
    let frame = depth;
    try {
      for (;;) {
        const status = this.instanceFor(image)(pc, frame, depth);
        if (status === STATUS.EXIT || status === STATUS.STOP) return;
        if (status === STATUS.NOT_A_BLOCK) {
          image = this.image; // compiled code may have tail-called into another program
          const scratch = this.scratch();
          pc = scratch[RESUME_PC];
          frame = scratch[DEPTH];
          if (pc < 0 || pc >= image.slots || image.insnAt[pc] === undefined || !this.ensureBlockStart(image, pc)) {
            throw new XdplabError('INTERNAL', `jit: ${image.name}: control went to pc ${pc}, which starts no instruction`);
          }
          continue;
        }
        if (status !== STATUS.TAIL_CALL) throw new XdplabError('INTERNAL', `jit: ${image.name}: control ran past the last instruction`);
        // The target replaces the program in the current frame, as in the interpreter.
        image = this.tailCallTarget!;
        this.tailCallTarget = undefined;
        this.tailCalls++;
        this.image = image;
        pc = 0;
        const scratch = this.scratch();
        frame = scratch[DEPTH];
        scratch[R0_PC] = -1; // r0's writer is one of the new program's instructions
      }
    } finally {
      this.executed += this.scratch()[N] >>> 0;
    }
  }

  private toVmFault(fault: JitFault): VmFault {
    return toVmFault(this.image, fault);
  }

  /**
   * What a run threw, as users see it: a fault at its pc; a WebAssembly trap — an access the
   * verifier proved (lower-memory.ts) that left the arena anyway — as a memory fault.
   */
  private asVmFault(err: unknown): unknown {
    if (err instanceof JitFault) return this.toVmFault(err);
    if (!(err instanceof WebAssembly.RuntimeError)) return err;
    const detail = `${err.message}, in an access compiled unchecked because the verifier proved it safe (run with --no-verify to check every access)`;
    return this.toVmFault(new JitFault('MEMORY', -1, detail));
  }

  // ---- imports of the compiled code ----------------------------------------------------

  private helperImport(id: number, pc: number): number {
    return this.helperCaller.callById(this, id, pc);
  }

  private faultImport(code: number, pc: number, arg: number): never {
    const reason = FAULT_CODE_REASON[code];
    const detail = reason === 'BUDGET' ? describeBudgetFault(this.budget)
      : reason === 'CALL_DEPTH' ? CALL_DEPTH_DETAIL
      : describeKfuncFault(arg);
    throw new JitFault(reason, pc, detail);
  }

  private ldPacket(pc: number, index: number, imm: number, size: number): number {
    const pkt = this.legacyPacket;
    if (!pkt) throw new JitFault('LEGACY_PACKET', pc, LEGACY_PACKET_DETAIL);
    const words = this.scratch();
    const offset = index + imm;
    const a = pkt.dataStart + offset;
    if (offset < 0 || a + size > pkt.dataEnd) {
      words[LD_OUTSIDE] = 1;
      return 0;
    }
    words[LD_OUTSIDE] = 0;
    const dv = this.arena.view;
    return size === 1 ? this.arena.u8[a] : size === 2 ? dv.getUint16(a, false) : dv.getInt32(a, false);
  }

  private callxImport(pc: number, lo: number, hi: number): number {
    if (isInstructionIndex(this.image, lo, hi)) return lo;
    return this.helperCaller.callxHelper(this, lo, hi, pc) === HELPER_STOP ? CALLX_STOP : CALLX_CONTINUE;
  }

  // ---- HelperCall ----------------------------------------------------------------------

  /** Run a function of the running program as a callback (see Interpreter.callFunction). */
  callFunction(pc: number, args: readonly number[]): number {
    const image = this.image;
    const depth = this.scratch()[DEPTH];
    checkCallback(image, pc, depth);
    if (image !== this.callbackImage || pc !== this.callbackPc || this.callbackRecompiles !== this.cache.recompiles) {
      this.ensureBlockStart(image, pc);
      this.callbackImage = image;
      this.callbackPc = pc;
      this.callbackRecompiles = this.cache.recompiles;
    }
    const saved = this.callbackSaves[depth];
    saved.set(this.regs);
    const savedCount = this.scratch()[N];
    try {
      loadCallbackArgs(this.regs, args);
      this.execute(image, pc, depth + 1);
      return this.regs[0];
    } finally {
      this.regs.set(saved);
      const words = this.scratch();
      words[DEPTH] = depth;
      words[N] = savedCount;
      this.image = image;
    }
  }

  /** The pcs of the helper call in progress and of each call site below it, innermost first. */
  callChain(): number[] {
    const words = this.scratch();
    const chain = [this.helperCaller.pc];
    for (let d = words[DEPTH]; d > 0; d--) chain.push(words[FRAMES + ((d - 1) * FRAME_BYTES + FRAME_RET_PC) / 4] - 1);
    return chain;
  }
}
