/** The C source line of an instruction, from the object's line info. */
import { sourceLineAt } from '../spec/line-info.js';
import type { ProgramSpec } from '../spec/types.js';

/**
 * The line record covering `pc`: `{ at: 'file.c:34', text: 'return XDP_DROP;' }` — none for a
 * line-0 record (code the compiler made for no one statement).
 */
export function sourceLine(program: ProgramSpec, pc: number): { at: string; text: string } | undefined {
  const line = sourceLineAt(program, pc);
  if (line === undefined || /^[^:]*:0:/.test(line)) return undefined;
  const m = /^(.*?:\d+): ?(.*)$/.exec(line);
  return m ? { at: m[1], text: m[2] } : { at: line, text: '' };
}
