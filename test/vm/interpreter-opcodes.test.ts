/**
 * The interpreter's switch keeps literal cases for speed; each names its opcode in a comment
 * (`case 0x07: { // ADD64_IMM: add dst, imm`). Here every literal is held to the name beside it,
 * and the switch to the table: one case for every extended opcode XOP_INFO describes.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import * as opcodes from '../../src/isa/opcodes.js';
import { XOP, XOP_INFO } from '../../src/isa/xop.js';
import { repoRoot } from '../support/paths.js';

const named = (name: string): number | undefined =>
  name in XOP ? XOP[name as keyof typeof XOP] : (opcodes as unknown as Record<string, unknown>)[name] as number | undefined;

/** Each hex literal a line compares or switches on, with the name its comment gives it. */
function literals(file: string): { line: number; value: number; name: string | undefined }[] {
  const found: { line: number; value: number; name: string | undefined }[] = [];
  readFileSync(path.join(repoRoot, file), 'utf8').split('\n').forEach((text, i) => {
    const values = [...text.matchAll(/(?:case |=== |>= )(0x[0-9a-f]+)\b/g)].map((m) => Number(m[1]));
    if (values.length === 0) return;
    const comment = /\/\/ ([A-Z0-9_]+(?:, [A-Z0-9_]+)*)/.exec(text)?.[1]?.split(', ') ?? [];
    values.forEach((value, k) => found.push({ line: i + 1, value, name: comment[k] }));
  });
  return found;
}

describe('the interpreter\'s literal opcodes', () => {
  const cases = literals('src/vm/interpreter.ts');
  const all = [...cases, ...literals('src/vm/atomic.ts')];

  it('name, in a comment, an opcode that has that value', () => {
    const wrong = all.filter(({ value, name }) => name === undefined || named(name) !== value)
      .map(({ line, value, name }) => `line ${line}: 0x${value.toString(16)} is named ${name ?? 'nothing'}`);
    expect(wrong).toEqual([]);
    expect(all.length).toBeGreaterThan(150);
  });

  it('have a case for every extended opcode, and none for anything else', () => {
    const dispatched = cases.filter(({ name }) => name !== undefined && name in XOP).map(({ value }) => value);
    const described = XOP_INFO.flatMap((info) => (info ? [info.xop] : []));
    expect([...new Set(dispatched)].sort((a, b) => a - b)).toEqual(described.sort((a, b) => a - b));
  });
});
