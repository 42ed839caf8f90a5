/**
 * ALU instructions (check_alu_op): moves, arithmetic on scalars (bounds in bounds.ts), and
 * arithmetic on pointers (adjust_ptr_min_max_vals) — which kinds of pointer may move, by how
 * much, with what offset tracking — and, without CAP_PERFMON, the Spectre v1 sanitation rules
 * that limit pointer arithmetic (sanitize_ptr_alu, sanitize_check_bounds).
 */
import {
  BPF_ADD, BPF_ALU64, BPF_AND, BPF_ARSH, BPF_CLASS, BPF_DIV, BPF_END, BPF_K, BPF_LSH, BPF_MOD, BPF_MOV, BPF_NEG, BPF_OP,
  BPF_OR, BPF_RSH, BPF_SRC, BPF_SUB, BPF_TO_LE, BPF_X, BPF_XOR, MAX_BPF_STACK,
} from '../isa/opcodes.js';
import { BPF_MAX_VAR_OFF } from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import { PTR_MAYBE_NULL, PTR_UNTRUSTED, baseType } from '../uapi/helper-protos.js';
import { coerceRegToSizeSx, coerceSubregToSizeSx, regBoundsSane, regBoundsSync, zext32To64 } from './bounds.js';
import { scalarAlu, scalarByteSwap } from './scalar-alu.js';
import { checkMapAccess } from './check-mem.js';
import { VerifyFailure, type VerifierEnv } from './env.js';
import type { Insn } from './kernel-disasm.js';
import { markChainPrecision } from './precision.js';
import {
  BPF_ADD_CONST, BPF_ADD_CONST32, BPF_ADD_CONST64, CONST_PTR_TO_MAP, PTR_TO_CTX, PTR_TO_FLOW_KEYS, PTR_TO_FUNC,
  PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE, PTR_TO_MEM, PTR_TO_PACKET, PTR_TO_PACKET_META, PTR_TO_STACK, PTR_TO_BTF_ID, PTR_TO_BUF,
  PTR_TO_TP_BUFFER, CONST_PTR_TO_DYNPTR, RegState, S32_MAX, S32_MIN, S64_MAX, S64_MIN, SCALAR_VALUE, U64_MAX, markKnown,
  markKnown32, markUnbounded32, markUnknown, regTypeStr,
} from './reg-state.js';
import { DST_OP, DST_OP_NO_MARK, SRC_OP, assignScalarIdBeforeMov, checkRegArg, isPointerValue, regIsPktPointer, regWidth } from './regs.js';
import { tnumAdd, tnumIsConst, tnumString, tnumSub, tnumSubregIsConst } from './tnum.js';

const { EACCES, EINVAL } = ERRNO;

/** bpf_alu_string: the operator as messages write it. */
const ALU_STRING: Record<number, string> = {
  0x00: '+=', 0x10: '-=', 0x20: '*=', 0x30: '/=', 0x40: '|=', 0x50: '&=', 0x60: '<<=', 0x70: '>>=', 0x80: 'neg', 0x90: '%=',
  0xa0: '^=', 0xb0: '=', 0xc0: 's>>=', 0xd0: 'endian',
};

// ---- Spectre v1 sanitation (only without CAP_PERFMON) -----------------------------------------

const REASON_BOUNDS = -1;
const REASON_TYPE = -2;
const REASON_PATHS = -3;
const REASON_LIMIT = -4;

const BPF_ALU_SANITIZE_SRC = 1;
const BPF_ALU_SANITIZE_DST = 2;
const BPF_ALU_NEG_VALUE = 4;
const BPF_ALU_NON_POINTER = 8;
const BPF_ALU_IMMEDIATE = 16;

const canSkipAluSanitation = (env: VerifierEnv, insn: Insn): boolean =>
  env.priv.bypassSpecV1 || BPF_SRC(insn.code) === BPF_K || env.nospec[env.insnIdx] === 1;

/** update_alu_sanitation_state: one instruction, one masking plan, on every path. */
function updateAluSanitation(env: VerifierEnv, state: number, limit: number): number {
  const i = env.insnIdx;
  if (env.aluState[i] && (env.aluState[i] !== state || env.aluLimit[i] !== limit)) return REASON_PATHS;
  env.aluState[i] = state;
  env.aluLimit[i] = limit;
  return 0;
}

/** retrieve_ptr_limit: how far a stack or map-value pointer may move, else REASON_TYPE. */
function retrievePtrLimit(ptr: RegState, maskToLeft: boolean): number {
  let max: number;
  let limit: number;
  if (ptr.type === PTR_TO_STACK) {
    max = MAX_BPF_STACK + (maskToLeft ? 1 : 0);
    limit = -(Number(BigInt.asIntN(64, ptr.varOff.value)) + ptr.off);
  } else if (ptr.type === PTR_TO_MAP_VALUE) {
    max = ptr.map!.valueSize;
    limit = Number(maskToLeft ? ptr.smin : ptr.umax) + ptr.off;
  } else {
    return REASON_TYPE;
  }
  if (limit >>> 0 >= max) return REASON_LIMIT;
  return limit >>> 0;
}

interface SanitizeInfo {
  maskToLeft: boolean;
  aluState: number;
  aluLimit: number;
}

/** sanitize_ptr_alu: record the masking the kernel would emit, or give the reason it cannot. */
function sanitizePtrAlu(env: VerifierEnv, insn: Insn, ptr: RegState, offReg: RegState, dst: RegState, info: SanitizeInfo, commit: boolean): number {
  if (canSkipAluSanitation(env, insn)) return 0;
  const offIsImm = tnumIsConst(offReg.varOff);
  const offIsNeg = offReg.smin < 0n;
  const op = BPF_OP(insn.code);
  if (env.curState.speculative) return commit || offIsImm ? 0 : simulateTruncation(env, ptr, dst);
  if (!commit) {
    if (!offIsImm && (offReg.smin < 0n) !== (offReg.smax < 0n)) return REASON_BOUNDS;
    info.maskToLeft = (op === BPF_ADD && offIsNeg) || (op === BPF_SUB && !offIsNeg);
  }
  let limit = retrievePtrLimit(ptr, info.maskToLeft);
  if (limit < 0) return limit;
  let state: number;
  if (commit) {
    state = info.aluState;
    limit = Math.abs(info.aluLimit - limit);
  } else {
    state = (offIsNeg ? BPF_ALU_NEG_VALUE : 0) | (offIsImm ? BPF_ALU_IMMEDIATE : 0)
      | (ptr === dst ? BPF_ALU_SANITIZE_SRC : BPF_ALU_SANITIZE_DST);
    info.aluState = state;
    info.aluLimit = limit;
    if (!offIsImm) env.exploreAluLimits = true;
  }
  // The first phase plans in `info` only; the commit phase records the plan for the instruction.
  if (commit) {
    const err = updateAluSanitation(env, state, limit);
    if (err < 0) return err;
  }
  if (commit || offIsImm) return 0;
  return simulateTruncation(env, ptr, dst);
}

/** The speculative path where the masked offset is 0 (sanitize_speculative_path for ALU). */
function simulateTruncation(env: VerifierEnv, ptr: RegState, dst: RegState): number {
  const saved = ptr === dst ? undefined : dst.clone();
  if (saved) dst.assignFrom(ptr);
  env.pushSpeculative(env.insnIdx + 1, env.insnIdx, undefined);
  if (saved) dst.assignFrom(saved);
  return 0;
}

function sanitizeErr(env: VerifierEnv, insn: Insn, reason: number, offRegIsDst: boolean): never {
  const err = 'pointer arithmetic with it prohibited for !root';
  const op = BPF_OP(insn.code) === BPF_ADD ? 'add' : 'sub';
  const { dst, src } = insn;
  switch (reason) {
    case REASON_BOUNDS:
      // sanitize_err names `off_reg == dst_reg ? dst : src`; 6.18 names the source register even
      // for `scalar += pointer` (asked of the running kernel).
      void offRegIsDst;
      return env.reject(EACCES, `R${src} has unknown scalar with mixed signed bounds, ${err}`);
    case REASON_TYPE:
      return env.reject(EACCES, `R${dst} has pointer with unsupported alu operation, ${err}`);
    case REASON_PATHS:
      return env.reject(EACCES, `R${dst} tried to ${op} from different maps, paths or scalars, ${err}`);
    default:
      return env.reject(EACCES, `R${dst} tried to ${op} beyond pointer bounds, ${err}`);
  }
}

/** sanitize_check_bounds: without CAP_PERFMON a moved pointer must stay inside its object. */
function sanitizeCheckBounds(env: VerifierEnv, insn: Insn, dst: RegState): number {
  if (env.priv.bypassSpecV1) return 0;
  if (dst.type === PTR_TO_STACK) {
    const off = dst.off + Number(BigInt.asIntN(64, dst.varOff.value));
    if (!tnumIsConst(dst.varOff)) {
      env.reject(EACCES, `R${insn.dst} variable stack access prohibited for !root, var_off=${tnumString(dst.varOff)} off=${off}`);
    }
    if (off >= 0 || off < -MAX_BPF_STACK) {
      env.reject(EACCES, `R${insn.dst} stack pointer arithmetic goes out of range, prohibited for !root; off=${off}`);
    }
    return 0;
  }
  if (dst.type === PTR_TO_MAP_VALUE) {
    try {
      checkMapAccess(env, insn.dst, dst.off, 1, false);
    } catch (err) {
      const first = env.failure;
      if (!first) throw err;
      env.failure = undefined;
      // The access check's own message stays first in the log, as the kernel prints it.
      env.say(`R${insn.dst} pointer arithmetic of map value goes out of range, prohibited for !root\n`);
      throw (env.failure = new VerifyFailure(EACCES, first.message, env.insnIdx));
    }
    return 0;
  }
  return -1;
}

// ---- pointer arithmetic ----------------------------------------------------------------------

/**
 * check_reg_sane_offset. A scalar offset's `off` (the delta of a linked scalar, BPF_ADD_CONST)
 * is not a pointer offset: 6.18 stable checks only the pointer's (`isPointer`).
 */
function checkRegSaneOffset(env: VerifierEnv, reg: RegState, type: number, isPointer = true): void {
  const known = tnumIsConst(reg.varOff);
  const val = BigInt.asIntN(64, reg.varOff.value);
  const max = BigInt(BPF_MAX_VAR_OFF);
  const name = regTypeStr(type);
  if (known && (val >= max || val <= -max)) env.reject(EINVAL, `math between ${name} pointer and ${val} is not allowed`);
  if (isPointer && (reg.off >= BPF_MAX_VAR_OFF || reg.off <= -BPF_MAX_VAR_OFF)) env.reject(EINVAL, `${name} pointer offset ${reg.off} is not allowed`);
  if (reg.smin === S64_MIN) env.reject(EINVAL, `math between ${name} pointer and register with unbounded min value is not allowed`);
  if (reg.smin >= max || reg.smin <= -max) env.reject(EINVAL, `value ${reg.smin} makes ${name} pointer be out of bounds`);
}

/** The pointer-specific part of a register (its union): map, range, size… */
function copyRaw(dst: RegState, src: RegState): void {
  dst.map = src.map;
  dst.mapUid = src.mapUid;
  dst.range = src.range;
  dst.memSize = src.memSize;
  dst.subprogno = src.subprogno;
  dst.btfName = src.btfName;
}

function clearRaw(dst: RegState): void {
  dst.map = undefined;
  dst.mapUid = 0;
  dst.range = 0;
  dst.memSize = 0;
  dst.subprogno = 0;
  dst.btfName = '';
}

const fitsS32 = (v: bigint): boolean => v === BigInt(Number(BigInt.asIntN(32, v))) && v >= BigInt(S32_MIN) && v <= BigInt(S32_MAX);

/** adjust_ptr_min_max_vals: `dst = ptr op off` where `ptr` is a pointer and `off` a scalar. */
function adjustPtrMinMaxVals(env: VerifierEnv, insn: Insn, ptr: RegState, offReg: RegState): void {
  const dst = env.curState.regs[insn.dst];
  const known = tnumIsConst(offReg.varOff);
  const { smin: sminVal, smax: smaxVal, umin: uminVal, umax: umaxVal } = offReg;
  const { smin: sminPtr, smax: smaxPtr, umin: uminPtr, umax: umaxPtr } = ptr;
  const op = BPF_OP(insn.code);
  if ((known && (sminVal !== smaxVal || uminVal !== umaxVal)) || sminVal > smaxVal || uminVal > umaxVal) {
    markUnknown(dst); // offset bounds from a dead branch
    return;
  }
  if (BPF_CLASS(insn.code) !== BPF_ALU64) {
    if (op === BPF_SUB && env.priv.allowPtrLeaks) {
      markUnknown(dst);
      return;
    }
    env.reject(EACCES, `R${insn.dst} 32-bit pointer arithmetic prohibited`);
  }
  if (ptr.type & PTR_MAYBE_NULL) {
    env.reject(EACCES, `R${insn.dst} pointer arithmetic on ${regTypeStr(ptr.type)} prohibited, null-check it first`);
  }
  if (baseType(ptr.type) === PTR_TO_MEM && ptr.type & PTR_UNTRUSTED) return;
  switch (baseType(ptr.type)) {
    case PTR_TO_CTX: case PTR_TO_MAP_VALUE: case PTR_TO_MAP_KEY: case PTR_TO_STACK: case PTR_TO_PACKET_META: case PTR_TO_PACKET:
    case PTR_TO_TP_BUFFER: case PTR_TO_BTF_ID: case PTR_TO_MEM: case PTR_TO_BUF: case PTR_TO_FUNC: case CONST_PTR_TO_DYNPTR:
      break;
    case PTR_TO_FLOW_KEYS:
      if (known) break;
      env.reject(EACCES, `R${insn.dst} pointer arithmetic on ${regTypeStr(ptr.type)} prohibited`);
    // eslint-disable-next-line no-fallthrough
    case CONST_PTR_TO_MAP:
      if (known && sminVal === 0n && op === BPF_ADD) break;
      env.reject(EACCES, `R${insn.dst} pointer arithmetic on ${regTypeStr(ptr.type)} prohibited`);
    // eslint-disable-next-line no-fallthrough
    default:
      env.reject(EACCES, `R${insn.dst} pointer arithmetic on ${regTypeStr(ptr.type)} prohibited`);
  }
  const ptrSnapshot = ptr.clone();
  dst.type = ptr.type;
  dst.id = ptr.id;
  checkRegSaneOffset(env, offReg, ptr.type, false);
  checkRegSaneOffset(env, ptrSnapshot, ptr.type);
  markUnbounded32(dst);
  const info: SanitizeInfo = { maskToLeft: false, aluState: 0, aluLimit: 0 };
  const sanitize = op === BPF_ADD || op === BPF_SUB;
  const offRegIsDst = offReg === dst;
  if (sanitize) {
    const ret = sanitizePtrAlu(env, insn, ptrSnapshot, offReg, dst, info, false);
    if (ret < 0) sanitizeErr(env, insn, ret, offRegIsDst);
  }
  const p = ptrSnapshot;
  if (op === BPF_ADD) {
    if (known && fitsS32(BigInt(p.off) + sminVal)) {
      dst.smin = sminPtr; dst.smax = smaxPtr; dst.umin = uminPtr; dst.umax = umaxPtr;
      dst.varOff = p.varOff;
      dst.off = p.off + Number(sminVal);
      copyRaw(dst, p);
    } else {
      const smin = sminPtr + sminVal;
      const smax = smaxPtr + smaxVal;
      if (smin < S64_MIN || smin > S64_MAX || smax < S64_MIN || smax > S64_MAX) { dst.smin = S64_MIN; dst.smax = S64_MAX; }
      else { dst.smin = smin; dst.smax = smax; }
      const umin = uminPtr + uminVal;
      const umax = umaxPtr + umaxVal;
      if (umin > U64_MAX || umax > U64_MAX) { dst.umin = 0n; dst.umax = U64_MAX; }
      else { dst.umin = umin; dst.umax = umax; }
      dst.varOff = tnumAdd(p.varOff, offReg.varOff);
      dst.off = p.off;
      copyRaw(dst, p);
      if (regIsPktPointer(p)) {
        dst.id = ++env.idGen;
        clearRaw(dst);
      }
    }
  } else if (op === BPF_SUB) {
    if (offRegIsDst) env.reject(EACCES, `R${insn.dst} tried to subtract pointer from scalar`);
    if (p.type === PTR_TO_STACK) env.reject(EACCES, `R${insn.dst} subtraction from stack pointer prohibited`);
    if (known && fitsS32(BigInt(p.off) - sminVal)) {
      dst.smin = sminPtr; dst.smax = smaxPtr; dst.umin = uminPtr; dst.umax = umaxPtr;
      dst.varOff = p.varOff;
      dst.id = p.id;
      dst.off = p.off - Number(sminVal);
      copyRaw(dst, p);
    } else {
      const smin = sminPtr - smaxVal;
      const smax = smaxPtr - sminVal;
      if (smin < S64_MIN || smin > S64_MAX || smax < S64_MIN || smax > S64_MAX) { dst.smin = S64_MIN; dst.smax = S64_MAX; }
      else { dst.smin = smin; dst.smax = smax; }
      if (uminPtr < umaxVal) { dst.umin = 0n; dst.umax = U64_MAX; }
      else { dst.umin = uminPtr - umaxVal; dst.umax = umaxPtr - uminVal; }
      dst.varOff = tnumSub(p.varOff, offReg.varOff);
      dst.off = p.off;
      copyRaw(dst, p);
      if (regIsPktPointer(p)) {
        dst.id = ++env.idGen;
        if (sminVal < 0n) clearRaw(dst);
      }
    }
  } else if (op === BPF_AND || op === BPF_OR || op === BPF_XOR) {
    env.reject(EACCES, `R${insn.dst} bitwise operator ${ALU_STRING[op]} on pointer prohibited`);
  } else {
    env.reject(EACCES, `R${insn.dst} pointer arithmetic with ${ALU_STRING[op]} operator prohibited`);
  }
  checkRegSaneOffset(env, dst, p.type);
  regBoundsSync(dst);
  sanitizeCheckBounds(env, insn, dst);
  if (sanitize) {
    const ret = sanitizePtrAlu(env, insn, dst, offReg, dst, info, true);
    if (ret < 0) sanitizeErr(env, insn, ret, offRegIsDst);
  }
}

// ---- check_alu_op ------------------------------------------------------------------------------

/** A register holding `imm` (the source of a BPF_K operation). */
function immReg(imm: number, alu64: boolean): RegState {
  const r = new RegState();
  markKnown(r, alu64 ? BigInt(imm) : BigInt(imm >>> 0));
  r.type = SCALAR_VALUE;
  return r;
}

/** adjust_reg_min_max_vals: dispatch to pointer or scalar arithmetic, keep linked-scalar deltas. */
function adjustRegMinMaxVals(env: VerifierEnv, insn: Insn): void {
  const regs = env.curState.regs;
  const dst = regs[insn.dst];
  const alu32 = BPF_CLASS(insn.code) !== BPF_ALU64;
  const op = BPF_OP(insn.code);
  let src: RegState;
  if (BPF_SRC(insn.code) === BPF_X) {
    src = regs[insn.src];
    if (src.type !== SCALAR_VALUE) {
      if (dst.type !== SCALAR_VALUE) {
        if (op === BPF_SUB && env.priv.allowPtrLeaks) {
          markUnknown(dst);
          return;
        }
        env.reject(EACCES, `R${insn.dst} pointer ${ALU_STRING[op]} pointer prohibited`);
      }
      markChainPrecision(env, insn.dst);
      adjustPtrMinMaxVals(env, insn, src, dst);
      return;
    }
    if (dst.type !== SCALAR_VALUE) {
      markChainPrecision(env, insn.src);
      adjustPtrMinMaxVals(env, insn, dst, src);
      return;
    }
    if (dst.precise) markChainPrecision(env, insn.src);
  } else {
    src = immReg(insn.imm, true);
    if (dst.type !== SCALAR_VALUE) {
      adjustPtrMinMaxVals(env, insn, dst, src);
      return;
    }
  }
  const srcCopy = src.clone();
  if ((op === BPF_ADD || op === BPF_SUB) && !canSkipAluSanitation(env, insn)) {
    const err = updateAluSanitation(env, BPF_ALU_NON_POINTER, 0);
    if (err < 0) sanitizeErr(env, insn, err, false);
  }
  if ((op === BPF_AND || op === BPF_OR) && tnumIsConst(srcCopy.varOff)) maybeForkScalars(env, insn, dst);
  scalarAlu(dst, srcCopy, op, !alu32);
  linkAddConst(env, insn, dst, srcCopy, alu32);
}

/**
 * maybe_fork_scalars (6.18 stable): `x & K` or `x | K` with x in [-1, 0] (LLVM's `s>> 63` mask
 * idiom) is followed once for each value: a branch re-runs the instruction with x = 0, this
 * path goes on with x = -1.
 */
function maybeForkScalars(env: VerifierEnv, insn: Insn, dst: RegState): void {
  let alu32: boolean;
  if (dst.smin === -1n && dst.smax === 0n) alu32 = false;
  else if (dst.s32min === -1 && dst.s32max === 0) alu32 = true;
  else return;
  const branch = env.pushStack(env.insnIdx, env.insnIdx, false);
  const other = branch.regs[insn.dst];
  if (alu32) {
    markKnown32(other, 0);
    markKnown32(dst, -1);
  } else {
    markKnown(other, 0n);
    markKnown(dst, -1n);
  }
}

/** `r1 = r2; r1 += 4`: remember that r1 is r2 + 4, so a later check on r2 narrows r1 too. */
function linkAddConst(env: VerifierEnv, insn: Insn, dst: RegState, src: RegState, alu32: boolean): void {
  const op = BPF_OP(insn.code);
  const srcConst = alu32 ? tnumSubregIsConst(src.varOff) : tnumIsConst(src.varOff);
  if (!env.priv.bpfCapable || (op !== BPF_ADD && op !== BPF_SUB) || !dst.id || !srcConst) {
    dst.id = 0;
    return;
  }
  const val = alu32 ? BigInt.asIntN(32, src.varOff.value) : BigInt.asIntN(64, src.varOff.value);
  const clearId = (): void => {
    dst.off = 0;
    dst.id = 0;
  };
  if (val < BigInt(S32_MIN) || val > BigInt(S32_MAX)) return clearId();
  if (op === BPF_SUB && val === BigInt(S32_MIN)) return clearId();
  if (dst.id & BPF_ADD_CONST) return clearId();
  dst.id |= alu32 ? BPF_ADD_CONST32 : BPF_ADD_CONST64;
  dst.off = op === BPF_SUB ? -Number(val) : Number(val);
}

/** The moves: `r1 = r2`, `w1 = w2`, `r1 = (s8)r2`, `r1 = imm`. */
function checkMov(env: VerifierEnv, insn: Insn): void {
  const regs = env.curState.regs;
  const alu64 = BPF_CLASS(insn.code) === BPF_ALU64;
  if (BPF_SRC(insn.code) === BPF_X) {
    const offs = alu64 ? [0, 8, 16, 32] : [0, 8, 16];
    if (!offs.includes(insn.off) || insn.imm) env.reject(EINVAL, 'BPF_MOV uses reserved fields');
    checkRegArg(env, insn.src, SRC_OP);
  } else if (insn.src !== 0 || insn.off !== 0) {
    env.reject(EINVAL, 'BPF_MOV uses reserved fields');
  }
  checkRegArg(env, insn.dst, DST_OP_NO_MARK);
  const dst = regs[insn.dst];
  if (BPF_SRC(insn.code) === BPF_K) {
    markUnknown(dst);
    markKnown(dst, alu64 ? BigInt(insn.imm) : BigInt(insn.imm >>> 0));
    return;
  }
  const src = regs[insn.src];
  if (alu64) {
    if (insn.off === 0) {
      assignScalarIdBeforeMov(env, src);
      dst.assignFrom(src);
      dst.subregDef = 0;
      return;
    }
    if (isPointerValue(env, insn.src)) env.reject(EACCES, `R${insn.src} sign-extension part of pointer`);
    if (src.type === SCALAR_VALUE) {
      const noSext = src.umax < 1n << BigInt(insn.off - 1);
      if (noSext) assignScalarIdBeforeMov(env, src);
      dst.assignFrom(src);
      if (!noSext) dst.id = 0;
      coerceRegToSizeSx(dst, insn.off >> 3);
      dst.subregDef = 0;
    } else {
      markUnknown(dst);
    }
    return;
  }
  if (isPointerValue(env, insn.src)) env.reject(EACCES, `R${insn.src} partial copy of pointer`);
  if (src.type === SCALAR_VALUE) {
    if (insn.off === 0) {
      const isU32 = regWidth(src) <= 32;
      if (isU32) assignScalarIdBeforeMov(env, src);
      dst.assignFrom(src);
      if (!isU32) dst.id = 0;
    } else {
      const noSext = src.umax < 1n << BigInt(insn.off - 1);
      if (noSext) assignScalarIdBeforeMov(env, src);
      dst.assignFrom(src);
      if (!noSext) dst.id = 0;
      coerceSubregToSizeSx(dst, insn.off >> 3);
    }
    dst.subregDef = env.insnIdx + 1;
  } else {
    markUnknown(dst);
  }
  zext32To64(dst);
  regBoundsSync(dst);
}

/** check_alu_op. */
export function checkAluOp(env: VerifierEnv, insn: Insn): void {
  const regs = env.curState.regs;
  const op = BPF_OP(insn.code);
  const alu64 = BPF_CLASS(insn.code) === BPF_ALU64;
  if (op === BPF_END || op === BPF_NEG) {
    if (op === BPF_NEG) {
      if (BPF_SRC(insn.code) !== BPF_K || insn.src !== 0 || insn.off !== 0 || insn.imm !== 0) {
        env.reject(EINVAL, 'BPF_NEG uses reserved fields');
      }
    } else if (insn.src !== 0 || insn.off !== 0 || ![16, 32, 64].includes(insn.imm) || (alu64 && BPF_SRC(insn.code) !== BPF_TO_LE)) {
      env.reject(EINVAL, 'BPF_END uses reserved fields');
    }
    checkRegArg(env, insn.dst, SRC_OP);
    if (isPointerValue(env, insn.dst)) env.reject(EACCES, `R${insn.dst} pointer arithmetic prohibited`);
    if (regs[insn.dst].type === SCALAR_VALUE) {
      checkRegArg(env, insn.dst, DST_OP_NO_MARK);
      const dst = regs[insn.dst];
      if (op === BPF_NEG) scalarAlu(dst, dst.clone(), BPF_NEG, alu64);
      else scalarByteSwap(dst, alu64, BPF_SRC(insn.code) !== BPF_TO_LE, insn.imm as 16 | 32 | 64);
    } else {
      checkRegArg(env, insn.dst, DST_OP);
    }
  } else if (op === BPF_MOV) {
    checkMov(env, insn);
  } else if (op > BPF_END) {
    env.reject(EINVAL, `invalid BPF_ALU opcode ${(op >> 4).toString(16)}`);
  } else {
    const offOk = insn.off === 0 || (insn.off === 1 && (op === BPF_MOD || op === BPF_DIV));
    if (BPF_SRC(insn.code) === BPF_X) {
      if (insn.imm !== 0 || !offOk) env.reject(EINVAL, 'BPF_ALU uses reserved fields');
      checkRegArg(env, insn.src, SRC_OP);
    } else if (insn.src !== 0 || !offOk) {
      env.reject(EINVAL, 'BPF_ALU uses reserved fields');
    }
    checkRegArg(env, insn.dst, SRC_OP);
    if ((op === BPF_MOD || op === BPF_DIV) && BPF_SRC(insn.code) === BPF_K && insn.imm === 0) env.reject(EINVAL, 'div by zero');
    if ((op === BPF_LSH || op === BPF_RSH || op === BPF_ARSH) && BPF_SRC(insn.code) === BPF_K) {
      const size = alu64 ? 64 : 32;
      if (insn.imm < 0 || insn.imm >= size) env.reject(EINVAL, `invalid shift ${insn.imm}`);
    }
    checkRegArg(env, insn.dst, DST_OP_NO_MARK);
    adjustRegMinMaxVals(env, insn);
  }
  const dst = regs[insn.dst];
  if (dst.type === SCALAR_VALUE && !regBoundsSane(dst)) markUnknown(dst);
}
