/**
 * ProgramImage: a program decoded once into flat typed arrays, the form both engines execute.
 *
 * Each slot gets an extended opcode (xop): the opcode byte, or for the instructions whose
 * meaning also depends on off, imm or src (sdiv/smod, movsx, byte swaps, atomics, call kinds)
 * a number of its own from XOP. The interpreter's dispatch is one switch over xop.
 */
import type { DecodedProgram, Instruction } from '../isa/instruction.js';
import {
  ATOMIC_OPS, BPF_DIV, BPF_MOD, BPF_MOV, BPF_OP, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_KFUNC_CALL, OPCODES,
} from '../isa/opcodes.js';
import { ORIGIN_NONE, planOrigins, type OriginPlan } from './r0-origin.js';

/**
 * Extended opcodes of the variant forms, numbered densely from 0x100 so that the
 * interpreter's switch over 0x00..0x139 compiles to a jump table (V8 falls back to a binary
 * search over sparse case values). Plain forms keep their opcode byte as their xop.
 */
export const XOP = {
  SDIV64_K: 0x100, SDIV64_X: 0x101, SMOD64_K: 0x102, SMOD64_X: 0x103,
  SDIV32_K: 0x104, SDIV32_X: 0x105, SMOD32_K: 0x106, SMOD32_X: 0x107,
  MOVSX64_8: 0x108, MOVSX64_16: 0x109, MOVSX64_32: 0x10a, MOVSX32_8: 0x10b, MOVSX32_16: 0x10c,
  LE16: 0x10d, LE32: 0x10e, LE64: 0x10f, BE16: 0x110, BE32: 0x111, BE64: 0x112,
  BSWAP16: 0x113, BSWAP32: 0x114, BSWAP64: 0x115,
  CALL_LOCAL: 0x116, CALL_KFUNC: 0x117, LDDW_FUNC: 0x118,
  /** + index in ATOMIC_OPS (add, or, and, xor, fetch add/or/and/xor, xchg, cmpxchg). */
  ATOMIC32: 0x120,
  ATOMIC64: 0x130,
  /**
   * In the interpreter's dispatch only (ProgramImage.dispatch): an instruction that notes an
   * origin (r0-origin.ts) — note it, then run the instruction as its xop says.
   */
  ORIGIN_MARK: 0x13a,
} as const;

const SIGNED_DIVISION: Record<number, number> = {
  0x37: XOP.SDIV64_K, 0x3f: XOP.SDIV64_X, 0x97: XOP.SMOD64_K, 0x9f: XOP.SMOD64_X,
  0x34: XOP.SDIV32_K, 0x3c: XOP.SDIV32_X, 0x94: XOP.SMOD32_K, 0x9c: XOP.SMOD32_X,
};
const WIDTH_INDEX: Record<number, number> = { 8: 0, 16: 1, 32: 2, 64: 2 };

export function xopOf(insn: Instruction): number {
  const { code, off, imm, src } = insn;
  const info = OPCODES[code]!;
  const op = BPF_OP(code);
  switch (info.kind) {
    case 'alu':
      if ((op === BPF_DIV || op === BPF_MOD) && off === 1) return SIGNED_DIVISION[code];
      if (op === BPF_MOV && info.usesSrcReg && off !== 0) {
        return (info.is64 ? XOP.MOVSX64_8 : XOP.MOVSX32_8) + WIDTH_INDEX[off];
      }
      return code;
    case 'end': {
      const base = info.name === 'le' ? XOP.LE16 : info.name === 'be' ? XOP.BE16 : XOP.BSWAP16;
      return base + (imm === 16 ? 0 : imm === 32 ? 1 : 2);
    }
    case 'atomic':
      return (info.is64 ? XOP.ATOMIC64 : XOP.ATOMIC32) + ATOMIC_OPS.findIndex(([op]) => op === imm);
    case 'call':
      return src === BPF_PSEUDO_CALL ? XOP.CALL_LOCAL : src === BPF_PSEUDO_KFUNC_CALL ? XOP.CALL_KFUNC : code;
    case 'lddw':
      return src === BPF_PSEUDO_FUNC ? XOP.LDDW_FUNC : code;
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
  /** Which instructions note where r0's value came from (r0-origin.ts), for Engine.r0Pc. */
  readonly origins: OriginPlan;
  /** The interpreter's dispatch codes: xop, or XOP.ORIGIN_MARK where `origins` has work. */
  readonly dispatch: Int32Array;
  /** The JIT engine's instance of this image, last made (jit-engine.ts): a field, not a WeakMap lookup, on the run path. */
  jitInstance: unknown = undefined;

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
    });
    this.origins = planOrigins(n, program.insns, program.pcs);
    this.dispatch = this.xop.slice();
    for (let pc = 0; pc < n; pc++) if (this.origins.kind[pc] !== ORIGIN_NONE) this.dispatch[pc] = XOP.ORIGIN_MARK;
  }
}
