/**
 * bpf_map_lookup_elem on hash, per-CPU hash, LRU hash and LRU per-CPU hash maps, and
 * bpf_map_update_elem / bpf_map_delete_elem on hash and per-CPU hash maps, compiled by the JIT to wasm
 * functions of the program's module (vm/jit/lower-hash.ts, lower-hash-update.ts): the same
 * programs run in the interpreter (the JS helpers, HashMap) and in the JIT, which must agree on r0,
 * r1–r5, the instruction count and every byte of the map (buckets, element records with the
 * LRU's reference bits, values) — without calling the helper. Key sizes that are not a multiple
 * of 4 use jhash, the others jhash2.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { assemble } from '../../src/isa/asm.js';
import { decodeProgram } from '../../src/isa/instruction.js';
import { createMap } from '../../src/maps/index.js';
import type { HashMap } from '../../src/maps/hash.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { Program } from '../../src/runtime/program.js';
import { testRun } from '../../src/hooks/test-run.js';
import { BPF_PROG_TYPE } from '../../src/uapi/bpf.js';
import type { ProgramSpec } from '../../src/spec/types.js';
import type { EngineKind } from '../../src/vm/engine.js';
import { ProgramImage } from '../../src/vm/image.js';
import { MAX_WASM_KEY } from '../../src/vm/jit/lower-hash.js';
import { spec } from '../maps/support.js';

const TYPES = ['hash', 'percpu_hash', 'lru_hash', 'lru_percpu_hash'] as const;
/** Where the key sits in the frame (the program passes data + KEY_AT as r2). */
const KEY_AT = 14;
const FRAME_BYTES = 64 + MAX_WASM_KEY + 8;

/** Key `k` of `size` bytes: pseudo-random bytes (keys differ in their first bytes). */
function keyOf(k: number, size: number): Uint8Array {
  const key = new Uint8Array(size);
  let x = (k + 1) * 0x9e3779b1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    key[i] = i === 0 ? k : x & 0xff;
  }
  return key;
}

type Op = readonly ['update' | 'delete', number];

interface Scenario {
  type: string;
  keySize: number;
  maxEntries: number;
  /** User-face updates and deletes before the runs. */
  ops: readonly Op[];
  /** The keys the program looks up, one run each. */
  lookups: readonly number[];
  cpu?: number;
  /** The key's offset from KEY_AT (an unaligned key). */
  skew?: number;
  /** The program: lookup only; lookup, delete, lookup again; update (with `flags`), lookup. */
  program?: 'lookup' | 'delete' | 'update';
  flags?: number;
}

const LOOKUP = (map: number, at: number): string => `
  mov %r6, %r1
  ldxw %r2, [%r1+0]
  add %r2, ${at}
  lddw %r1, ${map}
  call 1
  mov %r7, %r0
  jeq %r0, 0, +3
  ldxb %r3, [%r0+0]
  add %r3, 1
  stxb [%r0+0], %r3
  mov %r0, %r7
  exit`;

/** Look up, delete (helper 3), look up again: r0 = first + second address. */
const LOOKUP_DELETE = (map: number, at: number): string => `
  ldxw %r2, [%r1+0]
  add %r2, ${at}
  mov %r8, %r2
  lddw %r1, ${map}
  call 1
  mov %r7, %r0
  mov %r2, %r8
  lddw %r1, ${map}
  call 3
  mov %r2, %r8
  lddw %r1, ${map}
  call 1
  add %r0, %r7
  exit`;

/** Update (helper 2) the key with the 12 bytes 64 past it, with `flags`; r0 = the result + the lookup's address. */
const UPDATE = (flags: number) => (map: number, at: number): string => `
  ldxw %r2, [%r1+0]
  add %r2, ${at}
  mov %r8, %r2
  mov %r3, %r2
  add %r3, 64
  mov %r4, ${flags}
  lddw %r1, ${map}
  call 2
  mov %r7, %r0
  mov %r2, %r8
  lddw %r1, ${map}
  call 1
  add %r0, %r7
  exit`;

interface Outcome {
  runs: unknown[];
  mapBytes: string;
  helperCalls: number;
}

function runScenario(engine: EngineKind, s: Scenario): Outcome {
  const runtime = new Runtime({ engine, perfReaders: false, cpus: 2 });
  const map = createMap(runtime, spec(s.type, s.keySize, 12, s.maxEntries), runtime.nextMapId) as HashMap;
  runtime.registerMap(map);
  for (const [op, k] of s.ops) {
    try {
      if (op === 'update') map.update(keyOf(k, s.keySize), new Uint8Array(map.perCpu ? 32 : 12).fill(k));
      else map.delete(keyOf(k, s.keySize));
    } catch {
      // a full map, an absent key: the same in both engines
    }
  }
  const at = KEY_AT + (s.skew ?? 0);
  const body = s.program === 'delete' ? LOOKUP_DELETE : s.program === 'update' ? UPDATE(s.flags ?? 0) : LOOKUP;
  const text = body(map.header.start, at);
  const image = new ProgramImage('p', decodeProgram(assemble(text)));
  const program = new Program({ name: 'p', section: 'xdp', type: BPF_PROG_TYPE.BPF_PROG_TYPE_XDP } as unknown as ProgramSpec, image, runtime.registerProgram(image));
  const engineAny = runtime.engine as unknown as { helperImport: (id: number) => unknown };
  const spy = engine === 'jit' ? vi.spyOn(engineAny, 'helperImport') : undefined;
  const runs = s.lookups.map((k) => {
    const frame = new Uint8Array(FRAME_BYTES);
    frame.set(keyOf(k, s.keySize), at);
    frame.fill(k + 0x40, at + 64, at + 76);
    const r = testRun(runtime, program, { data: frame, cpu: s.cpu ?? 0 });
    const e = runtime.engine;
    return { retval: r.retval, r0: e.r0, executed: e.executed, exitPc: e.exitPc, r0Pc: e.r0Pc, regs: Array.from(e.regs.slice(2, 12)) };
  });
  const u8 = runtime.arena.u8;
  const mapBytes = [map.buckets, map.meta, map.values, map.state].map((r) => Buffer.from(u8.subarray(r.start, r.end)).toString('hex')).join('/');
  // Lookups are compiled on every hash map; updates and deletes on hash and per-CPU hash maps.
  const compiled = (id: number): boolean => id === 1 || (!s.type.startsWith('lru') && (id === 2 || id === 3));
  const helperCalls = spy?.mock.calls.filter(([id]) => compiled(id)).length ?? -1;
  return { runs, mapBytes, helperCalls };
}

function expectSame(s: Scenario): void {
  const jit = runScenario('jit', s);
  const interp = runScenario('interp', s);
  expect(jit.runs).toEqual(interp.runs);
  expect(jit.mapBytes).toBe(interp.mapBytes);
  expect(jit.helperCalls).toBe(0);
}

const fill = (n: number): Op[] => Array.from({ length: n }, (_, k) => ['update', k] as const);

describe('compiled hash-map lookups: as the helper, without it', () => {
  const sizes = [1, 2, 3, 4, 6, 8, 12, 13, 16, 24, 25, 40];
  for (const type of TYPES) {
    it.each(sizes)(`${type}, %i-byte keys: present, absent, deleted`, (keySize) => {
      expectSame({ type, keySize, maxEntries: 8, ops: [...fill(6), ['delete', 2], ['delete', 5]], lookups: [0, 1, 2, 3, 4, 5, 6, 9, 1, 0] });
    });
    it(`${type}: a full map, a one-bucket map, CPU 1, an unaligned key`, () => {
      expectSame({ type, keySize: 6, maxEntries: 5, ops: fill(9), lookups: [0, 3, 4, 5, 8, 2] });
      expectSame({ type, keySize: 4, maxEntries: 1, ops: fill(3), lookups: [0, 1, 2, 0] });
      expectSame({ type, keySize: 13, maxEntries: 8, ops: fill(4), lookups: [1, 3, 7], cpu: 1 });
      expectSame({ type, keySize: 8, maxEntries: 8, ops: fill(4), lookups: [1, 3, 7], skew: 3 });
    });
    it(`${type}: lookup, delete from the program, lookup again`, () => {
      expectSame({ type, keySize: 3, maxEntries: 8, ops: fill(5), lookups: [1, 1, 4, 6], program: 'delete' });
    });
    it.each([0, 1, 2, 3, 4, 5, -1])(`${type}: update from the program (flags %i), then lookup`, (flags) => {
      expectSame({ type, keySize: 6, maxEntries: 6, ops: fill(4), lookups: [1, 5, 1, 6, 7, 8, 9, 2, 10], program: 'update', flags });
      expectSame({ type, keySize: 16, maxEntries: 2, ops: [], lookups: [1, 2, 1, 3, 2, 1], program: 'update', flags, skew: 1 });
      expectSame({ type, keySize: 5, maxEntries: 4, ops: fill(2), lookups: [1, 2, 1, 3, 3], program: 'update', flags, cpu: 1 });
    });
  }

  it(`the largest key compiled (${MAX_WASM_KEY} bytes)`, () => {
    expectSame({ type: 'hash', keySize: MAX_WASM_KEY, maxEntries: 4, ops: fill(3), lookups: [0, 2, 3] });
  });

  it('a larger key goes through the helper, with the same outcome', () => {
    const s: Scenario = { type: 'hash', keySize: MAX_WASM_KEY + 4, maxEntries: 4, ops: fill(3), lookups: [0, 3] };
    const jit = runScenario('jit', s);
    expect(jit).toEqual({ ...runScenario('interp', s), helperCalls: 2 });
  });
});

describe('property: random key sets and operations, the JIT path == the JS map', () => {
  it('agrees on r0, registers, counts and map bytes', () => {
    const scenario = fc.record({
      type: fc.constantFrom(...TYPES),
      keySize: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constantFrom(24, 28, 33, 48, 64)),
      maxEntries: fc.integer({ min: 1, max: 12 }),
      ops: fc.array(fc.tuple(fc.constantFrom('update' as const, 'update' as const, 'delete' as const), fc.integer({ min: 0, max: 15 })), { maxLength: 30 }),
      lookups: fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 6 }),
      cpu: fc.integer({ min: 0, max: 1 }),
      skew: fc.integer({ min: 0, max: 7 }),
      program: fc.constantFrom('lookup' as const, 'delete' as const, 'update' as const),
      flags: fc.constantFrom(0, 0, 1, 2, 4),
    });
    fc.assert(fc.property(scenario, (s) => expectSame(s)), { numRuns: 100 });
  });
});
