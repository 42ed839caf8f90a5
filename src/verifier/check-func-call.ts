/**
 * Calls into the program's own functions (check_func_call: bpf-to-bpf and global functions)
 * and their returns (prepare_func_exit), the frames of callbacks (bpf_loop,
 * bpf_for_each_map_elem), and the program's exit (references released, locks dropped, the
 * return value in range, no pointer returned without CAP_PERFMON).
 */
import { BPF_REG_0, MAX_CALL_FRAMES } from '../isa/opcodes.js';
import { ERRNO } from '../uapi/errno.js';
import {
  ARG_DONTCARE, ARG_PTR_TO_BTF_ID, ARG_PTR_TO_BTF_ID_SOCK_COMMON, ARG_PTR_TO_CTX, ARG_PTR_TO_RINGBUF_MEM, ARG_PTR_TO_SOCKET,
  ARG_PTR_TO_SOCK_COMMON, ARG_PTR_TO_STACK,
} from '../uapi/helper-protos.js';
import type { VerifierEnv } from './env.js';
import { type Insn } from './kernel-disasm.js';
import { verifierStateString } from './log.js';
import { markChainPrecision } from './precision.js';
import {
  CONST_PTR_TO_MAP, PTR_TO_CTX, PTR_TO_FUNC, PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE, PTR_TO_STACK, SCALAR_VALUE, markNotInit,
  markPointer, markUnknown, regTypeStr, type RegState,
} from './reg-state.js';
import { SRC_OP, checkRegArg, clearAllPktPointers, isPointerValue } from './regs.js';
import { FuncState, type VerifierState } from './state.js';
import { tnumString } from './tnum.js';

import { checkFuncArgRegOff, checkHelperMemAccess } from './check-call.js';

const { EACCES, EINVAL, E2BIG } = ERRNO;

// ---- callbacks and calls into the program's own functions ------------------------------------

type SetCallee = (caller: FuncState, callee: FuncState) => void;

/** set_loop_callback_state: callback(u64 index, void *ctx). */
export function setLoopCallbackState(caller: FuncState, callee: FuncState): void {
  markUnknown(callee.regs[1]);
  callee.regs[2].assignFrom(caller.regs[3]);
  for (const r of [3, 4, 5]) markNotInit(callee.regs[r]);
  callee.inCallbackFn = true;
  callee.callbackRetMin = 0;
  callee.callbackRetMax = 1;
}

/** set_map_elem_callback_state: callback(map, key, value, ctx); the value pointer gets an id of its own (as Linux 6.18 logs it). */
export function setMapElemCallbackState(env: VerifierEnv, caller: FuncState, callee: FuncState): void {
  const map = caller.regs[1].map;
  markPointer(callee.regs[1], CONST_PTR_TO_MAP);
  callee.regs[1].map = map;
  markPointer(callee.regs[2], PTR_TO_MAP_KEY);
  callee.regs[2].map = map;
  markPointer(callee.regs[3], PTR_TO_MAP_VALUE);
  callee.regs[3].map = map;
  callee.regs[3].id = ++env.idGen;
  callee.regs[4].assignFrom(caller.regs[3]);
  markNotInit(callee.regs[5]);
  callee.inCallbackFn = true;
  callee.callbackRetMin = 0;
  callee.callbackRetMax = 1;
}

/** set_callee_state: r1-r5 pass into the callee. */
const setCalleeState: SetCallee = (caller, callee) => {
  for (let i = 1; i <= 5; i++) callee.regs[i].assignFrom(caller.regs[i]);
};

/** setup_func_entry: a new frame for `subprog` called at `callsite`. */
function setupFuncEntry(env: VerifierEnv, subprog: number, callsite: number, set: SetCallee, state: VerifierState): void {
  if (state.curframe + 1 >= MAX_CALL_FRAMES) env.reject(E2BIG, `the call stack of ${state.curframe + 2} frames is too deep`);
  const caller = state.frame;
  const callee = new FuncState();
  callee.callsite = callsite;
  callee.frameno = state.curframe + 1;
  callee.subprogno = subprog;
  for (const reg of callee.regs) markNotInit(reg);
  markPointer(callee.regs[10], PTR_TO_STACK);
  callee.regs[10].frameno = callee.frameno;
  set(caller, callee);
  state.frames.push(callee);
}

/** push_callback_call: explore the callback as a branch; the call itself goes on. */
export function pushCallbackCall(env: VerifierEnv, insn: Insn, subprog: number, set: SetCallee): void {
  const sp = env.subprogs[subprog];
  if (!sp) env.bug(`callback subprog ${subprog}`);
  sp.isCallback = true;
  const callbackState = env.pushStack(sp.start, env.insnIdx, false);
  setupFuncEntry(env, subprog, env.insnIdx, set, callbackState);
  callbackState.callbackUnrollDepth++;
  callbackState.frames[callbackState.curframe - 1].callbackDepth++;
  env.curState.frame.callbackDepth = 0;
  void insn;
}

/** check_func_call: a call of one of the program's own functions; returns the next pc. */
export function checkFuncCall(env: VerifierEnv, insn: Insn): number {
  const state = env.curState;
  const target = env.insnIdx + insn.imm + 1;
  const subprog = env.findSubprog(target);
  if (subprog < 0) env.bug(`target of func call at insn ${target} is not a program`);
  const caller = state.frame;
  const sp = env.subprogs[subprog];
  if (sp.global) {
    if (state.activeLockId) env.reject(EINVAL, 'global function calls are not allowed while holding a lock,', 'use static function instead');
    const bad = checkGlobalCallArgs(env, subprog, caller.regs);
    if (bad) env.reject(bad.errno, bad.message, `Caller passes invalid args into func#${subprog} ('${sp.name}')`);
    if (env.verbose) env.say(`Func#${subprog} ('${sp.name}') is global and assumed valid.\n`);
    if (sp.changesPktData) clearAllPktPointers(env);
    env.calledGlobals.add(subprog);
    clearCallerSavedRegs(env, caller.regs);
    markUnknown(caller.regs[0]);
    caller.regs[0].subregDef = 0;
    return env.insnIdx + 1;
  }
  setupFuncEntry(env, subprog, env.insnIdx, setCalleeState, state);
  clearCallerSavedRegs(env, caller.regs);
  env.markAllScratched(); // init_func_state of the callee's frame
  if (env.verbose) {
    env.say('caller:\n' + verifierStateString(state, caller.frameno, 'all') + '\n');
    env.say('callee:\n' + verifierStateString(state, state.curframe, 'all') + '\n');
  }
  return sp.start;
}

function clearCallerSavedRegs(env: VerifierEnv, regs: RegState[]): void {
  for (let i = 0; i <= 5; i++) {
    markNotInit(regs[i]);
    env.markScratchedReg(i);
  }
}

/** btf_check_subprog_call for a global function: the arguments match its BTF prototype (btf_check_func_arg_match). */
function checkGlobalCallArgs(env: VerifierEnv, subprog: number, regs: RegState[]): { errno: number; message: string } | undefined {
  const { args } = env.subprogs[subprog];
  /** A check that refuses by throwing, its refusal as a value. */
  const attempt = (check: () => void): { errno: number; message: string } | undefined => {
    const logged = env.log.pos;
    try {
      check();
      return undefined;
    } catch (err) {
      const failure = env.failure;
      env.failure = undefined;
      if (!failure) throw err;
      env.log.reset(logged); // the caller says it, with what follows
      return { errno: failure.errno, message: failure.message };
    }
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const regno = i + 1;
    const reg = regs[regno];
    let bad: { errno: number; message: string } | undefined;
    if (arg.kind === 'scalar') {
      if (reg.type !== SCALAR_VALUE) return { errno: EINVAL, message: `R${regno} is not a scalar` };
    } else if (arg.kind === 'ctx') {
      bad = attempt(() => checkFuncArgRegOff(env, reg, regno, ARG_DONTCARE));
      if (!bad && reg.type !== PTR_TO_CTX) bad = { errno: EINVAL, message: `arg#${i} expects pointer to ctx` };
    } else if (arg.kind === 'mem') {
      bad = attempt(() => checkFuncArgRegOff(env, reg, regno, ARG_DONTCARE));
      if (!bad && !(reg.isNull && arg.maybeNull)) {
        // check_mem_reg: the memory must be readable and writable.
        bad = attempt(() => {
          checkHelperMemAccess(env, regno, arg.size, 'read', true, undefined);
          checkHelperMemAccess(env, regno, arg.size, 'write', true, undefined);
        });
        if (bad) bad = { errno: EINVAL, message: bad.message };
      }
    } else {
      return { errno: EINVAL, message: arg.why };
    }
    if (bad) return bad;
  }
  return undefined;
}

/** check_resource_leak: references (and locks) may not outlive the program or a tail call. */
export function checkResourceLeak(env: VerifierEnv, exceptionExit: boolean, checkLock: boolean, prefix: string): void {
  const state = env.curState;
  if (checkLock && state.activeLockId) env.reject(EINVAL, `${prefix} cannot be used inside bpf_spin_lock-ed region`);
  if (!exceptionExit && state.frame.frameno) return;
  const lingering = state.refs.filter((r) => r.kind === 'ptr');
  if (lingering.length) {
    env.reject(EINVAL, ...lingering.map((r) => `Unreleased reference id=${r.id} alloc_insn=${r.insnIdx}`), `${prefix} would lead to reference leak`);
  }
}

/** prepare_func_exit: return from a function or callback; returns the next pc. */
export function prepareFuncExit(env: VerifierEnv): number {
  const state = env.curState;
  const callee = state.frame;
  const r0 = callee.regs[0];
  if (r0.type === PTR_TO_STACK) env.reject(EINVAL, 'cannot return stack pointer to the caller');
  const caller = state.frames[state.curframe - 1];
  if (callee.inCallbackFn) {
    if (r0.type !== SCALAR_VALUE) env.reject(EACCES, 'R0 not a scalar value');
    markChainPrecision(env, 0);
    if (r0.smin < BigInt(callee.callbackRetMin) || r0.smax > BigInt(callee.callbackRetMax)) {
      let has = '';
      if (r0.smin > -(1n << 63n)) has += ` smin=${r0.smin}`;
      if (r0.smax < (1n << 63n) - 1n) has += ` smax=${r0.smax}`;
      env.reject(EINVAL, `At callback return the register R0 has${has || ' unknown scalar value'} should have been in [${callee.callbackRetMin}, ${callee.callbackRetMax}]`);
    }
  } else {
    caller.regs[0].assignFrom(r0);
  }
  const next = callee.inCallbackFn ? callee.callsite : callee.callsite + 1;
  if (env.verbose) {
    env.say('returning from callee:\n' + verifierStateString(state, callee.frameno, 'all') + '\n');
    env.say(`to caller at ${next}:\n` + verifierStateString(state, caller.frameno, 'all') + '\n');
  }
  const inCallback = callee.inCallbackFn;
  state.frames.pop();
  if (inCallback) env.widenAtCallbackReturn(next);
  return next;
}

/** check_return_code at the main program's exit. */
export function checkReturnCode(env: VerifierEnv): void {
  checkRegArg(env, BPF_REG_0, SRC_OP);
  if (isPointerValue(env, 0)) env.reject(EACCES, 'R0 leaks addr as return value');
  const frame = env.curState.frames[0];
  const r0 = env.curState.regs[0];
  if (frame.subprogno && !env.subprogs[frame.subprogno].returnsVoid && r0.type !== SCALAR_VALUE) {
    env.reject(EINVAL, `At subprogram exit the register R0 is not a scalar value (${regTypeStr(r0.type)})`);
  }
}

void ARG_PTR_TO_BTF_ID; void ARG_PTR_TO_RINGBUF_MEM; void ARG_PTR_TO_SOCKET; void ARG_PTR_TO_SOCK_COMMON; void ARG_PTR_TO_STACK;
void ARG_PTR_TO_CTX; void ARG_PTR_TO_BTF_ID_SOCK_COMMON; void PTR_TO_FUNC; void tnumString;
