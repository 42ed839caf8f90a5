/**
 * ProgramImage: a program decoded once into flat typed arrays, the form both engines execute.
 *
 * Each slot gets its extended opcode (isa/xop.ts: the opcode byte, or for the instructions
 * whose meaning also depends on off, imm or src a number of its own). The interpreter's
 * dispatch is one switch over xop.
 */
import type { DecodedProgram, Instruction } from '../isa/instruction.js';
import { XOP, xopOf } from '../isa/xop.js';
import { ORIGIN_NONE, planOrigins, type OriginPlan } from './r0-origin.js';

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
  /** The loaded program this image is (runtime/program.ts's Program sets it); vm/ never reads it. */
  loaded: unknown = undefined;

  /**
   * @param proven when the verifier accepted the program, the instructions it reached (1 at
   *   their pc): each load and store among them was proven inside memory that allows it, on
   *   every path, so the JIT compiles it without the arena's access check — as the kernel's JIT
   *   trusts its verifier. Undefined (no proof): every access is checked.
   */
  constructor(
    readonly name: string,
    readonly program: DecodedProgram,
    readonly proven?: Uint8Array,
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
