/**
 * Memory accesses (check_mem_access and what it calls): loads and stores through a pointer
 * into the context, the stack, the packet, a map value or key, helper-returned memory or a
 * socket, each checked against what the pointer's type allows — bounds, alignment, read/write
 * permission, initialised stack — and the loaded register typed from what was read.
 */
import { BPF_MAP_TYPE, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG, BPF_MAX_VAR_OFF } from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import { MEM_RDONLY, PTR_MAYBE_NULL, PTR_UNTRUSTED, baseType } from '../uapi/helper-protos.js';
import { sockAccess, tcpSockAccess } from '../uapi/prog-types.js';
import { coerceRegToSize, coerceRegToSizeSx } from './bounds.js';
import type { VerifierEnv } from './env.js';
import { markStackRead, markStackWrite } from './liveness.js';
import { markChainPrecision } from './precision.js';
import {
  CONST_PTR_TO_MAP, NOT_INIT, PTR_TO_CTX, PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE, PTR_TO_MEM, PTR_TO_PACKET, PTR_TO_PACKET_END,
  PTR_TO_PACKET_META, PTR_TO_SOCK_COMMON, PTR_TO_SOCKET, PTR_TO_STACK, PTR_TO_TCP_SOCK, PTR_TO_XDP_SOCK, PTR_TO_BTF_ID,
  SCALAR_VALUE, S64_MIN, markKnown, markPointer, markUnknown, regTypeStr, type RegState,
} from './reg-state.js';
import { assignScalarIdBeforeMov, isPointerValue, pushHistory, regIsPktPointer, regWidth } from './regs.js';
import {
  BPF_REG_SIZE, STACK_INVALID, STACK_MISC, STACK_SPILL, STACK_ZERO, insnStackAccessFlags, type FuncState, type StackSlot,
} from './state.js';
import { tnumAdd, tnumConst, tnumIsAligned, tnumIsConst, tnumString } from './tnum.js';

const { EACCES, EINVAL, EFAULT } = ERRNO;
export type AccessType = 'read' | 'write';

const isSkPointer = (type: number): boolean =>
  type === PTR_TO_SOCKET || type === PTR_TO_SOCK_COMMON || type === PTR_TO_TCP_SOCK || type === PTR_TO_XDP_SOCK;

/** is_spillable_regtype: the pointer kinds a program may spill to the stack. */
export function isSpillable(type: number): boolean {
  const base = baseType(type);
  return base !== SCALAR_VALUE && base !== NOT_INIT && base !== 21; // every pointer but CONST_PTR_TO_DYNPTR
}

/** The frame a stack pointer points into. */
export const frameOf = (env: VerifierEnv, reg: RegState): FuncState => env.curState.frames[reg.frameno];

/** A register's variable offset in messages: its value when known, else the tnum. */
/**
 * The variable offset in alignment messages: a constant as the kernel's log prints an unsigned
 * number (verbose_unum: decimal up to U16_MAX, %#llx above), else the tnum.
 */
const varOffString = (reg: RegState): string => {
  if (!tnumIsConst(reg.varOff)) return tnumString(reg.varOff);
  const v = BigInt.asUintN(64, reg.varOff.value);
  return v <= 0xffffn ? `${v}` : `0x${v.toString(16)}`;
};

// ---- alignment -------------------------------------------------------------------------------

/** check_ptr_alignment: stack accesses are always aligned; others only when asked (atomics). */
export function checkPtrAlignment(env: VerifierEnv, reg: RegState, off: number, size: number, strictOnce: boolean): void {
  let strict = strictOnce;
  let desc = '';
  switch (reg.type) {
    case PTR_TO_PACKET:
    case PTR_TO_PACKET_META: {
      if (!strict || size === 1) return;
      // check_pkt_ptr_alignment: strict mode checks as if NET_IP_ALIGN were 2.
      const ipAlign = 2;
      const regOff = tnumAdd(reg.varOff, tnumConst(BigInt(ipAlign + reg.off + off)));
      if (!tnumIsAligned(regOff, size)) {
        env.reject(EACCES, `misaligned packet access off ${ipAlign}+${varOffString(reg)}+${reg.off}+${off} size ${size}`);
      }
      return;
    }
    case PTR_TO_MAP_KEY: desc = 'key '; break;
    case PTR_TO_MAP_VALUE: desc = 'value '; break;
    case PTR_TO_CTX: desc = 'context '; break;
    case PTR_TO_STACK: desc = 'stack '; strict = true; break;
    case PTR_TO_SOCKET: desc = 'sock '; break;
    case PTR_TO_SOCK_COMMON: desc = 'sock_common '; break;
    case PTR_TO_TCP_SOCK: desc = 'tcp_sock '; break;
    case PTR_TO_XDP_SOCK: desc = 'xdp_sock '; break;
  }
  if (!strict || size === 1) return;
  const regOff = tnumAdd(reg.varOff, tnumConst(BigInt(reg.off + off)));
  if (!tnumIsAligned(regOff, size)) {
    env.reject(EACCES, `misaligned ${desc}access off ${varOffString(reg)}+${reg.off}+${off} size ${size}`);
  }
}

// ---- bounded regions: map values and keys, helper memory, packets ----------------------------

/** __check_mem_access: [off, off + size) inside [0, memSize); else the kernel's message. */
function memAccessError(env: VerifierEnv, regno: number, off: bigint, size: number, memSize: number, zeroOk: boolean): string | undefined {
  const sizeOk = size > 0 || (size === 0 && zeroOk);
  if (off >= 0n && sizeOk && off + BigInt(size) <= BigInt(memSize)) return undefined;
  const reg = env.curState.regs[regno];
  const o = Number(BigInt.asIntN(32, off));
  switch (reg.type) {
    case PTR_TO_MAP_KEY:
      return `invalid access to map key, key_size=${memSize} off=${o} size=${size}`;
    case PTR_TO_MAP_VALUE:
      return `invalid access to map value, value_size=${memSize} off=${o} size=${size}`;
    case PTR_TO_PACKET:
    case PTR_TO_PACKET_META:
    case PTR_TO_PACKET_END:
      return `invalid access to packet, off=${o} size=${size}, R${regno}(id=${reg.id},off=${o},r=${memSize})`;
    default:
      return `invalid access to memory, mem_size=${memSize} off=${o} size=${size}`;
  }
}

/** check_mem_region_access: every offset the pointer may have, plus `off`, stays in the region. */
export function checkMemRegionAccess(env: VerifierEnv, regno: number, off: number, size: number, memSize: number, zeroOk: boolean): void {
  const reg = env.curState.regs[regno];
  const o = BigInt(off);
  if (reg.smin < 0n && (reg.smin === S64_MIN || o + reg.smin !== BigInt(Number(BigInt.asIntN(32, o + reg.smin))) || reg.smin + o < 0n)) {
    env.reject(EACCES, `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  }
  const minError = memAccessError(env, regno, reg.smin + o, size, memSize, zeroOk);
  if (minError) env.reject(EACCES, minError, `R${regno} min value is outside of the allowed memory range`);
  if (reg.umax >= BigInt(BPF_MAX_VAR_OFF)) {
    env.reject(EACCES, `R${regno} unbounded memory access, make sure to bounds check any such access`);
  }
  const maxError = memAccessError(env, regno, reg.umax + o, size, memSize, zeroOk);
  if (maxError) env.reject(EACCES, maxError, `R${regno} max value is outside of the allowed memory range`);
}

/** check_map_access_type: BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG. */
export function checkMapAccessType(env: VerifierEnv, regno: number, off: number, size: number, t: AccessType): void {
  const map = env.curState.regs[regno].map!;
  if (t === 'write' && map.flags & BPF_F_RDONLY_PROG) {
    env.reject(EACCES, `write into map forbidden, value_size=${map.valueSize} off=${off} size=${size}`);
  }
  if (t === 'read' && map.flags & BPF_F_WRONLY_PROG) {
    env.reject(EACCES, `read from map forbidden, value_size=${map.valueSize} off=${off} size=${size}`);
  }
}

/** check_map_access: inside the value, and not over a bpf_spin_lock or bpf_timer. */
export function checkMapAccess(env: VerifierEnv, regno: number, off: number, size: number, zeroOk: boolean): void {
  const reg = env.curState.regs[regno];
  const map = reg.map!;
  checkMemRegionAccess(env, regno, off, size, map.valueSize, zeroOk);
  const fields: [number | undefined, number, string][] = [[map.spinLockOff, 4, 'bpf_spin_lock'], [map.timerOff, 16, 'bpf_timer']];
  for (const [p, fieldSize, name] of fields) {
    if (p === undefined) continue;
    if (reg.smin + BigInt(off) < BigInt(p + fieldSize) && BigInt(p) < reg.umax + BigInt(off + size)) {
      env.reject(EACCES, `${name} cannot be accessed directly by load/store`);
    }
  }
}

/** check_packet_access: inside the range comparisons with data_end proved. */
export function checkPacketAccess(env: VerifierEnv, regno: number, off: number, size: number, zeroOk: boolean): void {
  const reg = env.curState.regs[regno];
  if (reg.smin < 0n) {
    env.reject(EACCES, `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  }
  if (reg.range < 0) env.reject(EINVAL, `R${regno} offset is outside of the packet`);
  const error = memAccessError(env, regno, BigInt(off), size, reg.range, zeroOk);
  if (error) env.reject(EACCES, error, `R${regno} offset is outside of the packet`);
}

/** __check_ptr_off_reg: a context (or socket) pointer is used unmodified. */
export function checkPtrOffReg(env: VerifierEnv, reg: RegState, regno: number, fixedOffOk = false): void {
  if (reg.off < 0) env.reject(EACCES, `negative offset ${regTypeStr(reg.type)} ptr R${regno} off=${reg.off} disallowed`);
  if (!fixedOffOk && reg.off) env.reject(EACCES, `dereference of modified ${regTypeStr(reg.type)} ptr R${regno} off=${reg.off} disallowed`);
  if (!tnumIsConst(reg.varOff) || reg.varOff.value) {
    env.reject(EACCES, `variable ${regTypeStr(reg.type)} access var_off=${tnumString(reg.varOff)} disallowed`);
  }
}

/** check_ctx_access through the program type's description; returns what a read yields. */
function checkCtxAccess(env: VerifierEnv, off: number, size: number, t: AccessType, isLdsx: boolean): ReturnType<typeof env.prog.ctxAccess> {
  const access = env.prog.ctxAccess(off, size, t === 'write', env.attachType);
  // A pointer field read sign-extended is not a pointer any more (info->is_ldsx).
  if (!access.ok || (isLdsx && access.pointer)) env.reject(EACCES, `invalid bpf_context access off=${off} size=${size}`);
  return access;
}

/** check_sock_access. */
function checkSockAccess(env: VerifierEnv, regno: number, off: number, size: number): void {
  const reg = env.curState.regs[regno];
  if (reg.smin < 0n) {
    env.reject(EACCES, `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  }
  let valid = false;
  if (reg.type === PTR_TO_SOCK_COMMON) valid = sockAccess(off, size, true);
  else if (reg.type === PTR_TO_SOCKET) valid = sockAccess(off, size, false);
  else if (reg.type === PTR_TO_TCP_SOCK) valid = tcpSockAccess(off, size);
  else if (reg.type === PTR_TO_XDP_SOCK) valid = off === 0 && size === 4;
  if (!valid) env.reject(EACCES, `R${regno} invalid ${regTypeStr(reg.type)} access off=${off} size=${size}`);
}

// ---- the stack --------------------------------------------------------------------------------

/** grow_stack_state, and the function's stack depth (update_stack_depth). */
export function growStack(env: VerifierEnv, frame: FuncState, size: number): void {
  frame.growStack(size);
  const sp = env.subprogs[frame.subprogno];
  if (sp && sp.stackDepth < size) sp.stackDepth = size;
}

/** check_stack_access_within_bounds: inside the 512-byte frame (and initialised, for reads). */
export function checkStackAccessWithinBounds(env: VerifierEnv, regno: number, off: number, accessSize: number, t: AccessType): void {
  const reg = env.curState.regs[regno];
  const frame = frameOf(env, reg);
  const extra = t === 'read' ? ' read from' : ' write to';
  let minOff: bigint;
  let maxOff: bigint;
  if (tnumIsConst(reg.varOff)) {
    minOff = BigInt.asIntN(64, reg.varOff.value) + BigInt(off);
    maxOff = minOff + BigInt(accessSize);
  } else {
    if (reg.smax >= BigInt(BPF_MAX_VAR_OFF) || reg.smin <= -BigInt(BPF_MAX_VAR_OFF)) {
      env.reject(EACCES, `invalid unbounded variable-offset${extra} stack R${regno}`);
    }
    minOff = reg.smin + BigInt(off);
    maxOff = reg.smax + BigInt(off + accessSize);
  }
  const minValid = t === 'write' || env.priv.allowUninitStack ? -512n : -BigInt(frame.allocatedStack);
  let errno = 0;
  if (minOff < minValid || minOff > -1n) errno = EACCES;
  else if (maxOff > 0n) errno = EINVAL;
  else if (accessSize < 0) errno = EFAULT;
  if (errno) {
    if (tnumIsConst(reg.varOff)) env.reject(errno, `invalid${extra} stack R${regno} off=${off} size=${accessSize}`);
    env.reject(errno, `invalid variable-offset${extra} stack R${regno} var_off=${tnumString(reg.varOff)} off=${off} size=${accessSize}`);
  }
  growStack(env, frame, Number(-minOff));
}

const spiOf = (off: number): number => Math.floor((-off - 1) / BPF_REG_SIZE);
const spillSize = (slot: StackSlot): number => {
  let n = 0;
  for (let i = BPF_REG_SIZE - 1; i >= 0 && slot.slotType[i] === STACK_SPILL; i--) n++;
  return n;
};

/** save_register_state: spill `reg` (its `size` low bytes) into a slot. */
function saveRegisterState(slot: StackSlot, reg: RegState, size: number): void {
  slot.spilled.assignFrom(reg);
  let i = BPF_REG_SIZE;
  for (; i > BPF_REG_SIZE - size; i--) slot.slotType[i - 1] = STACK_SPILL;
  for (; i; i--) {
    const t = slot.slotType[i - 1];
    if (t !== STACK_ZERO && t !== STACK_INVALID) slot.slotType[i - 1] = STACK_MISC;
  }
}

/** check_stack_write_fixed_off. */
function checkStackWriteFixedOff(env: VerifierEnv, frame: FuncState, off: number, size: number, valueRegno: number, imm: number | undefined): void {
  const spi = spiOf(off);
  const slot = frame.stack[spi];
  if (!env.priv.allowPtrLeaks && slot.isSpilled && !slot.isSpilledScalar && size !== BPF_REG_SIZE) {
    env.reject(EACCES, 'attempt to corrupt spilled pointer on stack');
  }
  const cur = env.curState.frame;
  const reg = valueRegno >= 0 ? cur.regs[valueRegno] : undefined;
  env.markScratchedSlot(spi);
  let spilled = true;
  if (reg && off % BPF_REG_SIZE === 0 && reg.type === SCALAR_VALUE && env.priv.bpfCapable) {
    const fits = regWidth(reg) <= 8 * size;
    if (fits) assignScalarIdBeforeMov(env, reg);
    saveRegisterState(slot, reg, size);
    if (!fits) slot.spilled.id = 0;
  } else if (!reg && off % BPF_REG_SIZE === 0 && imm !== undefined && env.priv.bpfCapable) {
    const tmp = new (slot.spilled.constructor as new () => RegState)();
    markKnown(tmp, BigInt(imm));
    tmp.type = SCALAR_VALUE;
    saveRegisterState(slot, tmp, size);
  } else if (reg && isSpillable(reg.type)) {
    if (size !== BPF_REG_SIZE) env.reject(EACCES, 'invalid size of register spill');
    if (frame !== cur && reg.type === PTR_TO_STACK) env.reject(EINVAL, 'cannot spill pointers to stack into stack frame of the caller');
    saveRegisterState(slot, reg, size);
  } else {
    spilled = false;
    slot.spilled.type = NOT_INIT;
    if (slot.slotType.some((t) => t === STACK_SPILL)) {
      for (let i = 0; i < BPF_REG_SIZE; i++) if (slot.slotType[i] === STACK_SPILL) slot.slotType[i] = STACK_MISC;
    }
    let type = STACK_MISC;
    if ((reg && reg.isNull) || (!reg && imm === 0)) {
      if (valueRegno >= 0) markChainPrecision(env, valueRegno);
      type = STACK_ZERO;
    }
    const slotIdx = -off - 1;
    for (let i = 0; i < size; i++) slot.slotType[(slotIdx - i) % BPF_REG_SIZE] = type;
  }
  if (size === BPF_REG_SIZE && frame === cur) markStackWrite(env, 1n << BigInt(spi));
  if (spilled) pushHistory(env, env.curState, insnStackAccessFlags(frame.frameno, spi));
}

/** check_stack_write_var_off: a store at an offset the verifier knows only a range of. */
function checkStackWriteVarOff(env: VerifierEnv, frame: FuncState, ptrRegno: number, off: number, size: number, valueRegno: number, imm: number | undefined): void {
  const cur = env.curState.frame;
  const ptr = cur.regs[ptrRegno];
  const minOff = Number(ptr.smin) + off;
  const maxOff = Number(ptr.smax) + off + size;
  const value = valueRegno >= 0 ? cur.regs[valueRegno] : undefined;
  const writingZero = (value !== undefined && value.isNull) || (!value && imm === 0);
  let zeroUsed = false;
  for (let i = minOff; i < maxOff; i++) {
    const slotIdx = -i - 1;
    const spi = Math.floor(slotIdx / BPF_REG_SIZE);
    const slot = frame.stack[spi];
    const byte = slotIdx % BPF_REG_SIZE;
    const stype = slot.slotType[byte];
    env.markScratchedSlot(spi);
    if (!env.priv.allowPtrLeaks && stype !== STACK_MISC && stype !== STACK_ZERO) {
      env.reject(EINVAL, `spilled ptr in range of var-offset stack write; insn ${env.insnIdx}, ptr off: ${i}`);
    }
    if (writingZero && stype === STACK_SPILL && slot.isSpilledScalar && tnumIsConst(slot.spilled.varOff) && slot.spilled.varOff.value === 0n) {
      zeroUsed = true;
      continue;
    }
    slot.spilled.type = NOT_INIT;
    let newType = STACK_MISC;
    if (writingZero && stype === STACK_ZERO) {
      newType = STACK_ZERO;
      zeroUsed = true;
    }
    if (stype === STACK_INVALID && !env.priv.allowUninitStack) {
      env.reject(EINVAL, `uninit stack in range of var-offset write prohibited for !root; insn ${env.insnIdx}, off: ${i}`);
    }
    slot.slotType[byte] = newType;
  }
  if (zeroUsed && valueRegno >= 0) markChainPrecision(env, valueRegno);
}

/** check_stack_write. */
function checkStackWrite(env: VerifierEnv, ptrRegno: number, off: number, size: number, valueRegno: number, imm: number | undefined): void {
  const reg = env.curState.regs[ptrRegno];
  const frame = frameOf(env, reg);
  if (tnumIsConst(reg.varOff)) {
    checkStackWriteFixedOff(env, frame, off + Number(BigInt.asIntN(64, reg.varOff.value)), size, valueRegno, imm);
  } else {
    checkStackWriteVarOff(env, frame, ptrRegno, off, size, valueRegno, imm);
  }
}

/** mark_reg_stack_read: a read of plain data: zero if every byte is known zero, else unknown. */
function markRegStackRead(env: VerifierEnv, frame: FuncState, minOff: number, maxOff: number, dstRegno: number): void {
  let zeros = 0;
  for (let i = minOff; i < maxOff; i++) {
    const slotIdx = -i - 1;
    const spi = Math.floor(slotIdx / BPF_REG_SIZE);
    env.markScratchedSlot(spi);
    if (frame.stack[spi].slotType[slotIdx % BPF_REG_SIZE] !== STACK_ZERO) break;
    zeros++;
  }
  const dst = env.curState.regs[dstRegno];
  if (zeros === maxOff - minOff) {
    markKnown(dst, 0n);
    dst.type = SCALAR_VALUE;
    dst.precise = false;
  } else {
    markUnknown(dst);
  }
}

/** The bytes a partial fill reads: spilled and zero ones counted, uninitialised ones refused (but for root). */
function countReadBytes(env: VerifierEnv, stype: Uint8Array, off: number, size: number): { spillCnt: number; zeroCnt: number } {
  let spillCnt = 0;
  let zeroCnt = 0;
  const slotIdx = -off - 1;
  for (let i = 0; i < size; i++) {
    const type = stype[(slotIdx - i) % BPF_REG_SIZE];
    if (type === STACK_SPILL) spillCnt++;
    else if (type === STACK_ZERO) zeroCnt++;
    else if (type !== STACK_MISC && !(type === STACK_INVALID && env.priv.allowUninitStack)) {
      env.reject(EACCES, `invalid read from stack off ${off}+${i} size ${size}`);
    }
  }
  return { spillCnt, zeroCnt };
}

/** check_stack_read_fixed_off. */
function checkStackReadFixedOff(env: VerifierEnv, frame: FuncState, off: number, size: number, dstRegno: number): void {
  const spi = spiOf(off);
  const slot = frame.stack[spi];
  const stype = slot.slotType;
  const reg = slot.spilled;
  const cur = env.curState.frame;
  let restored = true;
  env.markScratchedSlot(spi);
  markStackRead(env, env.curState, frame.frameno, 1n << BigInt(spi));
  if (slot.isSpilled) {
    const spill = spillSize(slot);
    if (size !== BPF_REG_SIZE || spill !== BPF_REG_SIZE) {
      if (reg.type !== SCALAR_VALUE) env.reject(EACCES, 'invalid size of register fill');
      const whole = size <= spill && off % BPF_REG_SIZE === 0;
      // A read for no register (an atomic's) still needs every byte it takes initialised
      // (asked of the running kernel: a 4-byte atomic over a 2-byte spill is refused for !root).
      if (dstRegno < 0) {
        if (!whole) countReadBytes(env, stype, off, size);
        return;
      }
      if (whole) {
        const subregDef = cur.regs[dstRegno].subregDef;
        if (env.priv.bpfCapable && size === 4 && spill === 4 && regWidth(reg) <= 32) assignScalarIdBeforeMov(env, reg);
        cur.regs[dstRegno].assignFrom(reg);
        cur.regs[dstRegno].subregDef = subregDef;
        if (regWidth(reg) > size * 8) cur.regs[dstRegno].id = 0;
      } else {
        const { spillCnt, zeroCnt } = countReadBytes(env, stype, off, size);
        const dst = cur.regs[dstRegno];
        if (spillCnt === size && tnumIsConst(reg.varOff) && reg.varOff.value === 0n) {
          markKnown(dst, 0n);
          dst.type = SCALAR_VALUE;
        } else if (zeroCnt === size) {
          markKnown(dst, 0n);
          dst.type = SCALAR_VALUE;
          restored = false;
        } else {
          markUnknown(dst);
          restored = false;
        }
      }
    } else if (dstRegno >= 0) {
      // A whole-slot fill copies the spill as it is: a scalar got its id when spilled (a slot
      // made a scalar by invalidating a spilled pointer has none, and the kernel gives it none).
      const live = cur.regs[dstRegno];
      live.assignFrom(reg);
    } else if (!env.priv.allowPtrLeaks && reg.type !== SCALAR_VALUE) {
      env.reject(EACCES, `leaking pointer from stack off ${off}`);
    }
  } else {
    const slotIdx = -off - 1;
    for (let i = 0; i < size; i++) {
      const type = stype[(slotIdx - i) % BPF_REG_SIZE];
      if (type === STACK_MISC || type === STACK_ZERO) continue;
      if (type === STACK_INVALID && env.priv.allowUninitStack) continue;
      env.reject(EACCES, `invalid read from stack off ${off}+${i} size ${size}`);
    }
    if (dstRegno >= 0) markRegStackRead(env, frame, off, off + size, dstRegno);
    restored = false;
  }
  if (restored) pushHistory(env, env.curState, insnStackAccessFlags(frame.frameno, spi));
}

/** check_stack_read. */
function checkStackRead(env: VerifierEnv, ptrRegno: number, off: number, size: number, dstRegno: number): void {
  const reg = env.curState.regs[ptrRegno];
  const frame = frameOf(env, reg);
  const varOff = !tnumIsConst(reg.varOff);
  if (dstRegno < 0 && varOff) {
    env.reject(EACCES, `variable offset stack pointer cannot be passed into helper function; var_off=${tnumString(reg.varOff)} off=${off} size=${size}`);
  }
  if (!varOff) {
    checkStackReadFixedOff(env, frame, off + Number(BigInt.asIntN(64, reg.varOff.value)), size, dstRegno);
    return;
  }
  checkStackRangeInitialized(env, ptrRegno, off, size, false, 'read', undefined);
  markRegStackRead(env, frame, Number(reg.smin) + off, Number(reg.smax) + off + size, dstRegno);
}

/** What a helper's memory arguments tell the call about raw (uninitialised-ok) output memory. */
export interface RawAccess {
  rawMode: boolean;
  accessSize: number;
  regno: number;
}

/**
 * check_stack_range_initialized: the stack bytes a helper (or variable-offset read) touches are
 * initialised — or, for a helper that only writes (raw mode), remembered to be written.
 */
export function checkStackRangeInitialized(
  env: VerifierEnv, regno: number, off: number, accessSize: number, zeroOk: boolean, t: AccessType, meta: RawAccess | undefined,
): void {
  const reg = env.curState.regs[regno];
  const frame = frameOf(env, reg);
  const clobber = t === 'write';
  if (accessSize === 0 && !zeroOk) env.reject(EACCES, 'invalid zero-sized read');
  checkStackAccessWithinBounds(env, regno, off, accessSize, t);
  let minOff: number;
  let maxOff: number;
  if (tnumIsConst(reg.varOff)) {
    minOff = maxOff = Number(BigInt.asIntN(64, reg.varOff.value)) + off;
  } else {
    if (!env.priv.bypassSpecV1) {
      env.reject(EACCES, `R${regno} variable offset stack access prohibited for !root, var_off=${tnumString(reg.varOff)}`);
    }
    if (meta?.rawMode) meta = undefined;
    minOff = Number(reg.smin) + off;
    maxOff = Number(reg.smax) + off;
  }
  if (meta?.rawMode) {
    meta.accessSize = accessSize;
    meta.regno = regno;
    return;
  }
  let readMask = 0n;
  for (let i = minOff; i < maxOff + accessSize; i++) {
    const slotIdx = -i - 1;
    const spi = Math.floor(slotIdx / BPF_REG_SIZE);
    if (frame.allocatedStack <= slotIdx) env.reject(EFAULT, 'allocated_stack too small');
    const slot = frame.stack[spi];
    const byte = slotIdx % BPF_REG_SIZE;
    const stype = slot.slotType[byte];
    if (stype === STACK_MISC) {
      readMask |= 1n << BigInt(spi);
      continue;
    }
    if (stype === STACK_ZERO || (stype === STACK_INVALID && env.priv.allowUninitStack)) {
      if (clobber) slot.slotType[byte] = STACK_MISC;
      readMask |= 1n << BigInt(spi);
      continue;
    }
    // A byte of a spilled register (not one beside a narrow spill) is initialised.
    if (stype === STACK_SPILL && slot.isSpilled && (slot.spilled.type === SCALAR_VALUE || env.priv.allowPtrLeaks)) {
      if (clobber) {
        markUnknown(slot.spilled);
        for (let j = 0; j < BPF_REG_SIZE; j++) if (slot.slotType[j] === STACK_SPILL) slot.slotType[j] = STACK_MISC;
      }
      readMask |= 1n << BigInt(spi);
      continue;
    }
    if (tnumIsConst(reg.varOff)) {
      env.reject(EACCES, `invalid read from stack R${regno} off ${minOff}+${i - minOff} size ${accessSize}`);
    }
    env.reject(EACCES, `invalid read from stack R${regno} var_off ${tnumString(reg.varOff)}+${i - minOff} size ${accessSize}`);
  }
  markStackRead(env, env.curState, frame.frameno, readMask);
}

// ---- the dispatcher -----------------------------------------------------------------------------

/** Direct packet writes: XDP and TC programs may write their packet (may_access_direct_pkt_data). */
const mayWritePacket = (env: VerifierEnv): boolean => env.prog.packetWrites;

/** For frozen read-only maps (.rodata): the value the program reads is known (bpf_map_direct_read). */
function directRead(env: VerifierEnv, reg: RegState, off: number, size: number, isLdsx: boolean): bigint | undefined {
  const map = reg.map!;
  if (!map.frozenValue || !tnumIsConst(reg.varOff) || map.type !== BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY) return undefined;
  const at = off + Number(reg.varOff.value);
  if (at < 0 || at + size > map.frozenValue.length) return undefined;
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(map.frozenValue[at + i]);
  return isLdsx ? BigInt.asUintN(64, BigInt.asIntN(size * 8, v)) : v;
}

/**
 * check_mem_access: a load (`valueRegno` gets the result) or store (`valueRegno` holds the value,
 * -1 for an immediate `imm`) of `size` bytes at `off` from register `regno`.
 */
export function checkMemAccess(
  env: VerifierEnv, regno: number, off: number, size: number, t: AccessType, valueRegno: number,
  strictAlignmentOnce = false, isLdsx = false, imm?: number,
): void {
  const regs = env.curState.regs;
  const reg = regs[regno];
  checkPtrAlignment(env, reg, off, size, strictAlignmentOnce);
  off += reg.off;
  const leak = (what: string): void => {
    if (t === 'write' && valueRegno >= 0 && isPointerValue(env, valueRegno)) env.reject(EACCES, `R${valueRegno} leaks addr into ${what}`);
  };
  if (reg.type === PTR_TO_MAP_KEY) {
    if (t === 'write') env.reject(EACCES, `write to change key R${regno} not allowed`);
    checkMemRegionAccess(env, regno, off, size, reg.map!.keySize, false);
    if (valueRegno >= 0) markUnknown(regs[valueRegno]);
  } else if (reg.type === PTR_TO_MAP_VALUE) {
    leak('map');
    checkMapAccessType(env, regno, off, size, t);
    checkMapAccess(env, regno, off, size, false);
    if (t === 'read' && valueRegno >= 0) {
      const known = reg.map!.flags & BPF_F_RDONLY_PROG ? directRead(env, reg, off, size, isLdsx) : undefined;
      if (known !== undefined) {
        markKnown(regs[valueRegno], known);
        regs[valueRegno].type = SCALAR_VALUE;
      } else {
        markUnknown(regs[valueRegno]);
      }
    }
  } else if (baseType(reg.type) === PTR_TO_MEM) {
    const rdonly = (reg.type & MEM_RDONLY) !== 0;
    if (reg.type & PTR_MAYBE_NULL) env.reject(EACCES, `R${regno} invalid mem access '${regTypeStr(reg.type)}'`);
    if (t === 'write' && rdonly) env.reject(EACCES, `R${regno} cannot write into ${regTypeStr(reg.type)}`);
    leak('mem');
    if (!(rdonly && reg.type & PTR_UNTRUSTED)) checkMemRegionAccess(env, regno, off, size, reg.memSize, false);
    if (valueRegno >= 0 && (t === 'read' || rdonly)) markUnknown(regs[valueRegno]);
  } else if (reg.type === PTR_TO_CTX) {
    leak('ctx');
    checkPtrOffReg(env, reg, regno);
    const access = checkCtxAccess(env, off, size, t, isLdsx);
    if (t === 'read' && valueRegno >= 0) {
      const dst = regs[valueRegno];
      if (!access.pointer) markUnknown(dst);
      else {
        markPointer(dst, ctxPointerType(access.pointer));
        if (access.pointer === 'sock_common_or_null') dst.id = ++env.idGen;
        dst.subregDef = 0;
      }
    }
  } else if (reg.type === PTR_TO_STACK) {
    checkStackAccessWithinBounds(env, regno, off, size, t);
    if (t === 'read') checkStackRead(env, regno, off, size, valueRegno);
    else checkStackWrite(env, regno, off, size, valueRegno, imm);
  } else if (regIsPktPointer(reg)) {
    if (t === 'write' && !mayWritePacket(env)) env.reject(EACCES, 'cannot write into packet');
    leak('packet');
    checkPacketAccess(env, regno, off, size, false);
    if (t === 'read' && valueRegno >= 0) markUnknown(regs[valueRegno]);
  } else if (isSkPointer(reg.type)) {
    if (t === 'write') env.reject(EACCES, `R${regno} cannot write into ${regTypeStr(reg.type)}`);
    checkSockAccess(env, regno, off, size);
    if (valueRegno >= 0) markUnknown(regs[valueRegno]);
  } else if (baseType(reg.type) === PTR_TO_BTF_ID && !(reg.type & PTR_MAYBE_NULL)) {
    env.reject(EACCES, `R${regno} is ptr_${reg.btfName}: xdplab's verifier has no kernel BTF to check accesses to kernel structures`);
  } else if (reg.type === CONST_PTR_TO_MAP) {
    checkPtrToMapAccess(env, regno, reg, off, t);
  } else {
    env.reject(EACCES, `R${regno} invalid mem access '${regTypeStr(reg.type)}'`);
  }
  const value = valueRegno >= 0 ? regs[valueRegno] : undefined;
  if (value && size < BPF_REG_SIZE && t === 'read' && value.type === SCALAR_VALUE) {
    if (!isLdsx) coerceRegToSize(value, size);
    else coerceRegToSizeSx(value, size);
  }
}

function ctxPointerType(kind: 'pkt' | 'pkt_end' | 'pkt_meta' | 'sock_common_or_null'): number {
  switch (kind) {
    case 'pkt': return PTR_TO_PACKET;
    case 'pkt_end': return PTR_TO_PACKET_END;
    case 'pkt_meta': return PTR_TO_PACKET_META;
    default: return PTR_TO_SOCK_COMMON | PTR_MAYBE_NULL;
  }
}

/** The kernel structure behind each map type's map pointer (map->ops->map_btf_id). */
const MAP_STRUCT: Record<number, string> = {
  [BPF_MAP_TYPE.BPF_MAP_TYPE_HASH]: 'bpf_htab', [BPF_MAP_TYPE.BPF_MAP_TYPE_PERCPU_HASH]: 'bpf_htab',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_LRU_HASH]: 'bpf_htab', [BPF_MAP_TYPE.BPF_MAP_TYPE_LRU_PERCPU_HASH]: 'bpf_htab',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_HASH_OF_MAPS]: 'bpf_htab',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY]: 'bpf_array', [BPF_MAP_TYPE.BPF_MAP_TYPE_PERCPU_ARRAY]: 'bpf_array',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY]: 'bpf_array', [BPF_MAP_TYPE.BPF_MAP_TYPE_PERF_EVENT_ARRAY]: 'bpf_array',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY_OF_MAPS]: 'bpf_array', [BPF_MAP_TYPE.BPF_MAP_TYPE_CGROUP_ARRAY]: 'bpf_array',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_LPM_TRIE]: 'lpm_trie', [BPF_MAP_TYPE.BPF_MAP_TYPE_STACK_TRACE]: 'bpf_stack_map',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_DEVMAP]: 'bpf_dtab', [BPF_MAP_TYPE.BPF_MAP_TYPE_DEVMAP_HASH]: 'bpf_dtab',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_CPUMAP]: 'bpf_cpu_map', [BPF_MAP_TYPE.BPF_MAP_TYPE_XSKMAP]: 'xsk_map',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_SOCKMAP]: 'bpf_stab', [BPF_MAP_TYPE.BPF_MAP_TYPE_SOCKHASH]: 'bpf_shtab',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_QUEUE]: 'bpf_queue_stack', [BPF_MAP_TYPE.BPF_MAP_TYPE_STACK]: 'bpf_queue_stack',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_RINGBUF]: 'bpf_ringbuf_map', [BPF_MAP_TYPE.BPF_MAP_TYPE_BLOOM_FILTER]: 'bpf_bloom_filter',
};

/**
 * check_ptr_to_map_access: a load through a map pointer reads the kernel's struct behind the
 * map (struct bpf_array, bpf_htab …) — for CAP_PERFMON only, reads only, at offsets from 0.
 * Which fields it may read is the kernel's BTF, which xdplab does not have: such a read is
 * left undecided (the program is neither accepted nor refused).
 */
function checkPtrToMapAccess(env: VerifierEnv, regno: number, reg: RegState, off: number, t: AccessType): void {
  const tname = MAP_STRUCT[reg.map?.type ?? -1];
  if (tname === undefined) env.reject(ERRNO.ENOTSUPP, `map_ptr access not supported for map type ${reg.map?.type}`);
  if (!env.priv.allowPtrLeaks) env.reject(ERRNO.EPERM, `'struct ${tname}' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN`);
  if (off + reg.off < 0) env.reject(EACCES, `R${regno} is ${tname} invalid negative access: off=${off + reg.off}`);
  if (t !== 'read') env.reject(EACCES, `only read from ${tname} is supported`);
  env.reject(EACCES, `R${regno} reads struct ${tname}: xdplab's verifier has no kernel BTF to check reads of the kernel's map structures`);
}
