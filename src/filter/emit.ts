/**
 * A small emitter of BPF instructions with forward labels: jumps name a label, `place` puts it
 * at the next instruction, and `finish` resolves offsets (dropping `goto +0`s, jumps to the
 * very next instruction) and keeps each instruction's line-info column.
 */
import { XdplabError } from '../errors.js';
import { Instruction } from '../isa/instruction.js';
import { BPF_JA, BPF_JMP } from '../isa/opcodes.js';

export type Label = number;

interface Slot {
  insn: Instruction;
  /** The label a jump goes to. */
  target?: Label;
  /** Column of the expression this instruction starts (line info). */
  col?: number;
}

export interface Emitted {
  readonly insns: Instruction[];
  /** Line info: instruction index → column of the expression, for the instructions that start a test. */
  readonly cols: ReadonlyArray<readonly [number, number]>;
}

export class Emitter {
  private readonly slots: Slot[] = [];
  /** Label → index of the slot it stands before. */
  private readonly at = new Map<Label, number>();
  private labels = 0;
  private pendingCol: number | undefined;

  label(): Label {
    return this.labels++;
  }

  place(label: Label): void {
    this.at.set(label, this.slots.length);
  }

  /** The next instruction starts the test written at this column. */
  mark(col: number): void {
    this.pendingCol = col;
  }

  insn(code: number, dst: number, src: number, off: number, imm: number): void {
    this.push({ insn: new Instruction(code, dst, src, off, imm | 0) });
  }

  jump(code: number, dst: number, src: number, imm: number, target: Label): void {
    this.push({ insn: new Instruction(code, dst, src, 0, imm | 0), target });
  }

  goto(target: Label): void {
    this.jump(BPF_JMP | BPF_JA, 0, 0, 0, target);
  }

  private push(slot: Slot): void {
    if (this.pendingCol !== undefined) slot.col = this.pendingCol;
    this.pendingCol = undefined;
    this.slots.push(slot);
  }

  /** Resolve the jumps. */
  finish(): Emitted {
    const slots = this.dropJumpsToNext();
    const index = slots.map((_, i) => i);
    const labelAt = (label: Label): number => {
      const i = this.at.get(label);
      if (i === undefined) throw new XdplabError('INTERNAL', `filter: label ${label} was never placed`);
      return i;
    };
    const insns = slots.map((s, i) => {
      if (s.target === undefined) return s.insn;
      const off = index[labelAt(s.target)] - i - 1;
      if (off > 0x7fff) throw new XdplabError('UNSUPPORTED', 'filter: the program is too long for a 16-bit jump');
      const { code, dst, src, imm } = s.insn;
      return new Instruction(code, dst, src, off, imm);
    });
    const cols = slots.flatMap((s, i) => (s.col === undefined ? [] : [[i, s.col] as const]));
    return { insns, cols };
  }

  /** `goto L` where L is the next instruction: removed (labels past it move back), until none is left. */
  private dropJumpsToNext(): Slot[] {
    for (;;) {
      const i = this.slots.findIndex((s, k) => s.target !== undefined && s.insn.code === (BPF_JMP | BPF_JA) && this.at.get(s.target) === k + 1);
      if (i < 0) return this.slots;
      const col = this.slots[i].col;
      this.slots.splice(i, 1);
      if (col !== undefined && this.slots[i] && this.slots[i].col === undefined) this.slots[i].col = col;
      for (const [label, k] of this.at) if (k > i) this.at.set(label, k - 1);
    }
  }
}
