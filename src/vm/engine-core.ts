/**
 * What both engines — the reference interpreter (interpreter.ts) and the JIT (jit/jit-engine.ts)
 * — do the same way, written once: a run's arguments in the register file, the helper-call
 * protocol (find the helper by id, call it, turn what it throws into a HELPER fault at the
 * call's pc), a callx whose register holds no function of the program, callFunction's
 * preconditions and argument registers, and the words of every fault either engine raises.
 */
import { MAX_CALL_FRAMES } from '../isa/opcodes.js';
import { PAGE_SIZE, type Arena, type Region } from './arena.js';
import { VmFault, formatFaultInstruction, type FaultReason } from './fault.js';
import { HELPER_CONTINUE, HELPER_STOP, HelperError, type HelperCall, type HelperFn, type HelperTable } from './helper-table.js';
import type { ProgramImage } from './image.js';
import { pairToBigInt } from './int64.js';

/** Instructions a run may execute before it is stopped (checked at backward jumps). */
export const DEFAULT_BUDGET = 1 << 27;

/** Where LD_ABS / LD_IND read: the socket buffer's linear data, set by the hook per run. */
export interface LegacyPacket {
  dataStart: number;
  dataEnd: number;
}

export interface InterpreterOptions {
  /** Instruction budget per run (default DEFAULT_BUDGET). */
  budget?: number;
  /** The stack region (8 frames of 512 bytes) to use; by default the interpreter maps its own. */
  stack?: Region;
}

/** Arguments of one run: r1..r5 as numbers (uint32-safe; use setArg64 for wider values). */
export interface RunArgs {
  r1?: number;
  r2?: number;
  r3?: number;
  r4?: number;
  r5?: number;
}

/** The detail of a memory fault (both engines word it the same): `addr` is the low word plus the offset, unwrapped. */
export function describeMemoryFault(arena: Arena, addr: number, hi: number, size: number, write: boolean): string {
  const where = hi !== 0 ? `0x${(hi >>> 0).toString(16)}${(addr >>> 0).toString(16).padStart(8, '0')} (outside the arena)`
    : addr < 0 || addr >= 2 ** 32 ? `${addr} (outside the arena)`
    : addr < PAGE_SIZE ? `0x${addr.toString(16)} (NULL page)`
    : `0x${addr.toString(16)} in ${arena.describe(addr)}`;
  return `${write ? 'write' : 'read'} of ${size} bytes at ${where}`;
}

/** The detail of a budget fault. */
export const describeBudgetFault = (budget: number): string => `more than ${budget} instructions executed (a loop that does not end?)`;

/** The detail of a call-depth fault (a local call, or a callback, one frame too deep). */
export const CALL_DEPTH_DETAIL = `more than ${MAX_CALL_FRAMES} nested calls`;

/** The detail of a kfunc call's fault. */
export const describeKfuncFault = (id: number): string => `kfunc ${id} (kernel functions exist only inside the kernel)`;

/** The detail of an LD_ABS / LD_IND fault in a run without a socket buffer. */
export const LEGACY_PACKET_DETAIL = 'LD_ABS/LD_IND need a socket buffer (a TC or socket program)';

/** r0..r9 from `args` (r1..r5 as given, the rest 0), in the (low, high) pair layout both engines share. */
export function loadRunArgs(regs: Int32Array, args: RunArgs): void {
  regs.fill(0, 0, 20);
  regs[2] = args.r1 ?? 0;
  regs[4] = args.r2 ?? 0;
  regs[6] = args.r3 ?? 0;
  regs[8] = args.r4 ?? 0;
  regs[10] = args.r5 ?? 0;
}

/** Register n set to a 64-bit value, in the pair layout. */
export function storeRegister(regs: Int32Array, n: number, value: bigint): void {
  regs[n * 2] = Number(BigInt.asIntN(32, value));
  regs[n * 2 + 1] = Number(BigInt.asIntN(32, value >> 32n));
}

/** A fault inside a run, thrown past the engine's loop; `toVmFault` names the program and instruction. */
export class PcFault {
  constructor(readonly reason: FaultReason, readonly pc: number, readonly detail: string) {}
}

/** The VmFault users see for a fault at `fault.pc` of `image`. */
export function toVmFault(image: ProgramImage, fault: PcFault): VmFault {
  return new VmFault(fault.reason, image.name, fault.pc, formatFaultInstruction(image.insnAt[fault.pc]), fault.detail);
}

/** Whether the register pair (lo, hi) holds the index of an instruction of `image` (a callx target). */
export function isInstructionIndex(image: ProgramImage, lo: number, hi: number): boolean {
  return hi === 0 && lo >= 0 && lo < image.slots && image.insnAt[lo] !== undefined;
}

/**
 * callFunction's preconditions (bpf_loop's and for_each's callbacks): `pc` starts an
 * instruction of the running image and one more frame fits below `depth`.
 */
export function checkCallback(image: ProgramImage, pc: number, depth: number): void {
  if (pc < 0 || pc >= image.slots || image.insnAt[pc] === undefined) {
    throw new HelperError(`callback at ${pc} is not an instruction of ${image.name}`);
  }
  if (depth + 1 >= MAX_CALL_FRAMES) throw new HelperError(`callback: ${CALL_DEPTH_DETAIL}`);
}

/** A callback's r1..r5 (`args`, zero-extended; missing ones 0). */
export function loadCallbackArgs(regs: Int32Array, args: readonly number[]): void {
  for (let i = 0; i < 5; i++) {
    regs[2 + 2 * i] = args[i] ?? 0;
    regs[3 + 2 * i] = 0;
  }
}

/**
 * The helper-call protocol both engines follow: helpers found by id (each looked up once), the
 * pc of the call in progress kept for `callChain`, and anything a helper throws but a fault made
 * a HELPER fault at that pc.
 */
export class HelperCaller {
  /** The pc of the helper call in progress (or the last one). */
  pc = 0;
  private readonly byId: (HelperFn | null | undefined)[] = [];

  constructor(private readonly helpers: HelperTable) {}

  /** The helper with uapi id `id`, or null. */
  lookup(id: number): HelperFn | null {
    const cacheable = id >= 0 && id < 0x10000;
    let fn = cacheable ? this.byId[id] : undefined;
    if (fn === undefined) {
      fn = this.helpers.lookup(id) ?? null;
      if (cacheable) this.byId[id] = fn;
    }
    return fn;
  }

  /** Call `fn` for the instruction at `pc`; its action (HELPER_CONTINUE, _STOP, _TAIL_CALL). */
  call(machine: HelperCall, fn: HelperFn, pc: number): number {
    this.pc = pc;
    try {
      return fn(machine);
    } catch (err) {
      if (err instanceof VmFault || err instanceof PcFault) throw err;
      const message = err instanceof Error ? err.message : String(err);
      throw new PcFault('HELPER', pc, message);
    }
  }

  /** `call imm`: helper `id`, an UNKNOWN_HELPER fault when there is none. */
  callById(machine: HelperCall, id: number, pc: number): number {
    const fn = this.lookup(id);
    if (fn === null) throw new PcFault('UNKNOWN_HELPER', pc, `no helper with id ${id}`);
    return this.call(machine, fn, pc);
  }

  /**
   * `callx` to a register (lo, hi) that holds no function of the program: the helper with that
   * id (what the conformance suite's callx test expects). HELPER_CONTINUE or HELPER_STOP; a
   * BAD_CALL fault when there is no such helper or it asks for a tail call.
   */
  callxHelper(machine: HelperCall, lo: number, hi: number, pc: number): number {
    const fn = hi === 0 ? this.lookup(lo) : null;
    if (fn === null) throw new PcFault('BAD_CALL', pc, `callx to ${pairToBigInt(lo, hi)}: neither a function of the program nor a helper`);
    const action = this.call(machine, fn, pc);
    if (action !== HELPER_CONTINUE && action !== HELPER_STOP) throw new PcFault('BAD_CALL', pc, 'a tail call through callx');
    return action;
  }
}
