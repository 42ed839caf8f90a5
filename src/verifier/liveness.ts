/**
 * Stack slot liveness, as Linux 6.18's kernel/bpf/liveness.c computes it: the verifier records,
 * per instruction, which stack slots it may read and which it surely overwrites (a whole
 * 8-byte slot), and a backward data-flow over the control-flow graph says which slots may
 * still be read after a point. A cached state forgets dead slots, so more states match.
 *
 * Reads through a pointer into a caller's frame count at that caller's call instruction.
 * Liveness only grows, which keeps it safe whatever order the paths are explored in.
 */
import type { VerifierEnv } from './env.js';
import type { VerifierState } from './state.js';

/** The instruction where frame `frameno` of `state` is: the current one, or its call site. */
function frameInsn(env: VerifierEnv, state: VerifierState, frameno: number): number {
  return frameno === state.curframe ? env.insnIdx : state.frames[frameno + 1].callsite;
}

/** The instruction being checked reads stack slots `mask` (bit i: spi i) of frame `frameno`. */
export function markStackRead(env: VerifierEnv, state: VerifierState, frameno: number, mask: bigint): void {
  if (!mask) return;
  const insn = frameInsn(env, state, frameno);
  if (insn < 0) return;
  const grown = env.stackUse[insn] | mask;
  if (grown === env.stackUse[insn]) return;
  env.stackUse[insn] = grown;
  propagate(env, insn);
}

/** Before an instruction: it has overwritten nothing yet. */
export function resetStackWriteMarks(env: VerifierEnv): void {
  env.pendingStackWrite = 0n;
}

/** The instruction being checked wholly overwrites slots `mask` of the current frame. */
export function markStackWrite(env: VerifierEnv, mask: bigint): void {
  env.pendingStackWrite |= mask;
}

/** After an instruction: what it must write is what it wrote on every visit so far. */
export function commitStackWriteMarks(env: VerifierEnv): void {
  const i = env.insnIdx;
  if (!env.stackDefSeen[i]) {
    env.stackDefSeen[i] = 1;
    env.stackDef[i] = env.pendingStackWrite;
    return;
  }
  const narrowed = env.stackDef[i] & env.pendingStackWrite;
  if (narrowed !== env.stackDef[i]) {
    env.stackDef[i] = narrowed;
    propagate(env, i);
  }
}

/** Recompute live-in of `start` and of whatever precedes it, until nothing grows. */
function propagate(env: VerifierEnv, start: number): void {
  const work = [start];
  while (work.length) {
    const i = work.pop()!;
    let out = 0n;
    for (const s of env.succs[i]) if (s < env.insns.length) out |= env.stackLiveIn[s];
    const liveIn = env.stackUse[i] | (out & ~env.stackDef[i]) | env.stackLiveIn[i];
    if (liveIn === env.stackLiveIn[i]) continue;
    env.stackLiveIn[i] = liveIn;
    for (const p of env.preds[i]) work.push(p);
  }
}

/** bpf_stack_slot_alive: may slot `spi` be read after `insn`'s frame resumes there? */
export function stackSlotAlive(env: VerifierEnv, insn: number, spi: number): boolean {
  return ((env.stackLiveIn[insn] >> BigInt(spi)) & 1n) === 1n;
}
