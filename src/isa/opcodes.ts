/**
 * The BPF instruction set (RFC 9669, plus the kernel's cpu v4 additions) as ONE table.
 *
 * Every consumer — decoder, encoder, validator, assembler, both disassembly syntaxes, the
 * interpreter and the JIT — reads this file; none of them keeps its own list of opcodes.
 * Constants keep their names from include/uapi/linux/bpf.h and bpf_common.h.
 */

// ---- instruction classes (code & 0x07) -------------------------------------------------
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ST = 0x02;
export const BPF_STX = 0x03;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_JMP32 = 0x06;
export const BPF_ALU64 = 0x07;

// ---- source (code & 0x08) ----------------------------------------------------------------
export const BPF_K = 0x00;
export const BPF_X = 0x08;
/** For BPF_END in class ALU: byte order to convert to. */
export const BPF_TO_LE = 0x00;
export const BPF_TO_BE = 0x08;

// ---- ALU operations (code & 0xf0) ------------------------------------------------------
export const BPF_ADD = 0x00;
export const BPF_SUB = 0x10;
export const BPF_MUL = 0x20;
export const BPF_DIV = 0x30;
export const BPF_OR = 0x40;
export const BPF_AND = 0x50;
export const BPF_LSH = 0x60;
export const BPF_RSH = 0x70;
export const BPF_NEG = 0x80;
export const BPF_MOD = 0x90;
export const BPF_XOR = 0xa0;
export const BPF_MOV = 0xb0;
export const BPF_ARSH = 0xc0;
export const BPF_END = 0xd0;

// ---- jump operations (code & 0xf0) -----------------------------------------------------
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_JNE = 0x50;
export const BPF_JSGT = 0x60;
export const BPF_JSGE = 0x70;
export const BPF_CALL = 0x80;
export const BPF_EXIT = 0x90;
export const BPF_JLT = 0xa0;
export const BPF_JLE = 0xb0;
export const BPF_JSLT = 0xc0;
export const BPF_JSLE = 0xd0;

// ---- memory size (code & 0x18) and mode (code & 0xe0) ----------------------------------
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_DW = 0x18;
export const BPF_IMM = 0x00;
export const BPF_ABS = 0x20;
export const BPF_IND = 0x40;
export const BPF_MEM = 0x60;
export const BPF_MEMSX = 0x80;
export const BPF_ATOMIC = 0xc0;

// ---- atomic operations (imm of BPF_STX | BPF_ATOMIC) -----------------------------------
export const BPF_FETCH = 0x01;
export const BPF_XCHG = 0xe0 | BPF_FETCH;
export const BPF_CMPXCHG = 0xf0 | BPF_FETCH;

// ---- src_reg values with a special meaning ---------------------------------------------
/** lddw src: how the 64-bit immediate is to be resolved by the loader. */
export const BPF_PSEUDO_MAP_FD = 1;
export const BPF_PSEUDO_MAP_VALUE = 2;
export const BPF_PSEUDO_BTF_ID = 3;
export const BPF_PSEUDO_FUNC = 4;
export const BPF_PSEUDO_MAP_IDX = 5;
export const BPF_PSEUDO_MAP_IDX_VALUE = 6;
/** call src: imm is a helper id (0), a pc-relative local call (1), or a kernel function (2). */
export const BPF_PSEUDO_CALL = 1;
export const BPF_PSEUDO_KFUNC_CALL = 2;

export const BPF_REG_0 = 0;
export const BPF_REG_FP = 10;
export const MAX_BPF_REG = 11;
/** Bytes of one stack frame (MAX_BPF_STACK). */
export const MAX_BPF_STACK = 512;
/** Nested local calls allowed (MAX_CALL_FRAMES). */
export const MAX_CALL_FRAMES = 8;

export const BPF_CLASS = (code: number): number => code & 0x07;
export const BPF_OP = (code: number): number => code & 0xf0;
export const BPF_SRC = (code: number): number => code & 0x08;
export const BPF_SIZE = (code: number): number => code & 0x18;
export const BPF_MODE = (code: number): number => code & 0xe0;

/** Bytes moved by a load or store of each BPF_SIZE, indexed by size >> 3. */
export const SIZE_BYTES = [4, 2, 1, 8] as const;
export const sizeBytes = (code: number): number => SIZE_BYTES[BPF_SIZE(code) >> 3];

/** What an opcode is, which decides how its fields are read and checked. */
export type OpcodeKind =
  | 'alu' // ALU / ALU64 arithmetic and logic, incl. neg and mov
  | 'end' // byte-order conversion (le/be) and bswap
  | 'ja' // unconditional jump (JMP: off; JMP32: imm, "gotol")
  | 'jcond' // conditional jump
  | 'call' // helper, local (src 1) or kfunc (src 2) call
  | 'callx' // indirect local call through a register
  | 'exit'
  | 'lddw' // 64-bit immediate load, two slots
  | 'ldabs' // legacy packet load at a constant offset
  | 'ldind' // legacy packet load at a register offset
  | 'ldx' // load from memory
  | 'ldxsx' // sign-extending load from memory
  | 'st' // store an immediate
  | 'stx' // store a register
  | 'atomic'; // atomic read-modify-write

/** Static facts about one opcode byte. */
export interface OpcodeInfo {
  readonly code: number;
  readonly kind: OpcodeKind;
  /** The operation's base name in the assembler syntax (add, jeq, ldxw, …); variants append. */
  readonly name: string;
  /** True for ALU64 and JMP (64-bit operands), false for ALU and JMP32. */
  readonly is64: boolean;
  /** True when the second operand is a register (BPF_X). */
  readonly usesSrcReg: boolean;
  /** Bytes accessed, for memory instructions. */
  readonly size: number;
}

const ALU_OPS: ReadonlyArray<readonly [number, string]> = [
  [BPF_ADD, 'add'], [BPF_SUB, 'sub'], [BPF_MUL, 'mul'], [BPF_DIV, 'div'], [BPF_OR, 'or'],
  [BPF_AND, 'and'], [BPF_LSH, 'lsh'], [BPF_RSH, 'rsh'], [BPF_NEG, 'neg'], [BPF_MOD, 'mod'],
  [BPF_XOR, 'xor'], [BPF_MOV, 'mov'], [BPF_ARSH, 'arsh'],
];

export const JCOND_OPS: ReadonlyArray<readonly [number, string]> = [
  [BPF_JEQ, 'jeq'], [BPF_JGT, 'jgt'], [BPF_JGE, 'jge'], [BPF_JSET, 'jset'], [BPF_JNE, 'jne'],
  [BPF_JSGT, 'jsgt'], [BPF_JSGE, 'jsge'], [BPF_JLT, 'jlt'], [BPF_JLE, 'jle'], [BPF_JSLT, 'jslt'],
  [BPF_JSLE, 'jsle'],
];

const SIZE_SUFFIX: Record<number, string> = { [BPF_W]: 'w', [BPF_H]: 'h', [BPF_B]: 'b', [BPF_DW]: 'dw' };

function buildOpcodeTable(): ReadonlyArray<OpcodeInfo | undefined> {
  const table: (OpcodeInfo | undefined)[] = new Array(256).fill(undefined);
  const add = (code: number, kind: OpcodeKind, name: string, is64: boolean, usesSrcReg: boolean, size = 0): void => {
    table[code] = { code, kind, name, is64, usesSrcReg, size };
  };

  for (const cls of [BPF_ALU, BPF_ALU64]) {
    const is64 = cls === BPF_ALU64;
    for (const [op, name] of ALU_OPS) {
      add(cls | op | BPF_K, 'alu', name, is64, false);
      // The kernel rejects BPF_NEG | BPF_X: neg has one operand.
      if (op !== BPF_NEG) add(cls | op | BPF_X, 'alu', name, is64, true);
    }
  }
  add(BPF_ALU | BPF_END | BPF_TO_LE, 'end', 'le', false, false);
  add(BPF_ALU | BPF_END | BPF_TO_BE, 'end', 'be', false, false);
  add(BPF_ALU64 | BPF_END | BPF_TO_LE, 'end', 'bswap', true, false);

  for (const cls of [BPF_JMP, BPF_JMP32]) {
    const is64 = cls === BPF_JMP;
    for (const [op, name] of JCOND_OPS) {
      add(cls | op | BPF_K, 'jcond', name, is64, false);
      add(cls | op | BPF_X, 'jcond', name, is64, true);
    }
    add(cls | BPF_JA, 'ja', 'ja', is64, false);
  }
  add(BPF_JMP | BPF_CALL, 'call', 'call', true, false);
  add(BPF_JMP | BPF_CALL | BPF_X, 'callx', 'callx', true, true);
  add(BPF_JMP | BPF_EXIT, 'exit', 'exit', true, false);

  add(BPF_LD | BPF_IMM | BPF_DW, 'lddw', 'lddw', true, false, 8);
  for (const size of [BPF_W, BPF_H, BPF_B]) {
    const bytes = sizeBytes(size);
    add(BPF_LD | BPF_ABS | size, 'ldabs', 'ldabs' + SIZE_SUFFIX[size], true, false, bytes);
    add(BPF_LD | BPF_IND | size, 'ldind', 'ldind' + SIZE_SUFFIX[size], true, true, bytes);
    add(BPF_LDX | BPF_MEMSX | size, 'ldxsx', 'ldxs' + SIZE_SUFFIX[size], true, true, bytes);
  }
  for (const size of [BPF_W, BPF_H, BPF_B, BPF_DW]) {
    const bytes = sizeBytes(size);
    add(BPF_LDX | BPF_MEM | size, 'ldx', 'ldx' + SIZE_SUFFIX[size], true, true, bytes);
    add(BPF_ST | BPF_MEM | size, 'st', 'st' + SIZE_SUFFIX[size], true, false, bytes);
    add(BPF_STX | BPF_MEM | size, 'stx', 'stx' + SIZE_SUFFIX[size], true, true, bytes);
  }
  add(BPF_STX | BPF_ATOMIC | BPF_W, 'atomic', 'lock', false, true, 4);
  add(BPF_STX | BPF_ATOMIC | BPF_DW, 'atomic', 'lock', true, true, 8);
  return table;
}

/** The 256-slot table, built once: OPCODES[code] is undefined for an opcode the ISA lacks. */
export const OPCODES: ReadonlyArray<OpcodeInfo | undefined> = buildOpcodeTable();

/** The atomic operations an atomic instruction's imm may name. */
export const ATOMIC_OPS: ReadonlyArray<readonly [number, string]> = [
  [BPF_ADD, 'add'], [BPF_OR, 'or'], [BPF_AND, 'and'], [BPF_XOR, 'xor'],
  [BPF_ADD | BPF_FETCH, 'fetch add'], [BPF_OR | BPF_FETCH, 'fetch or'],
  [BPF_AND | BPF_FETCH, 'fetch and'], [BPF_XOR | BPF_FETCH, 'fetch xor'],
  [BPF_XCHG, 'xchg'], [BPF_CMPXCHG, 'cmpxchg'],
];
export const isAtomicOp = (imm: number): boolean => ATOMIC_OPS.some(([op]) => op === imm);

/** Offsets an ALU MOV X may carry: 0 is mov, 8/16/32 sign-extend the source (movsx). */
export const MOVSX_OFFSETS_64 = [8, 16, 32] as const;
export const MOVSX_OFFSETS_32 = [8, 16] as const;
