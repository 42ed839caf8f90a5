/** The C source line of an instruction, from the object's line info. */
import type { ProgramSpec } from '../spec/types.js';

/** The nearest line record at or before `pc`: `{ at: 'file.c:34', text: 'return XDP_DROP;' }`. */
export function sourceLine(program: ProgramSpec, pc: number): { at: string; text: string } | undefined {
  for (let p = pc; p >= 0; p--) {
    const line = program.lineInfo.get(p);
    if (line === undefined) continue;
    const m = /^(.*?:\d+): ?(.*)$/.exec(line);
    return m ? { at: m[1], text: m[2] } : { at: line, text: '' };
  }
  return undefined;
}
