/**
 * The C source line of an instruction. BTF line info records a line at the first instruction
 * it produced; the instructions after it, up to the next record, belong to the same line
 * (as bpftool and llvm-objdump --line-numbers read it) — never across a function's start.
 */
import type { ProgramSpec } from './types.js';

export function sourceLineAt(spec: ProgramSpec, pc: number): string | undefined {
  for (let at = pc; at >= 0; at--) {
    const line = spec.lineInfo.get(at);
    if (line !== undefined) return line;
    if (spec.functions.has(at)) return undefined; // the function starts here, without a line
  }
  return undefined;
}
