/**
 * Conditions to BPF instructions for XDP or TC, shaped the way clang shapes packet code, so
 * both verifiers (the kernel's, and xdplab's) accept it: every load is preceded by a compare
 * of its end with data_end (once per path: a load the path has checked already needs none), and
 * a variable offset is bounded (≤ 0xffff − size) before it is added to the packet pointer. A load that would pass data_end jumps to "no match", as a
 * classic BPF load past the end returns 0. Arithmetic is 32-bit unsigned, as classic BPF's;
 * division or modulo by zero is "no match" too, a shift by 32 or more gives 0 (libpcap's
 * bpf_filter). Registers: r6 the context, r7 data, r8 data_end, r9 the packet's length when
 * `len` is used; r0–r5 hold values by depth, deeper operands spill to the stack.
 */
import { XdplabError } from '../errors.js';
import {
  BPF_ADD, BPF_ALU, BPF_ALU64, BPF_AND, BPF_B, BPF_CALL, BPF_DIV, BPF_DW, BPF_END, BPF_EXIT, BPF_H, BPF_JEQ, BPF_JGE, BPF_JGT,
  BPF_JMP, BPF_JMP32, BPF_JSET, BPF_K, BPF_LDX, BPF_LSH, BPF_MEM, BPF_MOD, BPF_MOV, BPF_MUL, BPF_NEG, BPF_OR, BPF_RSH, BPF_STX,
  BPF_SUB, BPF_TO_BE, BPF_W, BPF_X, BPF_XOR, MAX_BPF_STACK,
} from '../isa/opcodes.js';
import { MAX_PACKET_OFF } from '../uapi/bpf.js';
import { HELPER_IDS } from '../uapi/helper-ids.js';
import { SK_BUFF_FIELDS, XDP_MD_FIELDS } from '../uapi/prog-types.js';
import { Emitter, type Emitted, type Label } from './emit.js';
import type { Arith, ArithOp, Cond, RelOp, Size } from './ir.js';

export type FilterHook = 'xdp' | 'tc';

const R_CTX = 6;
const R_DATA = 7;
const R_END = 8;
const R_LEN = 9;
const R_FP = 10;
/** Value registers by depth. */
const VALUE_REGS = [0, 1, 2, 3, 4, 5] as const;

const ALU_OPS: Readonly<Record<ArithOp, number>> = {
  '+': BPF_ADD, '-': BPF_SUB, '*': BPF_MUL, '/': BPF_DIV, '%': BPF_MOD, '&': BPF_AND, '|': BPF_OR, '^': BPF_XOR,
  '<<': BPF_LSH, '>>': BPF_RSH,
};
const JUMPS: Readonly<Record<RelOp, number>> = { eq: BPF_JEQ, gt: BPF_JGT, ge: BPF_JGE, set: BPF_JSET };
const SIZES: Readonly<Record<Size, number>> = { 1: BPF_B, 2: BPF_H, 4: BPF_W };

/** Registers an expression needs from its depth on (its own and its operands' scratch). */
function regsNeeded(a: Arith): number {
  switch (a.k) {
    case 'num': case 'len': return 1;
    case 'neg': return regsNeeded(a.a);
    case 'load': return Math.max(3, a.index ? regsNeeded(a.index) : 0);
    case 'bin': return a.b.k === 'num' ? regsNeeded(a.a) : Math.max(regsNeeded(a.a), regsNeeded(a.b) + 1);
  }
}

function usesLen(c: Cond): boolean {
  const inArith = (a: Arith): boolean => a.k === 'len' || (a.k === 'bin' && (inArith(a.a) || inArith(a.b)))
    || (a.k === 'neg' && inArith(a.a)) || (a.k === 'load' && a.index !== undefined && inArith(a.index));
  if (c.k === 'and' || c.k === 'or') return usesLen(c.a) || usesLen(c.b);
  if (c.k === 'not') return usesLen(c.a);
  return c.k === 'rel' && (inArith(c.a) || inArith(c.b));
}

class CodeGen {
  readonly e = new Emitter();
  readonly reject: Label = this.e.label();
  /** Stack slots in use by spilled operands. */
  private spilled = 0;

  private reg(depth: number): number {
    const r = VALUE_REGS[depth];
    if (r === undefined) throw new XdplabError('UNSUPPORTED', 'filter: the arithmetic is nested too deeply for the registers');
    return r;
  }

  alu32(op: number, dst: number, imm: number): void {
    this.e.insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
  }

  cond(c: Cond, t: Label, f: Label): void {
    switch (c.k) {
      case 'const': this.e.goto(c.v ? t : f); return;
      case 'not': this.cond(c.a, f, t); return;
      case 'and': case 'or': {
        const mid = this.e.label();
        if (c.k === 'and') this.cond(c.a, mid, f);
        else this.cond(c.a, t, mid);
        this.e.place(mid);
        this.cond(c.b, t, f);
        return;
      }
      case 'rel': {
        this.e.mark(c.col);
        const a = this.reg(0);
        this.arith(c.a, 0);
        if (c.b.k === 'num') {
          this.e.jump(BPF_JMP32 | JUMPS[c.op] | BPF_K, a, 0, c.b.v, t);
        } else {
          this.operand(c.b, 0);
          this.e.jump(BPF_JMP32 | JUMPS[c.op] | BPF_X, a, this.reg(1), 0, t);
        }
        this.e.goto(f);
      }
    }
  }

  /** Value `b` into the register of depth+1, the value at `depth` kept (spilled when registers run short). */
  private operand(b: Arith, depth: number): void {
    if (depth + 1 + regsNeeded(b) <= VALUE_REGS.length) {
      this.arith(b, depth + 1);
      return;
    }
    const slot = -8 * ++this.spilled;
    if (slot < -MAX_BPF_STACK) throw new XdplabError('UNSUPPORTED', 'filter: the arithmetic is nested too deeply for the stack');
    this.e.insn(BPF_STX | BPF_MEM | BPF_DW, R_FP, this.reg(depth), slot, 0);
    this.arith(b, depth);
    this.e.insn(BPF_ALU64 | BPF_MOV | BPF_X, this.reg(depth + 1), this.reg(depth), 0, 0);
    this.e.insn(BPF_LDX | BPF_MEM | BPF_DW, this.reg(depth), R_FP, slot, 0);
    this.spilled--;
  }

  /** The value of `a`, 32 bits zero-extended, into the register of `depth`. */
  arith(a: Arith, depth: number): void {
    const r = this.reg(depth);
    switch (a.k) {
      case 'num': this.e.insn(BPF_ALU | BPF_MOV | BPF_K, r, 0, 0, a.v); return;
      case 'len': this.e.insn(BPF_ALU | BPF_MOV | BPF_X, r, R_LEN, 0, 0); return;
      case 'neg': this.arith(a.a, depth); this.e.insn(BPF_ALU | BPF_NEG | BPF_K, r, 0, 0, 0); return;
      case 'load': this.load(a, depth); return;
      case 'bin': this.binary(a.op, a.a, a.b, depth);
    }
  }

  private binary(op: ArithOp, x: Arith, y: Arith, depth: number): void {
    const r = this.reg(depth);
    this.arith(x, depth);
    const shift = op === '<<' || op === '>>';
    if (y.k === 'num') {
      if (shift && y.v > 31) this.e.insn(BPF_ALU | BPF_MOV | BPF_K, r, 0, 0, 0);
      else this.alu32(ALU_OPS[op], r, y.v);
      return;
    }
    this.operand(y, depth);
    const s = this.reg(depth + 1);
    if (op === '/' || op === '%') this.e.jump(BPF_JMP32 | BPF_JEQ | BPF_K, s, 0, 0, this.reject);
    if (shift) {
      // classic BPF in libpcap: a shift by 32 or more gives 0.
      const small = this.e.label();
      const done = this.e.label();
      this.e.jump(BPF_JMP32 | BPF_JGT | BPF_K, s, 0, 31, small);
      this.e.insn(BPF_ALU | ALU_OPS[op] | BPF_X, r, s, 0, 0);
      this.e.goto(done);
      this.e.place(small);
      this.e.insn(BPF_ALU | BPF_MOV | BPF_K, r, 0, 0, 0);
      this.e.place(done);
      return;
    }
    this.e.insn(BPF_ALU | ALU_OPS[op] | BPF_X, r, s, 0, 0);
  }

  /** A bounds-checked packet read of `size` bytes at the constant `off`, into `dst` (scratch: depth+1, +2). */
  private loadConst(dst: number, size: Size, off: number, depth: number): void {
    const q = this.reg(depth + 2);
    if (off + size > MAX_PACKET_OFF) {
      // Past any packet: "no match", by a test the verifier decides (the code after it stays reachable).
      this.e.insn(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, 0);
      this.e.jump(BPF_JMP32 | BPF_JEQ | BPF_K, dst, 0, 0, this.reject);
      return;
    }
    // A path that has checked this far already needs no compare (the verifier's range says so too).
    if (!this.e.proven(off + size)) {
      this.e.insn(BPF_ALU64 | BPF_MOV | BPF_X, q, R_DATA, 0, 0);
      this.e.insn(BPF_ALU64 | BPF_ADD | BPF_K, q, 0, 0, off + size);
      this.e.jump(BPF_JMP | BPF_JGT | BPF_X, q, R_END, 0, this.reject);
      this.e.checked(off + size);
    }
    if (off <= 0x7fff) {
      this.e.insn(BPF_LDX | BPF_MEM | SIZES[size], dst, R_DATA, off, 0);
    } else {
      this.e.insn(BPF_ALU64 | BPF_MOV | BPF_X, q, R_DATA, 0, 0);
      this.e.insn(BPF_ALU64 | BPF_ADD | BPF_K, q, 0, 0, off);
      this.e.insn(BPF_LDX | BPF_MEM | SIZES[size], dst, q, 0, 0);
    }
  }

  private load(a: Extract<Arith, { k: 'load' }>, depth: number): void {
    const r = this.reg(depth);
    if (a.ihlAt === undefined && (a.index === undefined || a.index.k === 'num')) {
      const off = a.at + (a.index?.k === 'num' ? a.index.v : 0);
      this.loadConst(r, a.size, off, depth);
    } else {
      this.offsetInto(a, depth);
      const p = this.reg(depth + 1);
      const q = this.reg(depth + 2);
      this.e.insn(BPF_ALU64 | BPF_ADD | BPF_K, r, 0, 0, a.at);
      this.e.jump(BPF_JMP | BPF_JGT | BPF_K, r, 0, MAX_PACKET_OFF - a.size, this.reject);
      this.e.insn(BPF_ALU64 | BPF_MOV | BPF_X, p, R_DATA, 0, 0);
      this.e.insn(BPF_ALU64 | BPF_ADD | BPF_X, p, r, 0, 0);
      this.e.insn(BPF_ALU64 | BPF_MOV | BPF_X, q, p, 0, 0);
      this.e.insn(BPF_ALU64 | BPF_ADD | BPF_K, q, 0, 0, a.size);
      this.e.jump(BPF_JMP | BPF_JGT | BPF_X, q, R_END, 0, this.reject);
      this.e.insn(BPF_LDX | BPF_MEM | SIZES[a.size], r, p, 0, 0);
    }
    if (a.size > 1) this.e.insn(BPF_ALU | BPF_END | BPF_TO_BE, r, 0, 0, 8 * a.size);
  }

  /** The variable part of an offset, 32 bits as classic BPF's X: the index, plus the IPv4 header length. */
  private offsetInto(a: Extract<Arith, { k: 'load' }>, depth: number): void {
    const r = this.reg(depth);
    if (a.index) this.arith(a.index, depth);
    if (a.ihlAt === undefined) return;
    const ihl = this.reg(depth + 1);
    this.loadConst(ihl, 1, a.ihlAt, depth);
    this.alu32(BPF_AND, ihl, 0xf);
    this.alu32(BPF_LSH, ihl, 2);
    if (a.index) this.e.insn(BPF_ALU | BPF_ADD | BPF_X, r, ihl, 0, 0);
    else this.e.insn(BPF_ALU64 | BPF_MOV | BPF_X, r, ihl, 0, 0);
  }
}

export interface FilterCode extends Emitted {
  readonly hook: FilterHook;
}

/** The program: a prologue reading data and data_end, the condition, the two exits. */
export function generate(c: Cond, hook: FilterHook, verdicts: { match: number; noMatch: number }): FilterCode {
  const g = new CodeGen();
  const e = g.e;
  const ctx = hook === 'xdp' ? { data: XDP_MD_FIELDS.data, end: XDP_MD_FIELDS.data_end } : { data: SK_BUFF_FIELDS.data, end: SK_BUFF_FIELDS.data_end };
  e.mark(1);
  e.insn(BPF_ALU64 | BPF_MOV | BPF_X, R_CTX, 1, 0, 0);
  if (usesLen(c)) {
    if (hook === 'xdp') e.insn(BPF_JMP | BPF_CALL, 0, 0, 0, HELPER_IDS.get('xdp_get_buff_len')!);
    else e.insn(BPF_LDX | BPF_MEM | BPF_W, 0, R_CTX, SK_BUFF_FIELDS.len, 0);
    e.insn(BPF_ALU | BPF_MOV | BPF_X, R_LEN, 0, 0, 0);
  }
  e.insn(BPF_LDX | BPF_MEM | BPF_W, R_DATA, R_CTX, ctx.data, 0);
  e.insn(BPF_LDX | BPF_MEM | BPF_W, R_END, R_CTX, ctx.end, 0);
  const match = e.label();
  g.cond(c, match, g.reject);
  e.place(match);
  e.insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, verdicts.match);
  e.insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  e.place(g.reject);
  e.insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, verdicts.noMatch);
  e.insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  return { ...e.finish(), hook };
}
