/**
 * The C source line of an instruction. BTF line info records a line at the first instruction
 * it produced; the instructions after it, up to the next record, belong to the same line
 * (as bpftool and llvm-objdump --line-numbers read it) — never across a function's start.
 */
import type { Instruction } from '../isa/instruction.js';
import { OPCODES } from '../isa/opcodes.js';
import type { ProgramSpec } from './types.js';

export function sourceLineAt(spec: ProgramSpec, pc: number): string | undefined {
  for (let at = pc; at >= 0; at--) {
    const line = spec.lineInfo.get(at);
    if (line !== undefined) return line;
    if (spec.functions.has(at)) return undefined; // the function starts here, without a line
  }
  return undefined;
}

/** A line record of line 0: code the compiler made for no one statement (hoisted, shared). */
const isLineZero = (line: string): boolean => /^[^:]*:0:/.test(line);

/**
 * The C line of the instruction that made a program's return value (Engine.r0Pc). Compilers
 * hoist a constant out of its statement — `w7 = 1` just before the code of `return verdict(ctx,
 * …, XDP_DROP);` — and give it no line of its own (line 0, or none in BTF, which would read as
 * the line before it). So:
 * - the instruction's own line is the nearest record at or before it along the code that falls
 *   into it: walking back while the instruction before falls through (not across a `goto` or
 *   an exit, from which it cannot come);
 * - an instruction of line 0, or a constant load without a record of its own, takes the line
 *   of the statement that follows it in its straight run of code (for a constant, the one
 *   starting right after it) when that is not the function's closing brace;
 * - otherwise its own line, if it has one.
 */
export function decidingLineAt(spec: ProgramSpec, pc: number): string | undefined {
  const { at, before } = layoutOf(spec);
  let own: string | undefined;
  for (let p = pc; p >= 0; p = before.get(p) ?? -1) {
    own = spec.lineInfo.get(p);
    if (own !== undefined || spec.functions.has(p)) break;
    const prev = before.get(p);
    if (prev === undefined || !fallsThrough(at.get(prev)!.code)) break;
  }
  const zero = own !== undefined && isLineZero(own);
  const hoisted = !spec.lineInfo.has(pc) && isConstantLoad(at.get(pc));
  if (!zero && !hoisted) return own;
  return lineAfter(spec, at, pc, zero) ?? (zero ? undefined : own);
}

/** The first record after `pc` in its straight run (only the very next instruction's, unless `anywhere`). */
function lineAfter(spec: ProgramSpec, at: ReadonlyMap<number, Instruction>, pc: number, anywhere: boolean): string | undefined {
  for (let p = pc; ; ) {
    const insn = at.get(p);
    if (insn === undefined || (p > pc && spec.functions.has(p))) return undefined;
    if (p > pc) {
      const next = spec.lineInfo.get(p);
      if (next !== undefined && !isLineZero(next)) return isClosingBrace(next) ? undefined : next;
      if (!anywhere) return undefined;
    }
    if (endsStraightRun(insn.code)) return undefined; // the run ends here
    p += insn.width;
  }
}

/** A record of a function's closing brace: its epilogue, not a statement. */
const isClosingBrace = (line: string): boolean => /^[^:]*:\d+: }\s*$/.test(line);

const isConstantLoad = (insn: Instruction | undefined): boolean =>
  insn !== undefined && OPCODES[insn.code]?.kind === 'alu' && OPCODES[insn.code]!.name === 'mov' && !OPCODES[insn.code]!.usesSrcReg;

/** Jumps, calls and exits end a straight run of code. */
function endsStraightRun(code: number): boolean {
  const kind = OPCODES[code]?.kind;
  return kind === 'ja' || kind === 'jcond' || kind === 'call' || kind === 'callx' || kind === 'exit';
}

/** Whether control may go on to the next instruction (not after a `goto` or an exit). */
function fallsThrough(code: number): boolean {
  const kind = OPCODES[code]?.kind;
  return kind !== 'ja' && kind !== 'exit';
}

/** Each instruction by its pc, and the pc of the instruction before each, per program (worked out once). */
const layouts = new WeakMap<ProgramSpec, { at: Map<number, Instruction>; before: Map<number, number> }>();

function layoutOf(spec: ProgramSpec): { at: Map<number, Instruction>; before: Map<number, number> } {
  let layout = layouts.get(spec);
  if (layout) return layout;
  layout = { at: new Map(), before: new Map() };
  let pc = 0;
  for (const insn of spec.instructions) {
    layout.at.set(pc, insn);
    layout.before.set(pc + insn.width, pc);
    pc += insn.width;
  }
  layouts.set(spec, layout);
  return layout;
}
