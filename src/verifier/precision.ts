/**
 * Precision tracking (mark_chain_precision): a scalar whose exact value decides safety (an
 * offset, a size, a branch the verifier resolved) is marked precise, and so is every scalar it
 * was computed from, walking the path backwards through the instruction history and into the
 * parent checkpoints. States may then be pruned on scalars that are not precise — which is
 * what keeps loops with counters and long programs within the kernel's limits.
 */
import {
  BPF_ALU, BPF_ALU64, BPF_CALL, BPF_CLASS, BPF_END, BPF_EXIT, BPF_IND, BPF_ABS, BPF_JMP, BPF_JMP32, BPF_K, BPF_LD, BPF_LDX,
  BPF_MODE, BPF_MOV, BPF_NEG, BPF_OP, BPF_PSEUDO_KFUNC_CALL, BPF_SRC, BPF_ST, BPF_STX, BPF_X, MAX_CALL_FRAMES,
} from '../isa/opcodes.js';
import { isPseudoCall, isSyncCallbackCall } from './cfg.js';
import type { VerifierEnv } from './env.js';
import { regMaskString, stackMaskString, verifierStateString } from './log.js';
import { BPF_REG_FP } from '../isa/opcodes.js';
import { SCALAR_VALUE } from './reg-state.js';
import {
  INSN_F_STACK_ACCESS, insnStackAccessFrameno, insnStackAccessSpi, type HistEntry, type VerifierState,
} from './state.js';

const BPF_REGMASK_ARGS = 0b111110;

/** Thrown by a backtracking step it cannot follow: every scalar becomes precise instead. */
class NotSupported extends Error {}

/** The registers and slots still looking for the instruction that set them (struct backtrack_state). */
class Backtrack {
  frame: number;
  readonly regs: number[] = new Array(MAX_CALL_FRAMES).fill(0);
  readonly stack: bigint[] = new Array(MAX_CALL_FRAMES).fill(0n);

  constructor(frame: number) {
    this.frame = frame;
  }

  setReg(r: number): void { this.regs[this.frame] |= 1 << r; }
  clearReg(r: number): void { this.regs[this.frame] &= ~(1 << r); }
  isRegSet(r: number): boolean { return ((this.regs[this.frame] >> r) & 1) === 1; }
  setFrameReg(fr: number, r: number): void { this.regs[fr] |= 1 << r; }
  clearFrameReg(fr: number, r: number): void { this.regs[fr] &= ~(1 << r); }
  setFrameSlot(fr: number, spi: number): void { this.stack[fr] |= 1n << BigInt(spi); }
  clearFrameSlot(fr: number, spi: number): void { this.stack[fr] &= ~(1n << BigInt(spi)); }
  isFrameSlotSet(fr: number, spi: number): boolean { return ((this.stack[fr] >> BigInt(spi)) & 1n) === 1n; }
  get regMask(): number { return this.regs[this.frame]; }
  get stackMask(): bigint { return this.stack[this.frame]; }

  empty(): boolean {
    for (let i = 0; i <= this.frame; i++) if (this.regs[i] || this.stack[i]) return false;
    return true;
  }

  reset(): void {
    this.regs.fill(0);
    this.stack.fill(0n);
  }

  subprogEnter(env: VerifierEnv): void {
    if (this.frame === MAX_CALL_FRAMES - 1) env.bug(`subprog enter from frame ${this.frame}`);
    this.frame++;
  }

  subprogExit(env: VerifierEnv): void {
    if (this.frame === 0) env.bug('subprog exit from frame 0');
    this.frame--;
  }
}

/** Linked registers of a history entry: a register of the set precise makes all of them precise. */
function syncLinkedRegs(bt: Backtrack, hist: HistEntry | undefined): void {
  if (!hist || hist.linkedRegs.length < 2) return;
  const isSet = (packed: number): boolean => {
    const fr = packed >> 8;
    const r = packed & 0xff;
    return r >= 64 ? bt.isFrameSlotSet(fr, r - 64) : ((bt.regs[fr] >> r) & 1) === 1;
  };
  if (!hist.linkedRegs.some(isSet)) return;
  for (const packed of hist.linkedRegs) {
    const fr = packed >> 8;
    const r = packed & 0xff;
    if (r >= 64) bt.setFrameSlot(fr, r - 64);
    else bt.setFrameReg(fr, r);
  }
}

/** backtrack_insn: undo one instruction's effect on the set of registers wanting precision. */
function backtrackInsn(env: VerifierEnv, idx: number, subseqIdx: number, hist: HistEntry | undefined, bt: Backtrack): void {
  const insn = env.insns[idx];
  const cls = BPF_CLASS(insn.code);
  const opcode = BPF_OP(insn.code);
  const { dst: dreg, src: sreg } = insn;
  if (insn.code === 0) return;
  if (env.log.level >= 2) {
    env.say(`mark_precise: frame${bt.frame}: regs=${regMaskString(bt.regMask)} stack=${stackMaskString(bt.stackMask)} before ${idx}: `);
    env.say(insnText(env, idx) + '\n');
  }
  syncLinkedRegs(bt, hist);
  if (cls === BPF_ALU || cls === BPF_ALU64) {
    if (!bt.isRegSet(dreg)) return;
    if (opcode === BPF_END || opcode === BPF_NEG) return;
    if (opcode === BPF_MOV) {
      bt.clearReg(dreg);
      if (BPF_SRC(insn.code) === BPF_X && sreg !== BPF_REG_FP) bt.setReg(sreg);
    } else if (BPF_SRC(insn.code) === BPF_X && sreg !== BPF_REG_FP) {
      bt.setReg(sreg);
    }
  } else if (cls === BPF_LDX) {
    if (!bt.isRegSet(dreg)) return;
    bt.clearReg(dreg);
    // Only scalars spilled to the stack keep their value through memory.
    if (!hist || !(hist.flags & INSN_F_STACK_ACCESS)) return;
    bt.setFrameSlot(insnStackAccessFrameno(hist.flags), insnStackAccessSpi(hist.flags));
  } else if (cls === BPF_STX || cls === BPF_ST) {
    if (bt.isRegSet(dreg)) throw new NotSupported(); // a scalar used as a base: pointer subtraction
    if (!hist || !(hist.flags & INSN_F_STACK_ACCESS)) return;
    const spi = insnStackAccessSpi(hist.flags);
    const fr = insnStackAccessFrameno(hist.flags);
    if (!bt.isFrameSlotSet(fr, spi)) return;
    bt.clearFrameSlot(fr, spi);
    if (cls === BPF_STX) bt.setReg(sreg);
  } else if (cls === BPF_JMP || cls === BPF_JMP32) {
    backtrackJump(env, idx, subseqIdx, hist, bt);
  } else if (cls === BPF_LD) {
    if (!bt.isRegSet(dreg)) return;
    bt.clearReg(dreg);
    const mode = BPF_MODE(insn.code);
    if (mode === BPF_IND || mode === BPF_ABS) throw new NotSupported();
  }
  syncLinkedRegs(bt, hist);
}

function backtrackJump(env: VerifierEnv, idx: number, subseqIdx: number, hist: HistEntry | undefined, bt: Backtrack): void {
  const insn = env.insns[idx];
  const opcode = BPF_OP(insn.code);
  if (isPseudoCall(insn)) {
    const subprog = env.findSubprog(idx + insn.imm + 1);
    if (subprog < 0) env.bug(`no subprog at ${idx + insn.imm + 1}`);
    if (env.subprogs[subprog].global) {
      if (bt.regMask & BPF_REGMASK_ARGS) env.bug(`global subprog unexpected regs ${bt.regMask.toString(16)}`);
      bt.clearReg(0);
      return;
    }
    // Leaving the callee backwards: r1-r5 wanted here were set by the caller.
    if (bt.regMask & ~BPF_REGMASK_ARGS) env.bug(`static subprog unexpected regs ${bt.regMask.toString(16)}`);
    if (bt.stackMask !== 0n) env.bug(`static subprog leftover stack slots ${bt.stackMask.toString(16)}`);
    for (let i = 1; i <= 5; i++) {
      if (bt.isRegSet(i)) {
        bt.clearReg(i);
        bt.setFrameReg(bt.frame - 1, i);
      }
    }
    bt.subprogExit(env);
    return;
  }
  if (isSyncCallbackCall(insn) && idx !== subseqIdx - 1) {
    if (bt.regMask & ~BPF_REGMASK_ARGS) env.bug(`callback unexpected regs ${bt.regMask.toString(16)}`);
    if (bt.stackMask !== 0n) env.bug(`callback leftover stack slots ${bt.stackMask.toString(16)}`);
    for (let i = 1; i <= 5; i++) bt.clearReg(i);
    bt.subprogExit(env);
    return;
  }
  if (opcode === BPF_CALL) {
    if (insn.src === BPF_PSEUDO_KFUNC_CALL && insn.imm === 0) throw new NotSupported();
    bt.clearReg(0);
    if (bt.regMask & BPF_REGMASK_ARGS) env.bug(`backtracking call unexpected regs ${bt.regMask.toString(16)}`);
    return;
  }
  if (opcode === BPF_EXIT) {
    if (subseqIdx >= 0 && env.callsCallback(subseqIdx)) for (let i = 1; i <= 5; i++) bt.clearReg(i);
    if (bt.regMask & BPF_REGMASK_ARGS) env.bug(`backtracking exit unexpected regs ${bt.regMask.toString(16)}`);
    // An exit reached backwards is the callee's: r0 is wanted there if the call was a subprogram's.
    const r0Precise = subseqIdx - 1 >= 0 && isPseudoCall(env.insns[subseqIdx - 1]) && bt.isRegSet(0);
    bt.clearReg(0);
    bt.subprogEnter(env);
    if (r0Precise) bt.setReg(0);
    return;
  }
  if (BPF_SRC(insn.code) === BPF_X) {
    if (!bt.isRegSet(insn.dst) && !bt.isRegSet(insn.src)) return;
    bt.setReg(insn.src);
    bt.setReg(insn.dst);
  }
  void hist;
  void BPF_K;
}

function insnText(env: VerifierEnv, idx: number): string {
  return env.formatInsn(idx);
}

/** The history entry for `idx` at the end of `hist[0, end)`, if the last one is for it. */
function histEntry(st: VerifierState, end: number, idx: number): HistEntry | undefined {
  return end > 0 && st.hist[end - 1].idx === idx ? st.hist[end - 1] : undefined;
}

/** get_prev_insn_idx: the instruction before `i` on this path, -1 at the state's start. */
function prevInsnIdx(st: VerifierState, i: number, end: { n: number }): number {
  if (i === st.firstInsnIdx) {
    if (end.n === 0) return -1;
    if (end.n === 1 && st.hist[0].idx === i) return -1;
  }
  if (end.n && st.hist[end.n - 1].idx === i) {
    end.n--;
    return st.hist[end.n].prevIdx;
  }
  return i - 1;
}

/** mark_all_scalars_precise: the fallback when backtracking cannot follow the path. */
export function markAllScalarsPrecise(env: VerifierEnv, start: VerifierState): void {
  if (env.log.level >= 2) env.say(`mark_precise: frame${start.curframe}: falling back to forcing all scalars precise\n`);
  for (let st = start.parent; st; st = st.parent) {
    for (const frame of st.frames) {
      for (let j = 0; j < BPF_REG_FP; j++) if (frame.regs[j].type === SCALAR_VALUE) frame.regs[j].precise = true;
      for (const slot of frame.stack) if (slot.isSpilledScalar) slot.spilled.precise = true;
    }
  }
}

/** mark_all_scalars_imprecise: a new checkpoint forgets the marks it inherited. */
export function markAllScalarsImprecise(st: VerifierState): void {
  for (const frame of st.frames) {
    for (const reg of frame.regs) if (reg.type === SCALAR_VALUE) reg.precise = false;
    for (const slot of frame.stack) if (slot.isSpilledScalar) slot.spilled.precise = false;
  }
}

/**
 * __mark_chain_precision: make register `regno` of the current frame (and/or the registers and
 * slots already in `preset`) precise in every checkpoint the value came through.
 */
export function markChainPrecisionFrom(
  env: VerifierEnv, starting: VerifierState, regno: number, preset?: (bt: Backtrack) => void,
): boolean {
  if (!env.priv.bpfCapable) return false;
  const bt = new Backtrack(starting.curframe);
  let changed = false;
  if (regno >= 0) {
    if (starting.frames[bt.frame].regs[regno].type !== SCALAR_VALUE) env.bug('backtracking misuse');
    bt.setReg(regno);
  }
  preset?.(bt);
  if (bt.empty()) return false;
  let st: VerifierState | null = starting;
  let firstIdx = st.firstInsnIdx;
  let lastIdx = starting.insnIdx;
  let subseqIdx = -1;
  let skipFirst = true;
  try {
    for (;;) {
      const end = { n: st.hist.length };
      if (env.log.level >= 2) env.say(`mark_precise: frame${bt.frame}: last_idx ${lastIdx} first_idx ${firstIdx} subseq_idx ${subseqIdx} \n`);
      if (lastIdx < 0) {
        // The entry of a global function verified on its own: its arguments are its inputs.
        if (st.curframe === 0 && st.frames[0].subprogno > 0 && st.frames[0].callsite === -1 && bt.stackMask === 0n
          && (bt.regMask & ~BPF_REGMASK_ARGS) === 0) {
          for (let i = 1; i <= 5; i++) {
            if (!bt.isRegSet(i)) continue;
            bt.clearReg(i);
            const reg = st.frames[0].regs[i];
            if (reg.type === SCALAR_VALUE && !reg.precise) {
              reg.precise = true;
              changed = true;
            }
          }
          return changed;
        }
        env.bug(`backtracking func entry subprog ${st.frames[0].subprogno} reg_mask ${bt.regMask.toString(16)} stack_mask ${bt.stackMask.toString(16)}`);
      }
      for (let i = lastIdx; ;) {
        if (skipFirst) skipFirst = false;
        else backtrackInsn(env, i, subseqIdx, histEntry(st, end.n, i), bt);
        if (bt.empty()) return changed;
        subseqIdx = i;
        i = prevInsnIdx(st, i, end);
        if (i === -1) break;
        if (i >= env.insns.length) env.bug(`backtracking idx ${i}`);
      }
      st = st.parent;
      if (!st) break;
      for (let fr = bt.frame; fr >= 0; fr--) {
        const func = st.frames[fr];
        for (let i = 0; i < 11; i++) {
          if (!((bt.regs[fr] >> i) & 1)) continue;
          const reg = func.regs[i];
          if (reg.type !== SCALAR_VALUE || reg.precise) bt.clearFrameReg(fr, i);
          else {
            reg.precise = true;
            changed = true;
          }
        }
        for (let i = 0; i < 64; i++) {
          if (!bt.isFrameSlotSet(fr, i)) continue;
          if (i >= func.stack.length) env.bug(`stack slot ${i}, total slots ${func.stack.length}`);
          const slot = func.stack[i];
          if (!slot.isSpilledScalar || slot.spilled.precise) bt.clearFrameSlot(fr, i);
          else {
            slot.spilled.precise = true;
            changed = true;
          }
        }
        if (env.log.level >= 2) {
          env.say(`mark_precise: frame${fr}: parent state regs=${regMaskString(bt.regs[fr])} stack=${stackMaskString(bt.stack[fr])}: `);
          env.say(verifierStateString(st, fr, 'all') + '\n');
        }
      }
      if (bt.empty()) return changed;
      subseqIdx = firstIdx;
      lastIdx = st.lastInsnIdx;
      firstIdx = st.firstInsnIdx;
    }
  } catch (err) {
    if (!(err instanceof NotSupported)) throw err;
    markAllScalarsPrecise(env, starting);
    return true;
  }
  if (!bt.empty()) markAllScalarsPrecise(env, starting);
  return changed;
}

/** mark_chain_precision: register `regno` of the current state must be exact. */
export function markChainPrecision(env: VerifierEnv, regno: number): void {
  markChainPrecisionFrom(env, env.curState, regno);
}

/** propagate_precision: a pruned state takes the precision the matching cached one needed. */
export function propagatePrecision(env: VerifierEnv, old: VerifierState, cur: VerifierState): boolean {
  return markChainPrecisionFrom(env, cur, -1, (bt) => {
    for (let fr = old.curframe; fr >= 0; fr--) {
      const state = old.frames[fr];
      const names: string[] = [];
      for (let i = 0; i < BPF_REG_FP; i++) {
        const reg = state.regs[i];
        if (reg.type !== SCALAR_VALUE || !reg.precise) continue;
        bt.setFrameReg(fr, i);
        names.push(`r${i}`);
      }
      state.stack.forEach((slot, i) => {
        if (!slot.isSpilled || slot.spilled.type !== SCALAR_VALUE || !slot.spilled.precise) return;
        bt.setFrameSlot(fr, i);
        names.push(`fp${(-i - 1) * 8}`);
      });
      if (names.length && env.log.level >= 2) env.say(`frame ${fr}: propagating ${names.join(',')}\n`);
    }
  });
}

export type { Backtrack };
