/**
 * Instruction and branch counts of the programs that ran, for coverage reports: how many times
 * each instruction executed, and for each conditional jump how many times it jumped and how
 * many times it fell through. Exact: the interpreter counts every instruction it executes when
 * an engine is given a Coverage (the JIT engine then runs programs through its interpreter);
 * without one nothing is counted and nothing costs — the interpreter's usual dispatch has no
 * mark to test.
 */
import { OPCODES } from '../isa/opcodes.js';
import { XOP } from '../isa/xop.js';
import type { ProgramImage } from './image.js';

/** The counts of one program image (a program with its subprograms). */
export class ImageCoverage {
  /** Executions of each instruction, by pc (the second slot of an lddw stays 0). */
  readonly counts: Float64Array;
  /** For a conditional jump at pc: the times it jumped. */
  readonly taken: Float64Array;
  /** For a conditional jump at pc: the times it fell through. */
  readonly notTaken: Float64Array;
  /** 1 where the instruction is a conditional jump. */
  readonly isBranch: Uint8Array;
  /** The interpreter's dispatch while counting: every instruction is a COVER_MARK. */
  readonly dispatch: Int32Array;

  constructor(readonly image: ProgramImage) {
    const n = image.slots;
    this.counts = new Float64Array(n);
    this.taken = new Float64Array(n);
    this.notTaken = new Float64Array(n);
    this.isBranch = new Uint8Array(n);
    this.dispatch = new Int32Array(n).fill(XOP.COVER_MARK);
    for (let pc = 0; pc < n; pc++) {
      const insn = image.insnAt[pc];
      if (insn && OPCODES[insn.code]?.kind === 'jcond') this.isBranch[pc] = 1;
    }
  }

  /**
   * The interpreter is at `pc`, having just run the conditional jump at `branchAt` (-1: none):
   * count the instruction and the side that jump took. Returns `pc` when it is itself a
   * conditional jump (whose side the next call tells), else -1.
   */
  count(pc: number, branchAt: number): number {
    if (branchAt >= 0) {
      if (pc === branchAt + 1) this.notTaken[branchAt]++;
      else this.taken[branchAt]++;
    }
    this.counts[pc]++;
    return this.isBranch[pc] ? pc : -1;
  }

  /** Add these counts into `to` (of the same image) and start again from zero. */
  moveInto(to: ImageCoverage): void {
    for (const [from, into] of [[this.counts, to.counts], [this.taken, to.taken], [this.notTaken, to.notTaken]] as const) {
      for (let pc = 0; pc < from.length; pc++) {
        if (from[pc] !== 0) {
          into[pc] += from[pc];
          from[pc] = 0;
        }
      }
    }
  }
}

/** The counts of every image that ran while it was given to an engine, and its runs added up. */
export class Coverage {
  private readonly images = new Map<ProgramImage, ImageCoverage>();

  /** The counts of `image`, made on its first run. */
  of(image: ProgramImage): ImageCoverage {
    let cover = this.images.get(image);
    if (!cover) this.images.set(image, (cover = new ImageCoverage(image)));
    return cover;
  }

  /** Every image that ran (or was registered with `of`), in that order. */
  get all(): ImageCoverage[] {
    return [...this.images.values()];
  }

  /** Add every count into `to` and start again from zero (coverage split by packet verdict). */
  moveInto(to: Coverage): void {
    for (const [image, cover] of this.images) cover.moveInto(to.of(image));
  }
}
