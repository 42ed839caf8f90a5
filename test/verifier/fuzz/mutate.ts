/**
 * Mutations of a generated program — flip a comparison, move an offset by one, drop or
 * duplicate an instruction, change a size or a register — and the instruction deletion the
 * shrinker uses. Jumps, calls and callback addresses are kept pointing at the same
 * instructions when others are removed or inserted.
 */
import { JMP_OP_NAMES, JMP_OPS, Rng, SIZE, type Size } from './builder.js';
import type { FuzzProgram, Slot } from './program.js';

const cls = (s: Slot): number => s.code & 0x07;
const isJmpClass = (s: Slot): boolean => cls(s) === 0x05 || cls(s) === 0x06;
const op = (s: Slot): number => s.code & 0xf0;

/** Where a slot's relative target is kept: 'off' for jumps, 'imm' for gotol, calls and callbacks. */
function targetField(s: Slot): 'off' | 'imm' | undefined {
  if (s.code === 0x18) return s.src === 4 ? 'imm' : undefined;
  if (!isJmpClass(s)) return undefined;
  if (op(s) === 0x90) return undefined; // exit
  if (op(s) === 0x80) return s.src === 1 ? 'imm' : undefined; // call
  if (s.code === 0x06) return 'imm'; // gotol
  return 'off';
}

/** Slots that start an instruction (an lddw's second slot does not). */
export function insnStarts(slots: readonly Slot[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < slots.length; i += slots[i].code === 0x18 ? 2 : 1) out.push(i);
  return out;
}

/** Rewrite targets after slots [at, at + removed) were replaced by `inserted` new slots. */
function retarget(slots: Slot[], at: number, removed: number, inserted: number, old: readonly Slot[]): (pos: number) => number {
  const map = (pos: number): number => (pos < at ? pos : pos >= at + removed ? pos - removed + inserted : at);
  const oldIndex = (newIndex: number): number => (newIndex < at ? newIndex : newIndex >= at + inserted ? newIndex - inserted + removed : -1);
  slots.forEach((s, i) => {
    const o = oldIndex(i);
    if (o < 0) return;
    const field = targetField(old[o]);
    if (!field) return;
    const t = o + old[o][field] + 1;
    s[field] = map(t) - (i + 1);
  });
  return map;
}

/** Slots after an edit, and where each old slot went. */
interface Edited {
  slots: Slot[];
  map: (pos: number) => number;
}

/** The slots without the instruction starting at slot `at`. */
function deleteSlots(slots: readonly Slot[], at: number): Edited {
  const width = slots[at].code === 0x18 && at + 1 < slots.length ? 2 : 1;
  const out = slots.filter((_, i) => i < at || i >= at + width).map((s) => ({ ...s }));
  return { slots: out, map: retarget(out, at, width, 0, slots) };
}

function insertSlots(slots: readonly Slot[], at: number, added: Slot[]): Edited {
  const out = [...slots.slice(0, at).map((s) => ({ ...s })), ...added.map((s) => ({ ...s })), ...slots.slice(at).map((s) => ({ ...s }))];
  return { slots: out, map: retarget(out, at, 0, added.length, slots) };
}

const withEdit = (p: FuzzProgram, e: Edited): FuzzProgram => ({
  ...p, slots: e.slots, globals: p.globals.map((g) => ({ ...g, start: e.map(g.start), args: [...g.args] })),
});

/** The program without the instruction starting at slot `at`. */
export function deleteInsn(p: FuzzProgram, at: number): FuzzProgram {
  return withEdit(p, deleteSlots(p.slots, at));
}

const SIZES: Size[] = [1, 2, 4, 8];
const sizeOf = (code: number): Size => SIZES.find((s) => SIZE[s] === (code & 0x18))!;

function pickWhere(rng: Rng, slots: Slot[], test: (s: Slot) => boolean): number | undefined {
  const at = insnStarts(slots).filter((i) => test(slots[i]));
  return at.length ? rng.pick(at) : undefined;
}

const isMem = (s: Slot): boolean => cls(s) === 0x01 || cls(s) === 0x02 || (cls(s) === 0x03 && (s.code & 0xe0) === 0x60);
const isCond = (s: Slot): boolean => isJmpClass(s) && op(s) !== 0x00 && op(s) !== 0x80 && op(s) !== 0x90 && op(s) !== 0xe0;
const hasImm = (s: Slot): boolean => (cls(s) === 0x04 || cls(s) === 0x07 || isCond(s) || cls(s) === 0x02) && (s.code & 0x08) === 0;

type Mutation = (rng: Rng, slots: Slot[]) => Slot[] | Edited | undefined;

const MUTATIONS: Mutation[] = [
  // flip a comparison
  (rng, slots) => {
    const at = pickWhere(rng, slots, isCond);
    if (at === undefined) return undefined;
    const s = slots[at];
    if (rng.chance(0.2)) s.code ^= 0x03; // JMP <-> JMP32
    else s.code = (s.code & 0x0f) | JMP_OPS[rng.pick(JMP_OP_NAMES)];
    return slots;
  },
  // an offset by one (or by a size)
  (rng, slots) => {
    const at = pickWhere(rng, slots, (s) => isMem(s) || isCond(s));
    if (at === undefined) return undefined;
    const s = slots[at];
    s.off += isCond(s) ? rng.pick([1, -1]) : rng.pick([1, -1, sizeOf(s.code), -sizeOf(s.code)]);
    return slots;
  },
  // an immediate
  (rng, slots) => {
    const at = pickWhere(rng, slots, hasImm);
    if (at === undefined) return undefined;
    slots[at].imm = rng.chance(0.5) ? slots[at].imm + rng.pick([1, -1]) : rng.imm();
    return slots;
  },
  // drop an instruction
  (rng, slots) => (slots.length > 2 ? deleteSlots(slots, rng.pick(insnStarts(slots).slice(0, -1))) : undefined),
  // a size
  (rng, slots) => {
    const at = pickWhere(rng, slots, isMem);
    if (at === undefined) return undefined;
    slots[at].code = (slots[at].code & ~0x18) | SIZE[rng.pick(SIZES)];
    return slots;
  },
  // a register
  (rng, slots) => {
    const at = pickWhere(rng, slots, (s) => s.code !== 0x18 && !(isJmpClass(s) && (op(s) === 0x80 || op(s) === 0x90 || op(s) === 0x00)));
    if (at === undefined) return undefined;
    if (rng.chance(0.5)) slots[at].dst = rng.int(0, 10);
    else slots[at].src = rng.int(0, 10);
    return slots;
  },
  // duplicate an instruction
  (rng, slots) => {
    const at = rng.pick(insnStarts(slots).slice(0, -1));
    if (at === undefined || slots[at].code === 0x18 || targetField(slots[at])) return undefined;
    return insertSlots(slots, at, [slots[at]]);
  },
  // swap two neighbours
  (rng, slots) => {
    const starts = insnStarts(slots);
    const k = rng.int(0, starts.length - 3);
    const a = starts[k];
    const b = starts[k + 1];
    if (b === undefined || slots[a].code === 0x18 || slots[b].code === 0x18 || targetField(slots[a]) || targetField(slots[b])) return undefined;
    [slots[a], slots[b]] = [slots[b], slots[a]];
    return slots;
  },
];

/** 1–2 random mutations; the program's other parts are kept. */
export function mutate(p: FuzzProgram, rng: Rng): FuzzProgram {
  let out: FuzzProgram = { ...p, slots: p.slots.map((s) => ({ ...s })), globals: p.globals.map((g) => ({ ...g, args: [...g.args] })) };
  const n = rng.int(1, 2);
  for (let i = 0; i < n; i++) {
    const next = rng.pick(MUTATIONS)(rng, out.slots);
    if (!next) continue;
    out = Array.isArray(next) ? { ...out, slots: next } : withEdit(out, next);
  }
  return out;
}
