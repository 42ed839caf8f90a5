import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { XdplabError } from '../../src/errors.js';
import { assemble, assembleInstructions } from '../../src/isa/asm.js';
import { conformanceDir, haveConformance, missingConformance } from '../support/conformance.js';
import { titled } from '../support/skip.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** The `-- asm` section of a .data file, read as the suite's README says. */
function asmSection(text: string): string {
  const lines: string[] = [];
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r/g, '').replace(/#.*/, '').trim();
    if (line === '') continue;
    if (line.includes('--')) section = line.slice(line.indexOf('--') + 2).trim();
    else if (section === 'asm') lines.push(line);
  }
  return lines.join('\n');
}

describe.skipIf(!haveConformance)(titled('the conformance suite assembles to its vectors', missingConformance), () => {
  const cases = haveConformance
    ? (JSON.parse(readFileSync(path.join(conformanceDir, 'vectors.json'), 'utf8')) as {
      tests: { test: string; program: string }[];
    }).tests
    : [];

  it('has a vector for every .data file', () => {
    const files = readdirSync(conformanceDir).filter((f) => f.endsWith('.data')).map((f) => f.slice(0, -5));
    expect(files.sort()).toEqual(cases.map((c) => c.test).sort());
  });

  it.each(cases)('$test', ({ test, program }) => {
    const source = asmSection(readFileSync(path.join(conformanceDir, `${test}.data`), 'utf8'));
    expect(hex(assemble(source))).toBe(program);
  });
});

/** One line of assembly → the bytes it must give, as hex. */
const LINES: ReadonlyArray<readonly [string, string]> = [
  ['mov %r1, 5', 'b701000005000000'],
  ['mov64 %r1, 5', 'b701000005000000'],
  ['mov32 %r1, -1', 'b4010000ffffffff'],
  ['mov %r1, %r2', 'bf21000000000000'],
  ['add32 %r0, 0xfffffffd', '04000000fdffffff'],
  ['and %r1, 0x80000000', '5701000000000080'],
  ['neg %r3', '8703000000000000'],
  ['neg32 %r3', '8403000000000000'],
  ['sdiv %r0, -4', '37000100fcffffff'],
  ['smod32 %r1, %r2', '9c21010000000000'],
  ['movsx832 %r1, %r2', 'bc21080000000000'],
  ['movsx1664 %r1, %r2', 'bf21100000000000'],
  ['movsx3264 %r1, %r2', 'bf21200000000000'],
  ['le16 %r1', 'd401000010000000'],
  ['be64 %r1', 'dc01000040000000'],
  ['bswap32 %r1', 'd701000020000000'],
  ['swap16 %r1', 'd701000010000000'],
  ['ja +3', '0500030000000000'],
  ['ja -1', '0500ffff00000000'],
  ['ja32 +70000', '0600000070110100'],
  ['jeq %r1, 0xb, +1', '150101000b000000'],
  ['jsle32 %r1, %r2, -2', 'de21feff00000000'],
  ['jset %r1, -1, +0', '45010000ffffffff'],
  ['call 5', '8500000005000000'],
  ['call local +9', '8510000009000000'],
  ['call kfunc 7', '8520000007000000'],
  ['call kfunc 7, 3', '8520030007000000'],
  ['call %r2', '8d02000000000000'],
  ['callx %r2', '8d00000002000000'],
  ['exit', '9500000000000000'],
  ['lddw %r1, 0x1122334455667788', '18010000887766550000000044332211'],
  ['lddw %r0, 2147483648', '18000000000000800000000000000000'],
  ['lddw %r0, -1', '18000000ffffffff00000000ffffffff'],
  ['lddw %r1, map_fd 3, 0', '18110000030000000000000000000000'],
  ['lddw %r2, map_value 4, 16', '18220000040000000000000010000000'],
  ['lddw %r2, map_idx_value 1, -1', '186200000100000000000000ffffffff'],
  ['ldabsw 12', '200000000c000000'],
  ['ldindh %r1, 4', '4810000004000000'],
  ['ldxw %r0, [%r1+4]', '6110040000000000'],
  ['ldxb %r0, [%r1+0x2]', '7110020000000000'],
  ['ldxdw %r0, [%r10-8]', '79a0f8ff00000000'],
  ['ldxh %r0, [%r1]', '6910000000000000'],
  ['ldxsh %r0, [%r10-2]', '89a0feff00000000'],
  ['stw [%r10-4], 0x80000001', '620afcff01000080'],
  ['stdw [%r1+2], -2', '7a010200feffffff'],
  ['stxb [%r1+32767], %r2', '7321ff7f00000000'],
  ['stxdw [%r1-32768], %r2', '7b21008000000000'],
  ['lock add [%r10-8], %r1', 'db1af8ff00000000'],
  ['lock add32 [%r10-8], %r1', 'c31af8ff00000000'],
  ['lock fetch xor32 [%r10-4], %r3', 'c33afcffa1000000'],
  ['lock   fetch   and [%r1+0], %r2', 'db21000051000000'],
  ['lock xchg [%r10-8], %r1', 'db1af8ffe1000000'],
  ['lock cmpxchg32 [%r10-8], %r1', 'c31af8fff1000000'],
  ['  MOV %r1 ,  %r2   # a comment', 'bf21000000000000'],
];

describe('assemble: one line', () => {
  it.each(LINES)('%s', (line, bytes) => {
    expect(hex(assemble(line))).toBe(bytes);
  });
});

describe('assemble: labels and programs', () => {
  it('resolves forward and backward labels, counting lddw as two slots', () => {
    const program = [
      'start:',
      '  lddw %r1, 1',
      '  jeq %r1, 1, done   # forward',
      '  ja start          # backward: over lddw',
      'done: mov %r0, 0',
      '  call local func',
      '  exit',
      'func:',
      '  exit',
    ].join('\n');
    const insns = assembleInstructions(program);
    expect(insns.map((i) => [i.off, i.imm])).toEqual([[0, 1], [1, 1], [-4, 0], [0, 0], [0, 1], [0, 0], [0, 0]]);
  });

  it('the first exit defines the label exit', () => {
    const insns = assembleInstructions('jeq %r1, 0, exit\nmov %r0, 1\nexit\nmov %r0, 2\nexit\njne %r1, 0, exit');
    expect(insns[0].off).toBe(1);
    expect(insns[5].off).toBe(-4);
  });

  it('ja32 keeps its offset in imm', () => {
    const [insn] = assembleInstructions('ja32 end\nmov %r0, 0\nend: exit');
    expect([insn.code, insn.off, insn.imm]).toEqual([0x06, 0, 1]);
  });

  it('accepts CRLF line ends and blank lines', () => {
    expect(hex(assemble('mov %r0, 1\r\n\r\n   \r\nexit\r\n'))).toBe('b7000000010000009500000000000000');
  });
});

/** Source → the exact error message (line:column: what). */
const ERRORS: ReadonlyArray<readonly [string, string]> = [
  ['mov %r0, 0\nfrob %r1, 2', "2:1: unknown mnemonic 'frob'"],
  ['  movv %r0, 0', "1:3: unknown mnemonic 'movv'"],
  ['mov %r11, 0', "1:5: bad register '%r11' (expected %r0 … %r10)"],
  ['mov r1, 0', "1:5: bad register 'r1' (expected %r0 … %r10)"],
  ['mov %r1, 2147483648', '1:10: immediate 2147483648 is out of range'],
  ['mov %r1, -2147483649', '1:10: immediate -2147483649 is out of range'],
  ['mov %r1, 0x100000000', '1:10: immediate 0x100000000 is out of range'],
  ['mov %r1, twelve', "1:10: bad immediate 'twelve'"],
  ['lddw %r1, 0x10000000000000000', '1:11: immediate 0x10000000000000000 is out of range'],
  ['ja nowhere', "1:4: unknown label 'nowhere'"],
  ['exit\njeq %r1, 0, missing', "2:13: unknown label 'missing'"],
  ['ja +32768', '1:4: jump offset 32768 does not fit in int16'],
  ['ldxw %r0, [%r1+32768]', '1:15: offset +32768 is out of range'],
  ['stxw [%r1-40000], %r2', '1:10: offset -40000 is out of range'],
  ['ldxw %r0, %r1', "1:11: bad memory operand '%r1' (expected [%rN], [%rN+off] or [%rN-off])"],
  ['ldxw %r0, [%r12+4]', "1:12: bad register '%r12' (expected %r0 … %r10)"],
  ['mov %r0', '1:1: mov takes 2 operands, got 1'],
  ['exit %r0', '1:1: exit takes 0 operands, got 1'],
  ['neg %r0, 1', '1:1: neg takes 1 operand, got 2'],
  ['jeq %r1, 0', '1:1: jeq takes 3 operands, got 2'],
  ['mov %r0, , 1', '1:10: missing operand'],
  ['movsx3232 %r1, %r2', "1:1: unknown mnemonic 'movsx3232'"],
  ['movsx832 %r1, 5', '1:15: movsx832 needs a register source'],
  ['neg %r1\nle16 %r1, %r2', '2:1: le16 takes 1 operand, got 2'],
  ['lock nand [%r1+0], %r2', "1:1: unknown atomic operation 'lock nand'"],
  ['x:\nx:', "2:1: label 'x' is already defined"],
  ['call local 5', "1:12: expected a label or +N/-N, got '5'"],
  ['lddw %r1, map_fd 3', '1:1: lddw takes 3 operands, got 2'],
  ['call kfunc 1, 40000', '1:15: offset 40000 is out of range'],
];

describe('assemble: errors name line and column', () => {
  it.each(ERRORS)('%j', (source, message) => {
    let caught: unknown;
    try {
      assemble(source);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(XdplabError);
    expect((caught as XdplabError).code).toBe('ASM_SYNTAX');
    expect((caught as XdplabError).message).toBe(message);
  });
});
