/**
 * Property: for random valid programs and random inputs, the JIT and the interpreter agree on
 * everything observable — r0, the memory block, the stack, the instructions executed, the
 * exit pc, and the fault (reason, pc, message).
 *
 * Programs: r0..r7 start from random 64-bit values, r8 is a small loop counter, r9 points to a 64-byte memory block. The
 * body mixes ALU/ALU64 (every op, immediate and register, sdiv/smod, movsx, byte swaps),
 * loads/stores/atomics on the stack and the block (now and then out of bounds), forward jumps,
 * backward jumps (counted through r8, or on any condition, ended by a small budget), local
 * calls to subprograms, callbacks (a bpf_loop-like helper calling a subprogram), tail calls to
 * a second random program, and a helper that may stop the program.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HELPER_CONTINUE, HELPER_STOP, HELPER_TAIL_CALL, type HelperFn, type HelperTable,
} from '../../src/vm/helper-table.js';
import type { ProgramImage } from '../../src/vm/image.js';
import { MAX_TAIL_CALL_CNT } from '../../src/uapi/bpf.js';
import { BPF_PSEUDO_FUNC } from '../../src/isa/opcodes.js';
import type { Region } from '../../src/vm/arena.js';
import { imageOf, makeBench, type Outcome } from '../support/engines.js';

type Insn = [code: number, dst: number, src: number, off: number, imm: number];

/** Items of a program body; jumps name item indices and are resolved to slot offsets at layout. */
type Item =
  | { kind: 'insns'; insns: Insn[] }
  | { kind: 'jump'; code: number; dst: number; src: number; imm: number; to: number }
  | { kind: 'call'; fn: number }
  /** bpf_loop-like: helper 2 calls function `fn` `count` times (r1 = i, r2 = the block). */
  | { kind: 'callback'; fn: number; count: number }
  /** Helper 1: a tail call to the second program (up to MAX_TAIL_CALL_CNT times a run). */
  | { kind: 'tail' };

const ALU_OPS = [0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xa0, 0xb0, 0xc0];
const JMP_OPS = [0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xa0, 0xb0, 0xc0, 0xd0];
const SIZES = [[0x18, 8], [0x00, 4], [0x08, 2], [0x10, 1]] as const;
const ATOMICS = [0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, 0xe1, 0xf1];

const reg = fc.integer({ min: 0, max: 7 });
const imm32 = fc.oneof(fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.constantFrom(0, 1, -1, 2, 31, 32, 63, 64, 0x7fffffff, -0x80000000));

const alu: fc.Arbitrary<Insn> = fc.oneof(
  fc.tuple(fc.boolean(), fc.constantFrom(...ALU_OPS), fc.boolean(), reg, reg, imm32, fc.boolean()).map(([wide, op, x, d, s, k, signed]) => {
    const off = signed && (op === 0x30 || op === 0x90) ? 1 : 0;
    return [(wide ? 0x07 : 0x04) | op | (x ? 0x08 : 0), d, x ? s : 0, off, x ? 0 : k] as Insn;
  }),
  fc.tuple(fc.boolean(), reg).map(([wide, d]) => [(wide ? 0x07 : 0x04) | 0x80, d, 0, 0, 0] as Insn), // neg
  fc.tuple(fc.boolean(), reg, reg, fc.constantFrom(8, 16, 32)).map(([wide, d, s, w]) =>
    [(wide ? 0xbf : 0xbc), d, s, wide ? w : Math.min(w, 16), 0] as Insn), // movsx
  fc.tuple(fc.constantFrom(0xd4, 0xdc, 0xd7), reg, fc.constantFrom(16, 32, 64)).map(([code, d, w]) => [code, d, 0, 0, w] as Insn), // le, be, bswap
);

/** A memory access on the stack (r10) or the block (r9); `wild` offsets may fault. */
const memAccess: fc.Arbitrary<Insn> = fc.tuple(
  fc.constantFrom('ldx', 'ldsx', 'st', 'stx', 'atomic'), fc.constantFrom(...SIZES), fc.boolean(), reg, reg, imm32,
  fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 50 }), fc.constantFrom(...ATOMICS),
).map(([kind, [sz, size], onStack, d, s, k, pos, wild, aop]) => {
  const atomicSize = size === 8 ? 8 : 4;
  const n = kind === 'atomic' ? atomicSize : size;
  let off = onStack ? -(1 + (pos * 7) % (512 - n + 1)) - n + 1 : pos % (64 - n + 1);
  if (wild === 0) off += onStack ? 512 : 64; // past the end: a fault
  if (wild === 1) off = -k & 0x7fff;
  const base = onStack ? 10 : 9;
  const szField = kind === 'atomic' ? (atomicSize === 8 ? 0x18 : 0x00) : sz;
  switch (kind) {
    case 'ldx': return [0x61 | szField, d, base, off, 0];
    case 'ldsx': return [0x81 | (sz === 0x18 ? 0x00 : szField), d, base, off, 0];
    case 'st': return [0x62 | szField, base, 0, off, k];
    case 'stx': return [0x63 | szField, base, s, off, 0];
    default: return [0xc3 | szField, base, s, off, aop];
  }
});

/** `to` is relative (in items): mostly a short hop forward, now and then backward. */
const jump = (): fc.Arbitrary<Item> => fc.tuple(
  fc.boolean(), fc.constantFrom(...JMP_OPS), fc.boolean(), reg, reg, imm32,
  fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 1, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: -4, max: 0 }) }),
  fc.integer({ min: 0, max: 3 }),
).map(([wide, op, x, d, s, k, to, flavour]) => {
  if (flavour === 0) return { kind: 'jump', code: 0x05, dst: 0, src: 0, imm: 0, to }; // ja
  return { kind: 'jump', code: (wide ? 0x05 : 0x06) | op | (x ? 0x08 : 0), dst: d, src: x ? s : 0, imm: x ? 0 : k, to };
});

/** A counted backward jump: r8 -= 1; if r8 s> 0 go `to` items back (bounded by r8's start). */
const countedLoop = (): fc.Arbitrary<Item[]> => fc.integer({ min: -6, max: -1 }).map((to) => [
  { kind: 'insns', insns: [[0x17, 8, 0, 0, 1]] },
  { kind: 'jump', code: 0x65, dst: 8, src: 0, imm: 0, to },
]);

const body = (items: number, fns: number, tails = false): fc.Arbitrary<Item[]> => fc.array(fc.oneof(
  { weight: 6, arbitrary: alu.map((i): Item[] => [{ kind: 'insns', insns: [i] }]) },
  { weight: 3, arbitrary: memAccess.map((i): Item[] => [{ kind: 'insns', insns: [i] }]) },
  { weight: 2, arbitrary: jump().map((j) => [j]) },
  { weight: 1, arbitrary: countedLoop() },
  { weight: fns > 0 ? 1 : 0, arbitrary: fc.integer({ min: 0, max: Math.max(0, fns - 1) }).map((fn): Item[] => [{ kind: 'call', fn }]) },
  { weight: 1, arbitrary: fc.constant<Item[]>([{ kind: 'insns', insns: [[0xbf, 1, 0, 0, 0], [0x85, 0, 0, 0, 4]] }]) }, // r1 = r0; call stop-if-zero
  {
    weight: fns > 0 ? 1 : 0,
    arbitrary: fc.tuple(fc.integer({ min: 0, max: Math.max(0, fns - 1) }), fc.integer({ min: 1, max: 3 }))
      .map(([fn, count]): Item[] => [{ kind: 'callback', fn, count }]),
  },
  { weight: tails ? 1 : 0, arbitrary: fc.constant<Item[]>([{ kind: 'tail' }]) },
), { maxLength: items }).map((groups) => groups.flat());

const encode = ([code, dst, src, off, imm]: Insn, out: DataView, at: number): void => {
  out.setUint8(at, code);
  out.setUint8(at + 1, (src << 4) | dst);
  out.setInt16(at + 2, off, true);
  out.setInt32(at + 4, imm, true);
};

/** Lay out main and functions (each body ends in exit); resolve jump and call targets. */
function layout(regs: [number, number][], prologue: Insn[], main: Item[], fns: Item[][]): Uint8Array {
  const parts = [main, ...fns];
  const itemPc: number[][] = [];
  let pc = 0;
  const starts: number[] = [];
  parts.forEach((items, p) => {
    starts.push(pc);
    if (p === 0) pc += regs.length * 2 + prologue.length;
    itemPc.push(items.map((item) => {
      const at = pc;
      pc += item.kind === 'insns' ? item.insns.length : item.kind === 'callback' ? 5 : item.kind === 'tail' ? 2 : 1;
      return at;
    }));
    itemPc[p].push(pc); // the exit
    pc += 1;
  });
  const out = new DataView(new ArrayBuffer(pc * 8));
  let at = 0;
  const put = (insn: Insn): void => { encode(insn, out, at * 8); at++; };
  prologue.forEach(put);
  regs.forEach(([lo, hi], r) => { put([0x18, r, 0, 0, lo]); put([0, 0, 0, 0, hi]); });
  parts.forEach((items, p) => {
    items.forEach((item, i) => {
      if (item.kind === 'insns') item.insns.forEach(put);
      else if (item.kind === 'call') put([0x85, 0, 1, 0, starts[item.fn + 1] - (at + 1)]);
      else if (item.kind === 'callback') {
        put([0xb7, 1, 0, 0, item.count]);
        put([0x18, 2, BPF_PSEUDO_FUNC, 0, starts[item.fn + 1] - (at + 1)]);
        put([0, 0, 0, 0, 0]);
        put([0xbf, 3, 9, 0, 0]);
        put([0x85, 0, 0, 0, 2]);
      } else if (item.kind === 'tail') {
        put([0xb7, 3, 0, 0, 1]);
        put([0x85, 0, 0, 0, 1]);
      }
      else {
        const target = itemPc[p][Math.max(0, Math.min(i + item.to, items.length))];
        const rel = target - (at + 1);
        if (item.code === 0x06) put([0x06, 0, 0, 0, rel]);
        else put([item.code, item.dst, item.src, rel, item.imm]);
      }
    });
    put([0x95, 0, 0, 0, 0]);
  });
  return new Uint8Array(out.buffer);
}

const HELPERS: Record<number, HelperFn> = {
  1: (call) => { // tail call to program 1
    if (call.tailCalls >= MAX_TAIL_CALL_CNT) return HELPER_CONTINUE;
    call.tailCallTarget = tailTarget;
    return HELPER_TAIL_CALL;
  },
  2: (call) => { // loop: callback r2, r1 times, with (i, r3); stops on a non-zero return
    let i = 0;
    while (i < call.regs[2] && call.callFunction(call.regs[4], [i, call.regs[6]]) === 0) i++;
    call.regs[0] = i;
    call.regs[1] = 0;
    return HELPER_CONTINUE;
  },
  4: (call) => { // returns r1 ^ 0x5a; stops the program when r1's low 3 bits are 0
    call.regs[0] = call.regs[2] ^ 0x5a;
    call.regs[1] = call.regs[3];
    return (call.regs[2] & 7) === 0 ? HELPER_STOP : HELPER_CONTINUE;
  },
};
/** The second program of the run being checked (helper 1's target). */
let tailTarget: ProgramImage | undefined;
const helpers = (): HelperTable => ({ lookup: (id) => HELPERS[id] });

const program = fc.record({
  regs: fc.array(fc.tuple(imm32, imm32), { minLength: 8, maxLength: 8 }),
  counter: fc.integer({ min: 0, max: 6 }),
  mem: fc.uint8Array({ minLength: 64, maxLength: 64 }),
  fns: fc.array(body(6, 0), { maxLength: 3 }),
  tail: body(12, 0),
}).chain((p) => body(40, p.fns.length, true).map((main) => ({ ...p, main })));

function runIn(kind: 'jit' | 'interp', bytes: Uint8Array, tail: Uint8Array, mem: Uint8Array): Outcome & { stack?: string } {
  const bench = makeBench(kind, helpers, 3000);
  tailTarget = imageOf(tail, 'tail');
  const out: Outcome & { stack?: string } = bench.run([imageOf(bytes, 'prop')], mem);
  const stack = (bench.engine as unknown as { stack: Region }).stack;
  out.stack = Buffer.from(bench.arena.u8.subarray(stack.start, stack.end)).toString('hex');
  return out;
}

describe('property: the JIT and the interpreter agree on random programs', () => {
  it('same r0, memory, stack, count, exit pc and fault', () => {
    fc.assert(fc.property(program, (p) => {
      const prologue: Insn[] = [[0xb7, 8, 0, 0, p.counter], [0xbf, 9, 1, 0, 0]];
      const bytes = layout(p.regs, prologue, p.main, p.fns);
      const tail = layout([], [], p.tail, []);
      const a = runIn('interp', bytes, tail, p.mem);
      const b = runIn('jit', bytes, tail, p.mem);
      expect(b).toEqual(a);
    }), { numRuns: 400 });
  });
});
