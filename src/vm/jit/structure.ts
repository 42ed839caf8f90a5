/**
 * Structured loops and the label stack.
 *
 * The compiled function lays basic blocks out in pc order, each after the `end` of a wasm
 * block of its own, so forward jumps are `br`s (lower-control.ts). A backward jump would need
 * the dispatch loop's br_table; for a natural loop laid out as a run of blocks [h..e] — which
 * nothing outside enters but through h, none of whose other blocks is a dispatch target (a
 * call target, function address, return address), and whose back edges go to h or to the
 * header of a loop nested in it that is structured the same way — the run is wrapped in a wasm
 * `loop`, and its back edges are plain `br`s. Anything else (irreducible graphs, loops with
 * calls inside) keeps the dispatcher, which is correct for any graph.
 */
import { XOP } from '../../isa/xop.js';
import type { ProgramImage } from '../image.js';
import { isJump, jumpTarget, type ControlFlow } from './cfg.js';

/** An item of the layout: one block, or a loop over blocks first..last (its items after the header in `inner`). */
export interface LayoutItem {
  first: number;
  last: number;
  loop: boolean;
  inner?: LayoutItem[];
}

export interface Edge {
  from: number;
  to: number;
  backward: boolean;
}

/** Jump edges between blocks (fall-through edges only ever go to the next block). */
function jumpEdges(image: ProgramImage, cfg: ControlFlow): Edge[] {
  const edges: Edge[] = [];
  cfg.blocks.forEach((block, from) => {
    if (!isJump(image.xop[block.last])) return;
    const target = jumpTarget(image, block.last);
    edges.push({ from, to: cfg.blockAt[target], backward: target <= block.last });
  });
  return edges;
}

/** Blocks the dispatcher must reach: entry, call targets, function addresses, return addresses, extra leaders. */
export function dispatchTargets(image: ProgramImage, cfg: ControlFlow, extraLeaders: readonly number[]): Uint8Array {
  const marks = new Uint8Array(cfg.blocks.length);
  const mark = (pc: number): void => {
    if (pc >= 0 && pc < image.slots && cfg.blockAt[pc] >= 0) marks[cfg.blockAt[pc]] = 1;
  };
  mark(0);
  for (const pc of extraLeaders) mark(pc);
  for (let pc = 0; pc < image.slots; pc++) {
    if (image.insnAt[pc] === undefined) continue;
    const xop = image.xop[pc];
    if (xop === XOP.CALL_LOCAL || xop === XOP.LDDW_FUNC) mark(pc + 1 + image.imm[pc]);
    if (xop === XOP.CALL_LOCAL || xop === XOP.CALLX) mark(pc + 1);
  }
  return marks;
}

/** Decides which runs of blocks are structured loops (memoized per header). */
class LoopPlanner {
  private readonly structured = new Map<number, boolean>();
  /** Each block's jump edge (a block ends in one jump at most), and the jump edges into it. */
  private readonly outgoing: (Edge | undefined)[];
  private readonly incoming: Edge[][];

  constructor(
    edges: Edge[],
    private readonly dispatch: Uint8Array,
    /** For each block: the last block with a back edge to it, or -1. */
    readonly loopEnd: Int32Array,
  ) {
    this.outgoing = new Array<Edge | undefined>(loopEnd.length).fill(undefined);
    this.incoming = Array.from({ length: loopEnd.length }, () => []);
    for (const edge of edges) {
      this.outgoing[edge.from] = edge;
      this.incoming[edge.to].push(edge);
    }
  }

  isStructured(h: number): boolean {
    let known = this.structured.get(h);
    if (known === undefined) {
      this.structured.set(h, false); // a cycle of headers is not a nest
      known = this.check(h, this.loopEnd[h]);
      this.structured.set(h, known);
    }
    return known;
  }

  private check(h: number, e: number): boolean {
    for (let b = h + 1; b <= e; b++) {
      if (this.dispatch[b]) return false;
      // Nothing outside enters the loop past its header.
      for (const edge of this.incoming[b]) if (edge.from < h || edge.from > e) return false;
    }
    for (let b = h; b <= e; b++) {
      const edge = this.outgoing[b];
      if (!edge || !edge.backward || edge.to === h) continue;
      // Another back edge inside: to the header of a structured loop nested here that holds it.
      const t = edge.to;
      if (t <= h || this.loopEnd[t] > e || !this.isStructured(t)) return false;
    }
    return true;
  }

  /** The items of blocks lo..hi. */
  items(lo: number, hi: number): LayoutItem[] {
    const items: LayoutItem[] = [];
    for (let b = lo; b <= hi; b++) {
      const e = this.loopEnd[b];
      if (e >= b && e <= hi && this.isStructured(b)) {
        items.push({ first: b, last: e, loop: true, inner: this.items(b + 1, e) });
        b = e;
      } else {
        items.push({ first: b, last: b, loop: false });
      }
    }
    return items;
  }
}

/** The layout: blocks in pc order, structured loops grouped (and nested). */
export function planLayout(image: ProgramImage, cfg: ControlFlow, extraLeaders: readonly number[]): LayoutItem[] {
  const k = cfg.blocks.length;
  const edges = jumpEdges(image, cfg);
  const loopEnd = new Int32Array(k).fill(-1);
  for (const edge of edges) if (edge.backward) loopEnd[edge.to] = Math.max(loopEnd[edge.to], edge.from);
  return new LoopPlanner(edges, dispatchTargets(image, cfg, extraLeaders), loopEnd).items(0, k - 1);
}

/** What a label is: the dispatch loop, the end of a block's wasm block (E), a loop header (L), or anything else. */
export type LabelKind = 'dispatch' | 'E' | 'L' | 'other';

const KIND_CODE: Record<LabelKind, number> = { dispatch: 0, E: 1, L: 2, other: 3 };

/** The wasm labels open at the point of emission, innermost last (depth lookups in O(1)). */
export class LabelStack {
  private readonly keys: number[] = [];
  /** Position in the stack of each open label by key (E and L labels are unique per block). */
  private readonly position = new Map<number, number>();

  private static key(kind: LabelKind, block: number): number {
    return (block + 1) * 4 + KIND_CODE[kind];
  }

  push(kind: LabelKind, block = -1): void {
    const key = LabelStack.key(kind, block);
    this.keys.push(key);
    if (kind !== 'other') this.position.set(key, this.keys.length - 1);
  }

  pop(): void {
    const key = this.keys.pop();
    if (key !== undefined && this.position.get(key) === this.keys.length) this.position.delete(key);
  }

  /** The br depth of the label, or -1 when it is not open. */
  depth(kind: LabelKind, block = -1): number {
    const at = this.position.get(LabelStack.key(kind, block));
    return at === undefined ? -1 : this.keys.length - 1 - at;
  }
}
