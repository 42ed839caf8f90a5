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
import { XOP, XOP_INFO } from '../../isa/xop.js';
import type { ProgramImage } from '../image.js';

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

/** Jumps, conditional or not (calls and exit are not jumps). */
const isJump = (xop: number): boolean => XOP_INFO[xop]?.kind === 'ja' || XOP_INFO[xop]?.kind === 'jcond';
/** LD_ABS / LD_IND. */
const isLegacyLoad = (xop: number): boolean => XOP_INFO[xop]?.kind === 'ldabs' || XOP_INFO[xop]?.kind === 'ldind';

/** Whether the instruction ends a block. */
export const endsBlock = (xop: number): boolean => XOP_INFO[xop]?.endsBlock === true;

/** The pc a jump goes to when taken (gotol, JA32, takes its offset from imm). */
export function jumpTarget(image: ProgramImage, pc: number): number {
  return pc + 1 + (image.xop[pc] === XOP.JA32 ? image.imm[pc] : image.off[pc]);
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
    const width = XOP_INFO[xop]!.width;
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
