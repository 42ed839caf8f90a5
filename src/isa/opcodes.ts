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

/**
 * Every opcode byte of the ISA by name, composed from the fields as rbpf's ebpf.rs and
 * cilium/ebpf's asm.OpCode compose them (`ADD64_IMM = BPF_ALU64 | BPF_K | BPF_ADD`). OPCODES
 * below holds exactly these bytes (test/isa/opcodes.test.ts keeps the two equal).
 */
export const OPCODE = {
  // ALU64 and ALU (32-bit): dst op= imm (_IMM) or dst op= src (_REG)
  ADD64_IMM: BPF_ALU64 | BPF_K | BPF_ADD,
  ADD64_REG: BPF_ALU64 | BPF_X | BPF_ADD,
  SUB64_IMM: BPF_ALU64 | BPF_K | BPF_SUB,
  SUB64_REG: BPF_ALU64 | BPF_X | BPF_SUB,
  MUL64_IMM: BPF_ALU64 | BPF_K | BPF_MUL,
  MUL64_REG: BPF_ALU64 | BPF_X | BPF_MUL,
  DIV64_IMM: BPF_ALU64 | BPF_K | BPF_DIV,
  DIV64_REG: BPF_ALU64 | BPF_X | BPF_DIV,
  OR64_IMM: BPF_ALU64 | BPF_K | BPF_OR,
  OR64_REG: BPF_ALU64 | BPF_X | BPF_OR,
  AND64_IMM: BPF_ALU64 | BPF_K | BPF_AND,
  AND64_REG: BPF_ALU64 | BPF_X | BPF_AND,
  LSH64_IMM: BPF_ALU64 | BPF_K | BPF_LSH,
  LSH64_REG: BPF_ALU64 | BPF_X | BPF_LSH,
  RSH64_IMM: BPF_ALU64 | BPF_K | BPF_RSH,
  RSH64_REG: BPF_ALU64 | BPF_X | BPF_RSH,
  NEG64: BPF_ALU64 | BPF_K | BPF_NEG,
  MOD64_IMM: BPF_ALU64 | BPF_K | BPF_MOD,
  MOD64_REG: BPF_ALU64 | BPF_X | BPF_MOD,
  XOR64_IMM: BPF_ALU64 | BPF_K | BPF_XOR,
  XOR64_REG: BPF_ALU64 | BPF_X | BPF_XOR,
  MOV64_IMM: BPF_ALU64 | BPF_K | BPF_MOV,
  MOV64_REG: BPF_ALU64 | BPF_X | BPF_MOV,
  ARSH64_IMM: BPF_ALU64 | BPF_K | BPF_ARSH,
  ARSH64_REG: BPF_ALU64 | BPF_X | BPF_ARSH,
  ADD32_IMM: BPF_ALU | BPF_K | BPF_ADD,
  ADD32_REG: BPF_ALU | BPF_X | BPF_ADD,
  SUB32_IMM: BPF_ALU | BPF_K | BPF_SUB,
  SUB32_REG: BPF_ALU | BPF_X | BPF_SUB,
  MUL32_IMM: BPF_ALU | BPF_K | BPF_MUL,
  MUL32_REG: BPF_ALU | BPF_X | BPF_MUL,
  DIV32_IMM: BPF_ALU | BPF_K | BPF_DIV,
  DIV32_REG: BPF_ALU | BPF_X | BPF_DIV,
  OR32_IMM: BPF_ALU | BPF_K | BPF_OR,
  OR32_REG: BPF_ALU | BPF_X | BPF_OR,
  AND32_IMM: BPF_ALU | BPF_K | BPF_AND,
  AND32_REG: BPF_ALU | BPF_X | BPF_AND,
  LSH32_IMM: BPF_ALU | BPF_K | BPF_LSH,
  LSH32_REG: BPF_ALU | BPF_X | BPF_LSH,
  RSH32_IMM: BPF_ALU | BPF_K | BPF_RSH,
  RSH32_REG: BPF_ALU | BPF_X | BPF_RSH,
  NEG32: BPF_ALU | BPF_K | BPF_NEG,
  MOD32_IMM: BPF_ALU | BPF_K | BPF_MOD,
  MOD32_REG: BPF_ALU | BPF_X | BPF_MOD,
  XOR32_IMM: BPF_ALU | BPF_K | BPF_XOR,
  XOR32_REG: BPF_ALU | BPF_X | BPF_XOR,
  MOV32_IMM: BPF_ALU | BPF_K | BPF_MOV,
  MOV32_REG: BPF_ALU | BPF_X | BPF_MOV,
  ARSH32_IMM: BPF_ALU | BPF_K | BPF_ARSH,
  ARSH32_REG: BPF_ALU | BPF_X | BPF_ARSH,
  // byte order: le/be (the width in imm), bswap
  LE: BPF_ALU | BPF_END | BPF_TO_LE,
  BE: BPF_ALU | BPF_END | BPF_TO_BE,
  BSWAP: BPF_ALU64 | BPF_END | BPF_TO_LE,
  // jumps: JMP compares 64 bits, JMP32 the low words; JA32 is `gotol` (its offset in imm)
  JA: BPF_JMP | BPF_JA,
  JA32: BPF_JMP32 | BPF_JA,
  JEQ_IMM: BPF_JMP | BPF_K | BPF_JEQ,
  JEQ_REG: BPF_JMP | BPF_X | BPF_JEQ,
  JGT_IMM: BPF_JMP | BPF_K | BPF_JGT,
  JGT_REG: BPF_JMP | BPF_X | BPF_JGT,
  JGE_IMM: BPF_JMP | BPF_K | BPF_JGE,
  JGE_REG: BPF_JMP | BPF_X | BPF_JGE,
  JSET_IMM: BPF_JMP | BPF_K | BPF_JSET,
  JSET_REG: BPF_JMP | BPF_X | BPF_JSET,
  JNE_IMM: BPF_JMP | BPF_K | BPF_JNE,
  JNE_REG: BPF_JMP | BPF_X | BPF_JNE,
  JSGT_IMM: BPF_JMP | BPF_K | BPF_JSGT,
  JSGT_REG: BPF_JMP | BPF_X | BPF_JSGT,
  JSGE_IMM: BPF_JMP | BPF_K | BPF_JSGE,
  JSGE_REG: BPF_JMP | BPF_X | BPF_JSGE,
  JLT_IMM: BPF_JMP | BPF_K | BPF_JLT,
  JLT_REG: BPF_JMP | BPF_X | BPF_JLT,
  JLE_IMM: BPF_JMP | BPF_K | BPF_JLE,
  JLE_REG: BPF_JMP | BPF_X | BPF_JLE,
  JSLT_IMM: BPF_JMP | BPF_K | BPF_JSLT,
  JSLT_REG: BPF_JMP | BPF_X | BPF_JSLT,
  JSLE_IMM: BPF_JMP | BPF_K | BPF_JSLE,
  JSLE_REG: BPF_JMP | BPF_X | BPF_JSLE,
  JEQ32_IMM: BPF_JMP32 | BPF_K | BPF_JEQ,
  JEQ32_REG: BPF_JMP32 | BPF_X | BPF_JEQ,
  JGT32_IMM: BPF_JMP32 | BPF_K | BPF_JGT,
  JGT32_REG: BPF_JMP32 | BPF_X | BPF_JGT,
  JGE32_IMM: BPF_JMP32 | BPF_K | BPF_JGE,
  JGE32_REG: BPF_JMP32 | BPF_X | BPF_JGE,
  JSET32_IMM: BPF_JMP32 | BPF_K | BPF_JSET,
  JSET32_REG: BPF_JMP32 | BPF_X | BPF_JSET,
  JNE32_IMM: BPF_JMP32 | BPF_K | BPF_JNE,
  JNE32_REG: BPF_JMP32 | BPF_X | BPF_JNE,
  JSGT32_IMM: BPF_JMP32 | BPF_K | BPF_JSGT,
  JSGT32_REG: BPF_JMP32 | BPF_X | BPF_JSGT,
  JSGE32_IMM: BPF_JMP32 | BPF_K | BPF_JSGE,
  JSGE32_REG: BPF_JMP32 | BPF_X | BPF_JSGE,
  JLT32_IMM: BPF_JMP32 | BPF_K | BPF_JLT,
  JLT32_REG: BPF_JMP32 | BPF_X | BPF_JLT,
  JLE32_IMM: BPF_JMP32 | BPF_K | BPF_JLE,
  JLE32_REG: BPF_JMP32 | BPF_X | BPF_JLE,
  JSLT32_IMM: BPF_JMP32 | BPF_K | BPF_JSLT,
  JSLT32_REG: BPF_JMP32 | BPF_X | BPF_JSLT,
  JSLE32_IMM: BPF_JMP32 | BPF_K | BPF_JSLE,
  JSLE32_REG: BPF_JMP32 | BPF_X | BPF_JSLE,
  CALL: BPF_JMP | BPF_CALL,
  CALLX: BPF_JMP | BPF_CALL | BPF_X,
  EXIT: BPF_JMP | BPF_EXIT,
  // loads and stores
  LDDW: BPF_LD | BPF_IMM | BPF_DW,
  LD_ABS_W: BPF_LD | BPF_ABS | BPF_W,
  LD_ABS_H: BPF_LD | BPF_ABS | BPF_H,
  LD_ABS_B: BPF_LD | BPF_ABS | BPF_B,
  LD_IND_W: BPF_LD | BPF_IND | BPF_W,
  LD_IND_H: BPF_LD | BPF_IND | BPF_H,
  LD_IND_B: BPF_LD | BPF_IND | BPF_B,
  LDXW: BPF_LDX | BPF_MEM | BPF_W,
  LDXH: BPF_LDX | BPF_MEM | BPF_H,
  LDXB: BPF_LDX | BPF_MEM | BPF_B,
  LDXDW: BPF_LDX | BPF_MEM | BPF_DW,
  LDXSW: BPF_LDX | BPF_MEMSX | BPF_W,
  LDXSH: BPF_LDX | BPF_MEMSX | BPF_H,
  LDXSB: BPF_LDX | BPF_MEMSX | BPF_B,
  STW: BPF_ST | BPF_MEM | BPF_W,
  STH: BPF_ST | BPF_MEM | BPF_H,
  STB: BPF_ST | BPF_MEM | BPF_B,
  STDW: BPF_ST | BPF_MEM | BPF_DW,
  STXW: BPF_STX | BPF_MEM | BPF_W,
  STXH: BPF_STX | BPF_MEM | BPF_H,
  STXB: BPF_STX | BPF_MEM | BPF_B,
  STXDW: BPF_STX | BPF_MEM | BPF_DW,
  ATOMIC32: BPF_STX | BPF_ATOMIC | BPF_W,
  ATOMIC64: BPF_STX | BPF_ATOMIC | BPF_DW,
} as const;

export type OpcodeName = keyof typeof OPCODE;

/** OPCODE_NAMES[code]: the name of an opcode byte (undefined for a byte the ISA lacks). */
export const OPCODE_NAMES: ReadonlyArray<OpcodeName | undefined> = (() => {
  const names: (OpcodeName | undefined)[] = new Array(256).fill(undefined);
  for (const [name, code] of Object.entries(OPCODE) as [OpcodeName, number][]) names[code] = name;
  return names;
})();

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
