/**
 * Extended opcodes (xops): the one number per instruction form that both engines dispatch on.
 *
 * An xop is the opcode byte itself (`XOP.ADD64_IMM` is `OPCODE.ADD64_IMM`, 0x07), or — for the
 * instructions whose meaning also depends on off, imm or src (sdiv/smod, movsx, the byte-order
 * widths, atomic operations, call kinds, lddw of a function) — a number of its own, dense from
 * 0x100 so that the interpreter's switch over 0x00..0x13a compiles to a jump table (V8 falls back
 * to a binary search over sparse case values).
 *
 * `XOP_INFO[xop]` describes each xop an instruction can decode to — its kind, width, operand
 * source, the bytes it accesses, the slots it takes — so that compile-time code (the JIT's
 * control flow and lowering) asks the table instead of decoding opcode bits again.
 */
import type { Instruction } from './instruction.js';
import {
  ATOMIC_OPS, BPF_ALU64, BPF_CLASS, BPF_DIV, BPF_JMP, BPF_MOD, BPF_MOV, BPF_OP, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC,
  BPF_PSEUDO_KFUNC_CALL, OPCODE, OPCODES, type OpcodeKind,
} from './opcodes.js';

/** The xops of the variant forms, numbered densely from 0x100. */
export const VARIANT_XOP = {
  SDIV64_IMM: 0x100, SDIV64_REG: 0x101, SMOD64_IMM: 0x102, SMOD64_REG: 0x103,
  SDIV32_IMM: 0x104, SDIV32_REG: 0x105, SMOD32_IMM: 0x106, SMOD32_REG: 0x107,
  MOVSX64_8: 0x108, MOVSX64_16: 0x109, MOVSX64_32: 0x10a, MOVSX32_8: 0x10b, MOVSX32_16: 0x10c,
  LE16: 0x10d, LE32: 0x10e, LE64: 0x10f, BE16: 0x110, BE32: 0x111, BE64: 0x112,
  BSWAP16: 0x113, BSWAP32: 0x114, BSWAP64: 0x115,
  /** call with src BPF_PSEUDO_CALL: a local function, pc-relative. */
  CALL_LOCAL: 0x116,
  /** call with src BPF_PSEUDO_KFUNC_CALL: a kernel function. */
  CALL_KFUNC: 0x117,
  /** lddw with src BPF_PSEUDO_FUNC: the instruction index of a function. */
  LDDW_FUNC: 0x118,
  // BPF_STX | BPF_ATOMIC, by the operation in imm (ATOMIC_OPS order)
  ATOMIC32_ADD: 0x120, ATOMIC32_OR: 0x121, ATOMIC32_AND: 0x122, ATOMIC32_XOR: 0x123,
  ATOMIC32_FETCH_ADD: 0x124, ATOMIC32_FETCH_OR: 0x125, ATOMIC32_FETCH_AND: 0x126, ATOMIC32_FETCH_XOR: 0x127,
  ATOMIC32_XCHG: 0x128, ATOMIC32_CMPXCHG: 0x129,
  ATOMIC64_ADD: 0x130, ATOMIC64_OR: 0x131, ATOMIC64_AND: 0x132, ATOMIC64_XOR: 0x133,
  ATOMIC64_FETCH_ADD: 0x134, ATOMIC64_FETCH_OR: 0x135, ATOMIC64_FETCH_AND: 0x136, ATOMIC64_FETCH_XOR: 0x137,
  ATOMIC64_XCHG: 0x138, ATOMIC64_CMPXCHG: 0x139,
  /**
   * In the interpreter's dispatch only (ProgramImage.dispatch): an instruction that notes an
   * origin (vm/r0-origin.ts) — note it, then run the instruction as its xop says.
   */
  ORIGIN_MARK: 0x13a,
  /**
   * In the interpreter's coverage dispatch only (vm/coverage.ts): count the instruction (and
   * the side a conditional jump before it took), then run it as ProgramImage.dispatch says.
   */
  COVER_MARK: 0x13b,
} as const;

/** Every xop by name: the opcode bytes (OPCODE) and the variant forms. */
export const XOP = { ...OPCODE, ...VARIANT_XOP } as const;
export type XopName = keyof typeof XOP;

/**
 * What an xop is. The opcode kinds, with the call and lddw forms told apart: `call` is a helper
 * call, `call_local` a bpf-to-bpf call, `kfunc` a kernel function call, `lddw_func` a function's
 * address.
 */
export type XopKind = Exclude<OpcodeKind, 'call'> | 'call' | 'call_local' | 'kfunc' | 'lddw_func';

/** Static facts about one xop. */
export interface XopInfo {
  readonly xop: number;
  readonly name: XopName;
  readonly kind: XopKind;
  /** ALU64 / JMP (64-bit operands) as opposed to ALU / JMP32; the 64-bit atomics. */
  readonly is64: boolean;
  /** The second operand is a register (BPF_X), or the register a load/store/atomic reads. */
  readonly usesSrcReg: boolean;
  /** Bytes a memory access moves; for `end`, the width converted (2, 4, 8); else 0. */
  readonly size: number;
  /** BPF_OP of the opcode (alu, jcond); for atomics, the operation's index in ATOMIC_OPS. */
  readonly op: number;
  /** Slots the instruction takes: 2 for lddw, else 1. */
  readonly width: number;
  /** Whether a run may leave the straight line here: jumps, calls, exit, LD_ABS / LD_IND. */
  readonly endsBlock: boolean;
  /** A variant form: an xop of its own, not the opcode byte. */
  readonly variant: boolean;
}

const WIDTH_INDEX: Record<number, number> = { 8: 0, 16: 1, 32: 2, 64: 2 };

function buildXopTable(): ReadonlyArray<XopInfo | undefined> {
  const table: (XopInfo | undefined)[] = [];
  const add = (name: XopName, kind: XopKind, base: number, over: Partial<XopInfo> = {}): void => {
    const info = OPCODES[base]!;
    const xop = XOP[name];
    const endsBlock = ['ja', 'jcond', 'call', 'call_local', 'kfunc', 'callx', 'exit', 'ldabs', 'ldind'].includes(kind);
    table[xop] = {
      xop, name, kind, is64: info.is64, usesSrcReg: info.usesSrcReg, size: info.size, op: BPF_OP(base),
      width: kind === 'lddw' || kind === 'lddw_func' ? 2 : 1, endsBlock, variant: xop !== base, ...over,
    };
  };
  // The opcode bytes that are xops of their own (the byte-order and atomic bytes never are).
  for (const [name, code] of Object.entries(OPCODE) as [keyof typeof OPCODE, number][]) {
    const kind = OPCODES[code]!.kind;
    if (kind !== 'end' && kind !== 'atomic') add(name, kind, code);
  }
  for (const [name, base] of [
    ['SDIV64_IMM', OPCODE.DIV64_IMM], ['SDIV64_REG', OPCODE.DIV64_REG], ['SMOD64_IMM', OPCODE.MOD64_IMM], ['SMOD64_REG', OPCODE.MOD64_REG],
    ['SDIV32_IMM', OPCODE.DIV32_IMM], ['SDIV32_REG', OPCODE.DIV32_REG], ['SMOD32_IMM', OPCODE.MOD32_IMM], ['SMOD32_REG', OPCODE.MOD32_REG],
    ['MOVSX64_8', OPCODE.MOV64_REG], ['MOVSX64_16', OPCODE.MOV64_REG], ['MOVSX64_32', OPCODE.MOV64_REG],
    ['MOVSX32_8', OPCODE.MOV32_REG], ['MOVSX32_16', OPCODE.MOV32_REG],
  ] as const) add(name, 'alu', base);
  for (const [prefix, base] of [['LE', OPCODE.LE], ['BE', OPCODE.BE], ['BSWAP', OPCODE.BSWAP]] as const) {
    for (const bits of [16, 32, 64] as const) add(`${prefix}${bits}`, 'end', base, { size: bits / 8 });
  }
  add('CALL_LOCAL', 'call_local', OPCODE.CALL);
  add('CALL_KFUNC', 'kfunc', OPCODE.CALL);
  add('LDDW_FUNC', 'lddw_func', OPCODE.LDDW);
  ATOMIC_OPS.forEach(([, text], i) => {
    const op = text.toUpperCase().replace(' ', '_');
    add(`ATOMIC32_${op}` as XopName, 'atomic', OPCODE.ATOMIC32, { op: i });
    add(`ATOMIC64_${op}` as XopName, 'atomic', OPCODE.ATOMIC64, { op: i });
  });
  return table;
}

/** XOP_INFO[xop]: undefined for a number no instruction decodes to (and for ORIGIN_MARK, COVER_MARK). */
export const XOP_INFO: ReadonlyArray<XopInfo | undefined> = buildXopTable();

/** The xop of an instruction (a valid one: its opcode is in OPCODES). */
export function xopOf(insn: Instruction): number {
  const { code, off, imm, src } = insn;
  const info = OPCODES[code]!;
  const op = BPF_OP(code);
  const wide = BPF_CLASS(code) === BPF_ALU64 || BPF_CLASS(code) === BPF_JMP;
  switch (info.kind) {
    case 'alu':
      if ((op === BPF_DIV || op === BPF_MOD) && off === 1) {
        const signed = op === BPF_DIV ? (wide ? XOP.SDIV64_IMM : XOP.SDIV32_IMM) : wide ? XOP.SMOD64_IMM : XOP.SMOD32_IMM;
        return signed + (info.usesSrcReg ? 1 : 0);
      }
      if (op === BPF_MOV && info.usesSrcReg && off !== 0) return (wide ? XOP.MOVSX64_8 : XOP.MOVSX32_8) + WIDTH_INDEX[off];
      return code;
    case 'end': {
      const base = code === OPCODE.LE ? XOP.LE16 : code === OPCODE.BE ? XOP.BE16 : XOP.BSWAP16;
      return base + (imm === 16 ? 0 : imm === 32 ? 1 : 2);
    }
    case 'atomic':
      return (info.is64 ? XOP.ATOMIC64_ADD : XOP.ATOMIC32_ADD) + ATOMIC_OPS.findIndex(([atomicOp]) => atomicOp === imm);
    case 'call':
      return src === BPF_PSEUDO_CALL ? XOP.CALL_LOCAL : src === BPF_PSEUDO_KFUNC_CALL ? XOP.CALL_KFUNC : code;
    case 'lddw':
      return src === BPF_PSEUDO_FUNC ? XOP.LDDW_FUNC : code;
    default:
      return code;
  }
}
