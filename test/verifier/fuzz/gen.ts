/**
 * The generator: small random XDP and TC programs built from what real programs do and what
 * the verifier checks — context fields, packet bounds checks, map lookups and values, stack
 * spills and fills, helper memory and size arguments, scalar arithmetic whose bounds decide a
 * later access or branch, bpf-to-bpf calls and callbacks, references, loops, tail calls,
 * pointer leaks, broken control flow and encodings, atomics. Each family picks its parameters
 * near the edges (off-by-one offsets and sizes, every comparison form); mutate.ts then
 * perturbs some of them.
 */
import { BPF_ATTACH_TYPE } from '../../../src/uapi/bpf.js';
import {
  ALU_OPS, Builder, FN, JMP_OP_NAMES, MAP, Rng, r, type AluOp, type JmpOp, type Size,
} from './builder.js';
import { HELPER_PROTOS } from '../../../src/uapi/helper-protos.js';
import { progTypeInfo } from '../../../src/uapi/prog-types.js';
import { progType, type FuncArg, type FuzzFunc, type FuzzMap, type FuzzProgram, type ProgKind } from './program.js';

/** What a template works with: the builder, the random source, the program being made. */
export interface Gen {
  b: Builder;
  rng: Rng;
  kind: ProgKind;
  maps: FuzzMap[];
  attachType: number;
  frags: boolean;
  globals: FuzzFunc[];
  /** Functions emitted after the main program's exit. */
  tail: ((g: Gen) => void)[];
}

export type Family = (g: Gen) => void;

const XDP_CTX = 24;
const TC_CTX = 192;
const ctxSize = (g: Gen): number => (g.kind === 'xdp' ? XDP_CTX : TC_CTX);
const DATA = (g: Gen): number => (g.kind === 'xdp' ? 0 : 76);
const DATA_END = (g: Gen): number => (g.kind === 'xdp' ? 4 : 80);
const DATA_META = (g: Gen): number => (g.kind === 'xdp' ? 8 : 140);
/** Plain u32 fields: xdp ingress_ifindex/rx_queue_index, skb len/mark/priority/hash. */
const scalarField = (g: Gen): number => (g.kind === 'xdp' ? g.rng.pick([12, 16]) : g.rng.pick([0, 8, 32, 68, 4, 16, 40]));

function addMap(g: Gen, m: FuzzMap): number {
  g.maps.push(m);
  return g.maps.length - 1;
}

/** A map of a random kind, with sizes near the usual. */
function randomMap(g: Gen, valueMaps = false): number {
  const { rng } = g;
  const valueSize = rng.pick([4, 8, 16, 24, 48, 64, 1, 3]);
  const kinds = valueMaps
    ? ['array', 'array', 'hash', 'percpu_array', 'percpu_hash', 'lru_hash', 'lru_percpu_hash', 'lpm_trie']
    : ['array', 'array', 'hash', 'percpu_array', 'percpu_hash', 'lru_hash', 'lpm_trie', 'ringbuf', 'prog_array', 'devmap', 'queue',
      'stack', 'devmap_hash', 'array_of_maps', 'bloom_filter', 'cpumap', 'xskmap'];
  const kind = rng.pick(kinds);
  const flagsRw = rng.chance(0.12) ? rng.pick([0x80, 0x100]) : 0; // BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG
  switch (kind) {
    case 'array': return addMap(g, { type: MAP.array, keySize: 4, valueSize, maxEntries: rng.pick([1, 1, 4, 16]), flags: flagsRw });
    case 'percpu_array': return addMap(g, { type: MAP.percpu_array, keySize: 4, valueSize, maxEntries: rng.pick([1, 4]), flags: flagsRw });
    case 'hash': case 'percpu_hash': case 'lru_hash': case 'lru_percpu_hash':
      return addMap(g, { type: MAP[kind], keySize: rng.pick([4, 8, 4, 16]), valueSize, maxEntries: 16, flags: flagsRw });
    case 'lpm_trie': return addMap(g, { type: MAP.lpm_trie, keySize: 8, valueSize, maxEntries: 16, flags: 1 | flagsRw });
    case 'ringbuf': return addMap(g, { type: MAP.ringbuf, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 });
    case 'prog_array': return addMap(g, { type: MAP.prog_array, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 });
    case 'devmap': case 'devmap_hash': return addMap(g, { type: MAP[kind], keySize: 4, valueSize: rng.pick([4, 8]), maxEntries: 4, flags: 0 });
    case 'cpumap': return addMap(g, { type: MAP.cpumap, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0 });
    case 'xskmap': return addMap(g, { type: MAP.xskmap, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0 });
    case 'queue': case 'stack': return addMap(g, { type: MAP[kind], keySize: 0, valueSize, maxEntries: 8, flags: 0 });
    case 'bloom_filter': return addMap(g, { type: MAP.bloom_filter, keySize: 0, valueSize, maxEntries: 8, flags: 0 });
    default: {
      const inner = addMap(g, { type: MAP.array, keySize: 4, valueSize, maxEntries: 4, flags: 0 });
      return addMap(g, { type: MAP.array_of_maps, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0, inner });
    }
  }
}

function valueSizeOf(g: Gen, m: number): number {
  return g.maps[m].valueSize;
}

/** r0 = ret; exit. */
function exitWith(g: Gen, ret = 2): void {
  g.b.mov(0, ret).exit();
}

/** An access the verifier must refuse when it reaches it: a load through a scalar. */
function sink(g: Gen): void {
  g.b.mov(1, 0).ldx(8, 0, 1, 0).exit();
}

// ---- sources of scalars --------------------------------------------------------------------

/** An unknown or known scalar into `reg` (r6-r9 safe across calls; clobbers r0-r5). */
function scalarSource(g: Gen, reg: number, ctxReg: number, valueReg?: number, valueSize = 0): void {
  const { b, rng } = g;
  const choice = rng.int(0, valueReg !== undefined && valueSize > 0 ? 6 : 5);
  switch (choice) {
    case 0: b.mov(reg, rng.imm()); break;
    case 1: b.call(FN.get_prandom_u32).mov(reg, r(0)); break;
    case 2: b.ldx(4, reg, ctxReg, scalarField(g)); break;
    case 3: b.lddw(reg, BigInt.asIntN(64, BigInt(rng.imm()) * BigInt(rng.imm()) + BigInt(rng.int(0, 100)))); break;
    case 4: b.call(FN.get_prandom_u32).mov(reg, r(0)).alu('lsh', reg, 32).call(FN.get_prandom_u32).alu('or', reg, r(0)); break;
    case 5: b.call(rng.pick([FN.ktime_get_ns, FN.get_smp_processor_id, FN.jiffies64, FN.get_numa_node_id])).mov(reg, r(0)); break;
    default: {
      const size = rng.pick([1, 2, 4, 8].filter((s) => s <= valueSize)) as Size;
      const off = rng.int(0, Math.max(0, valueSize - size));
      if (rng.chance(0.2)) b.ldxsx(size === 8 ? 4 : size, reg, valueReg!, off);
      else b.ldx(size, reg, valueReg!, off);
    }
  }
}

const ALU_CHOICES: AluOp[] = ['add', 'sub', 'mul', 'div', 'or', 'and', 'lsh', 'rsh', 'neg', 'mod', 'xor', 'mov', 'arsh', 'and', 'and', 'rsh', 'add'];

/** One arithmetic step on a scalar register. */
function aluStep(g: Gen, reg: number, other: number[]): void {
  const { b, rng } = g;
  const is64 = rng.chance(0.65);
  const roll = rng.int(0, 20);
  if (roll === 0) { b.movsx(reg, rng.pick([reg, ...other]), rng.pick([8, 16, 32] as const), is64 || rng.chance(0.5)); return; }
  if (roll === 1) { b.end(reg, rng.pick([16, 32, 64] as const), rng.pick(['le', 'be', 'bswap'] as const)); return; }
  if (roll === 2) { b.alu(rng.pick(['div', 'mod'] as const), reg, rng.chance(0.5) ? rng.imm() || 3 : r(rng.pick(other.length ? other : [reg])), is64, 1); return; }
  const op = rng.pick(ALU_CHOICES);
  if (op === 'neg') { b.alu('neg', reg, 0, is64); return; }
  const useReg = other.length > 0 && rng.chance(0.35);
  let imm = rng.imm();
  if (op === 'lsh' || op === 'rsh' || op === 'arsh') imm = rng.chance(0.9) ? rng.int(0, is64 ? 63 : 31) : rng.int(0, 70);
  if (op === 'and') imm = rng.pick([0xff, 0xf, 0x3f, 0x7, 0xfff, 0xffff, 0x1f, 0xfe, rng.imm()]);
  if ((op === 'div' || op === 'mod') && imm === 0 && rng.chance(0.8)) imm = rng.pick([2, 3, 8, 10]);
  b.alu(op, reg, useReg ? r(rng.pick(other)) : imm, is64);
}

/** A bounds check: the unwanted side ends the program. */
function boundsCheck(g: Gen, reg: number): void {
  const { b, rng } = g;
  const out = b.fresh('out');
  const cont = b.fresh('cont');
  const op = rng.pick<JmpOp>(['jgt', 'jge', 'jlt', 'jle', 'jsgt', 'jsge', 'jslt', 'jsle', 'jgt', 'jgt', 'jeq', 'jne', 'jset']);
  const k = rng.pick([rng.int(0, 64), rng.imm(), rng.pick([7, 15, 16, 63, 64, 255, 256, 1024, -1, 0, 1])]);
  b.jmp(op, reg, k, out, rng.chance(0.25));
  b.ja(cont);
  b.label(out);
  if (rng.chance(0.3)) {
    // the other side goes on too, with a different register state
    b.mov(reg, rng.imm()).ja(cont);
  } else {
    exitWith(g, 1);
  }
  b.label(cont);
}

/** Uses of a scalar the verifier judges by its bounds. */
function useScalar(g: Gen, reg: number, ctxReg: number, valueReg?: number, valueMap?: number): void {
  const { b, rng } = g;
  const use = rng.int(0, valueReg !== undefined ? 6 : 4);
  switch (use) {
    case 0: case 1: {
      // a branch that hides an unsafe access unless the bounds rule it out
      const bad = b.fresh('bad');
      const ok = b.fresh('ok');
      const op = rng.pick(JMP_OP_NAMES);
      const k = rng.pick([0, 1, -1, 7, 8, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 0x7fffffff, -0x80000000, 0xffff, rng.imm()]);
      b.jmp(op, reg, rng.chance(0.15) ? r(rng.pick([1, 2, 3, 4, 5].filter((x) => x !== reg))) : k, bad, rng.chance(0.3));
      b.ja(ok);
      b.label(bad);
      sink(g);
      b.label(ok);
      return;
    }
    case 2: {
      // a variable stack offset
      b.mov(1, r(10)).alu('add', 1, -rng.pick([8, 16, 32, 64, 128, 256, 512]));
      b.st(8, 10, -8, 0).st(8, 10, -16, 0);
      b.alu('add', 1, r(reg));
      if (rng.chance(0.5)) b.ldx(rng.size(), 0, 1, 0);
      else b.st(rng.size(), 1, 0, 1);
      return;
    }
    case 3: {
      // a helper's size argument
      const size = rng.pick([16, 32, 64]);
      for (let o = 8; o <= size; o += 8) b.st(8, 10, -o, 0);
      if (g.kind === 'xdp') {
        b.mov(1, r(ctxReg)).mov(2, 0).mov(3, r(10)).alu('add', 3, -size).mov(4, r(reg)).call(FN.xdp_load_bytes);
      } else {
        b.mov(1, r(ctxReg)).mov(2, 0).mov(3, r(10)).alu('add', 3, -size).mov(4, r(reg)).call(FN.skb_load_bytes);
      }
      return;
    }
    case 4: {
      // a packet offset
      b.ldx(4, 1, ctxReg, DATA(g)).ldx(4, 2, ctxReg, DATA_END(g));
      b.alu('add', 1, r(reg));
      const out = b.fresh('out');
      b.mov(3, r(1)).alu('add', 3, rng.pick([1, 2, 4, 8]));
      b.jmp('jgt', 3, r(2), out);
      b.ldx(rng.pick([1, 2, 4, 8] as const), 0, 1, rng.int(-1, 4));
      b.label(out);
      return;
    }
    default: {
      // a map value offset
      const size = rng.size();
      b.mov(1, r(valueReg!)).alu('add', 1, r(reg));
      const off = rng.int(-2, Math.max(0, valueSizeOf(g, valueMap!) - size + 1));
      if (rng.chance(0.6)) b.ldx(size, 0, 1, off);
      else b.st(size, 1, off, rng.imm());
    }
  }
}

/** r0 = lookup(map, &key) with the key on the stack at fp-8 (or fp-16 for wide keys). */
function lookup(g: Gen, m: number, key: number | 'reg' | 'uninit' = 0, keyReg = 0): void {
  const { b } = g;
  const keySize = g.maps[m].keySize;
  const at = keySize > 8 ? -16 : -8;
  if (key === 'reg') b.stx(8, 10, at, keyReg);
  else if (key !== 'uninit') {
    b.st(8, 10, at, key);
    if (keySize > 8) b.st(8, 10, at + 8, 0);
  }
  b.ldMap(1, m).mov(2, r(10)).alu('add', 2, at).call(FN.map_lookup_elem);
}

/** A lookup whose result, checked for NULL, is in `dst`; otherwise the program ends. */
function lookupChecked(g: Gen, m: number, dst: number): void {
  const { b, rng } = g;
  lookup(g, m, rng.pick([0, 0, 1, 3, 100]));
  const ok = b.fresh('ok');
  if (rng.chance(0.9)) {
    b.jmp('jne', 0, 0, ok);
    exitWith(g, 0);
    b.label(ok);
  }
  b.mov(dst, r(0));
}

// ---- families --------------------------------------------------------------------------------

/** Scalar arithmetic chains, then a use that depends on the bounds. */
export const alu: Family = (g) => {
  const { b, rng } = g;
  b.mov(9, r(1));
  let valueReg: number | undefined;
  let valueMap: number | undefined;
  if (rng.chance(0.35)) {
    valueMap = addMap(g, { type: MAP.array, keySize: 4, valueSize: rng.pick([8, 16, 32, 64, 256]), maxEntries: 4, flags: 0 });
    lookupChecked(g, valueMap, 8);
    valueReg = 8;
  }
  scalarSource(g, 6, 9, valueReg, valueMap !== undefined ? valueSizeOf(g, valueMap) : 0);
  if (rng.chance(0.6)) scalarSource(g, 7, 9, valueReg, valueMap !== undefined ? valueSizeOf(g, valueMap) : 0);
  else b.mov(7, rng.imm());
  const steps = rng.int(1, 6);
  for (let i = 0; i < steps; i++) {
    const reg = rng.chance(0.75) ? 6 : 7;
    if (rng.chance(0.25)) boundsCheck(g, reg);
    else if (rng.chance(0.1)) b.mov(reg === 6 ? 7 : 6, r(reg));
    else aluStep(g, reg, [reg === 6 ? 7 : 6]);
  }
  if (rng.chance(0.3)) boundsCheck(g, 6);
  useScalar(g, 6, 9, valueReg, valueMap);
  if (rng.chance(0.3)) useScalar(g, 7, 9, valueReg, valueMap);
  exitWith(g, rng.pick([0, 1, 2, 3]));
};

/** Context field reads and writes: every offset and size, moved context pointers. */
export const ctx: Family = (g) => {
  const { b, rng } = g;
  const n = rng.int(1, 3);
  for (let i = 0; i < n; i++) {
    const write = rng.chance(0.3);
    let size = rng.size();
    let off = rng.chance(0.8) ? rng.int(0, ctxSize(g) / size - 1) * size + (rng.chance(0.1) ? rng.int(-3, 3) : 0)
      : rng.int(-8, ctxSize(g) + 8);
    const info = progTypeInfo(progType(g.kind))!;
    for (let tries = 0; tries < 20 && rng.chance(0.9) && !info.ctxAccess(off, size, write, g.attachType).ok; tries++) {
      size = rng.size();
      off = rng.int(0, ctxSize(g) / size - 1) * size;
    }
    let base = 1;
    if (rng.chance(0.1)) {
      b.mov(2, r(1)).alu('add', 2, rng.pick([4, 8, off, -4]));
      base = 2;
    }
    const what = write ? rng.int(7, 9) : rng.int(0, 6);
    if (what <= 5) b.ldx(size, 0, base, off);
    else if (what === 6) b.ldxsx(size === 8 ? 4 : size, 0, base, off);
    else if (what === 7) b.st(size, base, off, rng.imm());
    else if (what === 8) b.mov(3, rng.imm()).stx(size, base, off, 3);
    else b.stx(size, base, off, rng.pick([1, 10]));
    if (i + 1 < n && rng.chance(0.3)) b.mov(1, r(rng.pick([1, 6])));
  }
  if (rng.chance(0.5)) b.mov(0, rng.pick([0, 1, 2, 3, 4]));
  b.exit();
};

/** Each context offset × size × access kind, in order (not random): the whole table. */
export function ctxTable(kind: ProgKind): FuzzProgram[] {
  const out: FuzzProgram[] = [];
  const size = kind === 'xdp' ? XDP_CTX : TC_CTX;
  for (let off = -4; off < size + 8; off++) {
    for (const sz of [1, 2, 4, 8] as const) {
      for (const op of ['ldx', 'ldxsx', 'st', 'stx'] as const) {
        if (op === 'ldxsx' && sz === 8) continue;
        const b = new Builder();
        if (op === 'ldx') b.ldx(sz, 0, 1, off);
        else if (op === 'ldxsx') b.ldxsx(sz, 0, 1, off);
        else if (op === 'st') b.st(sz, 1, off, 1);
        else b.mov(2, 1).stx(sz, 1, off, 2);
        b.mov(0, 0).exit();
        out.push({ kind, attachType: 0, frags: false, maps: [], slots: b.build(), globals: [] });
        if (kind === 'xdp' && off === 20 && op === 'ldx') {
          out.push({ kind, attachType: BPF_ATTACH_TYPE.BPF_XDP_DEVMAP, frags: false, maps: [], slots: b.build(), globals: [] });
        }
      }
    }
  }
  return out;
}

/** One comparison of a packet pointer (data + n in `reg`) with data_end (r8); the bad side exits. */
function pktCheck(g: Gen, reg: number, endReg: number): void {
  const { b, rng } = g;
  const out = b.fresh('out');
  const cont = b.fresh('in');
  const is32 = rng.chance(0.08);
  let toOut = true;
  switch (rng.int(0, 11)) {
    case 0: b.jmp('jgt', reg, r(endReg), out, is32); break;
    case 1: b.jmp('jge', reg, r(endReg), out, is32); break;
    case 2: b.jmp('jlt', endReg, r(reg), out, is32); break;
    case 3: b.jmp('jle', endReg, r(reg), out, is32); break;
    case 4: b.jmp('jle', reg, r(endReg), cont, is32); toOut = false; break;
    case 5: b.jmp('jlt', reg, r(endReg), cont, is32); toOut = false; break;
    case 6: b.jmp('jge', endReg, r(reg), cont, is32); toOut = false; break;
    case 7: b.jmp('jgt', endReg, r(reg), cont, is32); toOut = false; break;
    case 8: b.jmp('jeq', reg, r(endReg), out, is32); break;
    case 9: b.jmp('jne', reg, r(endReg), out, is32); break;
    case 10: b.jmp('jsgt', reg, r(endReg), out, is32); break;
    default: b.jmp('jgt', reg, r(endReg), out, true); break;
  }
  if (toOut) b.ja(cont);
  b.label(out);
  exitWith(g, 1);
  b.label(cont);
}

/** Direct packet access: bounds checks in every form, constant and variable offsets, data_meta. */
export const pkt: Family = (g) => {
  const { b, rng } = g;
  b.mov(6, r(1));
  b.ldx(4, 7, 6, DATA(g)).ldx(4, 8, 6, DATA_END(g));
  const n = rng.pick([1, 2, 4, 8, 14, 20, 34, 54, rng.int(0, 80), 0xffff, 0x10000, -1]);
  b.mov(2, r(7)).alu('add', 2, n);
  pktCheck(g, 2, 8);
  const accesses = rng.int(1, 3);
  for (let i = 0; i < accesses; i++) {
    const size = rng.size();
    const off = rng.chance(0.5) ? rng.int(0, Math.max(0, n - size)) : rng.chance(0.6) ? n - size + rng.int(-1, 1) : rng.int(-2, n + 2);
    const base = rng.chance(0.8) ? 7 : 2;
    const o = base === 2 ? off - n : off;
    if (rng.chance(0.7)) b.ldx(size, 0, base, o);
    else if (rng.chance(0.5)) b.st(size, base, o, rng.imm());
    else b.stx(size, base, o, rng.pick([0, 6, 7]));
  }
  if (rng.chance(0.4)) {
    // a variable offset into the packet, bounded by a mask or a check, then checked again
    b.ldx(1, 3, 7, 0);
    if (rng.chance(0.5)) b.alu('and', 3, rng.pick([0xf, 0x3f, 0xff, 0x7fff, 0xffff, 0x1ffff]));
    else {
      const out = b.fresh('out');
      b.jmp(rng.pick(['jgt', 'jge', 'jsgt'] as const), 3, rng.pick([14, 60, 0xffff, 0x10000]), out);
      const cont = b.fresh('c');
      b.ja(cont).label(out);
      exitWith(g, 1);
      b.label(cont);
    }
    if (rng.chance(0.3)) b.alu('lsh', 3, rng.pick([1, 2, 4]));
    b.mov(4, r(7)).alu('add', 4, r(3));
    if (rng.chance(0.8)) {
      b.mov(5, r(4)).alu('add', 5, rng.pick([1, 2, 4, 8, 20]));
      pktCheck(g, 5, 8);
    }
    b.ldx(rng.size(), 0, 4, rng.int(-1, 8));
  }
  if (rng.chance(0.2)) {
    // data_meta against data
    b.ldx(4, 3, 6, DATA_META(g)).mov(4, r(3)).alu('add', 4, rng.pick([4, 8, 1]));
    pktCheck(g, 4, 7);
    b.ldx(rng.size(), 0, 3, rng.int(-1, 4));
  }
  if (rng.chance(0.15)) {
    // a helper that may move the packet, then an old pointer
    if (g.kind === 'xdp') b.mov(1, r(6)).mov(2, rng.pick([0, 4, -4])).call(rng.pick([FN.xdp_adjust_head, FN.xdp_adjust_tail, FN.xdp_adjust_meta]));
    else b.mov(1, r(6)).mov(2, 14).call(rng.pick([FN.skb_pull_data, FN.skb_change_tail]));
    if (rng.chance(0.7)) b.ldx(1, 0, 7, 0);
  }
  if (g.kind === 'tc' && rng.chance(0.15)) {
    if (rng.chance(0.5)) b.ldAbs(rng.pick([1, 2, 4, 8] as const), rng.pick([0, 12, 14, -1, 0x7fffffff]));
    else b.mov(2, rng.int(0, 20)).ldInd(rng.pick([1, 2, 4] as const), 2, rng.int(0, 20));
  }
  exitWith(g, rng.pick([0, 1, 2, 3]));
};

/** Map lookups, NULL checks (and missing ones), value accesses at fixed and variable offsets. */
export const map: Family = (g) => {
  const { b, rng } = g;
  b.mov(6, r(1));
  const m = randomMap(g, rng.chance(0.7));
  const map = g.maps[m];
  const vs = map.valueSize;
  const style = rng.int(0, 12);
  if (style === 0 && map.type === MAP.array && map.maxEntries === 1) {
    // a direct value address (.data / .bss style)
    b.ldMapValue(1, m, rng.pick([0, vs - 1, vs, rng.int(0, vs)]));
    b.ldx(rng.size(), 0, 1, rng.int(-1, vs));
    exitWith(g, 0);
    return;
  }
  if (style === 1) {
    // update and delete with key and value on the stack, maybe uninitialised
    const keyAt = -8 - 8 * Math.ceil(map.keySize / 8);
    const valAt = keyAt - 8 * Math.ceil(Math.max(vs, 1) / 8);
    if (rng.chance(0.85)) for (let o = 0; o < map.keySize; o += 4) b.st(4, 10, keyAt + o, rng.pick([0, 1]));
    if (rng.chance(0.85)) for (let o = 0; o < vs; o += rng.pick([4, 8])) b.st(4, 10, valAt + o, 7);
    b.ldMap(1, m).mov(2, r(10)).alu('add', 2, keyAt);
    if (rng.chance(0.7)) b.mov(3, r(10)).alu('add', 3, valAt).mov(4, rng.pick([0, 1, 2, 4])).call(FN.map_update_elem);
    else b.call(rng.pick([FN.map_delete_elem, FN.map_push_elem, FN.map_pop_elem, FN.map_peek_elem]));
    exitWith(g, 0);
    return;
  }
  if (style === 2) {
    // a map helper of the XDP or TC kind
    b.ldMap(1, m).mov(2, rng.int(0, 4)).mov(3, rng.pick([0, 2, 3]));
    b.call(rng.pick([FN.redirect_map, FN.ringbuf_query, FN.tail_call, FN.map_lookup_percpu_elem]));
    b.exit();
    return;
  }
  const key = rng.pick<number | 'uninit' | 'reg'>([0, 0, 1, 3, map.maxEntries - 1, map.maxEntries, 'uninit', 'reg']);
  if (key === 'reg') b.call(FN.get_prandom_u32);
  lookup(g, m, key, 0);
  // NULL check forms
  const check = rng.int(0, 9);
  const ok = b.fresh('ok');
  const cont = b.fresh('go');
  if (check <= 4) { b.jmp('jne', 0, 0, ok); exitWith(g, 0); b.label(ok); }
  else if (check === 5) { b.jmp('jeq', 0, 0, cont); b.ja(ok); b.label(cont); exitWith(g, 0); b.label(ok); }
  else if (check === 6) { b.mov(7, r(0)); b.jmp('jeq', 7, 0, cont); b.ja(ok); b.label(cont); exitWith(g, 0); b.label(ok); b.mov(0, r(7)); }
  else if (check === 7) { b.jmp('jne', 0, 0, ok, true); exitWith(g, 0); b.label(ok); }
  else if (check === 8) { b.stx(8, 10, -24, 0); b.ldx(8, 3, 10, -24); b.jmp('jeq', 3, 0, cont); b.ja(ok); b.label(cont); exitWith(g, 0); b.label(ok); }
  // else: no check
  const accesses = rng.int(1, 3);
  for (let i = 0; i < accesses; i++) {
    const size = rng.size();
    const off = rng.chance(0.7) ? rng.int(0, Math.max(0, vs - size)) : rng.pick([vs - size + 1, rng.int(-1, vs + 1), -1, vs]);
    const kindOfAccess = rng.int(0, 6);
    if (kindOfAccess <= 2) b.ldx(size, 1, 0, off);
    else if (kindOfAccess === 3) b.st(size, 0, off, rng.imm());
    else if (kindOfAccess === 4) b.stx(size, 0, off, rng.pick([6, 10, 1]));
    else if (kindOfAccess === 5) {
      // a variable offset from the value itself
      b.mov(7, r(0)).ldx(rng.pick([1, 4, 8] as const), 1, 0, 0);
      if (rng.chance(0.7)) b.alu('and', 1, rng.pick([vs - 1, vs - size, 7, 0xf, 0xff, vs]));
      else if (rng.chance(0.5)) {
        const out = b.fresh('out');
        const c = b.fresh('c');
        b.jmp(rng.pick(['jgt', 'jge', 'jsgt'] as const), 1, rng.pick([vs - size, vs - size + 1, vs]), out, rng.chance(0.2)).ja(c).label(out);
        exitWith(g, 0);
        b.label(c);
      }
      b.alu('add', 7, r(1));
      b.ldx(size, 1, 7, rng.pick([0, 0, 1, -1]));
      b.mov(0, r(7));
    } else {
      b.mov(2, r(0)).alu('add', 2, rng.pick([vs, -1, 1, 8, vs - 1])).ldx(size, 1, 2, rng.pick([0, -1, -8]));
    }
  }
  if (rng.chance(0.2)) b.mov(0, r(0)).exit();
  else exitWith(g, rng.pick([0, 1, 2]));
};

/** Stack spills and fills of pointers and scalars at every size and alignment. */
export const stack: Family = (g) => {
  const { b, rng } = g;
  b.mov(6, r(1));
  b.ldx(4, 7, 6, DATA(g));
  b.call(FN.get_prandom_u32).mov(8, r(0));
  const writes = rng.int(1, 4);
  const base = -rng.pick([8, 16, 24, 32, 64, 504, 512]);
  for (let i = 0; i < writes; i++) {
    const size = rng.size();
    const off = base + (rng.chance(0.85) ? rng.pick([0, 0, size, -size, 8 - size, -8]) : rng.int(-3, 3));
    const v = rng.int(0, 6);
    if (v === 0) b.st(size, 10, off, rng.imm());
    else if (v === 1) b.stx(size, 10, off, rng.pick([6, 7, 10]));
    else if (v === 2) b.stx(size, 10, off, 8);
    else if (v === 3) b.mov(2, rng.imm()).stx(size, 10, off, 2);
    else if (v === 4) b.mov(2, r(8)).alu('and', 2, rng.pick([0xff, 0xffff, 7])).stx(size, 10, off, 2);
    else if (v === 5) b.st(size, 10, off, 0);
    else b.mov(2, r(10)).alu('add', 2, off).st(size, 2, 0, rng.imm());
  }
  const reads = rng.int(1, 2);
  for (let i = 0; i < reads; i++) {
    const size = rng.size();
    const off = base + (rng.chance(0.85) ? rng.pick([0, 0, size, -size, 8 - size, 4 % size === 0 ? 4 : 0]) : rng.int(-4, 4));
    if (rng.chance(0.85)) b.ldx(size, 3, 10, off);
    else b.ldxsx(size === 8 ? 4 : size, 3, 10, off);
    const use = rng.int(0, 4);
    if (use === 0) b.ldx(1, 0, 3, 0); // as a pointer
    else if (use === 1) {
      const bad = b.fresh('bad');
      const ok = b.fresh('ok');
      b.jmp(rng.pick(JMP_OP_NAMES), 3, rng.imm(), bad).ja(ok).label(bad);
      sink(g);
      b.label(ok);
    } else if (use === 2) { b.mov(0, r(3)).exit(); return; } // return it
  }
  if (rng.chance(0.25)) {
    // a variable offset read or write
    b.mov(2, r(8)).alu('and', 2, rng.pick([7, 8, 15, 0xf8, 24])).alu('neg', 2, 0);
    b.alu('add', 2, r(10)).alu('add', 2, base);
    if (rng.chance(0.5)) b.ldx(rng.size(), 0, 2, 0);
    else b.stx(rng.size(), 2, 0, rng.pick([8, 6]));
  }
  exitWith(g, 2);
};

/** Helper calls with memory and size arguments: constant, bounded, unbounded, zero, negative. */
export const helper: Family = (g) => {
  const { b, rng } = g;
  b.mov(6, r(1));
  const memKind = rng.int(0, 5);
  const bufSize = rng.pick([8, 16, 32, 64]);
  let m = -1;
  // the size, in r9
  const sizeKind = rng.int(0, 6);
  if (sizeKind <= 2) b.mov(9, rng.pick([0, 1, bufSize, bufSize + 1, bufSize - 1, -1, 4, 8]));
  else {
    b.call(FN.get_prandom_u32).mov(9, r(0));
    if (sizeKind === 3) b.alu('and', 9, rng.pick([bufSize - 1, bufSize, 7, 0xff]));
    else if (sizeKind === 4) {
      const out = b.fresh('o');
      const c = b.fresh('c');
      b.jmp(rng.pick(['jgt', 'jge', 'jsgt', 'jsge'] as const), 9, rng.pick([bufSize, bufSize - 1, bufSize + 1]), out, rng.chance(0.2)).ja(c).label(out);
      exitWith(g, 0);
      b.label(c);
      if (rng.chance(0.5)) {
        const o2 = b.fresh('o');
        const c2 = b.fresh('c');
        b.jmp(rng.pick(['jeq', 'jlt', 'jslt'] as const), 9, rng.pick([0, 1]), o2).ja(c2).label(o2);
        exitWith(g, 0);
        b.label(c2);
      }
    } else if (sizeKind === 5) b.movsx(9, 9, 8);
  }
  // the memory, in r7
  if (memKind <= 2) {
    if (rng.chance(0.7)) for (let o = 8; o <= bufSize; o += 8) b.st(8, 10, -o, 0);
    else if (rng.chance(0.5)) b.st(8, 10, -8, 0);
    b.mov(7, r(10)).alu('add', 7, -bufSize + rng.pick([0, 0, 0, 1, 8, -8]));
  } else if (memKind === 3) {
    m = addMap(g, { type: MAP.array, keySize: 4, valueSize: bufSize, maxEntries: 2, flags: rng.chance(0.15) ? rng.pick([0x80, 0x100]) : 0 });
    lookupChecked(g, m, 7);
    if (rng.chance(0.2)) b.alu('add', 7, rng.pick([1, 8]));
  } else if (memKind === 4) {
    b.ldx(4, 7, 6, DATA(g)).ldx(4, 8, 6, DATA_END(g)).mov(2, r(7)).alu('add', 2, bufSize);
    pktCheck(g, 2, 8);
  } else {
    b.mov(7, rng.pick([0, 0]));
    if (rng.chance(0.5)) b.mov(7, r(6));
  }
  const call = rng.int(0, 11);
  const xdp = g.kind === 'xdp';
  switch (call) {
    case 0: b.mov(1, r(6)).mov(2, 0).mov(3, r(7)).mov(4, r(9)).call(xdp ? FN.xdp_load_bytes : FN.skb_load_bytes); break;
    case 1: b.mov(1, r(6)).mov(2, 0).mov(3, r(7)).mov(4, r(9)).call(xdp ? FN.xdp_store_bytes : FN.skb_store_bytes); break;
    case 2: b.mov(1, r(7)).mov(2, r(9)).mov(3, 0).mov(4, 0).mov(5, 0).call(FN.csum_diff); break;
    case 3: b.mov(1, 0).mov(2, 0).mov(3, r(7)).mov(4, r(9)).mov(5, 0).call(FN.csum_diff); break;
    case 4: {
      const rb = addMap(g, { type: MAP.ringbuf, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 });
      b.ldMap(1, rb).mov(2, r(7)).mov(3, r(9)).mov(4, 0).call(FN.ringbuf_output);
      break;
    }
    case 5: {
      const pe = addMap(g, { type: MAP.perf_event_array, keySize: 4, valueSize: 4, maxEntries: 2, flags: 0 });
      b.mov(1, r(6)).ldMap(2, pe).lddw(3, 0xffffffffn).mov(4, r(7)).mov(5, r(9)).call(FN.perf_event_output);
      break;
    }
    case 6: b.mov(1, r(7)).mov(2, r(9)).mov(3, 0).call(rng.pick([FN.probe_read_kernel, FN.get_current_comm, FN.trace_printk])); break;
    case 7: b.mov(1, r(6)).mov(2, r(7)).mov(3, r(9)).mov(4, 0).call(FN.fib_lookup); break;
    case 8: b.mov(1, r(6)).mov(2, 0).mov(3, r(7)).mov(4, 0).mov(5, 0).call(FN.check_mtu); break;
    case 9: b.mov(1, r(7)).mov(2, r(9)).mov(3, 0).mov(4, r(10)).alu('add', 4, -bufSize - 8).call(rng.pick([FN.strtol, FN.strtoul])); break;
    case 10: {
      const hm = addMap(g, { type: MAP.hash, keySize: bufSize > 16 ? 16 : bufSize, valueSize: 8, maxEntries: 4, flags: 0 });
      b.ldMap(1, hm).mov(2, r(7)).call(FN.map_lookup_elem);
      break;
    }
    default:
      if (xdp) b.mov(1, r(6)).mov(2, r(9)).call(FN.xdp_adjust_tail);
      else b.mov(1, r(6)).mov(2, 0).mov(3, r(7)).mov(4, r(9)).mov(5, 1).call(FN.skb_load_bytes_relative);
  }
  if (rng.chance(0.3)) b.ldx(8, 0, 10, -8);
  exitWith(g, 2);
};

/** A static function body: reads or writes through r1 (a caller's stack pointer), returns something. */
function calleeBody(g: Gen, frame: number): void {
  const { b, rng } = g;
  const what = rng.int(0, 7);
  if (what === 0) b.ldx(rng.size(), 0, 1, rng.pick([0, -8, 8, 4]));
  else if (what === 1) b.st(rng.size(), 1, rng.pick([0, 4, -8, 8]), 7).mov(0, 0);
  else if (what === 2) b.mov(0, r(1)); // returns the caller's stack pointer
  else if (what === 3) {
    b.st(8, 10, -rng.pick([8, 256, 504]), 0).mov(0, r(10)).alu('add', 0, -8);
    if (rng.chance(0.5)) b.mov(0, 0);
  } else if (what === 4) b.mov(0, r(rng.pick([1, 2, 3, 6])));
  else if (what === 5) b.stx(8, 1, 0, 10).mov(0, 1);
  else if (what === 6) {
    b.mov(6, r(1));
    b.call(FN.get_prandom_u32).alu('and', 0, rng.pick([0xff, 0xffffffff]));
    b.stx(8, 6, 0, 0);
  } else {
    // a deeper frame
    if (frame < 9 && rng.chance(0.7)) {
      const name = b.fresh('deep');
      b.st(8, 10, -rng.pick([8, 128, 256, 512]), 1);
      b.mov(1, r(10)).alu('add', 1, -8).callLocal(name);
      g.tail.push((gg) => {
        gg.b.label(name);
        calleeBody(gg, frame + 1);
        gg.b.exit();
      });
    } else b.mov(0, 3);
  }
}

/** bpf-to-bpf calls with stack pointer arguments; bpf_loop and for_each_map_elem callbacks; global functions. */
export const calls: Family = (g) => {
  const { b, rng } = g;
  b.mov(6, r(1));
  const style = rng.int(0, 5);
  if (style <= 1) {
    const f = b.fresh('fn');
    if (rng.chance(0.8)) b.st(8, 10, -8, rng.imm());
    b.st(8, 10, -rng.pick([8, 16, 256, 504]), 0);
    b.mov(1, r(10)).alu('add', 1, -rng.pick([8, 8, 16, 4])).mov(2, rng.imm()).mov(7, rng.imm());
    b.callLocal(f);
    const use = rng.int(0, 3);
    if (use === 0) b.ldx(8, 0, 0, 0);
    else if (use === 1) b.ldx(8, 0, 10, -8);
    else if (use === 2) {
      const bad = b.fresh('bad');
      const ok = b.fresh('ok');
      b.jmp(rng.pick(JMP_OP_NAMES), 0, rng.imm(), bad).ja(ok).label(bad);
      sink(g);
      b.label(ok);
    }
    b.mov(0, 2).exit();
    g.tail.push((gg) => {
      gg.b.label(f);
      calleeBody(gg, 1);
      gg.b.exit();
    });
    return;
  }
  if (style === 2) {
    // bpf_loop
    const cb = b.fresh('cb');
    b.st(8, 10, -8, 0);
    b.mov(1, rng.pick([1, 4, 16, 100, 0, -1])).ldFunc(2, cb);
    if (rng.chance(0.8)) b.mov(3, r(10)).alu('add', 3, -8);
    else b.mov(3, rng.pick([0, 0, 1]));
    b.mov(4, rng.pick([0, 0, 0, 1])).call(FN.loop);
    if (rng.chance(0.5)) b.ldx(8, 0, 10, -8);
    b.mov(0, 2).exit();
    g.tail.push((gg) => {
      const bb = gg.b;
      bb.label(cb);
      const body = gg.rng.int(0, 4);
      if (body === 0) bb.ldx(8, 3, 2, 0).alu('add', 3, 1).stx(8, 2, 0, 3);
      else if (body === 1) bb.ldx(8, 3, 2, gg.rng.pick([0, 8, -8]));
      else if (body === 2) bb.stx(8, 2, 0, 1);
      else if (body === 3) bb.mov(0, r(1));
      bb.mov(0, gg.rng.pick([0, 0, 1, 2, -1]));
      if (gg.rng.chance(0.15)) bb.mov(0, r(2));
      bb.exit();
    });
    return;
  }
  if (style === 3) {
    // for_each_map_elem
    const m = randomMap(g, true);
    const cb = b.fresh('cb');
    b.st(8, 10, -8, 0);
    b.ldMap(1, m).ldFunc(2, cb).mov(3, r(10)).alu('add', 3, -8).mov(4, 0).call(FN.for_each_map_elem);
    b.mov(0, 2).exit();
    const vs = valueSizeOf(g, m);
    g.tail.push((gg) => {
      const bb = gg.b;
      bb.label(cb);
      const body = gg.rng.int(0, 4);
      if (body === 0) bb.ldx(gg.rng.size(), 5, 3, gg.rng.pick([0, vs - 8, vs - 4, vs]));
      else if (body === 1) bb.ldx(4, 5, 2, gg.rng.pick([0, 4, g.maps[m].keySize]));
      else if (body === 2) bb.ldx(8, 5, 4, 0).alu('add', 5, 1).stx(8, 4, 0, 5);
      else if (body === 3) bb.st(4, 3, 0, 1);
      bb.mov(0, gg.rng.pick([0, 1, 0, 2]));
      bb.exit();
    });
    return;
  }
  if (style === 4) {
    // a global function with BTF-typed arguments
    const f = b.fresh('glob');
    const args: FuncArg[] = Array.from({ length: rng.int(0, 3) }, () => rng.pick<FuncArg>(['scalar', 'ctx', 'mem']));
    const start = { start: -1, global: true, args };
    g.globals.push(start);
    args.forEach((a, i) => {
      if (a === 'scalar') b.mov(i + 1, rng.imm());
      else if (a === 'ctx') b.mov(i + 1, r(rng.chance(0.85) ? 6 : 10));
      else {
        b.st(8, 10, -8, 0);
        b.mov(i + 1, r(10)).alu('add', i + 1, rng.pick([-8, -4, -2, 0]));
        if (rng.chance(0.15)) b.mov(i + 1, 0);
      }
    });
    b.callLocal(f);
    if (rng.chance(0.3)) b.ldx(8, 0, 0, 0);
    b.exit();
    g.tail.push((gg) => {
      const bb = gg.b;
      bb.label(f);
      start.start = bb.pc;
      const ai = args.findIndex((a) => a === 'mem');
      const ci = args.findIndex((a) => a === 'ctx');
      if (ai >= 0 && gg.rng.chance(0.7)) {
        const ok = bb.fresh('nn');
        if (gg.rng.chance(0.8)) bb.jmp('jne', ai + 1, 0, ok).mov(0, 0).exit().label(ok);
        bb.ldx(gg.rng.pick([1, 4, 8] as const), 0, ai + 1, 0);
      } else if (ci >= 0) bb.ldx(4, 0, ci + 1, gg.rng.pick([0, 4, 16]));
      else bb.mov(0, r(gg.rng.pick([1, 0])));
      bb.exit();
    });
    return;
  }
  // recursion or a callee that calls back into its caller
  const f = b.fresh('rec');
  b.callLocal(f).exit();
  g.tail.push((gg) => {
    gg.b.label(f).mov(0, 1).callLocal(gg.rng.chance(0.5) ? f : 0).exit();
  });
};

/** Ring buffer records and socket references, released on some paths only. */
export const refs: Family = (g) => {
  const { b, rng } = g;
  b.mov(6, r(1));
  if (rng.chance(0.55)) {
    const rb = addMap(g, { type: MAP.ringbuf, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 });
    const size = rng.pick([8, 16, 1, 0, 4096, 4097, 64]);
    b.ldMap(1, rb);
    if (rng.chance(0.8)) b.mov(2, size);
    else b.call(FN.get_prandom_u32).mov(2, r(0)).ldMap(1, rb).alu('and', 2, 0xf);
    b.mov(3, 0).call(FN.ringbuf_reserve);
    const ok = b.fresh('ok');
    if (rng.chance(0.85)) { b.jmp('jne', 0, 0, ok); exitWith(g, 0); b.label(ok); }
    b.mov(7, r(0));
    const n = rng.int(0, 2);
    for (let i = 0; i < n; i++) {
      const sz = rng.size();
      if (rng.chance(0.6)) b.st(sz, 7, rng.pick([0, size - sz, size - sz + 1, -1]), 1);
      else b.ldx(sz, 1, 7, rng.pick([0, size - sz, size]));
    }
    if (rng.chance(0.3)) {
      // release on one side only
      b.call(FN.get_prandom_u32);
      const skip = b.fresh('skip');
      b.jmp('jeq', 0, rng.pick([0, 1]), skip);
      b.mov(1, r(7)).mov(2, 0).call(rng.pick([FN.ringbuf_submit, FN.ringbuf_discard]));
      b.mov(0, 0).exit();
      b.label(skip);
    }
    if (rng.chance(0.85)) {
      const rel = rng.int(0, 5);
      b.mov(1, r(7));
      if (rel === 0) b.alu('add', 1, 8);
      b.mov(2, 0).call(rng.pick([FN.ringbuf_submit, FN.ringbuf_discard]));
      if (rel === 1) b.mov(1, r(7)).mov(2, 0).call(FN.ringbuf_discard);
      if (rel === 2) b.ldx(1, 0, 7, 0);
    }
    exitWith(g, 0);
    return;
  }
  // sockets (TC and XDP both have sk_lookup)
  const tupleSize = rng.pick([12, 36, 8, 13, 0]);
  for (let o = 8; o <= 40; o += 8) b.st(8, 10, -o, 0);
  b.mov(1, r(6)).mov(2, r(10)).alu('add', 2, -40).mov(3, tupleSize).mov(4, rng.pick([-1, 0])).mov(5, 0);
  b.call(rng.pick([FN.sk_lookup_tcp, FN.sk_lookup_udp, FN.skc_lookup_tcp]));
  const ok = b.fresh('ok');
  if (rng.chance(0.85)) { b.jmp('jne', 0, 0, ok); exitWith(g, 0); b.label(ok); }
  b.mov(7, r(0));
  if (rng.chance(0.6)) b.ldx(rng.pick([1, 2, 4, 8] as const), 2, 7, rng.pick([0, 4, 8, 12, 16, 44, 48, 50, 72, 76, 80, 2]));
  if (rng.chance(0.3)) { b.mov(1, r(7)).call(rng.pick([FN.sk_fullsock, FN.tcp_sock, FN.get_listener_sock])); }
  if (rng.chance(0.2)) b.st(4, 7, 0, 1);
  if (rng.chance(0.3)) {
    b.call(FN.get_prandom_u32);
    const skip = b.fresh('skip');
    b.jmp('jne', 0, 0, skip);
    b.mov(1, r(7)).call(FN.sk_release).label(skip);
    exitWith(g, 0);
    return;
  }
  if (rng.chance(0.85)) b.mov(1, r(7)).call(FN.sk_release);
  if (rng.chance(0.15)) b.ldx(4, 0, 7, 0);
  exitWith(g, 0);
};

/** Bounded loops of small counts, loops whose bound is unknown, nested loops, may_goto. */
export const loops: Family = (g) => {
  const { b, rng } = g;
  b.mov(6, r(1));
  const n = rng.pick([2, 3, 4, 8, 16, 33, 64]);
  const style = rng.int(0, 4);
  b.st(8, 10, -8, 0).st(8, 10, -16, 0).st(8, 10, -24, 0).st(8, 10, -32, 0);
  if (style <= 1) {
    const top = b.fresh('top');
    b.mov(7, 0).mov(8, 0).label(top);
    const body = rng.int(0, 4);
    if (body === 0) b.alu('add', 8, r(7));
    else if (body === 1) b.mov(2, r(7)).alu('and', 2, rng.pick([3, 7, 31])).alu('lsh', 2, 3).mov(3, r(10)).alu('add', 3, -32).alu('add', 3, r(2)).ldx(8, 8, 3, 0);
    else if (body === 2) b.call(FN.get_prandom_u32).alu('add', 8, r(0));
    else if (body === 3) b.mov(2, r(10)).alu('add', 2, -32).alu('add', 2, r(7)).st(1, 2, 0, 1);
    else {
      const skip = b.fresh('s');
      b.call(FN.get_prandom_u32).jmp('jeq', 0, 0, skip).alu('add', 8, 1).label(skip);
    }
    b.alu('add', 7, rng.pick([1, 1, 2]));
    b.jmp(rng.pick(['jlt', 'jne', 'jle', 'jslt'] as const), 7, n, top, rng.chance(0.2));
    if (rng.chance(0.3)) boundsCheck(g, 8);
    b.mov(0, r(8)).alu('and', 0, 3).exit();
    return;
  }
  if (style === 2) {
    // an unknown bound
    const top = b.fresh('top');
    b.call(FN.get_prandom_u32).mov(7, r(0));
    if (rng.chance(0.7)) b.alu('and', 7, rng.pick([0xf, 0xff, 0x3]));
    b.mov(8, 0).label(top);
    b.alu('add', 8, rng.pick([1, 2]));
    b.jmp(rng.pick(['jlt', 'jne', 'jle'] as const), 8, r(7), top);
    b.mov(0, 0).exit();
    return;
  }
  if (style === 3) {
    // nested
    const outer = b.fresh('outer');
    const inner = b.fresh('inner');
    b.mov(7, 0).label(outer).mov(8, 0).label(inner);
    b.alu('add', 8, 1).jmp('jlt', 8, rng.pick([2, 3, 5]), inner);
    b.alu('add', 7, 1).jmp('jlt', 7, rng.pick([2, 3, 5]), outer);
    b.mov(0, 0).exit();
    return;
  }
  // may_goto
  const top = b.fresh('top');
  const done = b.fresh('done');
  b.mov(7, 0).label(top).mayGoto(done).alu('add', 7, 1);
  if (rng.chance(0.5)) b.call(FN.get_prandom_u32).jmp('jeq', 0, 0, done);
  b.ja(top).label(done).mov(0, 0).exit();
};

/** Tail calls: with references held, from subprograms, with packet pointers after them. */
export const tailcall: Family = (g) => {
  const { b, rng } = g;
  const pa = addMap(g, { type: MAP.prog_array, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 });
  b.mov(6, r(1));
  if (rng.chance(0.3)) b.ldx(4, 7, 6, DATA(g)).ldx(4, 8, 6, DATA_END(g)).mov(2, r(7)).alu('add', 2, 8).jmp('jgt', 2, r(8), 'end');
  const inSub = rng.chance(0.3);
  const f = b.fresh('f');
  if (inSub) {
    b.st(8, 10, -rng.pick([8, 256, 264]), 0);
    b.mov(1, r(6)).callLocal(f);
  } else {
    if (rng.chance(0.2)) {
      const rb = addMap(g, { type: MAP.ringbuf, keySize: 0, valueSize: 0, maxEntries: 4096, flags: 0 });
      b.ldMap(1, rb).mov(2, 8).mov(3, 0).call(FN.ringbuf_reserve).jmp('jeq', 0, 0, 'end').mov(9, r(0));
    }
    b.mov(1, r(rng.chance(0.9) ? 6 : 10)).ldMap(2, rng.chance(0.9) ? pa : addMap(g, { type: MAP.array, keySize: 4, valueSize: 4, maxEntries: 4, flags: 0 }));
    b.mov(3, rng.pick([0, 1, 3, 4, -1])).call(FN.tail_call);
  }
  if (rng.chance(0.3)) b.ldx(1, 0, 7, 0);
  b.label('end');
  exitWith(g, 2);
  if (inSub) {
    g.tail.push((gg) => {
      gg.b.label(f);
      if (gg.rng.chance(0.5)) gg.b.st(8, 10, -gg.rng.pick([8, 256, 248]), 0);
      gg.b.ldMap(2, pa).mov(3, 0).call(FN.tail_call).mov(0, 1).exit();
    });
  }
};

/** Pointer leaks and pointer comparisons: what CAP_BPF alone refuses. */
export const leak: Family = (g) => {
  const { b, rng } = g;
  b.mov(6, r(1));
  const m = addMap(g, { type: MAP.array, keySize: 4, valueSize: 16, maxEntries: 2, flags: 0 });
  const what = rng.int(0, 11);
  const ptrs = [6, 10, 7];
  b.ldx(4, 7, 6, DATA(g));
  switch (what) {
    case 0: lookupChecked(g, m, 8); b.stx(8, 8, 0, rng.pick(ptrs)); break;
    case 1: b.mov(0, r(rng.pick([6, 10, 7]))).exit(); return;
    case 2: b.jmp(rng.pick(JMP_OP_NAMES), rng.pick(ptrs), r(rng.pick(ptrs)), 'x').label('x'); break;
    case 3: b.jmp(rng.pick(JMP_OP_NAMES), rng.pick(ptrs), rng.pick([0, 1]), 'x').label('x'); break;
    case 4: b.mov(1, r(rng.pick(ptrs))).alu(rng.pick(['add', 'sub', 'xor', 'and'] as const), 1, rng.imm()).mov(0, 0).exit(); return;
    case 5: b.stx(8, 10, -8, rng.pick(ptrs)).st(rng.pick([1, 2, 4] as const), 10, -rng.pick([8, 6, 4]), 0).ldx(8, 0, 10, -8); break;
    case 6: b.ldx(rng.size(), 0, 10, -rng.pick([8, 16, 24])); break;
    case 7: b.mov(1, r(rng.pick(ptrs))).call(FN.get_prandom_u32); b.mov(1, 0).mov(2, r(rng.pick(ptrs))).call(FN.redirect); break;
    case 8: lookupChecked(g, m, 8); b.mov(1, r(8)).alu('add', 1, rng.pick([16, 17, -1, 15, 8])).ldx(1, 0, 1, 0); break;
    case 9: b.stx(8, 10, -8, 10).ldx(8, 1, 10, -8).ldx(8, 0, 1, 0); break;
    case 10: b.mov(1, r(10)).alu('add', 1, rng.pick([-520, -512, 0, 8, -8])).mov(0, 0).exit(); return;
    default: b.mov(1, r(rng.pick(ptrs))).alu('sub', 1, r(rng.pick(ptrs))).mov(0, r(1)).exit(); return;
  }
  exitWith(g, 2);
};

/** Broken control flow and encodings: unreachable code, jumps out of range, reserved fields. */
export const cfg: Family = (g) => {
  const { b, rng } = g;
  const what = rng.int(0, 11);
  b.mov(0, 2);
  switch (what) {
    case 0: b.exit().mov(0, 1).exit(); break; // unreachable
    case 1: b.ja(rng.pick([5, -5, 100, -1])).exit(); break;
    case 2: b.jmp('jeq', 0, 0, 1).lddw(1, 5n).exit(); break; // into an lddw
    case 3: b.emit(rng.int(0, 255), rng.int(0, 11), rng.int(0, 11), rng.int(-2, 2), rng.int(-2, 2)).exit(); break;
    case 4: b.mov(0, 1); break; // no exit
    case 5: b.label('top').ja('top').exit(); break;
    case 6: b.callLocal(rng.pick([100, -5, 1])).exit().exit(); break;
    case 7: b.mov(0, 0).emit(0x95, rng.int(0, 1), rng.int(0, 1), rng.int(0, 1), rng.int(0, 1)); break;
    case 8: b.emit(0x05, 0, 0, 0, rng.int(1, 3)).emit(0x06, 0, 0, rng.int(0, 2), 0).exit(); break; // ja reserved, gotol
    case 9: b.emit(0xb7, 0, rng.int(0, 2), rng.int(0, 2), 1).exit(); break; // mov with fields set
    case 10: b.emit(0x61, 0, 1, 0, rng.int(0, 1)).emit(0x62, 10, rng.int(0, 1), -8, 0).exit(); break;
    default: b.mov(1, 0).emit(0x18, 1, rng.int(0, 7), 0, 0).emit(rng.int(0, 1) ? 0 : 0x18, 0, 0, 0, 0).exit(); break;
  }
};

/** Atomic operations on the stack, map values, the context and the packet. */
export const atomics: Family = (g) => {
  const { b, rng } = g;
  b.mov(6, r(1));
  const target = rng.int(0, 4);
  let base = 10;
  let off = -8;
  if (target <= 1) {
    if (rng.chance(0.8)) b.st(8, 10, -8, 0);
  } else if (target === 2) {
    const m = addMap(g, { type: MAP.array, keySize: 4, valueSize: 16, maxEntries: 2, flags: rng.chance(0.2) ? 0x80 : 0 });
    lookupChecked(g, m, 8);
    base = 8;
    off = rng.pick([0, 8, 12, 16, 4, 2]);
  } else if (target === 3) {
    base = 6;
    off = rng.pick([0, 8, 12]);
  } else {
    b.ldx(4, 7, 6, DATA(g)).ldx(4, 8, 6, DATA_END(g)).mov(2, r(7)).alu('add', 2, 8).jmp('jgt', 2, r(8), 'end');
    base = 7;
    off = 0;
  }
  const size = rng.pick([4, 8, 8, 4, 1, 2] as const);
  const op = rng.pick([0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, 0xe1, 0xf1, 0x100, 0x110, 0x10, 0x20]);
  const src = rng.pick([2, 2, 10, 6]);
  b.mov(2, rng.imm()).mov(0, rng.imm());
  b.atomic(size, base, off + (rng.chance(0.1) ? rng.pick([1, 4, -4]) : 0), src, op);
  if (rng.chance(0.5)) {
    const bad = b.fresh('bad');
    const ok = b.fresh('ok');
    b.jmp(rng.pick(JMP_OP_NAMES), rng.pick([0, 2]), rng.imm(), bad).ja(ok).label(bad);
    sink(g);
    b.label(ok);
  }
  b.label('end');
  exitWith(g, 2);
};

/** An argument of the kind a helper signature asks for, or of another kind. */
function helperArg(g: Gen, regno: number, want: number, ctxReg: number, exact = false): boolean {
  const { b, rng } = g;
  const base = want & 0xff;
  const choice = exact || rng.chance(0.6) ? base : rng.int(0, 20);
  switch (choice) {
    case ARG.ctx: b.mov(regno, r(ctxReg)); return false;
    case ARG.mapPtr: b.ldMap(regno, randomMap(g)); return false;
    case ARG.mapKey: case ARG.mapValue: case ARG.mem: case ARG.stack: case ARG.sockCommon: case ARG.dynptr:
      b.mov(regno, r(10)).alu('add', regno, -rng.pick([8, 16, 32, 64]));
      return false;
    case ARG.size: case ARG.sizeOrZero: case ARG.allocSize:
      b.mov(regno, rng.pick([0, 1, 4, 8, 16, 20, 64, -1, 65]));
      return false;
    case ARG.func: b.ldFunc(regno, 'cb'); return true;
    case ARG.anything: b.mov(regno, rng.imm()); return false;
    case 12: b.mov(regno, r(7)); return false; // a checked packet pointer
    case 13: b.mov(regno, r(8)); return false; // a map value
    case 14: b.mov(regno, 0); return false;
    default: b.mov(regno, rng.pick([0, 1, 2, 4, 8])); return false;
  }
}

/** enum bpf_arg_type's base kinds the generator knows how to make. */
const ARG = { mapPtr: 1, mapKey: 2, mapValue: 3, mem: 4, size: 6, sizeOrZero: 7, ctx: 8, anything: 9, sockCommon: 11, allocSize: 15, func: 18, stack: 19, dynptr: 23 };

/** Any helper, with arguments mostly of the kinds its signature wants: signatures and program-type tables. */
export const helperargs: Family = (g) => {
  const { b, rng } = g;
  b.mov(6, r(1));
  for (let o = 8; o <= 64; o += 8) b.st(8, 10, -o, 0);
  b.ldx(4, 7, 6, DATA(g)).ldx(4, 2, 6, DATA_END(g)).mov(3, r(7)).alu('add', 3, 64);
  b.jmp('jgt', 3, r(2), 'end');
  const m = addMap(g, { type: MAP.array, keySize: 4, valueSize: 64, maxEntries: 2, flags: 0 });
  lookup(g, m, 0);
  b.jmp('jeq', 0, 0, 'end').mov(8, r(0));
  const id = rng.chance(0.8) ? rng.pick(Object.values(FN)) : rng.int(1, 215);
  const proto = HELPER_PROTOS.get(id);
  const nargs = proto ? proto.args.length : rng.int(0, 5);
  let callback = false;
  for (let i = 0; i < nargs; i++) callback = helperArg(g, i + 1, proto?.args[i] ?? rng.int(0, 20), 6) || callback;
  b.call(id);
  if (rng.chance(0.3) && proto && (proto.ret & 0xff) !== 0) {
    b.jmp('jeq', 0, 0, 'end');
    b.ldx(rng.size(), 1, 0, 0);
  }
  b.label('end');
  exitWith(g, 2);
  if (callback) b.label('cb').mov(0, 0).exit();
};

/**
 * Every helper id × argument position × a wrong kind of register there, the arguments before it
 * as xdplab's signature wants them: the kernel's refusal names what it expected (not random).
 */
export function helperTable(kind: ProgKind): FuzzProgram[] {
  const out: FuzzProgram[] = [];
  for (let id = 1; id <= 212; id++) {
    const proto = HELPER_PROTOS.get(id);
    const nargs = proto?.args.length ?? 1;
    for (let pos = 0; pos < Math.max(nargs, 1); pos++) {
      for (const wrong of ['scalar', 'fp', 'ctx', 'map', 'pkt', 'value', 'null']) {
        const g: Gen = { b: new Builder(), rng: new Rng(id * 100 + pos), kind, maps: [], attachType: 0, frags: false, globals: [], tail: [] };
        const { b } = g;
        b.mov(6, r(1));
        for (let o = 8; o <= 64; o += 8) b.st(8, 10, -o, 0);
        b.ldx(4, 7, 6, DATA(g)).ldx(4, 2, 6, DATA_END(g)).mov(3, r(7)).alu('add', 3, 64);
        b.jmp('jgt', 3, r(2), 'end');
        const m = addMap(g, { type: MAP.array, keySize: 4, valueSize: 64, maxEntries: 2, flags: 0 });
        lookup(g, m, 0);
        b.jmp('jeq', 0, 0, 'end').mov(8, r(0));
        let callback = false;
        for (let i = 0; i < pos; i++) callback = helperArg(g, i + 1, proto!.args[i], 6, true) || callback;
        const regno = pos + 1;
        if (wrong === 'scalar') b.mov(regno, 12345);
        else if (wrong === 'fp') b.mov(regno, r(10)).alu('add', regno, -8);
        else if (wrong === 'ctx') b.mov(regno, r(6));
        else if (wrong === 'map') b.ldMap(regno, addMap(g, { type: MAP.hash, keySize: 4, valueSize: 8, maxEntries: 4, flags: 0 }));
        else if (wrong === 'pkt') b.mov(regno, r(7));
        else if (wrong === 'value') b.mov(regno, r(8));
        else b.mov(regno, 0);
        for (let i = pos + 1; i < nargs; i++) callback = helperArg(g, i + 1, proto!.args[i], 6, true) || callback;
        b.call(id);
        b.label('end').mov(0, 2).exit();
        if (callback) b.label('cb').mov(0, 0).exit();
        out.push({ kind, attachType: 0, frags: false, maps: g.maps, slots: b.build(), globals: [] });
      }
    }
  }
  return out;
}

export const FAMILIES: Record<string, Family> = {
  helperargs, alu, ctx, pkt, map, stack, helper, calls, refs, loops, tailcall, leak, cfg, atomics };

/** One program of a family: the main function, then the functions its templates asked for. */
export function generate(family: Family, rng: Rng, kind: ProgKind): FuzzProgram {
  const g: Gen = { b: new Builder(), rng, kind, maps: [], attachType: 0, frags: false, globals: [], tail: [] };
  if (kind === 'xdp' && rng.chance(0.05)) g.frags = true;
  if (kind === 'xdp' && rng.chance(0.15)) {
    g.attachType = rng.pick([BPF_ATTACH_TYPE.BPF_XDP, BPF_ATTACH_TYPE.BPF_XDP_DEVMAP, BPF_ATTACH_TYPE.BPF_XDP_CPUMAP]);
  }
  family(g);
  for (let i = 0; i < g.tail.length; i++) g.tail[i](g);
  return { kind, attachType: g.attachType, frags: g.frags, maps: g.maps, slots: g.b.build(), globals: g.globals.filter((f) => f.start >= 0) };
}

void ALU_OPS;
