/**
 * The 'llvm' disassembly syntax against the authority, llvm-objdump: a broad table of
 * instructions (every opcode of the table, in several shapes) is assembled with llvm-mc from
 * `.quad` words, disassembled with `llvm-objdump -d --no-show-raw-insn`, and compared line by
 * line. Instructions the LLVM at hand does not know (it prints `<unknown>`) are checked
 * against a hand-written table in the syntax of later LLVM releases instead.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleInstructions } from '../../src/isa/asm.js';
import { formatInstruction } from '../../src/isa/disasm.js';
import { Instruction, checkInstruction } from '../../src/isa/instruction.js';
import {
  ATOMIC_OPS, BPF_CLASS, BPF_DIV, BPF_JMP32, BPF_MOD, BPF_MOV, BPF_NEG, BPF_OP, BPF_PSEUDO_CALL,
  BPF_PSEUDO_KFUNC_CALL, MOVSX_OFFSETS_32, MOVSX_OFFSETS_64, OPCODES, type OpcodeInfo,
} from '../../src/isa/opcodes.js';
import { titled } from '../support/skip.js';

/** Instructions of one opcode in the shapes worth showing to llvm-objdump. */
function examples(info: OpcodeInfo): Instruction[] {
  const { code, kind, usesSrcReg, is64 } = info;
  const op = BPF_OP(code);
  const make = (dst: number, src: number, off: number, imm: number, immHi = 0): Instruction =>
    new Instruction(code, dst, src, off, imm, immHi);
  switch (kind) {
    case 'alu': {
      if (op === BPF_NEG) return [make(3, 0, 0, 0)];
      const base = usesSrcReg ? [make(1, 2, 0, 0), make(9, 0, 0, 0)] : [make(1, 0, 0, 5), make(9, 0, 0, -1), make(0, 0, 0, -2147483648)];
      if (op === BPF_DIV || op === BPF_MOD) base.push(usesSrcReg ? make(1, 2, 1, 0) : make(1, 0, 1, -3));
      if (op === BPF_MOV && usesSrcReg) for (const w of is64 ? MOVSX_OFFSETS_64 : MOVSX_OFFSETS_32) base.push(make(1, 2, w, 0));
      return base;
    }
    case 'end':
      return [16, 32, 64].map((w) => make(1, 0, 0, w));
    case 'ja':
      return BPF_CLASS(code) === BPF_JMP32 ? [make(0, 0, 0, 5), make(0, 0, 0, -70000)] : [make(0, 0, 5, 0), make(0, 0, -3, 0), make(0, 0, 0, 0)];
    case 'jcond':
      return usesSrcReg ? [make(1, 2, 5, 0), make(9, 0, -2, 0)] : [make(1, 0, 5, 3), make(4, 0, -1, -1), make(0, 0, 0, 0x7fffffff)];
    case 'call':
      return [make(0, 0, 0, 1), make(0, 0, 0, 12), make(0, BPF_PSEUDO_CALL, 0, 3), make(0, BPF_PSEUDO_CALL, 0, -2), make(0, BPF_PSEUDO_KFUNC_CALL, 0, 7)];
    case 'callx':
      return [make(0, 0, 0, 2), make(3, 0, 0, 0), make(0, 0, 0, 0)];
    case 'exit':
      return [make(0, 0, 0, 0)];
    case 'lddw':
      return [
        make(1, 0, 0, 0x55667788, 0x11223344), make(2, 0, 0, -1, -1), make(0, 0, 0, 0, 0), make(3, 0, 0, -2147483648, 0),
        make(4, 0, 0, -1, 0), make(5, 0, 0, 0, -2147483648), make(1, 1, 0, 3, 0), make(2, 2, 0, 4, 16),
        make(3, 4, 0, 0x7fffffff, 0), make(6, 6, 0, -1, 5),
      ];
    case 'ldabs':
      return [make(0, 0, 0, 12), make(0, 0, 0, -4)];
    case 'ldind':
      return [make(0, 1, 0, 4), make(0, 7, 0, 0)];
    case 'ldx':
    case 'ldxsx':
      return [make(1, 2, -8, 0), make(0, 10, 0, 0), make(9, 1, 32767, 0)];
    case 'st':
      return [make(1, 0, -8, -2), make(10, 0, 4, 0x12345678)];
    case 'stx':
      return [make(1, 2, 4, 0), make(10, 0, -32768, 0)];
    case 'atomic':
      return ATOMIC_OPS.map(([imm]) => make(1, 2, -8, imm));
  }
}

const TABLE = OPCODES.flatMap((info) => (info ? examples(info) : []));

/**
 * Which instructions the same hand-written row covers: the opcode, plus the fields that
 * change the syntax (off of alu: sdiv/smod/movsx; imm of end and atomics; callx's register field).
 */
function shape(insn: Instruction): string {
  const { kind } = insn.info;
  const detail = kind === 'alu' ? insn.off : kind === 'end' || kind === 'atomic' ? insn.imm : kind === 'callx' ? (insn.dst !== 0 ? 'dst' : 'imm') : '';
  return `0x${insn.code.toString(16)}/${detail}`;
}

/**
 * Instructions LLVM 14 takes for something else: it ignores the offset of sdiv/smod/movsx,
 * its XADDW decoder leaves the BPF_FETCH bit of imm free (a 32-bit fetch-add reads as a plain
 * `lock … +=`), and before LLVM 19 callx named its register in imm, not dst.
 */
function misreadByOldLlvm(insn: Instruction): boolean {
  const { kind, is64 } = insn.info;
  return (kind === 'alu' && insn.off !== 0) || (kind === 'atomic' && !is64 && insn.imm !== 0) || (kind === 'callx' && insn.dst !== 0);
}

/**
 * The instructions LLVM 14 prints as `<unknown>` or misreads, in the syntax of LLVM 18
 * (32-bit atomics as its alu32 decoder prints them): assembly → expected text.
 */
const LLVM_18_SYNTAX: ReadonlyArray<readonly [string, string]> = [
  ['stw [%r1-8], -2', '*(u32 *)(r1 - 8) = -2'],
  ['sth [%r10+4], 0x1234', '*(u16 *)(r10 + 4) = 4660'],
  ['stb [%r1+0], 255', '*(u8 *)(r1 + 0) = 255'],
  ['stdw [%r1-8], -2', '*(u64 *)(r1 - 8) = -2'],
  ['jset %r1, 3, +5', 'if r1 & 3 goto +5'],
  ['jset %r1, %r2, -1', 'if r1 & r2 goto -1'],
  ['jset32 %r1, -1, +5', 'if w1 & -1 goto +5'],
  ['jset32 %r9, %r0, +0', 'if w9 & w0 goto +0'],
  ['mod %r1, 3', 'r1 %= 3'],
  ['mod %r1, %r2', 'r1 %= r2'],
  ['mod32 %r1, -5', 'w1 %= -5'],
  ['mod32 %r1, %r2', 'w1 %= w2'],
  ['smod %r1, -3', 'r1 s%= -3'],
  ['smod %r1, %r2', 'r1 s%= r2'],
  ['smod32 %r1, 7', 'w1 s%= 7'],
  ['smod32 %r1, %r2', 'w1 s%= w2'],
  ['sdiv %r1, -3', 'r1 s/= -3'],
  ['sdiv %r1, %r2', 'r1 s/= r2'],
  ['sdiv32 %r1, 7', 'w1 s/= 7'],
  ['sdiv32 %r1, %r2', 'w1 s/= w2'],
  ['movsx864 %r1, %r2', 'r1 = (s8)r2'],
  ['movsx1664 %r1, %r2', 'r1 = (s16)r2'],
  ['movsx3264 %r1, %r2', 'r1 = (s32)r2'],
  ['movsx832 %r1, %r2', 'w1 = (s8)w2'],
  ['movsx1632 %r1, %r2', 'w1 = (s16)w2'],
  ['bswap16 %r1', 'r1 = bswap16 r1'],
  ['bswap32 %r1', 'r1 = bswap32 r1'],
  ['bswap64 %r1', 'r1 = bswap64 r1'],
  ['ja32 +5', 'gotol +5'],
  ['ja32 -70000', 'gotol -70000'],
  ['ldxsb %r1, [%r2+0]', 'r1 = *(s8 *)(r2 + 0)'],
  ['ldxsh %r1, [%r2-8]', 'r1 = *(s16 *)(r2 - 8)'],
  ['ldxsw %r9, [%r1+32767]', 'r9 = *(s32 *)(r1 + 32767)'],
  ['lock or32 [%r1-8], %r2', 'lock *(u32 *)(r1 - 8) |= w2'],
  ['lock and32 [%r1-8], %r2', 'lock *(u32 *)(r1 - 8) &= w2'],
  ['lock xor32 [%r1-8], %r2', 'lock *(u32 *)(r1 - 8) ^= w2'],
  ['lock fetch add32 [%r1-8], %r2', 'w2 = atomic_fetch_add((u32 *)(r1 - 8), w2)'],
  ['lock fetch or32 [%r1-8], %r2', 'w2 = atomic_fetch_or((u32 *)(r1 - 8), w2)'],
  ['lock fetch and32 [%r2+0], %r1', 'w1 = atomic_fetch_and((u32 *)(r2 + 0), w1)'],
  ['lock fetch xor32 [%r1-8], %r2', 'w2 = atomic_fetch_xor((u32 *)(r1 - 8), w2)'],
  ['lock xchg32 [%r1-8], %r2', 'w2 = xchg32_32(r1 - 8, w2)'],
  ['lock cmpxchg32 [%r1-8], %r2', 'w0 = cmpxchg32_32(r1 - 8, w0, w2)'],
  ['call %r3', 'callx r3'],
];
const handRows = LLVM_18_SYNTAX.map(([asm, text]) => ({ asm, text, insn: assembleInstructions(asm)[0] }));

describe('the llvm syntax of instructions newer than LLVM 14', () => {
  it.each(handRows)('$asm → $text', ({ insn, text }) => {
    checkInstruction(insn, 0);
    expect(formatInstruction(insn, 'llvm')).toBe(text);
  });
});

describe('the broad table', () => {
  it('has only valid instructions and covers every opcode', () => {
    TABLE.forEach((insn, i) => checkInstruction(insn, i));
    expect(new Set(TABLE.map((insn) => insn.code)).size).toBe(OPCODES.filter(Boolean).length);
  });
});

const haveLlvm = ['llvm-mc', 'llvm-objdump'].every((tool) => {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

/** One `.quad` a slot: the 64-bit little-endian word, low byte = opcode. */
function quads(insns: readonly Instruction[]): string {
  const lines: string[] = [];
  for (const insn of insns) {
    const view = new DataView(insn.encode().buffer);
    for (let at = 0; at < view.byteLength; at += 8) lines.push(`.quad 0x${view.getBigUint64(at, true).toString(16).padStart(16, '0')}`);
  }
  return lines.join('\n') + '\n';
}

/** llvm-objdump's text for each pc, without the ` <sym+0x..>` annotation of jumps. */
function llvmObjdump(insns: readonly Instruction[]): Map<number, string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'xdplab-llvm-'));
  try {
    const [source, object] = [path.join(dir, 'table.s'), path.join(dir, 'table.o')];
    writeFileSync(source, quads(insns));
    execFileSync('llvm-mc', ['-triple', 'bpfel', '-filetype=obj', source, '-o', object]);
    const out = execFileSync('llvm-objdump', ['-d', '--no-show-raw-insn', object], { encoding: 'utf8' });
    const byPc = new Map<number, string>();
    for (const line of out.split('\n')) {
      const m = /^\s*(\d+):\t(.*)$/.exec(line);
      // Not / <.*>$/: `if r1 < 3 goto +5 <.text+0x30>` has a `<` of its own.
      if (m) byPc.set(Number(m[1]), m[2].replace(/ <[^<>]*>$/, '').trimEnd());
    }
    return byPc;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.skipIf(!haveLlvm)(titled('the llvm syntax equals llvm-objdump -d --no-show-raw-insn', haveLlvm ? undefined : 'llvm-mc or llvm-objdump is not on PATH'), () => {
  const byPc = haveLlvm ? llvmObjdump(TABLE) : new Map<number, string>();
  let pc = 0;
  const rows = TABLE.map((insn) => {
    const row = { insn, pc, ours: formatInstruction(insn, 'llvm'), llvm: byPc.get(pc) ?? '(no line)' };
    pc += insn.width;
    return row;
  });
  const handShapes = new Set(handRows.map(({ insn }) => shape(insn)));
  const skipped = rows.filter(({ insn, ours, llvm }) => llvm === '<unknown>' || (misreadByOldLlvm(insn) && llvm !== ours));
  const compared = rows.filter((row) => !skipped.includes(row));

  it.each(compared)('pc $pc: $ours', ({ ours, llvm }) => {
    expect(ours).toBe(llvm);
  });

  it('every instruction it cannot check has a row in the LLVM 18 table', () => {
    expect(compared.length).toBeGreaterThan(200);
    expect(skipped.map(({ insn }) => shape(insn)).filter((s) => !handShapes.has(s))).toEqual([]);
  });
});
