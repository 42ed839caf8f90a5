/**
 * Conditional jumps (check_cond_jmp_op): when the outcome is known only one side is followed
 * (is_branch_taken); otherwise both are, each with what the comparison taught — narrower
 * bounds (reg_set_min_max), a null check passed or failed (mark_ptr_or_null_regs), packet
 * bytes proved inside data_end (find_good_pkt_pointers), linked copies narrowed together.
 */
import {
  BPF_CLASS, BPF_JA, BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JLE, BPF_JLT, BPF_JMP32, BPF_JNE, BPF_JSET, BPF_JSGE, BPF_JSGT, BPF_JSLE,
  BPF_JSLT, BPF_K, BPF_OP, BPF_SRC, BPF_X,
} from '../isa/opcodes.js';
import { BPF_MAP_TYPE, MAX_PACKET_OFF } from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import { PTR_MAYBE_NULL, baseType } from '../uapi/helper-protos.js';
import { regBoundsSane, regBoundsSync, zext32To64 } from './bounds.js';
import type { VerifierEnv } from './env.js';
import type { Insn } from './kernel-disasm.js';
import { markChainPrecision } from './precision.js';
import { findPrevEntry, widenImpreciseScalars } from './prune.js';
import {
  BPF_ADD_CONST, BPF_ADD_CONST32, CONST_PTR_TO_MAP, PTR_TO_BTF_ID, PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE, PTR_TO_MEM,
  PTR_TO_PACKET, PTR_TO_PACKET_END, PTR_TO_PACKET_META, PTR_TO_SOCK_COMMON, PTR_TO_SOCKET, PTR_TO_STACK, PTR_TO_TCP_SOCK,
  PTR_TO_XDP_SOCK, RegState, SCALAR_VALUE, markKnown, markUnbounded, markUnknown,
} from './reg-state.js';
import { SRC_OP, checkRegArg, isPointerValue, pushHistory, regIsPktPointerAny, releaseReferenceNomark } from './regs.js';
import type { VerifierState } from './state.js';
import {
  tnumAdd, tnumAnd, tnumConst, tnumIntersect, tnumIsConst, tnumOr, tnumSubreg, tnumSubregIsConst, tnumWithSubreg,
} from './tnum.js';

const { EACCES, EINVAL } = ERRNO;
/** reg->range of a packet pointer known to be at, or beyond, data_end. */
export const AT_PKT_END = -1;
export const BEYOND_PKT_END = -2;
const JSET_X = BPF_JSET | BPF_X;

/** flip_opcode: the same test with the operands swapped. */
function flipOpcode(op: number): number {
  switch (op) {
    case BPF_JGT: return BPF_JLT;
    case BPF_JLT: return BPF_JGT;
    case BPF_JGE: return BPF_JLE;
    case BPF_JLE: return BPF_JGE;
    case BPF_JSGT: return BPF_JSLT;
    case BPF_JSLT: return BPF_JSGT;
    case BPF_JSGE: return BPF_JSLE;
    case BPF_JSLE: return BPF_JSGE;
    default: return op;
  }
}

/** rev_opcode: the test that holds on the fall-through side. */
function revOpcode(op: number): number {
  switch (op) {
    case BPF_JEQ: return BPF_JNE;
    case BPF_JNE: return BPF_JEQ;
    case BPF_JSET: return JSET_X;
    case JSET_X: return BPF_JSET;
    case BPF_JGT: return BPF_JLE;
    case BPF_JLE: return BPF_JGT;
    case BPF_JGE: return BPF_JLT;
    case BPF_JLT: return BPF_JGE;
    case BPF_JSGT: return BPF_JSLE;
    case BPF_JSLE: return BPF_JSGT;
    case BPF_JSGE: return BPF_JSLT;
    default: return BPF_JSGE; // JSLT
  }
}

const isRegConst = (reg: RegState, is32: boolean): boolean =>
  reg.type === SCALAR_VALUE && (is32 ? tnumSubregIsConst(reg.varOff) : tnumIsConst(reg.varOff));
const regConstValue = (reg: RegState, is32: boolean): bigint => (is32 ? reg.varOff.value & 0xffffffffn : reg.varOff.value);

/** reg_not_null: pointer types that are never NULL. */
function regNotNull(reg: RegState): boolean {
  if (reg.type & PTR_MAYBE_NULL) return false;
  const t = baseType(reg.type);
  return t === PTR_TO_SOCKET || t === PTR_TO_TCP_SOCK || t === PTR_TO_MAP_VALUE || t === PTR_TO_MAP_KEY
    || t === PTR_TO_SOCK_COMMON || t === PTR_TO_MEM || t === CONST_PTR_TO_MAP;
}

/** is_pkt_ptr_branch_taken: a packet pointer already known at or past data_end. */
function isPktPtrBranchTaken(dst: RegState, src: RegState, op: number): number {
  let pkt: RegState;
  if (src.type === PTR_TO_PACKET_END) pkt = dst;
  else if (dst.type === PTR_TO_PACKET_END) {
    pkt = src;
    op = flipOpcode(op);
  } else return -1;
  if (pkt.range >= 0) return -1;
  switch (op) {
    case BPF_JLE:
    case BPF_JGT:
      if (pkt.range === BEYOND_PKT_END) return op === BPF_JGT ? 1 : 0;
      break;
    case BPF_JLT:
    case BPF_JGE:
      if (pkt.range === BEYOND_PKT_END || pkt.range === AT_PKT_END) return op === BPF_JGE ? 1 : 0;
      break;
  }
  return -1;
}

/** tnum_overlap: some value fits both (their known bits agree). */
const tnumOverlap = (a: { value: bigint; mask: bigint }, b: { value: bigint; mask: bigint }): boolean => {
  const mu = ~a.mask & ~b.mask;
  return (a.value & mu) === (b.value & mu);
};

/** is_scalar_branch_taken: 1 always taken, 0 never, -1 either. */
function isScalarBranchTaken(r1: RegState, r2: RegState, op: number, is32: boolean): number {
  let t1 = is32 ? tnumSubreg(r1.varOff) : r1.varOff;
  let t2 = is32 ? tnumSubreg(r2.varOff) : r2.varOff;
  const umin1 = is32 ? BigInt(r1.u32min) : r1.umin;
  const umax1 = is32 ? BigInt(r1.u32max) : r1.umax;
  const smin1 = is32 ? BigInt(r1.s32min) : r1.smin;
  const smax1 = is32 ? BigInt(r1.s32max) : r1.smax;
  const umin2 = is32 ? BigInt(r2.u32min) : r2.umin;
  const umax2 = is32 ? BigInt(r2.u32max) : r2.umax;
  const smin2 = is32 ? BigInt(r2.s32min) : r2.smin;
  const smax2 = is32 ? BigInt(r2.s32max) : r2.smax;
  const disjoint32 = (): boolean => r1.u32min > r2.u32max || r1.u32max < r2.u32min || r1.s32min > r2.s32max || r1.s32max < r2.s32min;
  switch (op) {
    case BPF_JEQ:
      if (tnumIsConst(t1) && tnumIsConst(t2)) return t1.value === t2.value ? 1 : 0;
      if (!tnumOverlap(t1, t2)) return 0;
      if (umin1 > umax2 || umax1 < umin2 || smin1 > smax2 || smax1 < smin2) return 0;
      if (!is32 && disjoint32()) return 0;
      break;
    case BPF_JNE:
      if (tnumIsConst(t1) && tnumIsConst(t2)) return t1.value !== t2.value ? 1 : 0;
      if (!tnumOverlap(t1, t2)) return 1;
      if (umin1 > umax2 || umax1 < umin2 || smin1 > smax2 || smax1 < smin2) return 1;
      if (!is32 && disjoint32()) return 1;
      break;
    case BPF_JSET:
      if (!isRegConst(r2, is32)) {
        [r1, r2] = [r2, r1];
        [t1, t2] = [t2, t1];
      }
      if (!isRegConst(r2, is32)) return -1;
      if (~t1.mask & t1.value & t2.value) return 1;
      if (!((t1.mask | t1.value) & t2.value)) return 0;
      break;
    case BPF_JGT:
      if (umin1 > umax2) return 1;
      if (umax1 <= umin2) return 0;
      break;
    case BPF_JSGT:
      if (smin1 > smax2) return 1;
      if (smax1 <= smin2) return 0;
      break;
    case BPF_JLT:
      if (umax1 < umin2) return 1;
      if (umin1 >= umax2) return 0;
      break;
    case BPF_JSLT:
      if (smax1 < smin2) return 1;
      if (smin1 >= smax2) return 0;
      break;
    case BPF_JGE:
      if (umin1 >= umax2) return 1;
      if (umax1 < umin2) return 0;
      break;
    case BPF_JSGE:
      if (smin1 >= smax2) return 1;
      if (smax1 < smin2) return 0;
      break;
    case BPF_JLE:
      if (umax1 <= umin2) return 1;
      if (umin1 > umax2) return 0;
      break;
    case BPF_JSLE:
      if (smax1 <= smin2) return 1;
      if (smin1 > smax2) return 0;
      break;
  }
  return -1;
}

/** is_branch_taken. */
export function isBranchTaken(r1: RegState, r2: RegState, op: number, is32: boolean): number {
  if (regIsPktPointerAny(r1) && regIsPktPointerAny(r2) && !is32) return isPktPtrBranchTaken(r1, r2, op);
  if (r1.type !== SCALAR_VALUE || r2.type !== SCALAR_VALUE) {
    // A pointer's low 32 bits may be zero: a 32-bit test of one decides nothing (asked of the
    // running kernel: `if w0 != 0` on a map value follows both sides).
    if (is32) return -1;
    if (!isRegConst(r2, is32)) {
      op = flipOpcode(op);
      [r1, r2] = [r2, r1];
    }
    if (!isRegConst(r2, is32)) return -1;
    if (!regNotNull(r1)) return -1;
    if (regConstValue(r2, is32) !== 0n) return -1;
    if (op === BPF_JEQ) return 0;
    if (op === BPF_JNE) return 1;
    return -1;
  }
  return isScalarBranchTaken(r1, r2, op, is32);
}

const u32 = (x: number): number => x >>> 0;
const s32 = (x: number): number => x | 0;
const wrapU64 = (x: bigint): bigint => BigInt.asUintN(64, x);
const wrapS64 = (x: bigint): bigint => BigInt.asIntN(64, x);
const maxB = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const minB = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** regs_refine_cond_op: narrow both registers to the values for which `r1 op r2` holds. */
function refineCondOp(r1: RegState, r2: RegState, op: number, is32: boolean): void {
  if (op === BPF_JGE || op === BPF_JGT || op === BPF_JSGE || op === BPF_JSGT) {
    op = flipOpcode(op);
    [r1, r2] = [r2, r1];
  }
  switch (op) {
    case BPF_JEQ:
      if (is32) {
        r1.u32min = Math.max(r1.u32min, r2.u32min);
        r1.u32max = Math.min(r1.u32max, r2.u32max);
        r1.s32min = Math.max(r1.s32min, r2.s32min);
        r1.s32max = Math.min(r1.s32max, r2.s32max);
        r2.u32min = r1.u32min; r2.u32max = r1.u32max; r2.s32min = r1.s32min; r2.s32max = r1.s32max;
        const t = tnumIntersect(tnumSubreg(r1.varOff), tnumSubreg(r2.varOff));
        r1.varOff = tnumWithSubreg(r1.varOff, t);
        r2.varOff = tnumWithSubreg(r2.varOff, t);
      } else {
        r1.umin = maxB(r1.umin, r2.umin);
        r1.umax = minB(r1.umax, r2.umax);
        r1.smin = maxB(r1.smin, r2.smin);
        r1.smax = minB(r1.smax, r2.smax);
        r2.umin = r1.umin; r2.umax = r1.umax; r2.smin = r1.smin; r2.smax = r1.smax;
        r1.varOff = tnumIntersect(r1.varOff, r2.varOff);
        r2.varOff = r1.varOff;
      }
      break;
    case BPF_JNE: {
      if (!isRegConst(r2, is32)) [r1, r2] = [r2, r1];
      if (!isRegConst(r2, is32)) break;
      const val = regConstValue(r2, is32);
      if (is32) {
        const v = Number(val);
        if (r1.u32min === u32(v)) r1.u32min = u32(r1.u32min + 1);
        if (r1.u32max === u32(v)) r1.u32max = u32(r1.u32max - 1);
        if (r1.s32min === s32(v)) r1.s32min = s32(r1.s32min + 1);
        if (r1.s32max === s32(v)) r1.s32max = s32(r1.s32max - 1);
      } else {
        if (r1.umin === val) r1.umin = wrapU64(r1.umin + 1n);
        if (r1.umax === val) r1.umax = wrapU64(r1.umax - 1n);
        if (r1.smin === wrapS64(val)) r1.smin = wrapS64(r1.smin + 1n);
        if (r1.smax === wrapS64(val)) r1.smax = wrapS64(r1.smax - 1n);
      }
      break;
    }
    case BPF_JSET: {
      if (!isRegConst(r2, is32)) [r1, r2] = [r2, r1];
      if (!isRegConst(r2, is32)) break;
      const val = regConstValue(r2, is32);
      if (val === 0n || (val & (val - 1n)) !== 0n) break;
      if (is32) r1.varOff = tnumWithSubreg(r1.varOff, tnumOr(tnumSubreg(r1.varOff), tnumConst(val)));
      else r1.varOff = tnumOr(r1.varOff, tnumConst(val));
      break;
    }
    case JSET_X: {
      if (!isRegConst(r2, is32)) [r1, r2] = [r2, r1];
      if (!isRegConst(r2, is32)) break;
      const val = regConstValue(r2, is32);
      markUnbounded(r1);
      if (is32) r1.varOff = tnumWithSubreg(r1.varOff, tnumAnd(tnumSubreg(r1.varOff), tnumConst(wrapU64(~val))));
      else r1.varOff = tnumAnd(r1.varOff, tnumConst(wrapU64(~val)));
      break;
    }
    case BPF_JLE:
      if (is32) {
        r1.u32max = Math.min(r1.u32max, r2.u32max);
        r2.u32min = Math.max(r1.u32min, r2.u32min);
      } else {
        r1.umax = minB(r1.umax, r2.umax);
        r2.umin = maxB(r1.umin, r2.umin);
      }
      break;
    case BPF_JLT:
      if (is32) {
        r1.u32max = Math.min(r1.u32max, u32(r2.u32max - 1));
        r2.u32min = Math.max(u32(r1.u32min + 1), r2.u32min);
      } else {
        r1.umax = minB(r1.umax, wrapU64(r2.umax - 1n));
        r2.umin = maxB(wrapU64(r1.umin + 1n), r2.umin);
      }
      break;
    case BPF_JSLE:
      if (is32) {
        r1.s32max = Math.min(r1.s32max, r2.s32max);
        r2.s32min = Math.max(r1.s32min, r2.s32min);
      } else {
        r1.smax = minB(r1.smax, r2.smax);
        r2.smin = maxB(r1.smin, r2.smin);
      }
      break;
    case BPF_JSLT:
      if (is32) {
        r1.s32max = Math.min(r1.s32max, s32(r2.s32max - 1));
        r2.s32min = Math.max(s32(r1.s32min + 1), r2.s32min);
      } else {
        r1.smax = minB(r1.smax, wrapS64(r2.smax - 1n));
        r2.smin = maxB(wrapS64(r1.smin + 1n), r2.smin);
      }
      break;
  }
}

/** reg_bounds_sanity_check: contradictory bounds (a path that cannot happen) become unknown. */
function sanitize(reg: RegState): void {
  if (reg.type === SCALAR_VALUE && !regBoundsSane(reg)) markUnknown(reg);
}

/** reg_set_min_max: both sides of a scalar comparison. */
function regSetMinMax(trueReg1: RegState, trueReg2: RegState, falseReg1: RegState, falseReg2: RegState, op: number, is32: boolean): void {
  if (falseReg1.type !== SCALAR_VALUE || falseReg2.type !== SCALAR_VALUE) return;
  if (falseReg1 === falseReg2) return;
  refineCondOp(falseReg1, falseReg2, revOpcode(op), is32);
  regBoundsSync(falseReg1);
  regBoundsSync(falseReg2);
  refineCondOp(trueReg1, trueReg2, op, is32);
  regBoundsSync(trueReg1);
  regBoundsSync(trueReg2);
  for (const r of [trueReg1, trueReg2, falseReg1, falseReg2]) sanitize(r);
}

/** A register of a state named by frame and register (or stack slot + 64). */
function linkedReg(state: VerifierState, packed: number): RegState | undefined {
  const fr = packed >> 8;
  const r = packed & 0xff;
  if (r >= 64) return state.frames[fr]?.stack[r - 64]?.spilled;
  return state.frames[fr]?.regs[r];
}

const LINKED_REGS_MAX = 6;

/** collect_linked_regs: live scalars sharing `id`, packed as frame << 8 | reg (slots + 64). */
function collectLinkedRegs(env: VerifierEnv, state: VerifierState, id: number, out: number[]): void {
  id &= ~BPF_ADD_CONST;
  for (let fr = state.curframe; fr >= 0; fr--) {
    const insn = fr === state.curframe ? env.insnIdx : state.frames[fr + 1].callsite;
    const live = env.liveRegsBefore[insn];
    const frame = state.frames[fr];
    const add = (reg: RegState, packed: number): void => {
      if (reg.type !== SCALAR_VALUE || (reg.id & ~BPF_ADD_CONST) !== id) return;
      if (out.includes(packed)) return;
      if (out.length < LINKED_REGS_MAX) out.push(packed);
      else reg.id = 0;
    };
    for (let j = 0; j < 10; j++) if ((live >> j) & 1) add(frame.regs[j], (fr << 8) | j);
    frame.stack.forEach((slot, spi) => {
      if (slot.isSpilled) add(slot.spilled, (fr << 8) | (64 + spi));
    });
  }
}

/** sync_linked_regs: copies of `known` (plus their constant deltas) learn its new range. */
function syncLinkedRegs(env: VerifierEnv, state: VerifierState, known: RegState, linked: number[]): void {
  for (const packed of linked) {
    const reg = linkedReg(state, packed);
    if (!reg || reg.type !== SCALAR_VALUE || reg === known) continue;
    if ((reg.id & ~BPF_ADD_CONST) !== (known.id & ~BPF_ADD_CONST)) continue;
    const subregDef = reg.subregDef;
    if ((!(reg.id & BPF_ADD_CONST) && !(known.id & BPF_ADD_CONST)) || reg.off === known.off) {
      reg.assignFrom(known);
      reg.subregDef = subregDef;
    } else {
      const { off, id } = reg;
      const delta = new RegState();
      markKnown(delta, BigInt(off) - BigInt(known.off));
      delta.type = SCALAR_VALUE;
      reg.assignFrom(known);
      reg.off = off;
      reg.id = id;
      reg.subregDef = subregDef;
      addConst(reg, delta);
      if ((reg.id | known.id) & BPF_ADD_CONST32) zext32To64(reg);
      regBoundsSync(reg);
    }
    const r = packed & 0xff;
    if (r < 64) env.markScratchedReg(r);
    else env.markScratchedSlot(r - 64);
  }
}

/** reg += delta for a known delta (scalar_min_max_add and its 32-bit twin). */
function addConst(reg: RegState, delta: RegState): void {
  const d = BigInt.asIntN(64, delta.varOff.value);
  const d32 = Number(BigInt.asIntN(32, delta.varOff.value));
  const s32min = reg.s32min + d32;
  const s32max = reg.s32max + d32;
  if (s32min < -0x80000000 || s32max > 0x7fffffff) { reg.s32min = -0x80000000; reg.s32max = 0x7fffffff; }
  else { reg.s32min = s32min; reg.s32max = s32max; }
  const du32 = d32 >>> 0;
  const u32min = reg.u32min + du32;
  const u32max = reg.u32max + du32;
  reg.u32min = u32min >>> 0;
  reg.u32max = u32max >>> 0;
  if (u32min <= 0xffffffff && u32max > 0xffffffff) { reg.u32min = 0; reg.u32max = 0xffffffff; }
  const smin = reg.smin + d;
  const smax = reg.smax + d;
  if (smin < -(1n << 63n) || smax > (1n << 63n) - 1n) { reg.smin = -(1n << 63n); reg.smax = (1n << 63n) - 1n; }
  else { reg.smin = smin; reg.smax = smax; }
  const du = BigInt.asUintN(64, d);
  const umin = reg.umin + du;
  const umax = reg.umax + du;
  reg.umin = BigInt.asUintN(64, umin);
  reg.umax = BigInt.asUintN(64, umax);
  if (umin <= (1n << 64n) - 1n && umax > (1n << 64n) - 1n) { reg.umin = 0n; reg.umax = (1n << 64n) - 1n; }
  reg.varOff = tnumAdd(reg.varOff, delta.varOff);
}

/** mark_ptr_not_null_reg: the pointer passed a NULL check. */
export function markPtrNotNullReg(reg: RegState): void {
  if (baseType(reg.type) === PTR_TO_MAP_VALUE) {
    const map = reg.map!;
    if (map.inner) {
      reg.type = CONST_PTR_TO_MAP;
      reg.map = map.inner;
    } else if (map.type === BPF_MAP_TYPE.BPF_MAP_TYPE_XSKMAP) {
      reg.type = PTR_TO_XDP_SOCK;
    } else if (map.type === BPF_MAP_TYPE.BPF_MAP_TYPE_SOCKMAP || map.type === BPF_MAP_TYPE.BPF_MAP_TYPE_SOCKHASH) {
      reg.type = PTR_TO_SOCKET;
    } else {
      reg.type = PTR_TO_MAP_VALUE;
    }
    return;
  }
  reg.type &= ~PTR_MAYBE_NULL;
}

/** mark_ptr_or_null_regs: every copy of a maybe-NULL pointer learns the check's outcome. */
function markPtrOrNullRegs(state: VerifierState, regno: number, isNull: boolean): void {
  const reg0 = state.regs[regno];
  const { refObjId, id } = reg0;
  if (refObjId && refObjId === id && isNull) releaseReferenceNomark(state, id);
  for (const reg of state.allRegs()) {
    if (!(reg.type & PTR_MAYBE_NULL) || reg.id !== id || !reg.id) continue;
    if (reg.smin || reg.smax || !(tnumIsConst(reg.varOff) && reg.varOff.value === 0n) || reg.off) continue;
    if (isNull) {
      reg.type = SCALAR_VALUE;
      reg.id = 0;
      reg.refObjId = 0;
      continue;
    }
    markPtrNotNullReg(reg);
    if (!(reg.type === PTR_TO_MAP_VALUE && reg.map?.spinLockOff !== undefined)) reg.id = 0;
  }
}

// ---- packet pointers compared with data_end ------------------------------------------------

/** find_good_pkt_pointers: every copy of `dst` may now touch `dst.off` (+1 if open) bytes. */
function findGoodPktPointers(state: VerifierState, dst: RegState, type: number, rangeRightOpen: boolean): void {
  if (dst.off < 0 || (dst.off === 0 && rangeRightOpen)) return;
  if (dst.umax > BigInt(MAX_PACKET_OFF) || dst.umax + BigInt(dst.off) > BigInt(MAX_PACKET_OFF)) return;
  const newRange = dst.off + (rangeRightOpen ? 1 : 0);
  const id = dst.id;
  for (const reg of state.allRegs()) if (reg.type === type && reg.id === id) reg.range = Math.max(reg.range, newRange);
}

/** mark_pkt_end: the pointer is at (or beyond) data_end on this side. */
function markPktEnd(state: VerifierState, regno: number, rangeOpen: boolean): void {
  const reg = state.regs[regno];
  if (reg.type !== PTR_TO_PACKET) return;
  reg.range = rangeOpen ? BEYOND_PKT_END : AT_PKT_END;
}

/** reg_is_init_pkt_pointer: data itself (no offset). */
const isInitPktPointer = (reg: RegState, type: number): boolean =>
  reg.type === type && reg.off === 0 && tnumIsConst(reg.varOff) && reg.varOff.value === 0n;

/** try_match_pkt_pointers: `data + N` compared with `data_end` (or meta with data). */
function tryMatchPktPointers(insn: Insn, dst: RegState, src: RegState, thisBranch: VerifierState, otherBranch: VerifierState): boolean {
  if (BPF_SRC(insn.code) !== BPF_X || BPF_CLASS(insn.code) === BPF_JMP32) return false;
  const op = BPF_OP(insn.code);
  const dstIsPkt = (dst.type === PTR_TO_PACKET && src.type === PTR_TO_PACKET_END)
    || (dst.type === PTR_TO_PACKET_META && isInitPktPointer(src, PTR_TO_PACKET));
  const srcIsPkt = (dst.type === PTR_TO_PACKET_END && src.type === PTR_TO_PACKET)
    || (isInitPktPointer(dst, PTR_TO_PACKET) && src.type === PTR_TO_PACKET_META);
  if (!dstIsPkt && !srcIsPkt) return false;
  const pkt = dstIsPkt ? dst : src;
  const pktRegno = dstIsPkt ? insn.dst : insn.src;
  // Where the pointer is inside (good) and whether it is strictly below data_end (right-open).
  let goodOnTaken: boolean;
  let open: boolean;
  switch (dstIsPkt ? op : flipOpcode(op)) {
    case BPF_JGT: goodOnTaken = false; open = false; break; // pkt > end: fall-through pkt <= end
    case BPF_JLT: goodOnTaken = true; open = true; break; // pkt < end
    case BPF_JGE: goodOnTaken = false; open = true; break; // pkt >= end: fall-through pkt < end
    case BPF_JLE: goodOnTaken = true; open = false; break; // pkt <= end
    default: return false;
  }
  const good = goodOnTaken ? otherBranch : thisBranch;
  const bad = goodOnTaken ? thisBranch : otherBranch;
  findGoodPktPointers(good, pkt, pkt.type, open);
  markPktEnd(bad, pktRegno, !open);
  return true;
}

/** BPF_JCOND: may_goto, the compiler's escape from loops the verifier cannot bound. */
const BPF_JCOND = 0xe0;

/** may_goto: both sides are explored; the fall-through is queued one level deeper. */
function checkMayGoto(env: VerifierEnv, insn: Insn): number {
  if (insn.code !== (0x05 | BPF_JCOND) || insn.src !== 0 || insn.dst || insn.imm) env.reject(EINVAL, `invalid may_goto imm ${insn.imm}`);
  const cur = env.curState;
  const prev = cur.parent ? findPrevEntry(env, cur.parent, env.insnIdx) : undefined;
  const queued = env.pushStack(env.insnIdx + 1, env.insnIdx, false);
  queued.mayGotoDepth++;
  if (prev) widenImpreciseScalars(env, prev, queued);
  return env.insnIdx + insn.off + 1;
}

// ---- the jump ----------------------------------------------------------------------------------

/** check_cond_jmp_op: returns the next instruction (the target, or the one after). */
export function checkCondJmpOp(env: VerifierEnv, insn: Insn): number {
  const thisBranch = env.curState;
  const regs = thisBranch.regs;
  const op = BPF_OP(insn.code);
  if (op === BPF_JCOND) return checkMayGoto(env, insn);
  if (op === BPF_JA || op > BPF_JSLE) env.reject(EINVAL, `invalid BPF_JMP/JMP32 opcode ${op.toString(16)}`);
  checkRegArg(env, insn.dst, SRC_OP);
  const dst = regs[insn.dst];
  let src: RegState;
  if (BPF_SRC(insn.code) === BPF_X) {
    if (insn.imm !== 0) env.reject(EINVAL, 'BPF_JMP/JMP32 uses reserved fields');
    checkRegArg(env, insn.src, SRC_OP);
    src = regs[insn.src];
    if (!(regIsPktPointerAny(dst) && regIsPktPointerAny(src)) && isPointerValue(env, insn.src)) {
      env.reject(EACCES, `R${insn.src} pointer comparison prohibited`);
    }
  } else {
    if (insn.src !== 0) env.reject(EINVAL, 'BPF_JMP/JMP32 uses reserved fields');
    src = new RegState();
    markKnown(src, BigInt(insn.imm));
    src.type = SCALAR_VALUE;
  }
  const is32 = BPF_CLASS(insn.code) === BPF_JMP32;
  const pred = isBranchTaken(dst, src, op, is32);
  if (pred >= 0) {
    if (dst.type === SCALAR_VALUE) markChainPrecision(env, insn.dst);
    if (BPF_SRC(insn.code) === BPF_X && src.type === SCALAR_VALUE) markChainPrecision(env, insn.src);
  }
  const target = env.insnIdx + insn.off + 1;
  if (pred === 1) {
    if (!env.priv.bypassSpecV1) env.pushSpeculative(env.insnIdx + 1, env.insnIdx, insn);
    env.printInsnState();
    return target;
  }
  if (pred === 0) {
    if (!env.priv.bypassSpecV1) env.pushSpeculative(target, env.insnIdx, insn);
    env.printInsnState();
    return env.insnIdx + 1;
  }
  const linked: number[] = [];
  if (BPF_SRC(insn.code) === BPF_X && src.type === SCALAR_VALUE && src.id) collectLinkedRegs(env, thisBranch, src.id, linked);
  if (dst.type === SCALAR_VALUE && dst.id) collectLinkedRegs(env, thisBranch, dst.id, linked);
  if (linked.length > 1) pushHistory(env, thisBranch, 0, linked);
  const otherBranch = env.pushStack(target, env.insnIdx, false);
  const otherRegs = otherBranch.regs;
  if (BPF_SRC(insn.code) === BPF_X) {
    regSetMinMax(otherRegs[insn.dst], otherRegs[insn.src], dst, src, op, is32);
  } else {
    regSetMinMax(otherRegs[insn.dst], src.clone(), dst, src, op, is32);
  }
  if (BPF_SRC(insn.code) === BPF_X && src.type === SCALAR_VALUE && src.id) {
    syncLinkedRegs(env, thisBranch, src, linked);
    syncLinkedRegs(env, otherBranch, otherRegs[insn.src], linked);
  }
  if (dst.type === SCALAR_VALUE && dst.id) {
    syncLinkedRegs(env, thisBranch, dst, linked);
    syncLinkedRegs(env, otherBranch, otherRegs[insn.dst], linked);
  }
  // A maybe-NULL pointer compared with a non-NULL one.
  if (!is32 && BPF_SRC(insn.code) === BPF_X && src.type !== SCALAR_VALUE && dst.type !== SCALAR_VALUE
    && ((src.type & PTR_MAYBE_NULL) !== 0) !== ((dst.type & PTR_MAYBE_NULL) !== 0)
    && baseType(src.type) !== PTR_TO_BTF_ID && baseType(dst.type) !== PTR_TO_BTF_ID) {
    const eqRegs = op === BPF_JEQ ? otherRegs : op === BPF_JNE ? regs : undefined;
    if (eqRegs) markPtrNotNullReg(eqRegs[src.type & PTR_MAYBE_NULL ? insn.src : insn.dst]);
  }
  if (!is32 && BPF_SRC(insn.code) === BPF_K && insn.imm === 0 && (op === BPF_JEQ || op === BPF_JNE) && dst.type & PTR_MAYBE_NULL) {
    markPtrOrNullRegs(thisBranch, insn.dst, op === BPF_JNE);
    markPtrOrNullRegs(otherBranch, insn.dst, op === BPF_JEQ);
  } else if (!tryMatchPktPointers(insn, dst, regs[insn.src], thisBranch, otherBranch) && isPointerValue(env, insn.dst)) {
    env.reject(EACCES, `R${insn.dst} pointer comparison prohibited`);
  }
  env.printInsnState();
  return env.insnIdx + 1;
}

void BPF_K;
void PTR_TO_STACK;
