/**
 * Disassembly in two syntaxes:
 * - 'llvm': the C-like syntax of `llvm-objdump -d` and the kernel's verifier log
 *   (`r1 = *(u32 *)(r1 + 4)`, `if r2 >= r3 goto +13`, `r1 = 0 ll`). Where llvm-objdump knows
 *   an instruction, the text is exactly what it prints with its default (non-alu32) decoder;
 *   for instructions newer than the LLVM at hand, the syntax of later LLVM releases. Where
 *   LLVM 14 misreads an instruction (it ignores the offset of sdiv/smod/movsx, takes a 32-bit
 *   fetch-add for a plain add, reads callx's register from imm), the text is what it means,
 *   in LLVM 18's syntax. test/isa/disasm-llvm.test.ts checks all this against llvm-objdump.
 * - 'asm': the assembler syntax of the conformance suite (`ldxw %r0, [%r1+4]`), which
 *   `assemble` reads back to the same bytes.
 */
import type { Instruction } from './instruction.js';
import {
  BPF_ADD, BPF_AND, BPF_ARSH, BPF_CLASS, BPF_CMPXCHG, BPF_DIV, BPF_FETCH, BPF_JMP32, BPF_LSH, BPF_MOD,
  BPF_MOV, BPF_MUL, BPF_NEG, BPF_OP, BPF_OR, BPF_PSEUDO_CALL, BPF_PSEUDO_KFUNC_CALL, BPF_RSH, BPF_SUB,
  BPF_SRC, BPF_XCHG, BPF_XOR, BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT, BPF_JSGE,
  BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE, OPCODES,
} from './opcodes.js';

export type Syntax = 'llvm' | 'asm';

/** The lddw src values and the names the assembler syntax gives them. */
export const LDDW_PSEUDO_NAMES = ['', 'map_fd', 'map_value', 'btf_id', 'func', 'map_idx', 'map_idx_value'] as const;

const ALU_LLVM_OPERATORS: Record<number, string> = {
  [BPF_ADD]: '+=', [BPF_SUB]: '-=', [BPF_MUL]: '*=', [BPF_DIV]: '/=', [BPF_OR]: '|=', [BPF_AND]: '&=',
  [BPF_LSH]: '<<=', [BPF_RSH]: '>>=', [BPF_MOD]: '%=', [BPF_XOR]: '^=', [BPF_MOV]: '=', [BPF_ARSH]: 's>>=',
};

export const JUMP_LLVM_OPERATORS: Record<number, string> = {
  [BPF_JEQ]: '==', [BPF_JGT]: '>', [BPF_JGE]: '>=', [BPF_JSET]: '&', [BPF_JNE]: '!=', [BPF_JSGT]: 's>',
  [BPF_JSGE]: 's>=', [BPF_JLT]: '<', [BPF_JLE]: '<=', [BPF_JSLT]: 's<', [BPF_JSLE]: 's<=',
};

const ATOMIC_LLVM_OPERATORS: Record<number, string> = { [BPF_ADD]: '+=', [BPF_OR]: '|=', [BPF_AND]: '&=', [BPF_XOR]: '^=' };
const ATOMIC_FETCH_NAMES: Record<number, string> = { [BPF_ADD]: 'add', [BPF_OR]: 'or', [BPF_AND]: 'and', [BPF_XOR]: 'xor' };

const signed = (n: number): string => (n < 0 ? `- ${-n}` : `+ ${n}`);
const relative = (n: number): string => (n < 0 ? `${n}` : `+${n}`);
const asmOffset = (n: number): string => (n < 0 ? `${n}` : `+${n}`);

export function formatInstruction(insn: Instruction, syntax: Syntax): string {
  const info = OPCODES[insn.code];
  if (!info) return `<unknown opcode 0x${insn.code.toString(16)}>`;
  return syntax === 'llvm' ? formatLlvm(insn) : formatAsm(insn);
}

// ---- llvm-objdump syntax ---------------------------------------------------------------

function formatLlvm(insn: Instruction): string {
  const info = insn.info;
  const { dst, src, off, imm } = insn;
  const op = BPF_OP(insn.code);
  const reg = (n: number, wide = info.is64): string => (wide ? `r${n}` : `w${n}`);
  const operand = (): string => (info.usesSrcReg ? reg(src) : `${imm}`);
  const size = `u${info.size * 8}`;

  switch (info.kind) {
    case 'alu': {
      const d = reg(dst);
      if (op === BPF_NEG) return `${d} = -${d}`;
      if (op === BPF_MOV && info.usesSrcReg && off !== 0) return `${d} = (s${off})${reg(src)}`;
      const sign = (op === BPF_DIV || op === BPF_MOD) && off === 1 ? 's' : '';
      return `${d} ${sign}${ALU_LLVM_OPERATORS[op]} ${operand()}`;
    }
    case 'end':
      return `r${dst} = ${info.name}${imm} r${dst}`;
    case 'ja':
      return BPF_CLASS(insn.code) === BPF_JMP32 ? `gotol ${relative(imm)}` : `goto ${relative(off)}`;
    case 'jcond':
      return `if ${reg(dst)} ${JUMP_LLVM_OPERATORS[op]} ${operand()} goto ${relative(off)}`;
    case 'call':
      return `call ${imm}`;
    case 'callx':
      return `callx r${insn.imm !== 0 ? imm : dst}`;
    case 'exit':
      return 'exit';
    case 'lddw':
      // llvm-objdump prints the first slot's imm as a u32 and nothing of the second slot's.
      if (src !== 0) return `ld_pseudo\tr${dst}, ${src}, ${imm >>> 0}`;
      return `r${dst} = ${BigInt.asIntN(64, insn.imm64)} ll`;
    case 'ldabs':
      return `r0 = *(${size} *)skb[${imm}]`;
    case 'ldind':
      return `r0 = *(${size} *)skb[r${src}]`;
    case 'ldx':
      return `r${dst} = *(${size} *)(r${src} ${signed(off)})`;
    case 'ldxsx':
      return `r${dst} = *(s${info.size * 8} *)(r${src} ${signed(off)})`;
    case 'st':
      return `*(${size} *)(r${dst} ${signed(off)}) = ${imm}`;
    case 'stx':
      return `*(${size} *)(r${dst} ${signed(off)}) = r${src}`;
    case 'atomic':
      return formatAtomicLlvm(insn);
  }
}

function formatAtomicLlvm(insn: Instruction): string {
  const { dst, src, off, imm, info } = insn;
  const mem = `r${dst} ${signed(off)}`;
  const size = `u${info.size * 8}`;
  // 32-bit atomics name w registers, as LLVM's alu32 decoder does; the default decoder
  // knows only the plain 32-bit add, which it prints with an r register.
  const r = (n: number): string => (info.is64 ? `r${n}` : `w${n}`);
  if (imm === BPF_XCHG) return info.is64 ? `r${src} = xchg_64(${mem}, r${src})` : `w${src} = xchg32_32(${mem}, w${src})`;
  if (imm === BPF_CMPXCHG) {
    return info.is64 ? `r0 = cmpxchg_64(${mem}, r0, r${src})` : `w0 = cmpxchg32_32(${mem}, w0, w${src})`;
  }
  const base = imm & ~BPF_FETCH;
  if (imm & BPF_FETCH) return `${r(src)} = atomic_fetch_${ATOMIC_FETCH_NAMES[base]}((${size} *)(${mem}), ${r(src)})`;
  const value = !info.is64 && base === BPF_ADD ? `r${src}` : r(src);
  return `lock *(${size} *)(${mem}) ${ATOMIC_LLVM_OPERATORS[base]} ${value}`;
}

// ---- assembler syntax ------------------------------------------------------------------

function formatAsm(insn: Instruction): string {
  const info = insn.info;
  const { dst, src, off, imm } = insn;
  const op = BPF_OP(insn.code);
  const suffix = info.is64 ? '' : '32';
  const operand = (): string => (BPF_SRC(insn.code) ? `%r${src}` : `${imm}`);
  const mem = (reg: number): string => `[%r${reg}${asmOffset(off)}]`;

  switch (info.kind) {
    case 'alu': {
      if (op === BPF_NEG) return `neg${suffix} %r${dst}`;
      if (op === BPF_MOV && info.usesSrcReg && off !== 0) return `movsx${off}${info.is64 ? '64' : '32'} %r${dst}, %r${src}`;
      const name = (op === BPF_DIV || op === BPF_MOD) && off === 1 ? `s${info.name}` : info.name;
      return `${name}${suffix} %r${dst}, ${operand()}`;
    }
    case 'end':
      return `${info.name}${imm} %r${dst}`;
    case 'ja':
      return BPF_CLASS(insn.code) === BPF_JMP32 ? `ja32 ${relative(imm)}` : `ja ${relative(off)}`;
    case 'jcond':
      return `${info.name}${suffix} %r${dst}, ${operand()}, ${relative(off)}`;
    case 'call':
      if (src === BPF_PSEUDO_CALL) return `call local ${relative(imm)}`;
      if (src === BPF_PSEUDO_KFUNC_CALL) return off !== 0 ? `call kfunc ${imm}, ${off}` : `call kfunc ${imm}`;
      return `call ${imm}`;
    case 'callx':
      // The kernel's encoding names the register in dst (`call %rX`); LLVM before 19 put it
      // in imm, which `callx %rX` keeps, so that the text assembles back to the same bytes.
      return insn.imm !== 0 ? `callx %r${imm}` : `call %r${dst}`;
    case 'exit':
      return 'exit';
    case 'lddw':
      if (src !== 0) return `lddw %r${dst}, ${LDDW_PSEUDO_NAMES[src]} ${imm}, ${insn.immHi}`;
      return `lddw %r${dst}, 0x${BigInt.asUintN(64, insn.imm64).toString(16)}`;
    case 'ldabs':
      return `${info.name} ${imm}`;
    case 'ldind':
      return `${info.name} %r${src}, ${imm}`;
    case 'ldx':
    case 'ldxsx':
      return `${info.name} %r${dst}, ${mem(src)}`;
    case 'st':
      return `${info.name} ${mem(dst)}, ${imm}`;
    case 'stx':
      return `${info.name} ${mem(dst)}, %r${src}`;
    case 'atomic': {
      const name = imm === BPF_XCHG ? 'xchg' : imm === BPF_CMPXCHG ? 'cmpxchg'
        : `${imm & BPF_FETCH ? 'fetch ' : ''}${ATOMIC_FETCH_NAMES[imm & ~BPF_FETCH]}`;
      return `lock ${name}${suffix} ${mem(dst)}, %r${src}`;
    }
  }
}

/** One line per instruction, `pc: text`, as llvm-objdump lays out a function body. */
export function disassembleLines(
  program: { insns: readonly Instruction[]; pcs: readonly number[] },
  syntax: Syntax = 'llvm',
  /** The program's bytes: each line shows its instruction's bytes too, as llvm-objdump does by default. */
  rawBytes?: Uint8Array,
): string[] {
  return program.insns.map((insn, i) => {
    const pc = program.pcs[i];
    const raw = rawBytes ? Array.from(rawBytes.subarray(pc * 8, (pc + insn.width) * 8), (b) => b.toString(16).padStart(2, '0')).join(' ') + '\t' : '';
    return `${String(pc).padStart(8)}:\t${raw}${insn.toString(syntax)}`;
  });
}
