/**
 * The one opcode table: OPCODE names every byte OPCODES describes, and XOP_INFO describes every
 * extended opcode an instruction decodes to, with the facts the table gives its opcode byte.
 */
import { describe, expect, it } from 'vitest';
import { Instruction } from '../../src/isa/instruction.js';
import {
  ATOMIC_OPS, BPF_DIV, BPF_MOD, BPF_MOV, BPF_OP, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_KFUNC_CALL, OPCODE, OPCODES,
  OPCODE_NAMES, type OpcodeName,
} from '../../src/isa/opcodes.js';
import { VARIANT_XOP, XOP, XOP_INFO, xopOf } from '../../src/isa/xop.js';

const CODES = OPCODES.flatMap((info) => (info ? [info.code] : []));

/** Every instruction form: each opcode with the off / imm / src values that change its meaning. */
function* forms(): Generator<Instruction> {
  for (const code of CODES) {
    const info = OPCODES[code]!;
    const op = BPF_OP(code);
    if (info.kind === 'end') for (const imm of [16, 32, 64]) yield new Instruction(code, 1, 0, 0, imm);
    else if (info.kind === 'atomic') for (const [imm] of ATOMIC_OPS) yield new Instruction(code, 1, 2, 0, imm);
    else if (info.kind === 'call') for (const src of [0, BPF_PSEUDO_CALL, BPF_PSEUDO_KFUNC_CALL]) yield new Instruction(code, 0, src, 0, 1);
    else if (info.kind === 'lddw') for (const src of [0, BPF_PSEUDO_FUNC]) yield new Instruction(code, 1, src, 0, 1);
    else if (info.kind === 'alu' && (op === BPF_DIV || op === BPF_MOD)) for (const off of [0, 1]) yield new Instruction(code, 1, 2, off, 3);
    else if (info.kind === 'alu' && op === BPF_MOV && info.usesSrcReg) {
      for (const off of info.is64 ? [0, 8, 16, 32] : [0, 8, 16]) yield new Instruction(code, 1, 2, off, 0);
    } else yield new Instruction(code, 1, info.usesSrcReg ? 2 : 0, 0, 0);
  }
}

describe('the opcode table', () => {
  it('names every opcode byte the ISA has, each once, composed from its fields', () => {
    const named = Object.values(OPCODE).sort((a, b) => a - b);
    expect(new Set(named).size).toBe(named.length);
    expect(named).toEqual(CODES);
    for (const code of CODES) expect(OPCODE[OPCODE_NAMES[code]!]).toBe(code);
    expect(OPCODE.ADD64_IMM).toBe(0x07);
    expect(OPCODE.JSLE32_REG).toBe(0xde);
    expect(OPCODE.LDDW).toBe(0x18);
    expect(OPCODE.CALLX).toBe(0x8d);
  });

  it('gives every instruction form an xop that XOP_INFO describes, the same facts as its opcode byte', () => {
    const seen = new Set<number>();
    for (const insn of forms()) {
      const xop = xopOf(insn);
      const info = XOP_INFO[xop];
      expect(info, `0x${insn.code.toString(16)} off ${insn.off} imm ${insn.imm} src ${insn.src}`).toBeDefined();
      const byte = OPCODES[insn.code]!;
      expect(info!.xop).toBe(xop);
      expect(XOP[info!.name]).toBe(xop);
      expect(info!.is64).toBe(byte.is64);
      expect(info!.usesSrcReg).toBe(byte.usesSrcReg);
      expect(info!.width).toBe(insn.width);
      expect(info!.variant).toBe(xop !== insn.code);
      if (byte.kind !== 'end') expect(info!.size).toBe(byte.size);
      if (!info!.variant) expect(info!.kind).toBe(byte.kind);
      seen.add(xop);
    }
    // ... and XOP_INFO describes nothing else.
    const described = XOP_INFO.flatMap((info) => (info ? [info.xop] : []));
    expect(described.sort((a, b) => a - b)).toEqual([...seen].sort((a, b) => a - b));
  });

  it('numbers the variant forms densely from 0x100, and keeps plain forms at their byte', () => {
    const marks: number[] = [VARIANT_XOP.ORIGIN_MARK, VARIANT_XOP.COVER_MARK];
    const variants = Object.values(VARIANT_XOP).filter((x) => !marks.includes(x)).sort((a, b) => a - b);
    expect(variants[0]).toBe(0x100);
    // The dispatch marks sort above every instruction's xop, the coverage mark last.
    expect(VARIANT_XOP.ORIGIN_MARK).toBe(Math.max(...variants) + 1);
    expect(VARIANT_XOP.COVER_MARK).toBe(VARIANT_XOP.ORIGIN_MARK + 1);
    for (const name of Object.keys(OPCODE) as OpcodeName[]) expect(XOP[name]).toBe(OPCODE[name]);
    expect(XOP_INFO[XOP.JA32]!.is64).toBe(false); // gotol: its offset in imm
    expect(XOP_INFO[XOP.ATOMIC64_CMPXCHG]).toMatchObject({ kind: 'atomic', size: 8, op: 9 });
    expect(XOP_INFO[XOP.LD_IND_H]).toMatchObject({ kind: 'ldind', size: 2, endsBlock: true });
    expect(XOP_INFO[XOP.BE32]).toMatchObject({ kind: 'end', size: 4 });
  });
});
