/**
 * The engine interface both execution engines implement — the reference interpreter
 * (interpreter.ts) and the WebAssembly JIT (jit/) — and the factory the runtime uses.
 */
import type { Arena } from './arena.js';
import type { HelperCall, HelperTable } from './helper-table.js';
import type { Coverage } from './coverage.js';
import type { ProgramImage } from './image.js';
import { Interpreter } from './interpreter.js';
import type { LegacyPacket, RunArgs } from './engine-core.js';
import { JitEngine, type JitOptions } from './jit/jit-engine.js';

export type { Logger } from './jit/compile-cache.js';
import { XdplabError } from '../errors.js';

export type EngineKind = 'jit' | 'interp';
export const ENGINE_KINDS: readonly EngineKind[] = ['jit', 'interp'];

/** What hooks, the runtime and helpers use of an engine. */
export interface Engine extends HelperCall {
  /** r0..r10 as (low, high) int32 pairs; r1..r5 are set here before a run. */
  readonly regs: Int32Array;
  env: unknown;
  budget: number;
  legacyPacket: LegacyPacket | undefined;
  /** Instructions executed by the last run. */
  readonly executed: number;
  /** Set to count every instruction and branch side executed (coverage.ts); the JIT then interprets. */
  coverage: Coverage | undefined;
  /** The pc of the exit that ended the last run. */
  readonly exitPc: number;
  /**
   * The pc, in `image`, of the instruction that last wrote r0 before the last run ended —
   * where the value it returned was decided (`return XDP_DROP;`, not the exit); -1 when
   * unknown. Kept at the marked instructions of ProgramImage.r0Marks only.
   */
  readonly r0Pc: number;
  /** The image that ran last (the last link of a tail-call chain). */
  readonly image: ProgramImage;
  /** All 64 bits of r0 after the last run. */
  readonly r0: bigint;
  run(image: ProgramImage, args?: RunArgs): number;
  /**
   * Run `n` times from the registers as they are (BPF_PROG_TEST_RUN's repeat) when the engine
   * can do so faster than `n` runs — the JIT, for programs that call no helper but
   * bpf_map_lookup_elem (which reads no per-run state); undefined (and nothing run) otherwise.
   */
  runRepeat?(image: ProgramImage, n: number): number | undefined;
  /**
   * Get `image` ready to run without running it — the JIT compiles and instantiates it — so a
   * timed run (BPF_PROG_TEST_RUN's duration) times the program, not its compilation.
   */
  prepare?(image: ProgramImage): void;
  /**
   * Tell the engine which image a program id names now (undefined: none), as the runtime's
   * programById answers: the JIT enters a tail call's target without leaving wasm when the
   * slot's id is bound to an image it has compiled (jit/tail-call.ts).
   */
  bindProgram?(id: number, image: ProgramImage | undefined): void;
  setReg(n: number, value: bigint): void;
}

/** An engine's options: the budget and stack (both engines), the JIT's compile cache and logger. */
export type EngineOptions = JitOptions;

export function createEngine(kind: EngineKind, arena: Arena, helpers: HelperTable, options: EngineOptions = {}): Engine {
  return kind === 'jit' ? new JitEngine(arena, helpers, options) : new Interpreter(arena, helpers, { budget: options.budget, stack: options.stack });
}

export function parseEngineKind(text: string): EngineKind {
  if (text === 'jit' || text === 'interp') return text;
  throw new XdplabError('USAGE', `unknown engine ${JSON.stringify(text)} (jit or interp)`);
}
