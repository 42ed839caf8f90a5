/**
 * The main pass (do_check): walk every path of the program from its first instruction,
 * checking each instruction against the abstract state (do_check_insn), pushing the other
 * side of each undecided branch, pruning at prune points, counting processed instructions
 * against the 1,000,000 limit, and writing the kernel's trace to the log.
 */
import {
  BPF_ABS, BPF_ALU, BPF_ALU64, BPF_ATOMIC, BPF_CALL, BPF_CLASS, BPF_CMPXCHG, BPF_DW, BPF_EXIT, BPF_FETCH, BPF_IMM, BPF_IND,
  BPF_JA, BPF_JMP, BPF_JMP32, BPF_K, BPF_LD, BPF_LDX, BPF_MEM, BPF_MEMSX, BPF_MODE, BPF_OP, BPF_PSEUDO_CALL,
  BPF_PSEUDO_FUNC, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_VALUE, BPF_PSEUDO_MAP_IDX_VALUE, BPF_SIZE, BPF_SRC, BPF_ST,
  BPF_STX, BPF_W, BPF_XCHG, sizeBytes, BPF_ADD, BPF_AND, BPF_OR, BPF_XOR,
} from '../isa/opcodes.js';
import { BPF_COMPLEXITY_LIMIT_INSNS, BPF_PROG_TYPE } from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import { HELPER_IDS } from '../uapi/helper-ids.js';
import { regBoundsSane } from './bounds.js';
import { checkAluOp } from './check-alu.js';
import { checkHelperCall } from './check-call.js';
import { checkFuncCall, checkResourceLeak, checkReturnCode, prepareFuncExit } from './check-func-call.js';
import { checkCondJmpOp } from './check-jmp.js';
import { checkMemAccess, checkPtrOffReg } from './check-mem.js';
import { VerifyFailure, type VerifierEnv } from './env.js';
import type { Insn } from './kernel-disasm.js';
import { commitStackWriteMarks, resetStackWriteMarks } from './liveness.js';
import { verifierStateString } from './log.js';
import { isStateVisited, maybeExitScc } from './prune.js';
import {
  CONST_PTR_TO_MAP, NOT_INIT, PTR_TO_CTX, PTR_TO_FUNC, PTR_TO_MAP_VALUE, PTR_TO_PACKET, PTR_TO_PACKET_META,
  PTR_TO_SOCK_COMMON, PTR_TO_SOCKET, PTR_TO_TCP_SOCK, PTR_TO_XDP_SOCK, PTR_TO_FLOW_KEYS, PTR_TO_BTF_ID, PTR_TO_ARENA,
  PTR_TO_MEM, SCALAR_VALUE, markKnown, markPointer, markUnknown, regTypeStr,
} from './reg-state.js';
import { DST_OP, DST_OP_NO_MARK, SRC_OP, checkRegArg, isPointerValue, pushHistory } from './regs.js';
import { baseType } from '../uapi/helper-protos.js';
import type { VerifierState } from './state.js';

const { EACCES, EINVAL, E2BIG } = ERRNO;
const BPF_FUNC_spin_unlock = HELPER_IDS.get('spin_unlock')!;

/** The outcome of one instruction: the next pc, or the end of the path. */
const PATH_END = -1;

// ---- loads and stores -------------------------------------------------------------------------

/** save_aux_ptr_type: one load or store instruction may not mix context and other memory. */
function saveAuxPtrType(env: VerifierEnv, type: number, allowTrustMismatch: boolean): void {
  const prev = env.auxPtrType[env.insnIdx];
  if (prev === 0) {
    env.auxPtrType[env.insnIdx] = type + 1;
    return;
  }
  const prevType = prev - 1;
  if (prevType === type) return;
  const special = (t: number): boolean => {
    const b = baseType(t);
    return b === PTR_TO_CTX || b === PTR_TO_SOCKET || b === PTR_TO_SOCK_COMMON || b === PTR_TO_TCP_SOCK || b === PTR_TO_XDP_SOCK
      || b === PTR_TO_BTF_ID || b === PTR_TO_ARENA;
  };
  if (!special(type) && !special(prevType)) return;
  const memOrBtf = (t: number): boolean => baseType(t) === PTR_TO_MEM || baseType(t) === PTR_TO_BTF_ID;
  if (allowTrustMismatch && memOrBtf(type) && memOrBtf(prevType)) return;
  env.reject(EINVAL, 'same insn cannot be used with different pointers');
}

function checkLoadMem(env: VerifierEnv, insn: Insn): void {
  checkRegArg(env, insn.src, SRC_OP);
  checkRegArg(env, insn.dst, DST_OP_NO_MARK);
  const srcType = env.curState.regs[insn.src].type;
  checkMemAccess(env, insn.src, insn.off, sizeBytes(insn.code), 'read', insn.dst, false, BPF_MODE(insn.code) === BPF_MEMSX);
  saveAuxPtrType(env, srcType, true);
  const dst = env.curState.regs[insn.dst];
  if (dst.type === SCALAR_VALUE && !regBoundsSane(dst)) markUnknown(dst);
}

function checkStoreReg(env: VerifierEnv, insn: Insn): void {
  checkRegArg(env, insn.src, SRC_OP);
  checkRegArg(env, insn.dst, SRC_OP);
  const dstType = env.curState.regs[insn.dst].type;
  checkMemAccess(env, insn.dst, insn.off, sizeBytes(insn.code), 'write', insn.src);
  saveAuxPtrType(env, dstType, false);
}

function checkStoreImm(env: VerifierEnv, insn: Insn): void {
  if (BPF_MODE(insn.code) !== BPF_MEM || insn.src !== 0) env.reject(EINVAL, 'BPF_ST uses reserved fields');
  checkRegArg(env, insn.dst, SRC_OP);
  const dstType = env.curState.regs[insn.dst].type;
  checkMemAccess(env, insn.dst, insn.off, sizeBytes(insn.code), 'write', -1, false, false, insn.imm);
  saveAuxPtrType(env, dstType, false);
}

/** BPF_LOAD_ACQ / BPF_STORE_REL (the imm of an atomic instruction). */
const BPF_LOAD_ACQ = 0x100;
const BPF_STORE_REL = 0x110;

/** atomic_ptr_type_ok: atomics work on the stack, map values and memory, not context, packet, flow keys or sockets. */
function atomicPtrTypeOk(type: number): boolean {
  return !(type === PTR_TO_CTX || type === PTR_TO_PACKET || type === PTR_TO_PACKET_META || type === PTR_TO_FLOW_KEYS
    || type === PTR_TO_SOCKET || type === PTR_TO_SOCK_COMMON || type === PTR_TO_TCP_SOCK || type === PTR_TO_XDP_SOCK);
}

/**
 * check_atomic_load / check_atomic_store: load-acquire and store-release, aligned. A load
 * refuses the pointer's kind before the access is checked, a store after.
 */
function checkAtomicLoadStore(env: VerifierEnv, insn: Insn): void {
  const regs = env.curState.regs;
  if (insn.imm === BPF_LOAD_ACQ) {
    if (!atomicPtrTypeOk(regs[insn.src].type)) {
      env.reject(EACCES, `BPF_ATOMIC loads from R${insn.src} ${regTypeStr(regs[insn.src].type)} is not allowed`);
    }
    checkRegArg(env, insn.src, SRC_OP);
    checkRegArg(env, insn.dst, DST_OP_NO_MARK);
    checkMemAccess(env, insn.src, insn.off, sizeBytes(insn.code), 'read', insn.dst, true);
    return;
  }
  checkRegArg(env, insn.src, SRC_OP);
  checkRegArg(env, insn.dst, SRC_OP);
  checkMemAccess(env, insn.dst, insn.off, sizeBytes(insn.code), 'write', insn.src, true);
  if (!atomicPtrTypeOk(regs[insn.dst].type)) {
    env.reject(EACCES, `BPF_ATOMIC stores into R${insn.dst} ${regTypeStr(regs[insn.dst].type)} is not allowed`);
  }
}

/** check_atomic: read-modify-write on memory the program may both read and write. */
function checkAtomic(env: VerifierEnv, insn: Insn): void {
  if (insn.imm === BPF_LOAD_ACQ || insn.imm === BPF_STORE_REL) {
    checkAtomicLoadStore(env, insn);
    return;
  }
  const ops = [BPF_ADD, BPF_AND, BPF_OR, BPF_XOR];
  if (!ops.includes(insn.imm & ~BPF_FETCH) && insn.imm !== BPF_XCHG && insn.imm !== BPF_CMPXCHG) {
    env.reject(EINVAL, `BPF_ATOMIC uses invalid atomic opcode ${(insn.imm >>> 0).toString(16).padStart(2, '0')}`);
  }
  if (BPF_SIZE(insn.code) !== BPF_W && BPF_SIZE(insn.code) !== BPF_DW) env.reject(EINVAL, 'invalid atomic operand size');
  checkRegArg(env, insn.src, SRC_OP);
  checkRegArg(env, insn.dst, SRC_OP);
  if (insn.imm === BPF_CMPXCHG) {
    checkRegArg(env, 0, SRC_OP);
    if (isPointerValue(env, 0)) env.reject(EACCES, 'R0 leaks addr into mem');
  }
  if (isPointerValue(env, insn.src)) env.reject(EACCES, `R${insn.src} leaks addr into mem`);
  const t = env.curState.regs[insn.dst].type;
  if (!atomicPtrTypeOk(t)) env.reject(EACCES, `BPF_ATOMIC stores into R${insn.dst} ${regTypeStr(t)} is not allowed`);
  const size = sizeBytes(insn.code);
  let loadReg = -1;
  if (insn.imm & BPF_FETCH) {
    loadReg = insn.imm === BPF_CMPXCHG ? 0 : insn.src;
    checkRegArg(env, loadReg, DST_OP);
  }
  checkMemAccess(env, insn.dst, insn.off, size, 'read', -1, true);
  if (loadReg >= 0) checkMemAccess(env, insn.dst, insn.off, size, 'read', loadReg, true);
  checkMemAccess(env, insn.dst, insn.off, size, 'write', -1, true);
}

/** check_ld_imm: 64-bit constants, map and map value addresses, function addresses. */
function checkLdImm(env: VerifierEnv, insn: Insn): void {
  if (BPF_SIZE(insn.code) !== BPF_DW) env.reject(EINVAL, 'invalid BPF_LD_IMM insn');
  if (insn.off !== 0) env.reject(EINVAL, 'BPF_LD_IMM64 uses reserved fields');
  checkRegArg(env, insn.dst, DST_OP);
  const dst = env.curState.regs[insn.dst];
  if (insn.src === 0) {
    const hi = env.insns[env.insnIdx + 1].imm;
    markKnown(dst, (BigInt(hi) << 32n) | BigInt(insn.imm >>> 0));
    dst.type = SCALAR_VALUE;
    return;
  }
  markPointer(dst, SCALAR_VALUE);
  if (insn.src === BPF_PSEUDO_FUNC) {
    const subprog = env.findSubprog(env.insnIdx + insn.imm + 1);
    if (env.subprogs[subprog]?.global) env.reject(EINVAL, 'callback function not static');
    dst.type = PTR_TO_FUNC;
    dst.subprogno = subprog;
    return;
  }
  const ref = env.ldImm.get(env.insnIdx);
  if (!ref) env.bug(`no map for ld_imm64 at ${env.insnIdx}`);
  dst.map = ref.map;
  if (insn.src === BPF_PSEUDO_MAP_VALUE || insn.src === BPF_PSEUDO_MAP_IDX_VALUE) {
    dst.type = PTR_TO_MAP_VALUE;
    dst.off = ref.offset;
  } else {
    dst.type = CONST_PTR_TO_MAP;
  }
}

/** check_ld_abs: the legacy packet loads of socket-filter-like programs (TC only here). */
function checkLdAbs(env: VerifierEnv, insn: Insn): number {
  const t = env.progType;
  if (t !== BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_CLS && t !== BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_ACT
    && t !== BPF_PROG_TYPE.BPF_PROG_TYPE_SOCKET_FILTER) {
    env.reject(EINVAL, 'BPF_LD_[ABS|IND] instructions not allowed for this program type');
  }
  const mode = BPF_MODE(insn.code);
  if (insn.dst !== 0 || insn.off !== 0 || BPF_SIZE(insn.code) === BPF_DW || (mode === BPF_ABS && insn.src !== 0)) {
    env.reject(EINVAL, 'BPF_LD_[ABS|IND] uses reserved fields');
  }
  checkRegArg(env, 6, SRC_OP);
  checkResourceLeak(env, false, true, 'BPF_LD_[ABS|IND]');
  const regs = env.curState.regs;
  if (regs[6].type !== PTR_TO_CTX) env.reject(EINVAL, 'at the time of BPF_LD_ABS|IND R6 != pointer to skb');
  if (mode === BPF_IND) checkRegArg(env, insn.src, SRC_OP);
  checkPtrOffReg(env, regs[6], 6);
  for (let i = 0; i <= 5; i++) {
    regs[i].type = NOT_INIT;
    checkRegArg(env, i, DST_OP_NO_MARK);
  }
  markUnknown(regs[0]);
  regs[0].subregDef = env.insnIdx + 1;
  if (env.curState.curframe) {
    // The hidden `r0 = 0; exit` of a failed load returns from the function too.
    env.pushStack(env.insnIdx + 1, env.insnIdx, false);
    markKnown(regs[0], 0n);
    regs[0].type = SCALAR_VALUE;
    return prepareFuncExit(env);
  }
  return env.insnIdx + 1;
}

// ---- one instruction ----------------------------------------------------------------------------

/** process_bpf_exit_full. */
function processExit(env: VerifierEnv): number {
  const state = env.curState;
  checkResourceLeak(env, false, state.curframe === 0, 'BPF_EXIT instruction in main prog');
  if (state.curframe) return prepareFuncExit(env);
  checkReturnCode(env);
  return PATH_END;
}

function checkJmpClass(env: VerifierEnv, insn: Insn): number {
  const cls = BPF_CLASS(insn.code);
  const op = BPF_OP(insn.code);
  env.jmpsProcessed++;
  if (op === BPF_CALL) {
    if (BPF_SRC(insn.code) !== BPF_K || (insn.src !== BPF_PSEUDO_KFUNC_CALL && insn.off !== 0)
      || (insn.src !== 0 && insn.src !== BPF_PSEUDO_CALL && insn.src !== BPF_PSEUDO_KFUNC_CALL) || insn.dst !== 0 || cls === BPF_JMP32) {
      env.reject(EINVAL, 'BPF_CALL uses reserved fields');
    }
    if (env.curState.activeLockId && (insn.src !== 0 || insn.imm !== BPF_FUNC_spin_unlock) && insn.src !== BPF_PSEUDO_CALL) {
      env.reject(EINVAL, 'function calls are not allowed while holding a lock');
    }
    let next: number;
    if (insn.src === BPF_PSEUDO_CALL) next = checkFuncCall(env, insn);
    else if (insn.src === BPF_PSEUDO_KFUNC_CALL) {
      const name = env.kfuncs.get(env.insnIdx) ?? `#${insn.imm}`;
      return env.reject(EINVAL, `calling kernel function ${name} is not supported: xdplab's verifier has no kernel BTF to check kfunc calls`);
    } else {
      next = checkHelperCall(env, insn);
    }
    env.markScratchedReg(0);
    return next;
  }
  if (op === BPF_JA) {
    if (BPF_SRC(insn.code) !== BPF_K || insn.src !== 0 || insn.dst !== 0 || (cls === BPF_JMP && insn.imm !== 0) || (cls === BPF_JMP32 && insn.off !== 0)) {
      env.reject(EINVAL, 'BPF_JA uses reserved fields');
    }
    return env.insnIdx + (cls === BPF_JMP ? insn.off : insn.imm) + 1;
  }
  if (op === BPF_EXIT) {
    if (BPF_SRC(insn.code) !== BPF_K || insn.imm !== 0 || insn.src !== 0 || insn.dst !== 0 || cls === BPF_JMP32) {
      env.reject(EINVAL, 'BPF_EXIT uses reserved fields');
    }
    return processExit(env);
  }
  return checkCondJmpOp(env, insn);
}

/** do_check_insn: check one instruction; the next pc, or PATH_END. */
function doCheckInsn(env: VerifierEnv): number {
  const insn = env.insns[env.insnIdx];
  const cls = BPF_CLASS(insn.code);
  switch (cls) {
    case BPF_ALU:
    case BPF_ALU64:
      checkAluOp(env, insn);
      return env.insnIdx + 1;
    case BPF_LDX:
      checkLoadMem(env, insn);
      return env.insnIdx + 1;
    case BPF_STX:
      if (BPF_MODE(insn.code) === BPF_ATOMIC) {
        checkAtomic(env, insn);
        return env.insnIdx + 1;
      }
      if (BPF_MODE(insn.code) !== BPF_MEM || insn.imm !== 0) env.reject(EINVAL, 'BPF_STX uses reserved fields');
      checkStoreReg(env, insn);
      return env.insnIdx + 1;
    case BPF_ST:
      checkStoreImm(env, insn);
      return env.insnIdx + 1;
    case BPF_JMP:
    case BPF_JMP32:
      return checkJmpClass(env, insn);
    case BPF_LD: {
      const mode = BPF_MODE(insn.code);
      if (mode === BPF_ABS || mode === BPF_IND) return checkLdAbs(env, insn);
      if (mode === BPF_IMM) {
        checkLdImm(env, insn);
        return env.insnIdx + 2;
      }
      return env.reject(EINVAL, 'invalid BPF_LD mode');
    }
    default:
      return env.reject(EINVAL, `unknown insn class ${cls}`);
  }
}

/** Errors a speculative path turns into a barrier instead of a refusal (error_recoverable_with_nospec). */
const recoverableWithNospec = (errno: number): boolean => errno === ERRNO.EPERM || errno === EACCES || errno === EINVAL;

/** update_branch_counts: a path ended; its checkpoints lose a branch, and loops whose entry is done are left. */
function updateBranchCounts(env: VerifierEnv, state: VerifierState | null): void {
  for (let st = state; st; st = st.parent) {
    if (--st.branches) break;
    if (st.inFreeList) { // maybe_free_verifier_state
      st.inFreeList = false;
      env.freeListSize--;
    }
    maybeExitScc(env, st);
  }
}

/** pop_stack: the next branch to explore, or false when none is left. */
function popStack(env: VerifierEnv, popLog: boolean): boolean {
  const elem = env.branchStack.pop();
  if (!elem) return false;
  env.curState = elem.state;
  env.insnIdx = elem.insnIdx;
  env.prevInsnIdx = elem.prevInsnIdx;
  if (popLog) env.log.reset(elem.logPos);
  return true;
}

/** do_check: explore every path from the current state. */
export function doCheck(env: VerifierEnv): void {
  let doPrintState = false;
  const popLog = !env.logLevel2;
  for (;;) {
    env.curHistEntry = undefined;
    const state = env.curState;
    if (env.insnIdx >= env.insns.length) env.reject(ERRNO.EFAULT, `invalid insn idx ${env.insnIdx} insn_cnt ${env.insns.length}`);
    if (++env.insnProcessed > BPF_COMPLEXITY_LIMIT_INSNS) {
      env.reject(E2BIG, `BPF program is too large. Processed ${env.insnProcessed} insn`);
    }
    state.lastInsnIdx = env.prevInsnIdx;
    state.insnIdx = env.insnIdx;
    let next: number;
    if (env.isPrunePoint(env.insnIdx) && isStateVisited(env, env.insnIdx) === 1) {
      if (env.verbose) {
        if (doPrintState) env.say(`\nfrom ${env.prevInsnIdx} to ${env.insnIdx}${state.speculative ? ' (speculative execution)' : ''}: safe\n`);
        else env.say(`${env.insnIdx}: safe\n`);
      }
      next = PATH_END;
    } else {
      if (env.isJmpPoint(env.insnIdx)) pushHistory(env, state, 0);
      if (env.logLevel2 && doPrintState) {
        env.say(`\nfrom ${env.prevInsnIdx} to ${env.insnIdx}${state.speculative ? ' (speculative execution)' : ''}:`);
        env.say(verifierStateString(state, state.curframe, 'all') + '\n');
        doPrintState = false;
        env.scratch = { regs: 0, slots: 0n };
      }
      if (env.verbose) {
        if (env.scratch.regs || env.scratch.slots) env.printInsnState();
        env.sayLine(env.insnIdx);
        env.prevLogPos = env.log.pos;
        env.say(`${env.insnIdx}: `);
        env.say(env.formatInsn(env.insnIdx) + '\n');
        env.prevInsnPrintPos = env.log.pos - env.prevLogPos;
        env.prevLogPos = env.log.pos;
      }
      env.seen[env.insnIdx] = 1;
      if (state.speculative && env.nospec[env.insnIdx]) {
        next = PATH_END;
      } else {
        const insnIdx = env.insnIdx;
        const framesBefore = state.frames.length;
        resetStackWriteMarks(env);
        try {
          next = doCheckInsn(env);
          commitStackWriteMarks(env);
        } catch (err) {
          if (!(err instanceof VerifyFailure) || !state.speculative || !recoverableWithNospec(err.errno)) throw err;
          // A speculative path that would fault gets a barrier (nospec) instead.
          env.failure = undefined;
          env.nospec[insnIdx] = 1;
          env.aluState[insnIdx] = 0;
          next = PATH_END;
        }
        if (next !== PATH_END && state.frames.length < framesBefore) doPrintState = true;
      }
    }
    if (next !== PATH_END) {
      env.prevInsnIdx = env.insnIdx;
      env.insnIdx = next;
      continue;
    }
    env.markAllScratched();
    updateBranchCounts(env, env.curState);
    if (!popStack(env, popLog)) break;
    doPrintState = true;
  }
}
