/**
 * A small emitter of BPF instructions with forward labels: jumps name a label, `place` puts it
 * at the next instruction, and `finish` resolves offsets after simple clean-ups (a `goto` to the
 * next instruction dropped, `if c goto +1; goto L` made `if !c goto L`, unreachable code
 * dropped) and keeps each instruction's line-info column.
 */
import { XdplabError } from '../errors.js';
import { Instruction } from '../isa/instruction.js';
import { BPF_EXIT, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JLE, BPF_JLT, BPF_JMP, BPF_JNE, BPF_OP } from '../isa/opcodes.js';

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
  /**
   * Bytes of packet the path reaching the next instruction has checked against data_end (the
   * verifier's range of the data pointer there): the least over the jumps to a label and the
   * fall-through into it; Infinity after a goto, until a label (all jumps go forward).
   */
  private known = 0;
  private readonly knownAt = new Map<Label, number>();

  label(): Label {
    return this.labels++;
  }

  place(label: Label): void {
    this.at.set(label, this.slots.length);
    this.known = Math.min(this.known, this.knownAt.get(label) ?? Infinity);
    if (this.known === Infinity) this.known = 0;
  }

  /** The path goes on only if its first `bytes` bytes are in the packet. */
  checked(bytes: number): void {
    this.known = Math.max(this.known, bytes);
  }

  /** Whether the path here has already checked the first `bytes` bytes. */
  proven(bytes: number): boolean {
    return bytes <= this.known;
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
    this.knownAt.set(target, Math.min(this.knownAt.get(target) ?? Infinity, this.known));
  }

  goto(target: Label): void {
    this.jump(BPF_JMP | BPF_JA, 0, 0, 0, target);
    this.known = Infinity;
  }

  private push(slot: Slot): void {
    if (this.pendingCol !== undefined) slot.col = this.pendingCol;
    this.pendingCol = undefined;
    this.slots.push(slot);
  }

  /** Resolve the jumps, after the clean-ups below (until none applies). */
  finish(): Emitted {
    while (this.dropJumpsToNext() || this.invertBranches() || this.dropUnreachable());
    const slots = this.slots;
    const labelAt = (label: Label): number => {
      const i = this.at.get(label);
      if (i === undefined) throw new XdplabError('INTERNAL', `filter: label ${label} was never placed`);
      return i;
    };
    const insns = slots.map((s, i) => {
      if (s.target === undefined) return s.insn;
      const off = labelAt(s.target) - i - 1;
      if (off > 0x7fff) throw new XdplabError('UNSUPPORTED', 'filter: the program is too long for a 16-bit jump');
      const { code, dst, src, imm } = s.insn;
      return new Instruction(code, dst, src, off, imm);
    });
    const cols = slots.flatMap((s, i) => (s.col === undefined ? [] : [[i, s.col] as const]));
    return { insns, cols };
  }

  /** Remove slot i: labels at or past it move back one; its column goes to the next instruction. */
  private remove(i: number): void {
    const col = this.slots[i].col;
    this.slots.splice(i, 1);
    if (col !== undefined && this.slots[i] && this.slots[i].col === undefined) this.slots[i].col = col;
    for (const [label, k] of this.at) if (k > i) this.at.set(label, k - 1);
  }

  private isGoto = (s: Slot): boolean => s.target !== undefined && s.insn.code === (BPF_JMP | BPF_JA);

  /** `goto L` where L is the next instruction. */
  private dropJumpsToNext(): boolean {
    const i = this.slots.findIndex((s, k) => this.isGoto(s) && this.at.get(s.target!) === k + 1);
    if (i < 0) return false;
    this.remove(i);
    return true;
  }

  /** `if c goto L1; goto L2; L1:` becomes `if !c goto L2` (when nothing else jumps to the goto). */
  private invertBranches(): boolean {
    const targets = new Set(this.at.values());
    const i = this.slots.findIndex((s, k) => {
      const next = this.slots[k + 1];
      return s.target !== undefined && !this.isGoto(s) && INVERSE[BPF_OP(s.insn.code)] !== undefined && next !== undefined
        && this.isGoto(next) && !targets.has(k + 1) && this.at.get(s.target) === k + 2;
    });
    if (i < 0) return false;
    const { code, dst, src, off, imm } = this.slots[i].insn;
    this.slots[i].insn = new Instruction((code & ~0xf0) | INVERSE[BPF_OP(code)]!, dst, src, off, imm);
    this.slots[i].target = this.slots[i + 1].target;
    this.remove(i + 1);
    return true;
  }

  /** Instructions no path reaches (the kernel refuses a program with any). */
  private dropUnreachable(): boolean {
    const reached = new Array<boolean>(this.slots.length).fill(false);
    const work = [0];
    while (work.length) {
      const i = work.pop()!;
      if (i >= this.slots.length || reached[i]) continue;
      reached[i] = true;
      const s = this.slots[i];
      if (s.target !== undefined) work.push(this.at.get(s.target)!);
      if (!this.isGoto(s) && s.insn.code !== (BPF_JMP | BPF_EXIT)) work.push(i + 1);
    }
    const dead = reached.lastIndexOf(false);
    if (dead < 0) return false;
    this.remove(dead);
    return true;
  }
}

/** Conditional jumps and their negations. */
const INVERSE: Readonly<Record<number, number | undefined>> = {
  [BPF_JEQ]: BPF_JNE, [BPF_JNE]: BPF_JEQ, [BPF_JGT]: BPF_JLE, [BPF_JLE]: BPF_JGT, [BPF_JGE]: BPF_JLT, [BPF_JLT]: BPF_JGE,
};
