/**
 * Basic blocks of a ProgramImage: the unit the compiler lays out and the unit the instruction
 * budget is counted in.
 *
 * A block starts at pc 0, at every jump target, at every call target and function address
 * (lddw of BPF_PSEUDO_FUNC: callbacks and callx start there), and after every instruction that
 * ends one. Jumps, exits, calls of any kind and LD_ABS/LD_IND end a block: after each of them
 * the engine may leave (a helper that stops, an LD_ABS outside the packet), so the count of
 * instructions executed must be exact there — it is added once at the block's start.
 */
import { XOP, type ProgramImage } from '../image.js';

export interface BasicBlock {
  /** First slot. */
  start: number;
  /** One past the last slot. */
  end: number;
  /** The pc of its last instruction. */
  last: number;
  /** Instructions in it (an lddw counts once, as the interpreter counts it). */
  count: number;
}

export interface ControlFlow {
  blocks: BasicBlock[];
  /** Block index of each slot that starts a block; -1 elsewhere. */
  blockAt: Int32Array;
  /** For each pc: instructions of its block after it (to make the count exact at a fault). */
  after: Int32Array;
}

/** Jumps: classes BPF_JMP (5) and BPF_JMP32 (6) but for call, callx and exit. */
const isJump = (xop: number): boolean =>
  xop < 0x100 && ((xop & 0x07) === 0x05 || (xop & 0x07) === 0x06) && xop !== 0x85 && xop !== 0x8d && xop !== 0x95;
const isLegacyLoad = (xop: number): boolean => xop === 0x30 || xop === 0x28 || xop === 0x20 || xop === 0x50 || xop === 0x48 || xop === 0x40;

/** Whether the instruction at pc ends a block. */
export function endsBlock(xop: number): boolean {
  return isJump(xop) || xop === 0x85 || xop === 0x8d || xop === 0x95 || xop === XOP.CALL_LOCAL || xop === XOP.CALL_KFUNC
    || isLegacyLoad(xop);
}

/** The pc a jump goes to when taken (gotol, 0x06, takes its offset from imm). */
export function jumpTarget(image: ProgramImage, pc: number): number {
  return pc + 1 + (image.xop[pc] === 0x06 ? image.imm[pc] : image.off[pc]);
}

export { isJump, isLegacyLoad };

/** `extraLeaders`: more pcs that must start a block (a callback that starts where nothing jumps). */
export function buildControlFlow(image: ProgramImage, extraLeaders: readonly number[] = []): ControlFlow {
  const n = image.slots;
  const leader = new Uint8Array(n + 1);
  leader[0] = 1;
  for (const pc of extraLeaders) leader[pc] = 1;
  for (let pc = 0; pc < n; pc++) {
    if (image.insnAt[pc] === undefined) continue;
    const xop = image.xop[pc];
    const width = xop === 0x18 || xop === XOP.LDDW_FUNC ? 2 : 1;
    if (isJump(xop)) leader[jumpTarget(image, pc)] = 1;
    if (xop === XOP.CALL_LOCAL) leader[pc + 1 + image.imm[pc]] = 1;
    if (xop === XOP.LDDW_FUNC) leader[pc + 1 + image.imm[pc]] = 1;
    if (endsBlock(xop)) leader[pc + width] = 1;
  }
  const blocks: BasicBlock[] = [];
  const blockAt = new Int32Array(n).fill(-1);
  const after = new Int32Array(n);
  let current: BasicBlock | undefined;
  for (let pc = 0; pc < n; pc++) {
    if (leader[pc] && image.insnAt[pc] !== undefined) {
      current = { start: pc, end: pc, last: pc, count: 0 };
      blockAt[pc] = blocks.length;
      blocks.push(current);
    }
    if (image.insnAt[pc] === undefined || current === undefined) continue;
    current.count++;
    current.last = pc;
    current.end = pc + image.insnAt[pc]!.width;
  }
  for (const block of blocks) {
    let remaining = block.count;
    for (let pc = block.start; pc < block.end; pc++) {
      if (image.insnAt[pc] === undefined) continue;
      after[pc] = --remaining;
    }
  }
  return { blocks, blockAt, after };
}
