/**
 * Grouping of memory checks inside a basic block. Accesses through the same register value
 * (no write to the register between them) form a group; the first access of a group of two or
 * more checks the group's whole span once (lower-memory.ts, emitGroupGuard), and its members
 * skip their own check when that passed. A parsed header — a dozen loads and stores at small
 * offsets from the packet pointer — costs one check instead of a dozen.
 */
import { PAGE_SIZE } from '../arena.js';
import { XOP_INFO } from '../../isa/xop.js';
import type { ProgramImage } from '../image.js';
import type { BasicBlock } from './cfg.js';
import { accessOf } from './lower-memory.js';

export interface GroupGuard {
  base: number;
  lo: number;
  span: number;
  need: number;
}

export interface CheckGroups {
  /** The group check to emit before the instruction at a pc (its group's first access). */
  guardAt: Map<number, GroupGuard>;
  /** The pcs whose check a group check covers. */
  grouped: Set<number>;
}

interface OpenGroup {
  base: number;
  lo: number;
  hi: number;
  need: number;
  members: number[];
}

/** Registers an instruction may write (conservatively: any non-store, non-jump writes dst). */
function writtenRegisters(image: ProgramImage, pc: number): number[] {
  const kind = XOP_INFO[image.xop[pc]]!.kind;
  const dst = image.dst2[pc] >> 1, src = image.src2[pc] >> 1;
  if (kind === 'atomic') return [src, 0];
  if (kind === 'st' || kind === 'stx') return [];
  if (kind === 'ja' || kind === 'jcond' || kind === 'call' || kind === 'callx' || kind === 'exit') return []; // they end blocks
  return [dst];
}

/**
 * A group may span at most a page: then `addr + span` cannot wrap past 2^32 inside a mapped
 * region (the last page is never mapped).
 */
const MAX_SPAN = PAGE_SIZE;

export function planCheckGroups(image: ProgramImage, block: BasicBlock): CheckGroups {
  const plan: CheckGroups = { guardAt: new Map(), grouped: new Set() };
  const open: (OpenGroup | undefined)[] = new Array(11).fill(undefined);
  const close = (r: number): void => {
    const g = open[r];
    open[r] = undefined;
    if (!g || g.members.length < 2) return;
    plan.guardAt.set(g.members[0], { base: g.base, lo: g.lo, span: g.hi - g.lo, need: g.need });
    for (const pc of g.members) plan.grouped.add(pc);
  };
  for (let pc = block.start; pc < block.end; pc++) {
    if (image.insnAt[pc] === undefined) continue;
    // An access the verifier proved (ProgramImage.proven) has no check to share.
    const a = image.proven?.[pc] ? undefined : accessOf(image.xop[pc], image.dst2[pc] >> 1, image.src2[pc] >> 1, image.off[pc]);
    if (a) {
      let g = open[a.base];
      if (g && Math.max(g.hi, a.off + a.size) - Math.min(g.lo, a.off) > MAX_SPAN) {
        close(a.base);
        g = undefined;
      }
      if (!g) {
        g = { base: a.base, lo: a.off, hi: a.off + a.size, need: 0, members: [] };
        open[a.base] = g;
      }
      g.lo = Math.min(g.lo, a.off);
      g.hi = Math.max(g.hi, a.off + a.size);
      g.need |= a.flag;
      g.members.push(pc);
    }
    for (const r of writtenRegisters(image, pc)) close(r);
  }
  for (let r = 0; r < open.length; r++) close(r);
  return plan;
}
