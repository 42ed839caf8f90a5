/**
 * Lowering of the instructions that end a block: jumps, exit, local calls, helper calls,
 * callx, kfunc calls.
 *
 * Layout (compiler.ts, structure.ts): the function is one loop around nested blocks, one per
 * basic block, so that block t's code follows the `end` of its label E_t. A forward jump to
 * block t is `br E_t`: no dispatch; a back edge of a simple loop is `br` to the loop's label. Any
 * other backward jump (and a return, or a dynamic target) sets `next` to the target pc and
 * branches to the dispatch loop, whose br_table maps pcs to blocks: correct for any graph.
 *
 * Frames follow the kernel's bpf-to-bpf call rules (the interpreter's): r6–r9 saved in a frame
 * stack in the arena's scratch area with the return pc, r10 = stack top − depth × 512, at most
 * MAX_CALL_FRAMES frames. The budget is checked, as the interpreter checks it, at backward jumps
 * taken and at local calls.
 */
import {
  BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JLE, BPF_JLT, BPF_JNE, BPF_JSET, BPF_JSGE, BPF_JSGT, BPF_JSLE, BPF_JSLT, MAX_BPF_STACK,
  MAX_CALL_FRAMES,
} from '../../isa/opcodes.js';
import { XOP_INFO } from '../../isa/xop.js';
import { BPF_FUNC_map_lookup_elem, BPF_FUNC_tail_call } from '../../uapi/helper-ids.js';
import type { ProgramImage } from '../image.js';
import { jumpTarget, type ControlFlow } from './cfg.js';
import type { LabelStack } from './structure.js';
import {
  CALLX_STOP, FAULT_CODE, FRAME_BYTES, FRAME_ORIGINS, FRAME_RET_PC, IMPORT, LOCAL, SCRATCH, STATUS, reg,
} from './layout.js';
import { constantR1, emitArrayLookup, type MapLayoutResolver } from './lower-map.js';
import { emitHashMapCall, isMapHelper, type MapFunctions } from './map-functions.js';
import { spillCount, spillRegisters as spillRegisterFile } from './spill.js';
import { lowerTailCall, type TailCallLowering } from './tail-call.js';
import { OP, type CodeWriter } from './wasm-writer.js';

export interface BlockContext {
  w: CodeWriter;
  image: ProgramImage;
  cfg: ControlFlow;
  /** Index of the block being emitted. */
  index: number;
  /** The labels open around the block's code (structure.ts). */
  labels: LabelStack;
  /** Registers the program uses (always r0 and r10), spilled around calls. */
  used: readonly number[];
  /** Array maps whose lookups may be compiled inline (lower-map.ts); none when absent. */
  mapLayout?: MapLayoutResolver;
  /** The module's hash-map functions (map-functions.ts); hash-map calls go through the helper when absent. */
  mapFunctions?: MapFunctions;
  /** Prog arrays whose tail calls stay in wasm (tail-call.ts); none when absent. */
  tailCalls?: TailCallLowering;
}

/** Label depth of the dispatch loop from block code nested `extra` levels deeper. */
const loopDepth = (c: BlockContext, extra: number): number => c.labels.depth('dispatch') + extra;

/**
 * The br depth that reaches the block at `target` directly — forward to the end of its wasm
 * block, or back to the loop it heads — or -1 when only the dispatcher reaches it.
 */
function directDepth(c: BlockContext, target: number): number {
  const t = c.cfg.blockAt[target];
  const forward = c.labels.depth('E', t);
  return forward >= 0 ? forward : c.labels.depth('L', t);
}

/** Branch to the block at `target` (unconditionally), from `extra` levels of nesting. */
function branchTo(c: BlockContext, target: number, extra: number): void {
  const depth = directDepth(c, target);
  if (depth >= 0) {
    c.w.br(depth + extra);
    return;
  }
  c.w.i32(target).set(LOCAL.NEXT).br(loopDepth(c, extra));
}

function fault(c: BlockContext, code: number, pc: number, arg: number): void {
  spillRegisters(c);
  spillCount(c.w, 0);
  c.w.i32(code).i32(pc).i32(arg).call(IMPORT.FAULT).op(OP.unreachable);
}

function budgetCheck(c: BlockContext, pc: number): void {
  c.w.get(LOCAL.N).get(LOCAL.BUDGET).op(OP.i32_gt_u).if();
  fault(c, FAULT_CODE.BUDGET, pc, 0);
  c.w.end();
}

/** Store the registers the program uses into the register file. */
export function spillRegisters(c: { w: CodeWriter; used: readonly number[] }): void {
  spillRegisterFile(c.w, c.used);
}

export function loadRegisters(c: { w: CodeWriter; used: readonly number[] }): void {
  for (const r of c.used) if (r !== 10) c.w.i32(0).mem(OP.i64_load, SCRATCH.REGS + r * 8).set(reg(r));
}

/** r10 = stack top − depth × MAX_BPF_STACK. */
export function setFramePointer(w: CodeWriter): void {
  w.get(LOCAL.STACK_TOP).get(LOCAL.DEPTH).i32(MAX_BPF_STACK).op(OP.i32_mul).op(OP.i32_sub).op(OP.i64_extend_i32_u).set(reg(10));
}

function spillState(c: BlockContext): void {
  spillRegisters(c);
  spillCount(c.w, 0);
  c.w.i32(SCRATCH.DEPTH).get(LOCAL.DEPTH).mem(OP.i32_store);
}

/** Leave `run` with a status: registers, count and depth in the scratch area; exitPc when given. */
export function emitReturn(c: { w: CodeWriter; used: readonly number[] }, status: number, exitPc?: number): void {
  spillRegisters(c);
  spillCount(c.w, 0);
  c.w.i32(SCRATCH.DEPTH).get(LOCAL.DEPTH).mem(OP.i32_store);
  c.w.i32(SCRATCH.R0_PC).get(LOCAL.ORIGIN0).mem(OP.i32_store);
  if (exitPc !== undefined) c.w.i32(SCRATCH.EXIT_PC).i32(exitPc).mem(OP.i32_store);
  c.w.i32(status).op(OP.return);
}

/** Check the depth and budget, push a frame (r6–r9, return pc), enter the callee's frame. */
function pushFrame(c: BlockContext, pc: number): void {
  const w = c.w;
  w.get(LOCAL.DEPTH).i32(1).op(OP.i32_add).i32(MAX_CALL_FRAMES).op(OP.i32_ge_s).if();
  fault(c, FAULT_CODE.CALL_DEPTH, pc, 0);
  w.end();
  budgetCheck(c, pc);
  w.get(LOCAL.DEPTH).i32(FRAME_BYTES).op(OP.i32_mul).set(LOCAL.T32);
  for (let r = 6; r <= 9; r++) w.get(LOCAL.T32).get(reg(r)).mem(OP.i64_store, SCRATCH.FRAMES + (r - 6) * 8);
  if (c.image.origins.calleeSaved) {
    // r6–r9 are the caller's again after the call, and so are their origins (r0-origin.ts).
    for (let r = 6; r <= 9; r++) w.get(LOCAL.T32).get(LOCAL.ORIGIN0 + r).mem(OP.i32_store, SCRATCH.FRAMES + FRAME_ORIGINS + (r - 6) * 4);
  }
  w.get(LOCAL.T32).i32(pc + 1).mem(OP.i32_store, SCRATCH.FRAMES + FRAME_RET_PC);
  w.get(LOCAL.DEPTH).i32(1).op(OP.i32_add).set(LOCAL.DEPTH);
  setFramePointer(w);
}

function lowerExit(c: BlockContext, pc: number): void {
  const w = c.w;
  w.get(LOCAL.DEPTH).get(LOCAL.BASE).op(OP.i32_eq).if();
  emitReturn(c, STATUS.EXIT, pc);
  w.end();
  w.get(LOCAL.DEPTH).i32(1).op(OP.i32_sub).tee(LOCAL.DEPTH).i32(FRAME_BYTES).op(OP.i32_mul).set(LOCAL.T32);
  for (let r = 6; r <= 9; r++) w.get(LOCAL.T32).mem(OP.i64_load, SCRATCH.FRAMES + (r - 6) * 8).set(reg(r));
  if (c.image.origins.calleeSaved) {
    for (let r = 6; r <= 9; r++) w.get(LOCAL.T32).mem(OP.i32_load, SCRATCH.FRAMES + FRAME_ORIGINS + (r - 6) * 4).set(LOCAL.ORIGIN0 + r);
  }
  w.get(LOCAL.T32).mem(OP.i32_load, SCRATCH.FRAMES + FRAME_RET_PC).set(LOCAL.NEXT);
  setFramePointer(w);
  w.br(loopDepth(c, 0));
}

/**
 * After a helper: r0 is its result; r1..r5 are reloaded too, since a helper owns the argument
 * registers of the file while it runs (the interpreter keeps whatever it leaves there).
 */
function reloadHelperRegisters(c: BlockContext): void {
  for (const r of c.used) if (r <= 5) c.w.i32(0).mem(OP.i64_load, SCRATCH.REGS + r * 8).set(reg(r));
}

function lowerHelperCall(c: BlockContext, pc: number, id: number): void {
  const w = c.w;
  spillState(c);
  w.i32(id).i32(pc).call(IMPORT.HELPER).set(LOCAL.T32);
  reloadHelperRegisters(c);
  w.get(LOCAL.T32).if();
  // HELPER_STOP (2) ends the run here; HELPER_TAIL_CALL (1) hands over to the engine.
  w.get(LOCAL.T32).i32(2).op(OP.i32_eq).if();
  w.i32(SCRATCH.EXIT_PC).i32(pc).mem(OP.i32_store).i32(SCRATCH.R0_PC).i32(pc).mem(OP.i32_store).i32(STATUS.STOP).op(OP.return);
  w.end();
  w.i32(STATUS.TAIL_CALL).op(OP.return);
  w.end();
}

/**
 * A helper call: inline when it is a lookup in a known array map, a module function for a
 * lookup, update or delete on a hash map or a lookup in an LPM trie (map-functions.ts), else
 * through the import.
 */
function lowerCall(c: BlockContext, pc: number, id: number): void {
  if (id === BPF_FUNC_tail_call && c.tailCalls && lowerTailCall(c, pc, c.tailCalls, () => lowerHelperCall(c, pc, id))) return;
  const map = isMapHelper(id) && c.mapLayout ? constantR1(c.image, c.cfg.blocks[c.index], pc) : undefined;
  const layout = map === undefined ? undefined : c.mapLayout!(map);
  const fallback = (): void => lowerHelperCall(c, pc, id);
  if (layout?.kind === 'hash' || layout?.kind === 'lpm') {
    if (!c.mapFunctions || !emitHashMapCall(c.w, c.mapFunctions, id, layout, c.mapLayout!.updates === true, fallback)) fallback();
  } else if (layout && id === BPF_FUNC_map_lookup_elem) emitArrayLookup(c.w, layout, fallback);
  else fallback();
}

function lowerCallx(c: BlockContext, pc: number, src: number): void {
  const w = c.w;
  spillState(c);
  w.i32(pc).get(reg(src)).op(OP.i32_wrap_i64).get(reg(src)).i64(32).op(OP.i64_shr_u).op(OP.i32_wrap_i64)
    .call(IMPORT.CALLX).set(LOCAL.NEXT);
  w.get(LOCAL.NEXT).i32(0).op(OP.i32_ge_s).if(); // a function of the program: a local call
  pushFrame(c, pc);
  w.br(loopDepth(c, 1));
  w.end();
  // A helper ran: take its r0; it may have asked to stop (the interpreter keeps exitPc then).
  reloadHelperRegisters(c);
  w.get(LOCAL.NEXT).i32(CALLX_STOP).op(OP.i32_eq).if().i32(SCRATCH.R0_PC).i32(pc).mem(OP.i32_store).i32(STATUS.STOP).op(OP.return).end();
}

/** JMP / JMP32 conditions: BPF_OP → [i64 compare, i32 compare]; jset apart. */
const COMPARE: Record<number, readonly [number, number]> = {
  [BPF_JEQ]: [OP.i64_eq, OP.i32_eq], [BPF_JNE]: [OP.i64_ne, OP.i32_ne],
  [BPF_JGT]: [OP.i64_gt_u, OP.i32_gt_u], [BPF_JGE]: [OP.i64_ge_u, OP.i32_ge_u],
  [BPF_JLT]: [OP.i64_lt_u, OP.i32_lt_u], [BPF_JLE]: [OP.i64_le_u, OP.i32_le_u],
  [BPF_JSGT]: [OP.i64_gt_s, OP.i32_gt_s], [BPF_JSGE]: [OP.i64_ge_s, OP.i32_ge_s],
  [BPF_JSLT]: [OP.i64_lt_s, OP.i32_lt_s], [BPF_JSLE]: [OP.i64_le_s, OP.i32_le_s],
};

function condition(c: BlockContext, pc: number): void {
  const { w, image } = c;
  const { is64: wide, usesSrcReg, op } = XOP_INFO[image.xop[pc]]!;
  const d = image.dst2[pc] >> 1, s = image.src2[pc] >> 1, imm = image.imm[pc];
  const push = (r: number | undefined): void => {
    if (wide) { if (r === undefined) w.i64(imm); else w.get(reg(r)); }
    else if (r === undefined) w.i32(imm);
    else w.get(reg(r)).op(OP.i32_wrap_i64);
  };
  push(d);
  push(usesSrcReg ? s : undefined);
  if (op === BPF_JSET) { // (dst & src) != 0
    if (wide) w.op(OP.i64_and).op(OP.i64_eqz).op(OP.i32_eqz);
    else w.op(OP.i32_and).op(OP.i32_eqz).op(OP.i32_eqz);
    return;
  }
  w.op(COMPARE[op][wide ? 0 : 1]);
}

function lowerJump(c: BlockContext, pc: number): void {
  const target = jumpTarget(c.image, pc);
  const backward = target <= pc;
  if (XOP_INFO[c.image.xop[pc]]!.kind === 'ja') { // ja, gotol
    if (backward) budgetCheck(c, pc);
    branchTo(c, target, 0);
    return;
  }
  condition(c, pc);
  if (!backward && directDepth(c, target) >= 0) {
    c.w.brIf(directDepth(c, target));
    return;
  }
  c.w.if();
  if (backward) budgetCheck(c, pc);
  branchTo(c, target, 1);
  c.w.end();
}

/** Lower the instruction that ends a block; false when xop is not one of these. */
export function lowerControl(c: BlockContext, pc: number): boolean {
  const { image } = c;
  switch (XOP_INFO[image.xop[pc]]?.kind) {
    case 'exit': lowerExit(c, pc); return true;
    case 'call': lowerCall(c, pc, image.imm[pc]); return true;
    case 'callx': lowerCallx(c, pc, image.src2[pc] >> 1); return true;
    case 'kfunc':
      fault(c, FAULT_CODE.KFUNC, pc, image.imm[pc]);
      return true;
    case 'call_local':
      pushFrame(c, pc);
      branchTo(c, pc + 1 + image.imm[pc], 0);
      return true;
    case 'ja': case 'jcond':
      lowerJump(c, pc);
      return true;
    default:
      return false;
  }
}
