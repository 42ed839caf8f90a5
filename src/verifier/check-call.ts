/**
 * Helper calls checked against their signatures (check_helper_call, check_func_arg): argument
 * types, memory arguments, maps, references, dynptrs, the return value. Calls into the
 * program's own functions, callbacks and exits are check-func-call.ts.
 */
import { BPF_MAP_TYPE, BPF_F_RDONLY_PROG, BPF_MAX_VAR_SIZ } from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import { BPF_FUNC_MAX_ID, HELPER_IDS } from '../uapi/helper-ids.js';
import {
  ACQUIRE_HELPERS, ARG_ANYTHING, ARG_CONST_ALLOC_SIZE_OR_ZERO, ARG_CONST_MAP_PTR, ARG_CONST_SIZE, ARG_CONST_SIZE_OR_ZERO,
  ARG_DONTCARE, ARG_PTR_TO_BTF_ID, ARG_PTR_TO_BTF_ID_SOCK_COMMON, ARG_PTR_TO_CONST_STR, ARG_PTR_TO_CTX, ARG_PTR_TO_DYNPTR,
  ARG_PTR_TO_FUNC, ARG_PTR_TO_MAP_KEY, ARG_PTR_TO_MAP_VALUE, ARG_PTR_TO_MEM, ARG_PTR_TO_PERCPU_BTF_ID,
  ARG_PTR_TO_RINGBUF_MEM, ARG_PTR_TO_SOCKET, ARG_PTR_TO_SOCK_COMMON, ARG_PTR_TO_SPIN_LOCK, ARG_PTR_TO_STACK,
  ARG_PTR_TO_TIMER, ARG_KPTR_XCHG_DEST, MEM_ALLOC, MEM_ALIGNED, MEM_FIXED_SIZE, MEM_PERCPU, MEM_RCU, MEM_RDONLY,
  MEM_RINGBUF, MEM_UNINIT, MEM_WRITE, OBJ_RELEASE, PKT_DATA_CHANGING_HELPERS, PTR_CAST_HELPERS, PTR_MAYBE_NULL, PTR_TRUSTED,
  RET_INTEGER, RET_PTR_TO_BTF_ID, RET_PTR_TO_MAP_VALUE, RET_PTR_TO_MEM, RET_PTR_TO_MEM_OR_BTF_ID, RET_PTR_TO_SOCK_COMMON,
  RET_PTR_TO_SOCKET, RET_PTR_TO_TCP_SOCK, RET_VOID, baseType, type HelperProto,
} from '../uapi/helper-protos.js';
import { PERFMON_HELPERS } from '../uapi/prog-types.js';
import { regBoundsSync } from './bounds.js';
import {
  checkMapAccess, checkMapAccessType, checkMemAccess, checkMemRegionAccess, checkPacketAccess, checkPtrAlignment,
  checkPtrOffReg, frameOf, type AccessType,
} from './check-mem.js';
import { checkStackRangeInitialized, type RawAccess } from './check-stack.js';
import { checkResourceLeak, prepareFuncExit, pushCallbackCall, setLoopCallbackState, setMapElemCallbackState } from './check-func-call.js';
import type { VerifierEnv } from './env.js';
import { checkMapFuncCompatibility } from './map-func-compat.js';
import { kernelHelperName, type Insn } from './kernel-disasm.js';
import { markChainPrecision, markChainPrecisionFrom } from './precision.js';
import {
  CONST_PTR_TO_MAP, NOT_INIT, PTR_TO_BTF_ID, PTR_TO_CTX, PTR_TO_FUNC, PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE, PTR_TO_MEM,
  PTR_TO_PACKET, PTR_TO_PACKET_META, PTR_TO_SOCK_COMMON, PTR_TO_SOCKET, PTR_TO_STACK, PTR_TO_TCP_SOCK, PTR_TO_XDP_SOCK,
  PTR_TO_BUF, SCALAR_VALUE, CONST_PTR_TO_DYNPTR, markNotInit, markPointer, markUnknown, regTypeStr, type MapInfo,
  type RegState,
} from './reg-state.js';
import {
  DST_OP_NO_MARK, SRC_OP, acquireReference, checkRegArg, clearAllPktPointers, isPointerValue, regIsPktPointer,
  releaseReference,
} from './regs.js';
import { BPF_REG_SIZE, STACK_SPILL, STACK_ZERO } from './state.js';
import { tnumIsConst } from './tnum.js';

const { EACCES, EINVAL } = ERRNO;
export const FUNC = Object.fromEntries([...HELPER_IDS].map(([name, id]) => [name, id])) as Record<string, number>;

// ---- argument types ---------------------------------------------------------------------------

/** compatible_reg_types: the register types each argument kind accepts. */
function compatibleTypes(argBase: number): number[] | undefined {
  const mem = [PTR_TO_STACK, PTR_TO_PACKET, PTR_TO_PACKET_META, PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE, PTR_TO_MEM, PTR_TO_MEM | MEM_RINGBUF,
    PTR_TO_BUF, PTR_TO_BTF_ID | PTR_TRUSTED];
  switch (argBase) {
    case ARG_PTR_TO_MAP_KEY:
    case ARG_PTR_TO_MAP_VALUE:
    case ARG_PTR_TO_MEM:
      return mem;
    case ARG_CONST_SIZE:
    case ARG_CONST_SIZE_OR_ZERO:
    case ARG_CONST_ALLOC_SIZE_OR_ZERO:
      return [SCALAR_VALUE];
    case ARG_CONST_MAP_PTR: return [CONST_PTR_TO_MAP];
    case ARG_PTR_TO_CTX: return [PTR_TO_CTX];
    case ARG_PTR_TO_SOCK_COMMON: return [PTR_TO_SOCK_COMMON, PTR_TO_SOCKET, PTR_TO_TCP_SOCK, PTR_TO_XDP_SOCK];
    case ARG_PTR_TO_BTF_ID_SOCK_COMMON:
      return [PTR_TO_SOCK_COMMON, PTR_TO_SOCKET, PTR_TO_TCP_SOCK, PTR_TO_XDP_SOCK, PTR_TO_BTF_ID, PTR_TO_BTF_ID | PTR_TRUSTED];
    case ARG_PTR_TO_SOCKET: return [PTR_TO_SOCKET];
    case ARG_PTR_TO_BTF_ID: return [PTR_TO_BTF_ID, PTR_TO_BTF_ID | PTR_TRUSTED, PTR_TO_BTF_ID | MEM_RCU];
    case ARG_PTR_TO_SPIN_LOCK: return [PTR_TO_MAP_VALUE, PTR_TO_BTF_ID | MEM_ALLOC];
    case ARG_PTR_TO_RINGBUF_MEM: return [PTR_TO_MEM | MEM_RINGBUF];
    case ARG_PTR_TO_PERCPU_BTF_ID: return [PTR_TO_BTF_ID | MEM_PERCPU, PTR_TO_BTF_ID | MEM_PERCPU | MEM_RCU, PTR_TO_BTF_ID | MEM_PERCPU | PTR_TRUSTED];
    case ARG_KPTR_XCHG_DEST: return [PTR_TO_MAP_VALUE, PTR_TO_BTF_ID | MEM_ALLOC];
    case ARG_PTR_TO_FUNC: return [PTR_TO_FUNC];
    case ARG_PTR_TO_STACK: return [PTR_TO_STACK];
    case ARG_PTR_TO_CONST_STR: return [PTR_TO_MAP_VALUE];
    case ARG_PTR_TO_TIMER: return [PTR_TO_MAP_VALUE];
    case ARG_PTR_TO_DYNPTR: return [PTR_TO_STACK, CONST_PTR_TO_DYNPTR];
    default: return undefined;
  }
}

/** check_reg_type: the register's type is one the argument accepts. */
function checkRegType(env: VerifierEnv, regno: number, argType: number): void {
  const reg = env.curState.regs[regno];
  const compatible = compatibleTypes(baseType(argType));
  if (!compatible) env.bug(`unsupported arg type ${argType}`);
  let type = reg.type;
  // ARG_PTR_TO_MEM | MEM_RDONLY accepts read-only memory; a writable argument does not.
  if ((argType & MEM_RDONLY) !== 0) type &= ~MEM_RDONLY;
  if ((argType & PTR_MAYBE_NULL) !== 0) type &= ~PTR_MAYBE_NULL;
  if (baseType(argType) === ARG_PTR_TO_MEM && (argType & MEM_RDONLY) === 0 && reg.type & MEM_RDONLY) {
    // fall through to the mismatch message below
  } else if (compatible.includes(type)) {
    return;
  }
  const expected = compatible.map((t) => regTypeStr(t)).join(', ');
  env.reject(EACCES, `R${regno} type=${regTypeStr(reg.type)} expected=${expected}`);
}

/** check_func_arg_reg_off: where a pointer argument may have been moved. */
export function checkFuncArgRegOff(env: VerifierEnv, reg: RegState, regno: number, argType: number): void {
  const t = baseType(reg.type);
  if (argType & OBJ_RELEASE && !(t === PTR_TO_STACK)) {
    if (reg.off) env.reject(EINVAL, `R${regno} must have zero offset when passed to release func or trusted arg to kfunc`);
    checkPtrOffReg(env, reg, regno);
    return;
  }
  switch (t) {
    case PTR_TO_STACK: case PTR_TO_PACKET: case PTR_TO_PACKET_META: case PTR_TO_MAP_KEY: case PTR_TO_MAP_VALUE: case PTR_TO_MEM:
    case PTR_TO_BUF: case SCALAR_VALUE:
      return;
    case PTR_TO_BTF_ID:
      checkPtrOffReg(env, reg, regno, true);
      return;
    default:
      checkPtrOffReg(env, reg, regno);
  }
}

// ---- memory arguments -------------------------------------------------------------------------

/** check_helper_mem_access: `size` bytes at the pointer in `regno`. */
export function checkHelperMemAccess(env: VerifierEnv, regno: number, size: number, t: AccessType, zeroOk: boolean, meta: RawAccess | undefined): void {
  const reg = env.curState.regs[regno];
  switch (baseType(reg.type)) {
    case PTR_TO_PACKET:
    case PTR_TO_PACKET_META:
      checkPacketAccess(env, regno, reg.off, size, zeroOk);
      return;
    case PTR_TO_MAP_KEY:
      if (t === 'write') env.reject(EACCES, `R${regno} cannot write into ${regTypeStr(reg.type)}`);
      checkMemRegionAccess(env, regno, reg.off, size, reg.map!.keySize, false);
      return;
    case PTR_TO_MAP_VALUE:
      checkMapAccessType(env, regno, reg.off, size, t);
      checkMapAccess(env, regno, reg.off, size, zeroOk);
      return;
    case PTR_TO_MEM:
      if (reg.type & MEM_RDONLY && t === 'write') env.reject(EACCES, `R${regno} cannot write into ${regTypeStr(reg.type)}`);
      checkMemRegionAccess(env, regno, reg.off, size, reg.memSize, zeroOk);
      return;
    case PTR_TO_STACK:
      checkStackRangeInitialized(env, regno, reg.off, size, zeroOk, t, meta);
      return;
    default:
      if (zeroOk && size === 0 && reg.isNull) return;
      env.reject(EACCES, `R${regno} type=${regTypeStr(reg.type)} expected=${regTypeStr(PTR_TO_STACK)}`);
  }
}

/** BPF_DYNPTR_NR_SLOTS: a struct bpf_dynptr takes two stack slots. */
const BPF_DYNPTR_NR_SLOTS = 2;

/**
 * dynptr_get_spi (stack_slot_obj_get_spi): the stack slot of a dynptr argument — or why there
 * is none: the kernel's message ('' for slots past the allocated stack: -ERANGE, no message).
 */
function dynptrSpi(env: VerifierEnv, reg: RegState): { spi: number } | { error: string } {
  if (!tnumIsConst(reg.varOff)) return { error: 'dynptr has to be at a constant offset' };
  const off = reg.off + Number(BigInt.asIntN(64, reg.varOff.value));
  const spi = Math.trunc((-off - 1) / BPF_REG_SIZE);
  if (off % BPF_REG_SIZE !== 0 || spi + 1 < BPF_DYNPTR_NR_SLOTS) return { error: `cannot pass in dynptr at an offset=${off}` };
  const frame = frameOf(env, reg);
  if (spi - BPF_DYNPTR_NR_SLOTS + 1 < 0 || spi >= frame.allocatedStack / BPF_REG_SIZE) return { error: '' };
  return { spi };
}

/**
 * The dynptr a release function (bpf_ringbuf_submit_dynptr …) takes: only one on the stack, at
 * a constant offset, in slots that hold a reference (check_func_arg).
 */
function checkReleasedDynptr(env: VerifierEnv, reg: RegState, regno: number): void {
  if (reg.type !== PTR_TO_STACK) env.reject(EINVAL, 'cannot release unowned const bpf_dynptr');
  const at = dynptrSpi(env, reg);
  if ('error' in at) env.reject(EINVAL, ...[at.error, `arg ${regno} is an unacquired reference`].filter((l) => l));
  if (!frameOf(env, reg).stack[at.spi].spilled.refObjId) env.reject(EINVAL, `arg ${regno} is an unacquired reference`);
}

/**
 * process_dynptr_func, as far as xdplab follows dynptrs: it refuses what the kernel refuses
 * before a dynptr exists. It makes none (a helper that would is left undecided), so no stack
 * slot ever holds one, and a helper that reads one is refused as the kernel refuses it there.
 */
function processDynptrArg(env: VerifierEnv, reg: RegState, regno: number, argType: number, meta: CallMeta): void {
  if (reg.type === CONST_PTR_TO_DYNPTR) {
    if (argType & MEM_UNINIT) env.reject(EINVAL, 'cannot pass pointer to const bpf_dynptr, the helper mutates it');
    env.reject(EINVAL, `R${regno}: xdplab's verifier does not follow dynptrs (bpf_dynptr) yet`);
  }
  const at = dynptrSpi(env, reg);
  if (argType & MEM_UNINIT) {
    if ('error' in at && at.error) env.reject(EINVAL, at.error, 'Dynptr has to be an uninitialized dynptr');
    // Written 8 bytes at a time (BPF_DYNPTR_SIZE 16); the helper's own checks still follow.
    for (let off = 0; off < 16; off += 8) checkMemAccess(env, regno, off, 8, 'write', -1);
    meta.makesDynptr = true;
    return;
  }
  env.reject(EINVAL, ...['error' in at ? at.error : '', `Expected an initialized dynptr as arg #${regno - 1}`].filter((l) => l));
}

/** resolve_map_arg_type: a map value argument as the map's type takes it. */
function resolveMapArgType(env: VerifierEnv, meta: CallMeta, argType: number): number {
  switch (meta.map?.type) {
    case BPF_MAP_TYPE.BPF_MAP_TYPE_SK_STORAGE:
      return argType | PTR_MAYBE_NULL;
    case BPF_MAP_TYPE.BPF_MAP_TYPE_SOCKMAP:
    case BPF_MAP_TYPE.BPF_MAP_TYPE_SOCKHASH:
      if (argType !== ARG_PTR_TO_MAP_VALUE) env.reject(EINVAL, 'invalid arg_type for sockmap/sockhash');
      return ARG_PTR_TO_BTF_ID_SOCK_COMMON;
    case BPF_MAP_TYPE.BPF_MAP_TYPE_BLOOM_FILTER:
      // bpf_map_peek_elem on a bloom filter tests membership: the value is read, not written.
      return meta.funcId === FUNC.map_peek_elem ? ARG_PTR_TO_MAP_VALUE : argType;
    default:
      return argType;
  }
}

/** check_mem_size_reg: the size argument after a memory argument. */
function checkMemSizeReg(env: VerifierEnv, regno: number, t: AccessType, zeroOk: boolean, meta: CallMeta): void {
  const reg = env.curState.regs[regno];
  meta.msizeMaxValue = reg.umax;
  const raw = tnumIsConst(reg.varOff) ? meta.raw : undefined;
  if (reg.smin < 0n) env.reject(EACCES, `R${regno} min value is negative, either use unsigned or 'var &= const'`);
  if (reg.umin === 0n && !zeroOk) env.reject(EACCES, `R${regno} invalid zero-sized read: u64=[${reg.umin},${reg.umax}]`);
  if (reg.umax >= BigInt(BPF_MAX_VAR_SIZ)) env.reject(EACCES, `R${regno} unbounded memory access, use 'var &= const' or 'if (var < const)'`);
  checkHelperMemAccess(env, regno - 1, Number(reg.umax), t, zeroOk, raw);
  markChainPrecision(env, regno);
}

/** What the arguments of one helper call taught (struct bpf_call_arg_meta). */
interface CallMeta {
  map?: MapInfo;
  mapUid: number;
  raw: RawAccess;
  refObjId: number;
  releaseRegno: number;
  memSize: number;
  msizeMaxValue: bigint;
  subprogno: number;
  constMapKey: bigint;
  funcId: number;
  pktAccess: boolean;
  /** An argument is a dynptr the helper makes: xdplab follows no dynptr, so the call stays undecided. */
  makesDynptr?: boolean;
}

/** get_constant_map_key: a key on the stack whose value the verifier knows. */
function constantMapKey(env: VerifierEnv, key: RegState, keySize: number): bigint {
  if (!env.priv.bpfCapable || key.type !== PTR_TO_STACK || !tnumIsConst(key.varOff)) return -1n;
  const frame = env.curState.frames[key.frameno];
  const stackOff = key.off + Number(BigInt.asIntN(64, key.varOff.value));
  const slotIdx = -stackOff - 1;
  const spi = Math.floor(slotIdx / BPF_REG_SIZE);
  const off = slotIdx % BPF_REG_SIZE;
  const slot = frame.stack[spi];
  if (!slot) return -1n;
  let zeroSize = 0;
  for (let i = off; i >= 0 && slot.slotType[i] === STACK_ZERO; i--) zeroSize++;
  if (zeroSize >= keySize) return 0n;
  if (!slot.isSpilledScalar) return -1n;
  let spillSize = 0;
  for (let i = off; i >= 0 && slot.slotType[i] === STACK_SPILL; i--) spillSize++;
  if (spillSize !== keySize || !tnumIsConst(slot.spilled.varOff)) return -1n;
  markChainPrecisionFrom(env, env.curState, -1, (bt) => bt.setFrameSlot(key.frameno, spi));
  return slot.spilled.varOff.value;
}

/** is_acquire_function: a SOCKMAP/SOCKHASH lookup takes a reference on the socket. */
const isSockMap = (map: MapInfo | undefined): boolean =>
  map?.type === BPF_MAP_TYPE.BPF_MAP_TYPE_SOCKMAP || map?.type === BPF_MAP_TYPE.BPF_MAP_TYPE_SOCKHASH;

const canElideValueNullness = (type: number): boolean =>
  type === BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY || type === BPF_MAP_TYPE.BPF_MAP_TYPE_PERCPU_ARRAY;

/** check_func_arg: argument `arg` (0-based, in r1 + arg). */
function checkFuncArg(env: VerifierEnv, arg: number, meta: CallMeta, fn: HelperProto): void {
  const regno = 1 + arg;
  const regs = env.curState.regs;
  const reg = regs[regno];
  let argType = fn.args[arg] ?? ARG_DONTCARE;
  if (argType === ARG_DONTCARE) return;
  checkRegArg(env, regno, SRC_OP);
  if (argType === ARG_ANYTHING) {
    if (isPointerValue(env, regno)) env.reject(EACCES, `R${regno} leaks addr into helper function`);
    return;
  }
  if (regIsPktPointer(reg) && !meta.pktAccess) env.reject(EACCES, 'helper access to the packet is not allowed');
  if (baseType(argType) === ARG_PTR_TO_MAP_VALUE) argType = resolveMapArgType(env, meta, argType);
  if (!(reg.isNull && argType & PTR_MAYBE_NULL)) {
    checkRegType(env, regno, argType);
    checkFuncArgRegOff(env, reg, regno, argType);
  }
  if (argType & OBJ_RELEASE) {
    if (baseType(argType) === ARG_PTR_TO_DYNPTR) checkReleasedDynptr(env, reg, regno);
    else if (!reg.refObjId && !reg.isNull) {
      env.reject(EINVAL, `R${regno} must be referenced when passed to release function`);
    }
    if (meta.releaseRegno) env.bug('more than one release argument');
    meta.releaseRegno = regno;
  }
  if (reg.refObjId) {
    if (meta.refObjId) env.reject(EACCES, `more than one arg with ref_obj_id R${regno} ${reg.refObjId} ${meta.refObjId}`);
    meta.refObjId = reg.refObjId;
  }
  const memAccess: AccessType = argType & MEM_WRITE ? 'write' : 'read';
  switch (baseType(argType)) {
    case ARG_CONST_MAP_PTR:
      meta.map = reg.map;
      meta.mapUid = reg.mapUid;
      break;
    case ARG_PTR_TO_MAP_KEY: {
      if (!meta.map) env.reject(EACCES, 'invalid map_ptr to access map->key');
      checkHelperMemAccess(env, regno, meta.map.keySize, 'read', false, undefined);
      meta.constMapKey = canElideValueNullness(meta.map.type) ? constantMapKey(env, reg, meta.map.keySize) : -1n;
      break;
    }
    case ARG_PTR_TO_MAP_VALUE:
      if (argType & PTR_MAYBE_NULL && reg.isNull) return;
      if (!meta.map) env.reject(EACCES, 'invalid map_ptr to access map->value');
      meta.raw.rawMode = (argType & MEM_UNINIT) !== 0;
      checkHelperMemAccess(env, regno, meta.map.valueSize, memAccess, false, meta.raw);
      break;
    case ARG_PTR_TO_SPIN_LOCK:
      processSpinLock(env, regno, meta.funcId === FUNC.spin_lock);
      break;
    case ARG_PTR_TO_FUNC:
      meta.subprogno = reg.subprogno;
      break;
    case ARG_PTR_TO_MEM:
      meta.raw.rawMode = (argType & MEM_UNINIT) !== 0;
      if (argType & MEM_FIXED_SIZE) {
        if (reg.isNull && argType & PTR_MAYBE_NULL) break;
        checkHelperMemAccess(env, regno, fn.argSize[arg] ?? 0, memAccess, false, meta.raw);
        if (argType & MEM_ALIGNED) checkPtrAlignment(env, reg, 0, fn.argSize[arg] ?? 0, true);
      }
      break;
    case ARG_CONST_SIZE:
      checkMemSizeReg(env, regno, fn.args[arg - 1] & MEM_WRITE ? 'write' : 'read', false, meta);
      break;
    case ARG_CONST_SIZE_OR_ZERO:
      checkMemSizeReg(env, regno, fn.args[arg - 1] & MEM_WRITE ? 'write' : 'read', true, meta);
      break;
    case ARG_CONST_ALLOC_SIZE_OR_ZERO:
      if (!tnumIsConst(reg.varOff)) env.reject(EACCES, `R${regno} is not a known constant'`);
      meta.memSize = Number(reg.varOff.value);
      markChainPrecision(env, regno);
      break;
    case ARG_PTR_TO_CONST_STR:
      checkRegConstStr(env, reg, regno);
      break;
    case ARG_PTR_TO_TIMER:
      checkMapFieldPointer(env, regno, 'bpf_timer');
      env.reject(EINVAL, `R${regno}: xdplab's verifier does not check bpf_timer argument kind yet`);
    // eslint-disable-next-line no-fallthrough
    case ARG_KPTR_XCHG_DEST:
      processKptrFunc(env, regno);
      break;
    case ARG_PTR_TO_DYNPTR:
      processDynptrArg(env, reg, regno, argType, meta);
      break;
    case ARG_PTR_TO_PERCPU_BTF_ID:
      env.reject(EINVAL, `R${regno}: xdplab's verifier does not check this argument kind yet`);
  }
}

/** The map of a field argument (bpf_timer…) must have BTF describing the field (process_timer_func). */
function checkMapFieldPointer(env: VerifierEnv, regno: number, field: string): void {
  const reg = env.curState.regs[regno];
  if (!tnumIsConst(reg.varOff)) env.reject(EINVAL, `R${regno} doesn't have constant offset. ${field} has to be at the constant offset`);
  const map = reg.map!;
  if (!map.hasBtf) env.reject(EINVAL, `map '${map.name}' has to have BTF in order to use ${field}`);
}

/** process_kptr_func: bpf_kptr_xchg's destination, a kptr field of a map value with BTF. */
function processKptrFunc(env: VerifierEnv, regno: number): void {
  const reg = env.curState.regs[regno];
  if (reg.type === PTR_TO_MAP_VALUE && !reg.map!.hasBtf) {
    env.reject(EINVAL, `map '${reg.map!.name}' has to have BTF in order to use bpf_kptr_xchg`);
  }
  if (!tnumIsConst(reg.varOff)) env.reject(EINVAL, `R${regno} doesn't have constant offset. kptr has to be at the constant offset`);
  env.reject(EINVAL, `R${regno}: xdplab's verifier does not check kptrs yet`);
}

/** check_reg_const_str: a NUL-terminated string in a frozen read-only map. */
function checkRegConstStr(env: VerifierEnv, reg: RegState, regno: number): void {
  const map = reg.map!;
  if (!(map.flags & BPF_F_RDONLY_PROG) || !map.frozenValue) env.reject(EACCES, `R${regno} does not point to a readonly map'`);
  if (!tnumIsConst(reg.varOff)) env.reject(EACCES, `R${regno} is not a constant address'`);
  checkMapAccess(env, regno, reg.off, 1, false);
  const off = reg.off + Number(reg.varOff.value);
  const nul = map.frozenValue.indexOf(0, off);
  if (nul < 0) env.reject(EINVAL, 'string is not zero-terminated');
}

/** process_spin_lock: lock and unlock pair on one lock, one at a time. */
function processSpinLock(env: VerifierEnv, regno: number, isLock: boolean): void {
  const reg = env.curState.regs[regno];
  const state = env.curState;
  const isConst = tnumIsConst(reg.varOff);
  if (!isConst) env.reject(EINVAL, `R${regno} doesn't have constant offset. bpf_spin_lock has to be at the constant offset`);
  const map = reg.map!;
  if (!map.hasBtf) env.reject(EINVAL, `map '${map.name}' has to have BTF in order to use bpf_spin_lock`);
  if (map.spinLockOff === undefined) {
    env.reject(EINVAL, `map '${map.name}' has no valid bpf_spin_lock`);
  }
  const off = Number(reg.varOff.value) + reg.off;
  if (map.spinLockOff !== off) env.reject(EINVAL, `off ${off} doesn't point to 'struct bpf_spin_lock' that is at ${map.spinLockOff}`);
  if (isLock) {
    if (state.activeLockId) env.reject(EINVAL, 'Locking two bpf_spin_locks are not allowed');
    state.activeLockId = reg.id;
    state.activeLockMap = map;
    state.refs.push({ kind: 'lock', id: reg.id, insnIdx: env.insnIdx });
  } else {
    if (!state.activeLockId) env.reject(EINVAL, 'bpf_spin_unlock without taking a lock');
    if (state.activeLockId !== reg.id || state.activeLockMap !== map) env.reject(EINVAL, 'bpf_spin_unlock of different lock');
    const i = state.refs.findIndex((r) => r.kind === 'lock');
    if (i >= 0) state.refs.splice(i, 1);
    state.activeLockId = 0;
    state.activeLockMap = undefined;
  }
}

// ---- the helper call ---------------------------------------------------------------------------

const MAP_HELPERS_RECORDED = new Set(['tail_call', 'map_lookup_elem', 'map_update_elem', 'map_delete_elem', 'map_push_elem',
  'map_pop_elem', 'map_peek_elem', 'for_each_map_elem', 'redirect_map', 'map_lookup_percpu_elem']);
const MAP_WRITERS = new Set(['map_delete_elem', 'map_update_elem', 'map_push_elem', 'map_pop_elem']);
const T = BPF_MAP_TYPE;
/** Map types bpf_for_each_map_elem can walk (map_for_each_callback). */
const FOR_EACH_MAPS: readonly number[] = [T.BPF_MAP_TYPE_HASH, T.BPF_MAP_TYPE_PERCPU_HASH, T.BPF_MAP_TYPE_LRU_HASH,
  T.BPF_MAP_TYPE_LRU_PERCPU_HASH, T.BPF_MAP_TYPE_ARRAY, T.BPF_MAP_TYPE_PERCPU_ARRAY];

/** check_helper_call; returns the next pc. */
export function checkHelperCall(env: VerifierEnv, insn: Insn): number {
  const funcId = insn.imm;
  if (funcId < 0 || funcId >= BPF_FUNC_MAX_ID) env.reject(EINVAL, `invalid func ${kernelHelperName(funcId)}#${funcId}`);
  const fn = env.prog.helpers.has(funcId) && (env.priv.allowPtrLeaks || !PERFMON_HELPERS.has(funcId)) ? env.prog.proto(funcId) : undefined;
  if (!fn) env.reject(EINVAL, `program of this type cannot use helper ${kernelHelperName(funcId)}#${funcId}`);
  const name = fn.name;
  if (!env.gplCompatible && fn.gplOnly) env.reject(EINVAL, 'cannot call GPL-restricted function from non-GPL compatible program');
  if (fn.mightSleep) env.reject(EINVAL, 'helper call might sleep in a non-sleepable prog');
  const meta: CallMeta = {
    mapUid: 0, raw: { rawMode: false, accessSize: 0, regno: 0 }, refObjId: 0, releaseRegno: 0, memSize: 0, msizeMaxValue: 0n,
    subprogno: 0, constMapKey: -1n, funcId, pktAccess: fn.pktAccess,
  };
  for (let i = 0; i < 5; i++) checkFuncArg(env, i, meta, fn);
  if (MAP_HELPERS_RECORDED.has(name)) {
    if (!meta.map) env.bug('expected map for helper call');
    if (meta.map.flags & BPF_F_RDONLY_PROG && MAP_WRITERS.has(name)) env.reject(EACCES, 'write into map forbidden');
  }
  // record_func_key
  if (name === 'tail_call' && meta.map?.type !== BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY) env.rejectUnterminated(EINVAL, 'expected prog array map for tail call'); // sic: no newline in the kernel's log
  // Raw output memory: the helper writes it, byte by byte as the kernel models it.
  for (let i = 0; i < meta.raw.accessSize; i++) checkMemAccess(env, meta.raw.regno, i, 1, 'write', -1);
  const regs = env.curState.regs;
  if (meta.releaseRegno) {
    const ok = meta.refObjId ? releaseReference(env, meta.refObjId) : regs[meta.releaseRegno].isNull;
    if (!ok) env.reject(EINVAL, `func ${kernelHelperName(funcId)}#${funcId} reference has not been acquired before`);
  }
  let unfollowed: string | undefined;
  switch (name) {
    case 'tail_call':
      checkResourceLeak(env, false, true, 'tail_call');
      break;
    case 'for_each_map_elem':
      if (!FOR_EACH_MAPS.includes(meta.map!.type)) env.reject(ERRNO.ENOTSUPP, 'callback function not allowed for map');
      pushCallbackCall(env, insn, meta.subprogno, (caller, callee) => setMapElemCallbackState(env, caller, callee));
      break;
    case 'loop':
      markChainPrecision(env, 1);
      if (BigInt(env.curState.frame.callbackDepth) < regs[1].umax) {
        pushCallbackCall(env, insn, meta.subprogno, (caller, callee) => setLoopCallbackState(caller, callee));
      } else {
        env.curState.frame.callbackDepth = 0;
        if (env.log.level >= 2) env.say(`frame${env.curState.curframe} bpf_loop iteration limit reached\n`);
      }
      break;
    case 'find_vma':
    case 'user_ringbuf_drain':
    case 'timer_set_callback':
      unfollowed = name;
      break;
    case 'dynptr_from_mem':
      if (regs[1].type !== PTR_TO_MAP_VALUE) env.reject(EACCES, `Unsupported reg type ${regTypeStr(regs[1].type)} for bpf_dynptr_from_mem data`);
  }

  for (let i = 0; i <= 5; i++) {
    markNotInit(regs[i]);
    checkRegArg(env, i, DST_OP_NO_MARK);
  }
  setReturnValue(env, fn, meta, name);
  checkMapFuncCompatibility(env, meta.map, funcId, name);
  if (unfollowed) env.reject(EINVAL, `${kernelHelperName(funcId)}: xdplab's verifier does not follow this callback`);
  if (meta.makesDynptr) env.reject(EINVAL, `${kernelHelperName(funcId)}: xdplab's verifier does not follow dynptrs (bpf_dynptr) yet`);
  if (name === 'tail_call') return tailCallExit(env);
  if (PKT_DATA_CHANGING_HELPERS.has(name)) clearAllPktPointers(env);
  return env.insnIdx + 1;
}

/**
 * A tail call leaves the program when it succeeds. In the main function the failed call goes
 * on with the packet unchanged; in a function, the verifier also follows the tail-called
 * program returning to the caller, having moved the packet (check_helper_call, BPF_FUNC_tail_call).
 */
function tailCallExit(env: VerifierEnv): number {
  if (!env.curState.curframe) return env.insnIdx + 1;
  env.markScratchedReg(0);
  env.pushStack(env.insnIdx + 1, env.insnIdx, false);
  clearAllPktPointers(env);
  markUnknown(env.curState.regs[0]);
  return prepareFuncExit(env);
}

/** The register state of r0 after the call, from the signature's return type. */
function setReturnValue(env: VerifierEnv, fn: HelperProto, meta: CallMeta, name: string): void {
  const r0 = env.curState.regs[0];
  r0.subregDef = 0;
  const retFlag = fn.ret & ~0xff;
  switch (baseType(fn.ret)) {
    case RET_INTEGER:
      markUnknown(r0);
      break;
    case RET_VOID:
      r0.type = NOT_INIT;
      break;
    case RET_PTR_TO_MAP_VALUE: {
      if (!meta.map) env.bug('unexpected null map_ptr');
      let flag = retFlag;
      if (name === 'map_lookup_elem' && canElideValueNullness(meta.map.type) && meta.constMapKey >= 0n
        && meta.constMapKey < BigInt(meta.map.maxEntries)) {
        flag &= ~PTR_MAYBE_NULL;
      }
      // A map of maps hands back the inner map (map_ptr_or_null), an XSKMAP a socket of XDP, a
      // SOCKMAP/SOCKHASH a referenced socket (as the running kernel types them at the call).
      const lookup = name === 'map_lookup_elem';
      const inner = lookup ? meta.map.inner : undefined;
      let type = inner ? CONST_PTR_TO_MAP : PTR_TO_MAP_VALUE;
      if (lookup && meta.map.type === BPF_MAP_TYPE.BPF_MAP_TYPE_XSKMAP) type = PTR_TO_XDP_SOCK;
      if (lookup && isSockMap(meta.map)) type = PTR_TO_SOCKET;
      markPointer(r0, type | flag);
      r0.map = type === PTR_TO_MAP_VALUE || inner ? inner ?? meta.map : undefined;
      r0.mapUid = meta.mapUid;
      if (!(flag & PTR_MAYBE_NULL) && meta.map.spinLockOff !== undefined) r0.id = ++env.idGen;
      break;
    }
    case RET_PTR_TO_SOCKET: markPointer(r0, PTR_TO_SOCKET | retFlag); break;
    case RET_PTR_TO_SOCK_COMMON: markPointer(r0, PTR_TO_SOCK_COMMON | retFlag); break;
    case RET_PTR_TO_TCP_SOCK: markPointer(r0, PTR_TO_TCP_SOCK | retFlag); break;
    case RET_PTR_TO_MEM:
      markPointer(r0, PTR_TO_MEM | retFlag);
      r0.memSize = meta.memSize;
      break;
    case RET_PTR_TO_BTF_ID:
    case RET_PTR_TO_MEM_OR_BTF_ID:
      markPointer(r0, PTR_TO_BTF_ID | retFlag);
      r0.btfName = fn.retBtfId ?? '';
      break;
    default:
      env.bug(`unknown return type ${fn.ret} of func ${name}`);
  }
  if (r0.type & PTR_MAYBE_NULL) r0.id = ++env.idGen;
  if (PTR_CAST_HELPERS.has(name)) {
    r0.refObjId = meta.refObjId;
  } else if (ACQUIRE_HELPERS.has(name) || (name === 'map_lookup_elem' && isSockMap(meta.map))) {
    const id = acquireReference(env, env.insnIdx);
    r0.id = id;
    r0.refObjId = id;
  }
  if (name === 'get_smp_processor_id') {
    const max = env.nrCpus - 1;
    r0.umin = 0n; r0.u32min = 0; r0.smin = 0n; r0.s32min = 0;
    r0.umax = BigInt(max); r0.u32max = max; r0.smax = BigInt(max); r0.s32max = max;
    regBoundsSync(r0);
  }
}

