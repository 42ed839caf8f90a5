/**
 * Register operands and the bookkeeping every check shares: reading and writing registers
 * (check_reg_arg), pointer leaks, references acquired and released, packet pointers dropped
 * after a helper moved the packet, linked scalar ids, and the instruction history that
 * precision backtracking walks.
 */
import { ERRNO } from '../uapi/errno.js';
import type { VerifierEnv } from './env.js';
import {
  BPF_ADD_CONST, NOT_INIT, PTR_TO_PACKET, PTR_TO_PACKET_END, PTR_TO_PACKET_META, SCALAR_VALUE, markNotInit, markUnknown,
  type RegState,
} from './reg-state.js';
import { tnumIsConst } from './tnum.js';
import type { HistEntry, VerifierState } from './state.js';

export const SRC_OP = 0;
export const DST_OP = 1;
export const DST_OP_NO_MARK = 2;

/** check_reg_arg: a source must have been written; r10 may not be written. */
export function checkRegArg(env: VerifierEnv, regno: number, t: number): void {
  const regs = env.curState.regs;
  if (regno >= 11) env.reject(ERRNO.EINVAL, `R${regno} is invalid`);
  env.markScratchedReg(regno);
  const reg = regs[regno];
  if (t === SRC_OP) {
    if (reg.type === NOT_INIT) env.reject(ERRNO.EACCES, `R${regno} !read_ok`);
    return;
  }
  if (regno === 10) env.reject(ERRNO.EACCES, 'frame pointer is read only');
  reg.subregDef = 0;
  if (t === DST_OP) markUnknown(reg);
}

/** is_pointer_value: a pointer a program without CAP_PERFMON may not treat as a number. */
export function isPointerValue(env: VerifierEnv, regno: number): boolean {
  return !env.priv.allowPtrLeaks && env.curState.regs[regno].type !== SCALAR_VALUE;
}

export const regIsPktPointerAny = (reg: RegState): boolean =>
  reg.type === PTR_TO_PACKET || reg.type === PTR_TO_PACKET_META || reg.type === PTR_TO_PACKET_END;

export const regIsPktPointer = (reg: RegState): boolean => reg.type === PTR_TO_PACKET || reg.type === PTR_TO_PACKET_META;

/** mark_reg_invalid: a pointer that may no longer be used (freed, or its packet moved). */
export function markRegInvalid(env: VerifierEnv, reg: RegState): void {
  if (!env.priv.allowPtrLeaks) markNotInit(reg);
  else markUnknown(reg);
}

/** clear_all_pkt_pointers: after a helper that may move the packet. */
export function clearAllPktPointers(env: VerifierEnv): void {
  for (const reg of env.curState.allRegs()) if (regIsPktPointerAny(reg)) markRegInvalid(env, reg);
}

/** acquire_reference: a new reference the program must release. */
export function acquireReference(env: VerifierEnv, insnIdx: number): number {
  const id = ++env.idGen;
  env.curState.refs.push({ kind: 'ptr', id, insnIdx });
  return id;
}

/** release_reference_nomark: drop a reference from the state; false when it is not held. */
export function releaseReferenceNomark(state: VerifierState, id: number): boolean {
  const i = state.refs.findIndex((r) => r.id === id && r.kind === 'ptr');
  if (i < 0) return false;
  state.refs.splice(i, 1);
  return true;
}

/** release_reference: drop it and every register that holds it. */
export function releaseReference(env: VerifierEnv, id: number): boolean {
  if (!releaseReferenceNomark(env.curState, id)) return false;
  for (const reg of env.curState.allRegs()) if (reg.refObjId === id) markRegInvalid(env, reg);
  return true;
}

/** assign_scalar_id_before_mov: copies of a scalar share an id, so a later check narrows both. */
export function assignScalarIdBeforeMov(env: VerifierEnv, src: RegState): void {
  if (src.type !== SCALAR_VALUE) return;
  if (src.id & BPF_ADD_CONST) {
    src.id = 0;
    src.off = 0;
  }
  if (!src.id && !tnumIsConst(src.varOff)) src.id = ++env.idGen;
}

/** push_jmp_history: record the instruction being checked (its predecessor, flags) for backtracking. */
export function pushHistory(env: VerifierEnv, state: VerifierState, flags: number, linkedRegs: number[] = []): void {
  const cur = env.curHistEntry;
  if (cur && cur.idx === env.insnIdx && state.hist[state.hist.length - 1] === cur) {
    cur.flags |= flags;
    if (linkedRegs.length) cur.linkedRegs = linkedRegs;
    return;
  }
  const entry: HistEntry = { idx: env.insnIdx, prevIdx: env.prevInsnIdx, flags, linkedRegs };
  state.hist.push(entry);
  env.curHistEntry = entry;
}

/** fls64: the number of bits a value needs (get_reg_width uses it on umax). */
export const regWidth = (reg: RegState): number => (reg.umax === 0n ? 0 : reg.umax.toString(2).length);
