/**
 * What compiled code and the JIT engine agree on: where the scratch words live in the arena's
 * reserved area (arena.ts, ARENA_LAYOUT), the imports a compiled module calls, the statuses its
 * `run` returns, and its locals.
 */
import { ARENA_LAYOUT } from '../arena.js';
import { I32, I64 } from './wasm-writer.js';

const S = ARENA_LAYOUT.SCRATCH;

export const SCRATCH = {
  /** r0..r10 as 11 little-endian i64s: the Int32Array (low, high) pair file helpers see. */
  REGS: S,
  /** Instructions executed so far in the current execution (the interpreter's `n`). */
  N: S + 0x80,
  /** The budget (instructions) of this run. */
  BUDGET: S + 0x84,
  /** The current frame depth, written before every helper call and every return. */
  DEPTH: S + 0x88,
  /** The pc of the exit that ended the last run. */
  EXIT_PC: S + 0x8c,
  /** Address just past the engine's stack. */
  STACK_TOP: S + 0x90,
  /** Set by the ld_packet import when an LD_ABS/LD_IND load is outside the packet. */
  LD_OUTSIDE: S + 0x94,
  /** With STATUS.NOT_A_BLOCK: the pc control was going to (the engine recompiles and resumes there). */
  RESUME_PC: S + 0x98,
  /** The CPU the program runs on (the engine sets it from the run's environment); per-CPU lookups read it. */
  CPU: S + 0x9c,
  /** r0's origin (r0-origin.ts): stored at every return from `run`, loaded at its entry. */
  R0_PC: S + 0xa0,
  /** Tail calls counted so far in the run (HelperCall.tailCalls): compiled tail calls and the engine's driver both count here. */
  TAIL_CALLS: S + 0xf0,
  /** The program id a compiled tail call last entered (tail-call.ts); 0 once the engine has read it. */
  TAIL_ID: S + 0xf4,
  /** MAX_CALL_FRAMES frames of FRAME_BYTES: r6..r9 (i64), the return pc (i32) and r6..r9's origins (i32). */
  FRAMES: S + 0x100,
} as const;
export const FRAME_BYTES = 56;
export const FRAME_RET_PC = 32;
/** r6..r9's origins in a frame (r0-origin.ts), kept only when the image's plan says so. */
export const FRAME_ORIGINS = 36;

/** What `run` returns. */
export const STATUS = {
  /** The frame it was started in exited (or an LD_ABS outside the packet ended the program). */
  EXIT: 0,
  /** A helper asked for a tail call: the engine runs HelperCall.tailCallTarget next. */
  TAIL_CALL: 1,
  /** A helper asked to stop. */
  STOP: 2,
  /**
   * Control went to a pc that starts no block (callx to an address no lddw names, a return
   * into a tail-called program): everything is in the scratch area, and the engine resumes
   * there after recompiling with that pc as a block start.
   */
  NOT_A_BLOCK: 3,
  /** Control ran past the last instruction. */
  FELL_OFF: 4,
} as const;

/** Imported functions, by index (the module's function index space starts with them). */
export const IMPORT = {
  /** helper(id, pc) → HELPER_CONTINUE | HELPER_TAIL_CALL | HELPER_STOP */
  HELPER: 0,
  /** fault(reason, pc, arg): throws */
  FAULT: 1,
  /** memFault(pc, lo, hi, off, size | write << 8): throws */
  MEM_FAULT: 2,
  /** ldPacket(pc, index, imm, size) → value (LD_OUTSIDE set when outside the packet) */
  LD_PACKET: 3,
  /** callx(pc, lo, hi) → a function's pc (≥ 0), CALLX_CONTINUE or CALLX_STOP after a helper ran */
  CALLX: 4,
} as const;
export const IMPORT_COUNT = 5;
export const CALLX_CONTINUE = -1;
export const CALLX_STOP = -2;

/** Reason codes of the fault import (the VmFault reason each stands for). */
export const FAULT_CODE = {
  CALL_DEPTH: 0,
  BUDGET: 1,
  KFUNC: 2,
} as const;
export const FAULT_CODE_REASON = ['CALL_DEPTH', 'BUDGET', 'KFUNC'] as const;

/** Locals of `run`: three params, then r0..r10, then scratch. */
export const LOCAL = {
  START_PC: 0,
  DEPTH: 1,
  BASE: 2,
  /** r0 is local 3, r10 local 13. */
  R0: 3,
  N: 14,
  BUDGET: 15,
  NEXT: 16,
  STACK_TOP: 17,
  /** The checked address of the access in progress. */
  ADDR: 18,
  REGION: 19,
  T32: 20,
  T64: 21,
  T64B: 22,
  /** GUARD0 + r: a group check passed for r's current value (lower-memory.ts, emitGroupGuard). */
  GUARD0: 23,
  /** ORIGIN0 + r: the pc that made r's value (r0-origin.ts); ORIGIN0's goes to SCRATCH.R0_PC. */
  ORIGIN0: 34,
} as const;
export const PARAM_COUNT = 3;
/** Types of the locals after the params. */
export const LOCAL_TYPES = [
  ...new Array<number>(11).fill(I64), // r0..r10
  I32, I32, I32, I32, I32, I32, I32, // n, budget, next, stackTop, addr, region, t32
  I64, I64, // t64, t64b
  ...new Array<number>(11).fill(I32), // guard r0..r10
  ...new Array<number>(11).fill(I32), // origin r0..r10
];

export const reg = (r: number): number => LOCAL.R0 + r;
