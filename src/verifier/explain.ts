/**
 * The explanation of a refusal, in plain words, before the kernel's log: what kind of mistake
 * it is, why the verifier cannot accept it, where (the C line and the instruction), the few
 * instructions that led to the bad state (a backward slice of the failing path, as PREVAIL
 * explains its refusals), and what to change.
 *
 * The failing path is read from the level-1 log (the kernel keeps only that path at level 1);
 * the slice follows the registers and stack slots the failing instruction used back to where
 * they got their values, and keeps the comparisons that narrowed them.
 */
import {
  BPF_ALU, BPF_ALU64, BPF_CALL, BPF_CLASS, BPF_EXIT, BPF_JA, BPF_JMP, BPF_JMP32, BPF_LD, BPF_LDX, BPF_MOV, BPF_OP, BPF_SRC,
  BPF_ST, BPF_STX, BPF_X,
} from '../isa/opcodes.js';
import type { ProgramSpec } from '../spec/types.js';
import type { Insn } from './kernel-disasm.js';
import { kernelInsnString } from './kernel-disasm.js';
import { GENERIC_REFUSAL, REFUSAL_KINDS } from './refusal-kinds.js';
import { sourceLine } from './source-line.js';
import type { VerifierResult } from './verify.js';

export interface SliceStep {
  pc: number;
  /** The instruction in the kernel's syntax. */
  insn: string;
  /** `file.c:12` and its text, when the object has line info. */
  line?: string;
  source?: string;
  /** Why this instruction is in the slice. */
  note: string;
}

export interface Explanation {
  /** A short name of the kind of mistake: "unchecked packet access". */
  category: string;
  /** Why the verifier refuses it, in plain words. */
  reason: string;
  /** Where: the failing instruction, and its C line. */
  at: SliceStep;
  /** The instructions, in program order, that made the state the failing one saw. */
  causalPath: SliceStep[];
  /** What to change. */
  suggestion: string;
}

/** The pcs of the failing path, in order, from a level-1 log (each `N: (xx) insn` line). */
export function failingPath(log: string): number[] {
  const out: number[] = [];
  for (const m of log.matchAll(/^(\d+): \([0-9a-f]{2}\)/gm)) out.push(Number(m[1]));
  return out;
}

/** The registers an instruction reads, and the one it writes (register numbers; -1 for none). */
function useDef(insn: Insn): { use: number[]; def: number } {
  const cls = BPF_CLASS(insn.code);
  const x = BPF_SRC(insn.code) === BPF_X;
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64:
      if (BPF_OP(insn.code) === BPF_MOV) return { use: x ? [insn.src] : [], def: insn.dst };
      return { use: x ? [insn.dst, insn.src] : [insn.dst], def: insn.dst };
    case BPF_LDX:
      return { use: [insn.src], def: insn.dst };
    case BPF_LD:
      return { use: [], def: insn.dst };
    case BPF_ST:
      return { use: [insn.dst], def: -1 };
    case BPF_STX:
      return { use: [insn.dst, insn.src], def: -1 };
    case BPF_JMP:
    case BPF_JMP32:
      if (BPF_OP(insn.code) === BPF_CALL) return { use: [1, 2, 3, 4, 5], def: 0 };
      if (BPF_OP(insn.code) === BPF_EXIT) return { use: [0], def: -1 };
      if (BPF_OP(insn.code) === BPF_JA) return { use: [], def: -1 };
      return { use: x ? [insn.dst, insn.src] : [insn.dst], def: -1 };
  }
  return { use: [], def: -1 };
}

/** Stack slot (fp offset) an r10-relative load or store touches. */
const stackSlot = (insn: Insn, base: number): number | undefined => (base === 10 ? insn.off : undefined);

/**
 * The backward slice: instructions on the path that gave the registers in `start` their values
 * at the failing instruction, and the comparisons that narrowed them.
 */
function backwardSlice(insns: readonly Insn[], path: readonly number[], start: readonly number[], limit = 10): { pc: number; note: string }[] {
  const regs = new Set(start.filter((r) => r !== 10));
  const slots = new Set<number>();
  const out: { pc: number; note: string }[] = [];
  for (let k = path.length - 2; k >= 0 && out.length < limit && (regs.size || slots.size); k--) {
    const pc = path[k];
    const insn = insns[pc];
    const { use, def } = useDef(insn);
    const cls = BPF_CLASS(insn.code);
    if (cls === BPF_STX || cls === BPF_ST) {
      const slot = stackSlot(insn, insn.dst);
      if (slot !== undefined && slots.has(slot)) {
        slots.delete(slot);
        if (cls === BPF_STX) regs.add(insn.src);
        out.push({ pc, note: `stores the value read back from fp${slot}` });
      }
      continue;
    }
    if ((cls === BPF_JMP || cls === BPF_JMP32) && BPF_OP(insn.code) !== BPF_CALL && BPF_OP(insn.code) !== BPF_EXIT) {
      if (use.some((r) => regs.has(r))) out.push({ pc, note: 'the comparison this path passed, which set what is known of it' });
      continue;
    }
    if (def < 0 || !regs.has(def)) continue;
    regs.delete(def);
    if (cls === BPF_LDX && stackSlot(insn, insn.src) !== undefined) slots.add(insn.off);
    else for (const r of use) if (r !== 10) regs.add(r);
    out.push({ pc, note: cls === BPF_JMP ? `R0 = the helper's result` : `sets R${def}` });
  }
  return out.reverse();
}

function step(program: ProgramSpec, insns: readonly Insn[], pc: number, note: string): SliceStep {
  const line = sourceLine(program, pc);
  return { pc, insn: kernelInsnString(insns[pc], insns[pc + 1]), line: line?.at, source: line?.text, note };
}

/**
 * The packet bounds checks the failing path passed (comparisons with data_end, read from the
 * log's state after each): a packet pointer's proved range comes from one of them through any
 * copy of the pointer, so the slice of registers alone can miss it.
 */
function addBoundsChecks(slice: { pc: number; note: string }[], log: string, path: readonly number[]): void {
  const order = new Map(path.map((pc, k) => [pc, k]));
  for (const m of log.matchAll(/^(\d+): \([0-9a-f]{2}\) if [^;\n]*;([^\n]*pkt_end[^\n]*)$/gm)) {
    const pc = Number(m[1]);
    if (slice.some((s) => s.pc === pc)) continue;
    const ranges = [...m[2].matchAll(/\br=(\d+)/g)].map((r) => Number(r[1]));
    const proved = ranges.length ? ` (after it, ${Math.max(...ranges)} byte(s) are proved inside the packet)` : '';
    slice.push({ pc, note: `the check against data_end this path passed${proved}` });
  }
  slice.sort((a, b) => (order.get(a.pc) ?? a.pc) - (order.get(b.pc) ?? b.pc));
}

/** Explain a refusal. `insns` are the program's slots; `log` a level-1 log of the same verification. */
export function explain(result: VerifierResult, program: ProgramSpec, insns: readonly Insn[], log: string): Explanation | undefined {
  if (result.accepted || result.error === undefined || result.pc === undefined) return undefined;
  const error = result.error;
  const rule = REFUSAL_KINDS.find((r) => r.match.test(error)) ?? GENERIC_REFUSAL;
  const m = error.match(rule.match) ?? ([] as unknown as RegExpMatchArray);
  const pc = result.pc;
  const path = failingPath(log);
  const atFailure = path.length && path[path.length - 1] === pc ? path : [...path, pc];
  // The register the message names, else every register the instruction reads.
  const named = /R(\d+)/.exec(error);
  const start = named ? [Number(named[1])] : pc < insns.length ? useDef(insns[pc]).use : [];
  const slice = pc < insns.length ? backwardSlice(insns, atFailure, start) : [];
  if (rule.category === 'unchecked packet access') addBoundsChecks(slice, log, atFailure);
  return {
    category: rule.category,
    reason: rule.reason(m),
    at: step(program, insns, Math.min(pc, insns.length - 1), error),
    causalPath: slice.map((s) => step(program, insns, s.pc, s.note)),
    suggestion: rule.suggestion(m),
  };
}

/** The explanation as text, for a terminal. */
export function formatExplanation(e: Explanation): string {
  const where = (s: SliceStep): string => `${s.line ? `${s.line}: ${s.source ?? ''}`.trimEnd() + '\n      ' : ''}${s.pc}: ${s.insn}`;
  const lines = [
    `${e.category}: ${e.reason}`,
    `  At: ${where(e.at)}`,
  ];
  if (e.causalPath.length) {
    lines.push('  Because:');
    for (const s of e.causalPath) lines.push(`    ${s.line ? `${s.line}: ${(s.source ?? '').trim()}  ` : ''}[${s.pc}: ${s.insn}] ${s.note}`);
  }
  lines.push(`  Fix: ${e.suggestion}`);
  return lines.join('\n');
}
