/**
 * State pruning (is_state_visited): at prune points the current state is compared with the
 * states already explored there; if one of them is at least as general (states_equal: every
 * register and stack slot that may still be read is within what the old state allowed), the
 * path is safe and stops. Otherwise the state may be cached for later paths. The same
 * comparison, made exact, finds loops that cannot end ("infinite loop detected").
 */
import { MAX_BPF_REG } from '../isa/opcodes.js';
import { BPF_COMPLEXITY_LIMIT_STATES } from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import type { SccVisit, StateListEntry, VerifierEnv } from './env.js';
import { stackSlotAlive } from './liveness.js';
import { verifierStateString } from './log.js';
import { markAllScalarsImprecise, markAllScalarsPrecise, propagatePrecision } from './precision.js';
import {
  BPF_ADD_CONST, CONST_PTR_TO_MAP, NOT_INIT, PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE, PTR_TO_MEM, PTR_TO_PACKET, PTR_TO_PACKET_META,
  PTR_TO_STACK, PTR_TO_BUF, PTR_TO_TP_BUFFER, RegState, SCALAR_VALUE, markNotInit, markUnknown,
} from './reg-state.js';
import { pushHistory } from './regs.js';
import { baseType } from '../uapi/helper-protos.js';
import { BPF_REG_SIZE, STACK_INVALID, STACK_MISC, STACK_SPILL, STACK_ZERO, type FuncState, type StackSlot, type VerifierState } from './state.js';
import { tnumEquals, tnumIn } from './tnum.js';

/** How strictly two states must agree (enum exact_level). */
export const NOT_EXACT = 0;
export const EXACT = 1;
export const RANGE_WITHIN = 2;

/** bpf_idmap: ids of the old state mapped one-to-one onto ids of the current one. */
class IdMap {
  private readonly pairs: [number, number][] = [];
  private tmp = 0x40000000;

  check(oldId: number, curId: number): boolean {
    if (!oldId !== !curId) return false;
    if (!oldId) return true;
    for (const [o, c] of this.pairs) {
      if (o === oldId) return c === curId;
      if (c === curId) return false;
    }
    this.pairs.push([oldId, curId]);
    return true;
  }

  /** check_scalar_ids: an id of 0 stands for a fresh, unique id. */
  checkScalar(oldId: number, curId: number): boolean {
    return this.check(oldId || ++this.tmp, curId || ++this.tmp);
  }
}

/** The instruction where frame `i` of `st` is (frame_insn_idx). */
const frameInsnIdx = (st: VerifierState, i: number): number => (i === st.curframe ? st.insnIdx : st.frames[i + 1].callsite);

function rangeWithin(o: RegState, c: RegState): boolean {
  return o.umin <= c.umin && o.umax >= c.umax && o.smin <= c.smin && o.smax >= c.smax
    && o.u32min <= c.u32min && o.u32max >= c.u32max && o.s32min <= c.s32min && o.s32max >= c.s32max;
}

/** memcmp up to var_off: type, offset and the pointer's object. */
function sameObject(o: RegState, c: RegState): boolean {
  return o.type === c.type && o.off === c.off && o.map === c.map && o.mapUid === c.mapUid && o.range === c.range
    && o.memSize === c.memSize && o.subprogno === c.subprogno && o.btfName === c.btfName;
}

/** memcmp up to id: the object, the tnum and all bounds. */
function sameValue(o: RegState, c: RegState): boolean {
  return sameObject(o, c) && tnumEquals(o.varOff, c.varOff) && o.smin === c.smin && o.smax === c.smax && o.umin === c.umin
    && o.umax === c.umax && o.s32min === c.s32min && o.s32max === c.s32max && o.u32min === c.u32min && o.u32max === c.u32max;
}

function regsExact(o: RegState, c: RegState, idmap: IdMap): boolean {
  return sameValue(o, c) && idmap.check(o.id, c.id) && idmap.check(o.refObjId, c.refObjId);
}

/** regsafe: is `cur` covered by `old` for everything `old`'s future relied on? */
function regsafe(env: VerifierEnv, o: RegState, c: RegState, idmap: IdMap, exact: number): boolean {
  if (exact === EXACT) return regsExact(o, c, idmap);
  if (o.type === NOT_INIT && (exact === NOT_EXACT || c.type === NOT_INIT)) return true;
  if (o.type !== c.type) return false;
  switch (baseType(o.type)) {
    case SCALAR_VALUE:
      if (env.exploreAluLimits) return sameValue(o, c) && idmap.checkScalar(o.id, c.id);
      if (!o.precise && exact === NOT_EXACT) return true;
      if ((o.id & BPF_ADD_CONST) !== (c.id & BPF_ADD_CONST)) return false;
      if (o.id & BPF_ADD_CONST && o.off !== c.off) return false;
      return rangeWithin(o, c) && tnumIn(o.varOff, c.varOff) && idmap.checkScalar(o.id, c.id);
    case PTR_TO_MAP_KEY:
    case PTR_TO_MAP_VALUE:
    case PTR_TO_MEM:
    case PTR_TO_BUF:
    case PTR_TO_TP_BUFFER:
      return sameObject(o, c) && rangeWithin(o, c) && tnumIn(o.varOff, c.varOff) && idmap.check(o.id, c.id)
        && idmap.check(o.refObjId, c.refObjId);
    case PTR_TO_PACKET_META:
    case PTR_TO_PACKET:
      if (o.range < 0 || c.range < 0) {
        if (o.range !== c.range) return false;
      } else if (o.range > c.range) return false;
      if (o.off !== c.off) return false;
      if (!idmap.check(o.id, c.id)) return false;
      return rangeWithin(o, c) && tnumIn(o.varOff, c.varOff);
    case PTR_TO_STACK:
      return regsExact(o, c, idmap) && o.frameno === c.frameno;
    default:
      return regsExact(o, c, idmap);
  }
}

/** A stand-in register for a slot that holds a 64-bit scalar, or only unknown bytes. */
function scalarRegForStack(env: VerifierEnv, slot: StackSlot): RegState | undefined {
  if (slot.slotType.every((t) => t === STACK_SPILL) && slot.spilled.type === SCALAR_VALUE) return slot.spilled;
  if (slot.slotType.every((t) => t === STACK_MISC || (t === STACK_INVALID && env.priv.allowUninitStack))) return env.unboundReg;
  return undefined;
}

/** stacksafe: every slot the old state may still read is covered. */
function stacksafe(env: VerifierEnv, o: FuncState, c: FuncState, idmap: IdMap, exact: number): boolean {
  for (let i = 0; i < o.allocatedStack; i++) {
    const spi = Math.floor(i / BPF_REG_SIZE);
    const b = i % BPF_REG_SIZE;
    const ot = o.stack[spi].slotType[b];
    if (exact === EXACT && (i >= c.allocatedStack || ot !== c.stack[spi].slotType[b])) return false;
    if (ot === STACK_INVALID) continue;
    if (env.priv.allowUninitStack && ot === STACK_MISC) continue;
    if (i >= c.allocatedStack) return false;
    const oldReg = scalarRegForStack(env, o.stack[spi]);
    const curReg = scalarRegForStack(env, c.stack[spi]);
    if (oldReg && curReg) {
      if (!regsafe(env, oldReg, curReg, idmap, exact)) return false;
      i += BPF_REG_SIZE - 1 - b;
      continue;
    }
    const ct = c.stack[spi].slotType[b];
    if (ot === STACK_MISC && ct === STACK_ZERO) continue;
    if (ot !== ct) return false;
    if (b !== BPF_REG_SIZE - 1) continue;
    if (ot === STACK_SPILL && !regsafe(env, o.stack[spi].spilled, c.stack[spi].spilled, idmap, exact)) return false;
  }
  return true;
}

/** refsafe: the same references and locks, up to id renaming. */
function refsafe(o: VerifierState, c: VerifierState, idmap: IdMap): boolean {
  if (o.refs.length !== c.refs.length) return false;
  if (!idmap.check(o.activeLockId, c.activeLockId) || o.activeLockMap !== c.activeLockMap) return false;
  return o.refs.every((r, i) => idmap.check(r.id, c.refs[i].id) && r.kind === c.refs[i].kind);
}

function funcStatesEqual(env: VerifierEnv, o: FuncState, c: FuncState, insnIdx: number, idmap: IdMap, exact: number): boolean {
  if (o.callbackDepth > c.callbackDepth) return false;
  const live = env.liveRegsBefore[insnIdx];
  for (let i = 0; i < MAX_BPF_REG; i++) {
    if ((live >> i) & 1 && !regsafe(env, o.regs[i], c.regs[i], idmap, exact)) return false;
  }
  return stacksafe(env, o, c, idmap, exact);
}

/** states_equal. */
export function statesEqual(env: VerifierEnv, o: VerifierState, c: VerifierState, exact: number): boolean {
  if (o.curframe !== c.curframe) return false;
  if (o.speculative && !c.speculative) return false;
  const idmap = new IdMap();
  if (!refsafe(o, c, idmap)) return false;
  for (let i = 0; i <= o.curframe; i++) {
    if (o.frames[i].callsite !== c.frames[i].callsite) return false;
    if (!funcStatesEqual(env, o.frames[i], c.frames[i], frameInsnIdx(o, i), idmap, exact)) return false;
  }
  return true;
}

/** clean_func_state: a finished state forgets registers and slots no later instruction reads. */
function cleanFuncState(env: VerifierEnv, st: FuncState, ip: number): void {
  const live = env.liveRegsBefore[ip];
  for (let i = 0; i < 10; i++) if (!((live >> i) & 1)) markNotInit(st.regs[i]);
  st.stack.forEach((slot, spi) => {
    if (stackSlotAlive(env, ip, spi)) return;
    markNotInit(slot.spilled);
    slot.slotType.fill(STACK_INVALID);
  });
}

function sameCallsites(a: VerifierState, b: VerifierState): boolean {
  if (a.curframe !== b.curframe) return false;
  for (let i = a.curframe; i >= 0; i--) if (a.frames[i].callsite !== b.frames[i].callsite) return false;
  return true;
}

/** clean_live_states: clean every finished state cached at this instruction. */
function cleanLiveStates(env: VerifierEnv, insn: number, cur: VerifierState, list: StateListEntry[]): void {
  for (const sl of list) {
    const st = sl.state;
    if (st.branches || st.insnIdx !== insn || !sameCallsites(st, cur) || st.cleaned) continue;
    st.cleaned = true;
    for (let i = 0; i <= st.curframe; i++) cleanFuncState(env, st.frames[i], frameInsnIdx(st, i));
  }
}

/** states_maybe_looping: the current frame's registers are bit-for-bit the same, ids included (a cheap first test). */
function statesMaybeLooping(o: VerifierState, c: VerifierState): boolean {
  if (o.curframe !== c.curframe) return false;
  const fo = o.frame;
  const fc = c.frame;
  for (let i = 0; i < MAX_BPF_REG; i++) {
    const a = fo.regs[i];
    const b = fc.regs[i];
    if (!sameValue(a, b) || a.id !== b.id || a.refObjId !== b.refObjId) return false;
  }
  return true;
}

/** is_state_visited: 1 when the current path is pruned, else 0 (the state may be cached). */
export function isStateVisited(env: VerifierEnv, insnIdx: number): number {
  const cur = env.curState;
  const forceNew = env.isForceCheckpoint(insnIdx) || cur.hist.length > 40;
  let addNew = forceNew || (env.jmpsProcessed - env.prevJmpsProcessed >= 2 && env.insnProcessed - env.prevInsnProcessed >= 8);
  const list = env.explored[insnIdx] ?? (env.explored[insnIdx] = []);
  cleanLiveStates(env, insnIdx, cur, list);
  let statesCnt = 0;
  let loop = false;
  for (let k = 0; k < list.length; k++) {
    const sl = list[k];
    statesCnt++;
    if (sl.state.insnIdx !== insnIdx) continue;
    let hit = false;
    if (sl.state.branches) {
      if (env.isMayGoto(insnIdx)) {
        hit = sl.state.mayGotoDepth !== cur.mayGotoDepth && statesEqual(env, sl.state, cur, RANGE_WITHIN);
        loop = hit;
      } else if (env.callsCallback(insnIdx)) {
        hit = statesEqual(env, sl.state, cur, RANGE_WITHIN);
        loop = hit;
      } else if (statesMaybeLooping(sl.state, cur) && statesEqual(env, sl.state, cur, EXACT)
        && sl.state.mayGotoDepth === cur.mayGotoDepth && sl.state.callbackUnrollDepth === cur.callbackUnrollDepth) {
        reportInfiniteLoop(env, insnIdx, sl.state, cur);
      }
      if (!hit) {
        if (!forceNew && env.jmpsProcessed - env.prevJmpsProcessed < 20 && env.insnProcessed - env.prevInsnProcessed < 100) addNew = false;
      }
    } else {
      loop = incompleteReadMarks(env, sl.state);
      hit = statesEqual(env, sl.state, cur, loop ? RANGE_WITHIN : NOT_EXACT);
    }
    if (hit) {
      sl.hitCnt++;
      if (env.isJmpPoint(env.insnIdx)) pushHistory(env, cur, 0);
      propagatePrecision(env, sl.state, cur);
      // The matched state's precision may still grow: revisit this match when the loop is done.
      if (loop) addSccBackedge(env, sl.state, cur, insnIdx);
      return 1;
    }
    if (addNew) sl.missCnt++;
    const n = env.isForceCheckpoint(insnIdx) && sl.state.branches > 0 ? 64 : 3;
    if (sl.missCnt > sl.hitCnt * n + n) {
      list.splice(k, 1);
      k--;
      env.exploredStatesSize--;
      // Kept on the free list until no path from it is open (maybe_free_verifier_state).
      if (sl.state.branches) {
        sl.state.inFreeList = true;
        env.freeListSize++;
      }
    }
  }
  if (env.maxStatesPerInsn < statesCnt) env.maxStatesPerInsn = statesCnt;
  if (!env.priv.bpfCapable && statesCnt > BPF_COMPLEXITY_LIMIT_STATES) return 0;
  if (!addNew) return 0;
  env.totalStates++;
  env.exploredStatesSize++;
  // update_peak_states: every state still allocated, in the explored lists or on the free list.
  env.peakStates = Math.max(env.peakStates, env.exploredStatesSize + env.freeListSize);
  env.prevJmpsProcessed = env.jmpsProcessed;
  env.prevInsnProcessed = env.insnProcessed;
  if (env.priv.bpfCapable) markAllScalarsImprecise(cur);
  const copy = cur.clone();
  copy.insnIdx = insnIdx;
  list.unshift({ state: copy, hitCnt: 0, missCnt: 0 });
  cur.parent = copy;
  cur.firstInsnIdx = insnIdx;
  cur.dfsDepth = copy.dfsDepth + 1;
  cur.hist = [];
  env.curHistEntry = undefined;
  maybeEnterScc(env, copy);
  return 0;
}

// ---- loops: precision through backedges (bpf_scc_visit) -------------------------------------

/**
 * compute_scc_callchain: the call sites of the frames outside the loop and the loop (SCC) the
 * state's innermost looping frame is in, as a key; undefined when the state is in no loop.
 */
function sccCallchain(env: VerifierEnv, st: VerifierState): string | undefined {
  const callsites: number[] = [];
  for (let i = 0; i <= st.curframe; i++) {
    const insn = frameInsnIdx(st, i);
    const scc = env.scc[insn];
    if (scc) return `(${[...callsites, scc].join(',')})`;
    if (i === st.curframe) return undefined;
    callsites.push(insn);
  }
  return undefined;
}

/** maybe_enter_scc: a checkpoint inside a loop starts the loop's visit, unless one is under way. */
function maybeEnterScc(env: VerifierEnv, st: VerifierState): void {
  const chain = sccCallchain(env, st);
  if (!chain) return;
  let visit = env.sccVisits.get(chain);
  if (!visit) env.sccVisits.set(chain, (visit = { entry: null, backedges: [] }));
  if (visit.entry) return;
  visit.entry = st;
  if (env.logLevel2) env.say(`SCC enter ${chain}\n`);
}

/** maybe_exit_scc: every path from the visit's entry is done; its backedges get their final precision. */
export function maybeExitScc(env: VerifierEnv, st: VerifierState): void {
  const chain = sccCallchain(env, st);
  if (!chain) return;
  const visit = env.sccVisits.get(chain);
  if (!visit) {
    if (!st.speculative) env.bug(`scc exit: no visit info for call chain ${chain}`);
    return;
  }
  if (visit.entry !== st) return;
  if (env.logLevel2) env.say(`SCC exit ${chain}\n`);
  visit.entry = null;
  propagateBackedges(env, visit);
}

/** incomplete_read_marks: states of this loop were pruned against checkpoints still in progress. */
function incompleteReadMarks(env: VerifierEnv, st: VerifierState): boolean {
  const chain = sccCallchain(env, st);
  const visit = chain ? env.sccVisits.get(chain) : undefined;
  return !!visit && visit.backedges.length > 0;
}

/** add_scc_backedge: remember a pruned state and the checkpoint it matched. */
function addSccBackedge(env: VerifierEnv, equal: VerifierState, cur: VerifierState, insnIdx: number): void {
  const chain = sccCallchain(env, equal);
  if (!chain) env.bug(`add backedge: no SCC in verification path, insn_idx ${equal.insnIdx}`);
  const visit = env.sccVisits.get(chain);
  if (!visit) env.bug(`add backedge: no visit info for call chain ${chain}`);
  const state = cur.clone();
  state.insnIdx = insnIdx;
  if (env.logLevel2) env.say(`SCC backedge ${chain}\n`);
  visit.backedges.unshift({ state, equal });
}

const MAX_BACKEDGE_ITERS = 64;

/** propagate_backedges: precision from the matched checkpoints into the pruned paths, to a fixed point. */
function propagateBackedges(env: VerifierEnv, visit: SccVisit): void {
  for (let i = 0, changed = true; changed;) {
    if (i++ > MAX_BACKEDGE_ITERS) {
      if (env.logLevel2) env.say('propagate_backedges: too many iterations\n');
      for (const b of visit.backedges) markAllScalarsPrecise(env, b.state);
      break;
    }
    changed = false;
    for (const b of visit.backedges) changed = propagatePrecision(env, b.equal, b.state) || changed;
  }
  visit.backedges = [];
}

function reportInfiniteLoop(env: VerifierEnv, insnIdx: number, old: VerifierState, cur: VerifierState): never {
  env.sayLine(insnIdx);
  const lines = [`infinite loop detected at insn ${insnIdx}`];
  if (env.verbose) {
    lines.push('cur state:' + verifierStateString(cur, cur.curframe, 'all'));
    lines.push('old state:' + verifierStateString(old, cur.curframe, 'all'));
  }
  return env.reject(ERRNO.EINVAL, ...lines);
}

/** find_prev_entry: a state of the current path at `insnIdx` (a callback's earlier iteration). */
export function findPrevEntry(env: VerifierEnv, cur: VerifierState, insnIdx: number): VerifierState | undefined {
  for (const sl of env.explored[insnIdx] ?? []) {
    const st = sl.state;
    if (st.insnIdx === insnIdx && st.branches && sameCallsites(st, cur) && st.dfsDepth < cur.dfsDepth) return st;
  }
  return undefined;
}

/** widen_imprecise_scalars: scalars a callback changed, but whose value does not matter, become unknown. */
export function widenImpreciseScalars(env: VerifierEnv, old: VerifierState, cur: VerifierState): void {
  const idmap = new IdMap();
  const widen = (o: RegState, c: RegState): void => {
    if (o.type !== SCALAR_VALUE || o.type !== c.type) return;
    if (o.precise || c.precise || regsExact(o, c, idmap)) return;
    markUnknown(c);
  };
  for (let fr = old.curframe; fr >= 0; fr--) {
    const fo = old.frames[fr];
    const fc = cur.frames[fr];
    for (let i = 0; i < MAX_BPF_REG; i++) widen(fo.regs[i], fc.regs[i]);
    const slots = Math.min(fo.stack.length, fc.stack.length);
    for (let i = 0; i < slots; i++) {
      if (!fo.stack[i].isSpilled || !fc.stack[i].isSpilled) continue;
      widen(fo.stack[i].spilled, fc.stack[i].spilled);
    }
  }
}

void CONST_PTR_TO_MAP;
