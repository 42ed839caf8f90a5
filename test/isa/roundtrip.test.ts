import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { XdplabError } from '../../src/errors.js';
import { assemble } from '../../src/isa/asm.js';
import { formatInstruction } from '../../src/isa/disasm.js';
import { Instruction, checkInstruction, decodeProgram, encodeProgram } from '../../src/isa/instruction.js';
import { ATOMIC_OPS, BPF_CLASS, BPF_JMP32, BPF_PSEUDO_CALL, OPCODES } from '../../src/isa/opcodes.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const fields = (insn: Instruction) => ({ code: insn.code, dst: insn.dst, src: insn.src, off: insn.off, imm: insn.imm, immHi: insn.immHi });
const CODES = OPCODES.flatMap((info) => (info ? [info.code] : []));
const LDDW = CODES.find((code) => OPCODES[code]!.kind === 'lddw')!;

function isValid(insn: Instruction): boolean {
  try {
    checkInstruction(insn, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Field values: mostly 0 (most opcodes reserve most fields), else values the ISA gives a
 * meaning to (widths, movsx sizes, atomic ops), else anything. About half the records
 * generated this way are valid instructions, across all opcodes.
 */
const zeroOr = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | 0> =>
  fc.oneof({ arbitrary: fc.constant(0 as const), weight: 2 }, { arbitrary, weight: 1 });
const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const reg = zeroOr(fc.integer({ min: 0, max: 10 }));
const off = zeroOr(fc.oneof(fc.constantFrom(1, 8, 16, 32), fc.integer({ min: -32768, max: 32767 })));
const imm = zeroOr(fc.oneof(fc.constantFrom(16, 32, 64, ...ATOMIC_OPS.map(([op]) => op)), fc.integer({ min: 0, max: 10 }), int32));
const rawInstruction = fc
  .record({ code: fc.constantFrom(...CODES), dst: reg, src: reg, off, imm, immHi: int32 })
  .map((f) => new Instruction(f.code, f.dst, f.src, f.off, f.imm, f.code === LDDW ? f.immHi : 0));
/** A random instruction that checkInstruction accepts. */
const validInstruction = rawInstruction.filter(isValid);

/** Where a branch keeps its target: jumps in off, gotol and local calls in imm. */
function branchField(insn: Instruction): 'off' | 'imm' | undefined {
  const { kind } = insn.info;
  if (kind === 'jcond') return 'off';
  if (kind === 'ja') return BPF_CLASS(insn.code) === BPF_JMP32 ? 'imm' : 'off';
  if (kind === 'call' && insn.src === BPF_PSEUDO_CALL) return 'imm';
  return undefined;
}

/** A valid program: random instructions, branches aimed at instruction starts, then exit. */
const validProgram = fc
  .array(fc.tuple(validInstruction, fc.nat()), { minLength: 1, maxLength: 12 })
  .map((pairs) => {
    const insns = [...pairs.map(([insn]) => insn), new Instruction(0x95, 0, 0, 0, 0)];
    const pcs: number[] = [];
    let pc = 0;
    for (const insn of insns) {
      pcs.push(pc);
      pc += insn.width;
    }
    return insns.map((insn, i) => {
      const field = i < pairs.length ? branchField(insn) : undefined;
      if (!field) return insn;
      const rel = pcs[pairs[i][1] % pcs.length] - (pcs[i] + 1);
      const f = { ...fields(insn), [field]: rel };
      return new Instruction(f.code, f.dst, f.src, f.off, f.imm, f.immHi);
    });
  });

describe('round trips of valid instructions', () => {
  it('assemble(format(insn, "asm")) gives back the bytes of every valid instruction', () => {
    fc.assert(
      fc.property(validInstruction, (insn) => {
        expect(hex(assemble(formatInstruction(insn, 'asm')))).toBe(hex(insn.encode()));
      }),
      { numRuns: 2000 },
    );
  });

  it('encode → decode is the identity, and the asm listing assembles to the same bytes', () => {
    fc.assert(
      fc.property(validProgram, (insns) => {
        const bytes = encodeProgram(insns);
        const decoded = decodeProgram(bytes);
        expect(decoded.insns.map(fields)).toEqual(insns.map(fields));
        const listing = decoded.insns.map((insn) => insn.toString('asm')).join('\n');
        expect(hex(assemble(listing))).toBe(hex(bytes));
      }),
      { numRuns: 300 },
    );
  });

  it('every opcode of the table has valid instructions that round-trip', () => {
    const values = { dst: [0, 1], src: [0, 1, 2, 5], off: [0, 1, 8, 16, -8], imm: [0, 16, 7, -1, ...ATOMIC_OPS.map(([op]) => op)] };
    for (const code of CODES) {
      let found = 0;
      for (const dst of values.dst) for (const src of values.src) for (const o of values.off) for (const i of values.imm) {
        const insn = new Instruction(code, dst, src, o, i, code === LDDW ? -7 : 0);
        if (found >= 4 || !isValid(insn)) continue;
        found++;
        expect(hex(assemble(insn.toString('asm'))), insn.toString('asm')).toBe(hex(insn.encode()));
      }
      expect(found, `opcode 0x${code.toString(16)}`).toBeGreaterThan(0);
    }
  });
});

/** Bytes (as assembly or hex) that decoding must reject, and the message it must give. */
const REJECTS: ReadonlyArray<readonly [string, { asm?: string; hex?: string }, string]> = [
  ['unknown opcode', { hex: 'b700000000000000' + '0e00000000000000' + '9500000000000000' }, 'pc 1: unknown opcode 0x0e'],
  ['reserved imm of exit', { hex: 'b700000000000000' + '9500000001000000' }, 'pc 1: exit uses reserved fields (src, dst, off and imm must be 0)'],
  ['reserved src of an immediate mov', { hex: 'b710000001000000' + '9500000000000000' }, 'pc 0: mov uses reserved fields (src must be 0)'],
  ['bad offset of mov', { hex: 'bf21030000000000' + '9500000000000000' }, 'pc 0: mov has an invalid offset 3'],
  ['bad width of le', { hex: 'b700000000000000' + 'd401000008000000' + '9500000000000000' }, 'pc 1: le has an invalid width 8 (16, 32 or 64)'],
  ['truncated lddw', { hex: 'b700000000000000' + '1801000001000000' }, 'pc 1: invalid BPF_LD_IMM insn: lddw is truncated (its second slot is missing)'],
  ['lddw with a bad second slot', { hex: '18010000010000009500000000000000' + '9500000000000000' }, 'pc 0: invalid BPF_LD_IMM insn: the second slot of lddw must have zero code, registers and offset'],
  ['jump out of range', { asm: 'mov %r0, 0\nja +5\nexit' }, 'pc 1: jump out of range from insn 1 to 7'],
  ['jump before the start', { asm: 'mov %r0, 0\njeq %r0, 0, -3\nexit' }, 'pc 1: jump out of range from insn 1 to -1'],
  ['jump into the middle of lddw', { asm: 'ja +1\nlddw %r1, 5\nexit' }, 'pc 0: jump into the middle of ldimm64 insn 1'],
  ['local call into the middle of lddw', { asm: 'call local +1\nlddw %r1, 5\nexit' }, 'pc 0: call into the middle of ldimm64 insn 1'],
  ['write to r10', { asm: 'mov %r0, 0\nlddw %r1, 1\nmov %r10, 1\nexit' }, 'pc 3: frame pointer is read only'],
  ['fetch into r10', { asm: 'lock fetch add [%r1+0], %r10\nexit' }, 'pc 0: frame pointer is read only'],
  ['invalid atomic op', { hex: 'db21000002000000' + '9500000000000000' }, 'pc 0: BPF_ATOMIC uses invalid atomic opcode 0x2'],
  ['last insn falls through', { asm: 'exit\nmov %r0, 0' }, 'pc 1: last insn is not an exit or jmp'],
];

describe('decodeProgram rejects, naming the pc', () => {
  it.each(REJECTS)('%s', (_, source, message) => {
    const bytes = source.asm !== undefined ? assemble(source.asm) : Uint8Array.from(Buffer.from(source.hex!, 'hex'));
    let caught: unknown;
    try {
      decodeProgram(bytes);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(XdplabError);
    expect((caught as XdplabError).code).toBe('BAD_INSTRUCTION');
    expect((caught as XdplabError).message).toBe(message);
  });

  it('rejects an empty program and a length that is not a multiple of 8', () => {
    expect(() => decodeProgram(new Uint8Array(0))).toThrow('empty program');
    expect(() => decodeProgram(new Uint8Array(12))).toThrow('program length 12 is not a multiple of 8 bytes');
  });
});
