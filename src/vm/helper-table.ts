/**
 * How the engines call helpers. vm/ never imports helpers/: the runtime hands an engine a
 * HelperTable, and a helper reaches the machine only through the HelperCall it is given.
 */
import { XdplabError } from '../errors.js';
import type { Arena } from './arena.js';
import type { ProgramImage } from './image.js';

/** What a helper asks of the engine when it returns. */
export const HELPER_CONTINUE = 0;
/** Leave this program and start `HelperCall.tailCallTarget` in its place (bpf_tail_call). */
export const HELPER_TAIL_CALL = 1;
/** Stop the program now; r0 is what the helper set (the conformance suite's unwind helper). */
export const HELPER_STOP = 2;

/**
 * The machine as a helper sees it during one call. Arguments are r1..r5 in `regs`, as
 * (low, high) int32 pairs at indices 2..11; the helper writes its result with `ret`.
 */
export interface HelperCall {
  readonly regs: Int32Array;
  readonly arena: Arena;
  /** The program being run (for tail calls: the current link of the chain). */
  readonly image: ProgramImage;
  /** Tail calls taken so far in this run (the kernel allows MAX_TAIL_CALL_CNT = 33). */
  readonly tailCalls: number;
  /** Set by a helper that returns HELPER_TAIL_CALL. */
  tailCallTarget: ProgramImage | undefined;
  /** Per-run state owned by the runtime (the packet, the context, trace output…). */
  readonly env: unknown;
  /** Run a function of the current program as a callback (r1..r5 = args); returns its r0. */
  callFunction(pc: number, args: readonly number[]): number;
  /** The pcs of this helper call and of the local calls that led to it, innermost first. */
  callChain(): number[];
}

export type HelperFn = (call: HelperCall) => number;

/**
 * A helper refusing what it was given (an argument the kernel's verifier would have refused, a
 * callback that cannot run): the engine ends the run with a HELPER fault at the call's pc,
 * saying this message.
 */
export class HelperError extends XdplabError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('VM_FAULT', message, options);
  }
}

export interface HelperTable {
  /** The helper with this uapi id, or undefined if there is none. */
  lookup(id: number): HelperFn | undefined;
  /** Its name, for messages (bpf_map_lookup_elem …). */
  nameOf?(id: number): string | undefined;
}

/** Argument n (1..5) as an unsigned 32-bit number: a pointer, a size, a small integer. */
export const argU32 = (call: HelperCall, n: number): number => call.regs[n * 2] >>> 0;
/** Argument n as a signed number; exact when it fits in 53 bits. */
export const argNumber = (call: HelperCall, n: number): number => call.regs[n * 2 + 1] * 4294967296 + (call.regs[n * 2] >>> 0);
/** Argument n as a 64-bit BigInt (for the rare helper that needs all 64 bits). */
export const argBigInt = (call: HelperCall, n: number): bigint =>
  (BigInt(call.regs[n * 2 + 1]) << 32n) | BigInt(call.regs[n * 2] >>> 0);

/** Set r0 from a JS number (integers in ±2^53, negative ones sign-extended). */
export function ret(call: HelperCall, value: number): void {
  call.regs[0] = value | 0;
  call.regs[1] = Math.floor(value / 4294967296) | 0;
}

/** An empty table: every helper call is unknown. */
export const NO_HELPERS: HelperTable = { lookup: () => undefined };
