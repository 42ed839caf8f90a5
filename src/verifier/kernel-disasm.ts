/**
 * Instructions as the kernel's verifier log prints them (kernel/bpf/disasm.c, print_bpf_insn):
 * `(61) r2 = *(u32 *)(r1 +4)`, `(15) if r0 == 0x0 goto pc+3`, `(85) call bpf_map_lookup_elem#1`.
 * This differs from llvm-objdump's syntax (isa/disasm.ts), and users' tools read it.
 */
import {
  BPF_ABS, BPF_ADD, BPF_ALU, BPF_ALU64, BPF_AND, BPF_CALL, BPF_CLASS, BPF_CMPXCHG, BPF_DIV, BPF_DW, BPF_END, BPF_EXIT,
  BPF_FETCH, BPF_IMM, BPF_IND, BPF_JA, BPF_JMP, BPF_JMP32, BPF_LD, BPF_LDX, BPF_MEM, BPF_MEMSX, BPF_MOD, BPF_MODE, BPF_MOV,
  BPF_NEG, BPF_OP, BPF_OR, BPF_PSEUDO_CALL, BPF_SIZE, BPF_SRC, BPF_ST, BPF_STX, BPF_TO_BE, BPF_X, BPF_XCHG, BPF_XOR,
} from '../isa/opcodes.js';
import { HELPER_NAMES } from '../uapi/helper-ids.js';

/** A raw instruction slot, as the kernel sees the program (lddw takes two). */
export interface Insn {
  readonly code: number;
  readonly dst: number;
  readonly src: number;
  readonly off: number;
  readonly imm: number;
}

const ALU_STRING: Record<number, string> = {
  0x0: '+=', 0x1: '-=', 0x2: '*=', 0x3: '/=', 0x4: '|=', 0x5: '&=', 0x6: '<<=', 0x7: '>>=', 0x8: 'neg', 0x9: '%=',
  0xa: '^=', 0xb: '=', 0xc: 's>>=', 0xd: 'endian',
};
const ALU_SIGN_STRING: Record<number, string> = { 0x3: 's/=', 0x9: 's%=' };
const MOVSX_STRING: Record<number, string> = { 8: '(s8)', 16: '(s16)', 32: '(s32)' };
const ATOMIC_ALU_STRING: Record<number, string> = { [BPF_ADD]: 'add', [BPF_AND]: 'and', [BPF_OR]: 'or', [BPF_XOR]: 'xor' };
const LDST_STRING: Record<number, string> = { 0x00: 'u32', 0x08: 'u16', 0x10: 'u8', 0x18: 'u64' };
const LDSX_STRING: Record<number, string> = { 0x00: 's32', 0x08: 's16', 0x10: 's8' };
const JMP_STRING: Record<number, string> = {
  0x0: 'jmp', 0x1: '==', 0x2: '>', 0xa: '<', 0x3: '>=', 0xb: '<=', 0x4: '&', 0x5: '!=', 0x6: 's>', 0xc: 's<', 0x7: 's>=',
  0xd: 's<=', 0x8: 'call', 0x9: 'exit',
};
const CLASS_STRING = ['ld', 'ldx', 'st', 'stx', 'alu', 'jmp', 'jmp32', 'alu64'];

const hex = (n: number): string => '0x' + (n >>> 0).toString(16);
const signed = (n: number): string => (n >= 0 ? `+${n}` : `${n}`);
const code2 = (code: number): string => code.toString(16).padStart(2, '0');

/** The helper's name as the log writes it: `bpf_map_lookup_elem` (or `unknown`). */
export const kernelHelperName = (id: number): string =>
  (id === 0 ? 'bpf_unspec' : HELPER_NAMES.has(id) ? `bpf_${HELPER_NAMES.get(id)}` : 'unknown');

/**
 * One instruction in the kernel's syntax (without the leading `pc: `). `next` is the following
 * slot, needed for lddw; `ldImm` overrides the printed 64-bit constant (a map's address).
 */
export function kernelInsnString(insn: Insn, next?: Insn, ldImm?: bigint): string {
  const cls = BPF_CLASS(insn.code);
  const c = `(${code2(insn.code)})`;
  const op = BPF_OP(insn.code) >> 4;
  const isSdivSmod = (BPF_OP(insn.code) === BPF_DIV || BPF_OP(insn.code) === BPF_MOD) && insn.off === 1;
  if (cls === BPF_ALU || cls === BPF_ALU64) {
    const r = cls === BPF_ALU ? 'w' : 'r';
    if (BPF_OP(insn.code) === BPF_END) {
      if (cls === BPF_ALU64) return `${c} r${insn.dst} = bswap${insn.imm} r${insn.dst}`;
      return `${c} r${insn.dst} = ${BPF_SRC(insn.code) === BPF_TO_BE ? 'be' : 'le'}${insn.imm} r${insn.dst}`;
    }
    if (BPF_OP(insn.code) === BPF_NEG) return `${c} ${r}${insn.dst} = -${r}${insn.dst}`;
    const opStr = isSdivSmod ? ALU_SIGN_STRING[op] : ALU_STRING[op];
    if (BPF_SRC(insn.code) === BPF_X) {
      const sx = BPF_OP(insn.code) === BPF_MOV && insn.off ? MOVSX_STRING[insn.off] ?? '' : '';
      return `${c} ${r}${insn.dst} ${opStr} ${sx}${r}${insn.src}`;
    }
    return `${c} ${r}${insn.dst} ${opStr} ${insn.imm}`;
  }
  const size = BPF_SIZE(insn.code);
  if (cls === BPF_STX) {
    const mem = `(${LDST_STRING[size]} *)(r${insn.dst} ${signed(insn.off)})`;
    if (BPF_MODE(insn.code) === BPF_MEM) return `${c} *${mem} = r${insn.src}`;
    const w = size === BPF_DW ? '64' : '';
    if (ATOMIC_ALU_STRING[insn.imm]) return `${c} lock *${mem} ${ALU_STRING[insn.imm >> 4]} r${insn.src}`;
    if ((insn.imm & BPF_FETCH) && ATOMIC_ALU_STRING[insn.imm & ~BPF_FETCH]) {
      return `${c} r${insn.src} = atomic${w}_fetch_${ATOMIC_ALU_STRING[insn.imm & ~BPF_FETCH]}(${mem}, r${insn.src})`;
    }
    if (insn.imm === BPF_CMPXCHG) return `${c} r0 = atomic${w}_cmpxchg(${mem}, r0, r${insn.src})`;
    if (insn.imm === BPF_XCHG) return `${c} r${insn.src} = atomic${w}_xchg(${mem}, r${insn.src})`;
    if (insn.imm === 0x100) return `${c} r${insn.dst} = load_acquire((${LDST_STRING[size]} *)(r${insn.src} ${signed(insn.off)}))`;
    if (insn.imm === 0x110) return `${c} store_release(${mem}, r${insn.src})`;
    return `BUG_${code2(insn.code)}`;
  }
  if (cls === BPF_ST) {
    if (BPF_MODE(insn.code) === BPF_MEM) return `${c} *(${LDST_STRING[size]} *)(r${insn.dst} ${signed(insn.off)}) = ${insn.imm}`;
    return `BUG_st_${code2(insn.code)}`;
  }
  if (cls === BPF_LDX) {
    const mode = BPF_MODE(insn.code);
    if (mode !== BPF_MEM && mode !== BPF_MEMSX) return `BUG_ldx_${code2(insn.code)}`;
    const type = mode === BPF_MEM ? LDST_STRING[size] : LDSX_STRING[size];
    return `${c} r${insn.dst} = *(${type} *)(r${insn.src} ${signed(insn.off)})`;
  }
  if (cls === BPF_LD) {
    const mode = BPF_MODE(insn.code);
    if (mode === BPF_ABS) return `${c} r0 = *(${LDST_STRING[size]} *)skb[${insn.imm}]`;
    if (mode === BPF_IND) return `${c} r0 = *(${LDST_STRING[size]} *)skb[r${insn.src} + ${insn.imm}]`;
    if (mode === BPF_IMM && size === BPF_DW) {
      const imm = ldImm ?? ((BigInt(next?.imm ?? 0) << 32n) | BigInt(insn.imm >>> 0));
      return `${c} r${insn.dst} = 0x${BigInt.asUintN(64, imm).toString(16)}`;
    }
    return `BUG_ld_${code2(insn.code)}`;
  }
  if (cls === BPF_JMP || cls === BPF_JMP32) {
    const opcode = BPF_OP(insn.code);
    const r = cls === BPF_JMP32 ? 'w' : 'r';
    if (opcode === BPF_CALL) {
      if (BPF_SRC(insn.code) === BPF_X) return `${c} callx r${insn.dst}`;
      if (insn.src === BPF_PSEUDO_CALL) return `${c} call pc${signed(insn.imm)}`;
      return `${c} call ${kernelHelperName(insn.imm)}#${insn.imm}`;
    }
    if (insn.code === (BPF_JMP | BPF_JA)) return `${c} goto pc${signed(insn.off)}`;
    if (insn.code === (BPF_JMP32 | BPF_JA)) return `${c} gotol pc${signed(insn.imm)}`;
    if (insn.code === (BPF_JMP | 0xe0) && insn.src === 0) return `${c} may_goto pc${signed(insn.off)}`;
    if (insn.code === (BPF_JMP | BPF_EXIT)) return `${c} exit`;
    if (BPF_SRC(insn.code) === BPF_X) return `${c} if ${r}${insn.dst} ${JMP_STRING[opcode >> 4]} ${r}${insn.src} goto pc${signed(insn.off)}`;
    return `${c} if ${r}${insn.dst} ${JMP_STRING[opcode >> 4]} ${hex(insn.imm)} goto pc${signed(insn.off)}`;
  }
  return `${c} ${CLASS_STRING[cls]}`;
}
