/**
 * VmFault: a program did something the machine will not do. It names the program, the pc,
 * the instruction (disassembled) and the reason, and is the only error either engine throws
 * while a program runs.
 */
import { XdplabError } from '../errors.js';
import type { Instruction } from '../isa/instruction.js';

/** Why a run stopped abnormally; stable, for tools and tests to match on. */
export const FAULT_REASONS = {
  MEMORY: 'invalid memory access',
  DIVIDE: 'division fault',
  UNKNOWN_HELPER: 'unknown helper',
  HELPER: 'helper failed',
  CALL_DEPTH: 'call stack too deep',
  BAD_CALL: 'invalid call target',
  KFUNC: 'kfunc calls are not supported',
  BUDGET: 'instruction budget exceeded',
  LEGACY_PACKET: 'legacy packet access without a socket buffer',
} as const;

export type FaultReason = keyof typeof FAULT_REASONS;

export class VmFault extends XdplabError {
  constructor(
    readonly reason: FaultReason,
    readonly program: string,
    readonly pc: number,
    /** The faulting instruction's disassembly. */
    readonly instruction: string,
    readonly detail: string,
    /** The C source line of the pc ("file.c:42: text"), when the object has line info. */
    readonly source?: string,
  ) {
    super('VM_FAULT', `program ${program}: pc ${pc} (${instruction}): ${FAULT_REASONS[reason]}: ${detail}${source ? `, in ${source}` : ''}`);
  }

  /** The same fault, naming the C source line of its pc. */
  withSource(source: string | undefined): VmFault {
    return source === undefined ? this : new VmFault(this.reason, this.program, this.pc, this.instruction, this.detail, source);
  }
}

export function formatFaultInstruction(insn: Instruction | undefined): string {
  return insn ? insn.toString() : '?';
}
