/**
 * Lowering of ALU, ALU64, byte-order and 64-bit-immediate instructions to wasm. Registers are
 * i64 locals; 32-bit operations work on the low words and zero-extend the result.
 *
 * Division and modulo follow RFC 9669 §4.1 and never trap (wasm's div traps, so each is
 * guarded): x / 0 = 0, x % 0 = x, and signed INT_MIN / -1 = INT_MIN (the kernel's
 * JITs and the interpreter agree). Shift counts are masked to 63 / 31 — wasm does the same.
 */
import { I32, I64, OP, type CodeWriter } from './wasm-writer.js';
import { LOCAL, reg } from './layout.js';
import {
  BPF_ADD, BPF_AND, BPF_ARSH, BPF_DIV, BPF_LSH, BPF_MOD, BPF_MOV, BPF_MUL, BPF_NEG, BPF_OR, BPF_RSH, BPF_SUB, BPF_XOR,
} from '../../isa/opcodes.js';
import { XOP, XOP_INFO } from '../../isa/xop.js';

/** Simple binary operations: BPF_OP → [i64 opcode, i32 opcode]. */
const BINARY: Record<number, readonly [number, number]> = {
  [BPF_ADD]: [OP.i64_add, OP.i32_add],
  [BPF_SUB]: [OP.i64_sub, OP.i32_sub],
  [BPF_MUL]: [OP.i64_mul, OP.i32_mul],
  [BPF_OR]: [OP.i64_or, OP.i32_or],
  [BPF_AND]: [OP.i64_and, OP.i32_and],
  [BPF_LSH]: [OP.i64_shl, OP.i32_shl],
  [BPF_RSH]: [OP.i64_shr_u, OP.i32_shr_u],
  [BPF_XOR]: [OP.i64_xor, OP.i32_xor],
  [BPF_ARSH]: [OP.i64_shr_s, OP.i32_shr_s],
};

export interface AluOperands {
  xop: number;
  dst: number;
  src: number;
  imm: number;
  /** The second slot's imm of an lddw. */
  immHi: number;
  pc: number;
}

/** Push the source operand: the register or the immediate (sign-extended to 64 bits / as i32). */
function source(w: CodeWriter, o: AluOperands, wide: boolean): void {
  const fromReg = XOP_INFO[o.xop]!.usesSrcReg;
  if (wide) {
    if (fromReg) w.get(reg(o.src));
    else w.i64(o.imm);
  } else if (fromReg) {
    w.get(reg(o.src)).op(OP.i32_wrap_i64);
  } else {
    w.i32(o.imm);
  }
}

function dst32(w: CodeWriter, d: number): void {
  w.get(reg(d)).op(OP.i32_wrap_i64);
}

/** Set dst from an i32 on the stack, zero-extended. */
function setZext(w: CodeWriter, d: number): void {
  w.op(OP.i64_extend_i32_u).set(reg(d));
}

/** Lower one ALU-type instruction; false when xop is not one. */
export function lowerAlu(w: CodeWriter, o: AluOperands): boolean {
  const { xop, dst: d } = o;
  const info = XOP_INFO[xop];
  if (info === undefined) return false;
  if (info.kind === 'lddw') {
    w.i64(o.imm, o.immHi).set(reg(d));
    return true;
  }
  if (info.variant) return lowerVariant(w, o);
  if (info.kind !== 'alu') return false;
  const { is64: wide, op } = info;
  const binary = BINARY[op];
  if (binary) {
    if (wide) {
      w.get(reg(d));
      source(w, o, true);
      w.op(binary[0]).set(reg(d));
    } else {
      dst32(w, d);
      source(w, o, false);
      w.op(binary[1]);
      setZext(w, d);
    }
    return true;
  }
  switch (op) {
    case BPF_NEG:
      if (wide) w.i64(0).get(reg(d)).op(OP.i64_sub).set(reg(d));
      else { w.i32(0); dst32(w, d); w.op(OP.i32_sub); setZext(w, d); }
      return true;
    case BPF_MOV:
      source(w, o, wide);
      if (wide) w.set(reg(d));
      else setZext(w, d);
      return true;
    case BPF_DIV: // unsigned (sdiv is a variant)
    case BPF_MOD:
      unsignedDivision(w, o, wide, op === BPF_MOD);
      return true;
    default:
      return false;
  }
}

/**
 * dst = dst / src or dst % src, unsigned. A zero divisor gives 0 (div) or leaves dst (mod);
 * for 32-bit forms the result is the low word, zero-extended.
 */
function unsignedDivision(w: CodeWriter, o: AluOperands, wide: boolean, mod: boolean): void {
  const d = o.dst;
  const fromReg = XOP_INFO[o.xop]!.usesSrcReg;
  if (!fromReg && o.imm === 0) {
    if (mod) { if (!wide) { dst32(w, d); setZext(w, d); } } // dst unchanged (low word for 32-bit)
    else w.i64(0).set(reg(d));
    return;
  }
  if (wide) {
    if (!fromReg) {
      w.get(reg(d)).i64(o.imm).op(mod ? OP.i64_rem_u : OP.i64_div_u).set(reg(d));
      return;
    }
    w.get(reg(o.src)).op(OP.i64_eqz).if(I64);
    if (mod) w.get(reg(d));
    else w.i64(0);
    w.else().get(reg(d)).get(reg(o.src)).op(mod ? OP.i64_rem_u : OP.i64_div_u).end().set(reg(d));
    return;
  }
  if (!fromReg) {
    dst32(w, d);
    w.i32(o.imm).op(mod ? OP.i32_rem_u : OP.i32_div_u);
    setZext(w, d);
    return;
  }
  w.get(reg(o.src)).op(OP.i32_wrap_i64).tee(LOCAL.T32).op(OP.i32_eqz).if(I32);
  if (mod) dst32(w, d);
  else w.i32(0);
  w.else();
  dst32(w, d);
  w.get(LOCAL.T32).op(mod ? OP.i32_rem_u : OP.i32_div_u).end();
  setZext(w, d);
}

/** Signed division (sdiv, off = 1): 0 divisor → 0; −1 divisor → negation (INT_MIN stays INT_MIN). */
function signedDivision(w: CodeWriter, o: AluOperands, wide: boolean, mod: boolean, fromReg: boolean): void {
  const d = o.dst;
  const [ty, eqz, sub, div, rem] = wide
    ? [I64, OP.i64_eqz, OP.i64_sub, OP.i64_div_s, OP.i64_rem_s]
    : [I32, OP.i32_eqz, OP.i32_sub, OP.i32_div_s, OP.i32_rem_s];
  const pushDst = (): void => { if (wide) w.get(reg(d)); else dst32(w, d); };
  const pushConst = (v: number): void => { if (wide) w.i64(v); else w.i32(v); };
  const store = (): void => { if (wide) w.set(reg(d)); else setZext(w, d); };
  if (!fromReg) {
    if (o.imm === 0) { if (mod) pushDst(); else pushConst(0); }
    else if (o.imm === -1) { if (mod) pushConst(0); else { pushConst(0); pushDst(); w.op(sub); } }
    else { pushDst(); pushConst(o.imm); w.op(mod ? rem : div); }
    store();
    return;
  }
  // divisor in a temporary
  const t = wide ? LOCAL.T64 : LOCAL.T32;
  w.get(reg(o.src));
  if (!wide) w.op(OP.i32_wrap_i64);
  w.tee(t).op(eqz).if(ty);
  if (mod) pushDst(); else pushConst(0);
  w.else();
  if (mod) {
    // rem_s does not trap on INT_MIN % -1 (it gives 0, as RFC 9669 wants)
    pushDst(); w.get(t).op(rem);
  } else {
    w.get(t); pushConst(-1); w.op(wide ? OP.i64_eq : OP.i32_eq).if(ty);
    pushConst(0); pushDst(); w.op(sub);
    w.else();
    pushDst(); w.get(t).op(div);
    w.end();
  }
  w.end();
  store();
}

/** bswap32 of the i32 on the stack: (rotl 8 & 0x00ff00ff) | (rotr 8 & 0xff00ff00). */
function bswap32(w: CodeWriter): void {
  w.tee(LOCAL.T32).i32(8).op(OP.i32_rotl).i32(0x00ff00ff).op(OP.i32_and);
  w.get(LOCAL.T32).i32(8).op(OP.i32_rotr).i32(0xff00ff00 | 0).op(OP.i32_and).op(OP.i32_or);
}

function byteOrder(w: CodeWriter, xop: number, d: number): void {
  switch (xop) {
    case XOP.LE16: w.get(reg(d)).i64(0xffff).op(OP.i64_and).set(reg(d)); return;
    case XOP.LE32: w.get(reg(d)).i64(-1, 0).op(OP.i64_and).set(reg(d)); return;
    case XOP.LE64: return;
    case XOP.BE16: case XOP.BSWAP16:
      // ((x & 0xff) << 8) | ((x >> 8) & 0xff)
      dst32(w, d);
      w.tee(LOCAL.T32).i32(0xff).op(OP.i32_and).i32(8).op(OP.i32_shl);
      w.get(LOCAL.T32).i32(8).op(OP.i32_shr_u).i32(0xff).op(OP.i32_and).op(OP.i32_or);
      setZext(w, d);
      return;
    case XOP.BE32: case XOP.BSWAP32:
      dst32(w, d);
      bswap32(w);
      setZext(w, d);
      return;
    default: // BE64, BSWAP64: swap each word, then the words
      dst32(w, d);
      bswap32(w);
      w.op(OP.i64_extend_i32_u).i64(32).op(OP.i64_shl);
      w.get(reg(d)).i64(32).op(OP.i64_shr_u).op(OP.i32_wrap_i64);
      bswap32(w);
      w.op(OP.i64_extend_i32_u).op(OP.i64_or).set(reg(d));
  }
}

function lowerVariant(w: CodeWriter, o: AluOperands): boolean {
  const { xop, dst: d, src: s } = o;
  switch (xop) {
    case XOP.SDIV64_IMM: signedDivision(w, o, true, false, false); return true;
    case XOP.SDIV64_REG: signedDivision(w, o, true, false, true); return true;
    case XOP.SMOD64_IMM: signedDivision(w, o, true, true, false); return true;
    case XOP.SMOD64_REG: signedDivision(w, o, true, true, true); return true;
    case XOP.SDIV32_IMM: signedDivision(w, o, false, false, false); return true;
    case XOP.SDIV32_REG: signedDivision(w, o, false, false, true); return true;
    case XOP.SMOD32_IMM: signedDivision(w, o, false, true, false); return true;
    case XOP.SMOD32_REG: signedDivision(w, o, false, true, true); return true;
    case XOP.MOVSX64_8: w.get(reg(s)).op(OP.i64_extend8_s).set(reg(d)); return true;
    case XOP.MOVSX64_16: w.get(reg(s)).op(OP.i64_extend16_s).set(reg(d)); return true;
    case XOP.MOVSX64_32: w.get(reg(s)).op(OP.i64_extend32_s).set(reg(d)); return true;
    case XOP.MOVSX32_8: w.get(reg(s)).op(OP.i32_wrap_i64).op(OP.i32_extend8_s); setZext(w, d); return true;
    case XOP.MOVSX32_16: w.get(reg(s)).op(OP.i32_wrap_i64).op(OP.i32_extend16_s); setZext(w, d); return true;
    case XOP.LE16: case XOP.LE32: case XOP.LE64: case XOP.BE16: case XOP.BE32: case XOP.BE64:
    case XOP.BSWAP16: case XOP.BSWAP32: case XOP.BSWAP64:
      byteOrder(w, xop, d);
      return true;
    default:
      return false;
  }
}
