/**
 * ProgramImage: a program decoded once into flat typed arrays, the form both engines execute.
 *
 * Each slot gets an extended opcode (xop): the opcode byte, plus a variant in bits 8+ for the
 * instructions whose meaning also depends on off or imm (sdiv/smod, movsx, byte swaps,
 * atomics, call kinds). The interpreter's dispatch is one switch over xop.
 */
import type { DecodedProgram, Instruction } from '../isa/instruction.js';
import { ATOMIC_OPS, BPF_DIV, BPF_MOD, BPF_MOV, BPF_OP, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, OPCODES } from '../isa/opcodes.js';

/** Variant numbers (xop >> 8) for each opcode kind that has variants. */
export const XOP_SIGNED = 1; // sdiv / smod (off = 1)
export const xopMovsx = (off: number): number => (off === 8 ? 1 : off === 16 ? 2 : 3);
export const xopEnd = (imm: number): number => (imm === 16 ? 1 : imm === 32 ? 2 : 3);
export const xopAtomic = (imm: number): number => ATOMIC_OPS.findIndex(([op]) => op === imm) + 1;
export const XOP_CALL_HELPER = 0;
export const XOP_CALL_LOCAL = 1;
export const XOP_CALL_KFUNC = 2;
/** lddw of a function's address (BPF_PSEUDO_FUNC): the register gets its instruction index. */
export const XOP_LDDW_FUNC = 1;

export function xopOf(insn: Instruction): number {
  const { code, off, imm, src } = insn;
  const info = OPCODES[code]!;
  const op = BPF_OP(code);
  switch (info.kind) {
    case 'alu':
      if ((op === BPF_DIV || op === BPF_MOD) && off === 1) return code | (XOP_SIGNED << 8);
      if (op === BPF_MOV && info.usesSrcReg && off !== 0) return code | (xopMovsx(off) << 8);
      return code;
    case 'end':
      return code | (xopEnd(imm) << 8);
    case 'atomic':
      return code | (xopAtomic(imm) << 8);
    case 'call':
      return code | (src << 8);
    case 'lddw':
      return src === BPF_PSEUDO_FUNC ? code | (XOP_LDDW_FUNC << 8) : code;
    default:
      return code;
  }
}

export class ProgramImage {
  readonly slots: number;
  readonly xop: Int32Array;
  /** Register fields premultiplied by 2: the index of the register's low word in the file. */
  readonly dst2: Int32Array;
  readonly src2: Int32Array;
  readonly off: Int32Array;
  readonly imm: Int32Array;
  /** The instruction starting at each slot (undefined for an lddw's second slot). */
  readonly insnAt: (Instruction | undefined)[];
  /** Slots that start a function: 0, every local call target, every BPF_PSEUDO_FUNC target. */
  readonly functionStarts: Uint8Array;

  constructor(
    readonly name: string,
    readonly program: DecodedProgram,
  ) {
    const n = (this.slots = program.slots);
    this.xop = new Int32Array(n);
    this.dst2 = new Int32Array(n);
    this.src2 = new Int32Array(n);
    this.off = new Int32Array(n);
    this.imm = new Int32Array(n);
    this.insnAt = new Array(n).fill(undefined);
    this.functionStarts = new Uint8Array(n);
    this.functionStarts[0] = 1;
    program.insns.forEach((insn, i) => {
      const pc = program.pcs[i];
      this.xop[pc] = xopOf(insn);
      this.dst2[pc] = insn.dst * 2;
      // callx names its register in dst (or imm, as LLVM before 19 encoded it).
      this.src2[pc] = (insn.info.kind === 'callx' ? (insn.imm || insn.dst) : insn.src) * 2;
      this.off[pc] = insn.off;
      this.imm[pc] = insn.imm;
      this.insnAt[pc] = insn;
      if (insn.width === 2) this.imm[pc + 1] = insn.immHi;
      if (insn.info.kind === 'call' && insn.src === BPF_PSEUDO_CALL) this.functionStarts[pc + 1 + insn.imm] = 1;
      if (insn.info.kind === 'lddw' && insn.src === BPF_PSEUDO_FUNC) {
        const target = pc + 1 + insn.imm;
        if (target >= 0 && target < n) this.functionStarts[target] = 1;
      }
    });
  }
}
