/**
 * The stack (check_stack_read / check_stack_write and their kin): spills and fills of
 * registers, the per-byte slot types (misc, zero, spill, invalid), fixed and variable offsets,
 * the bounds of the frame, and the initialised ranges helpers read.
 */
import { BPF_MAX_VAR_OFF } from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import type { VerifierEnv } from './env.js';
import { markStackRead, markStackWrite } from './liveness.js';
import { markChainPrecision } from './precision.js';
import { NOT_INIT, PTR_TO_STACK, SCALAR_VALUE, markKnown, markUnknown, type RegState } from './reg-state.js';
import { assignScalarIdBeforeMov, pushHistory, regWidth } from './regs.js';
import {
  BPF_REG_SIZE, STACK_INVALID, STACK_MISC, STACK_SPILL, STACK_ZERO, insnStackAccessFlags, type FuncState, type StackSlot,
} from './state.js';
import { tnumIsConst, tnumString } from './tnum.js';

import { frameOf, isSpillable, type AccessType } from './check-mem.js';

const { EACCES, EINVAL, EFAULT } = ERRNO;

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
export function checkStackWrite(env: VerifierEnv, ptrRegno: number, off: number, size: number, valueRegno: number, imm: number | undefined): void {
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
export function checkStackRead(env: VerifierEnv, ptrRegno: number, off: number, size: number, dstRegno: number): void {
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

