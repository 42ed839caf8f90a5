/**
 * Tail calls that stay in wasm (src/vm/jit/tail-call.ts): the JIT enters the target through the
 * engine's program table, and every outcome — r0, the verdict's source, maps, instruction
 * counts, faults and budgets — is the interpreter's. The helper (ProgArrayMap.programIdAt) is
 * not asked on that path; it still is for what the compiled code leaves to it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { testRun } from '../../src/hooks/test-run.js';
import { ProgArrayMap } from '../../src/maps/prog-array.js';
import { Collection } from '../../src/runtime/collection.js';
import { verdictSource } from '../../src/runtime/program.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { MAX_TAIL_CALL_CNT } from '../../src/uapi/bpf.js';
import { Coverage } from '../../src/vm/coverage.js';
import type { EngineKind } from '../../src/vm/engine.js';
import { VmFault } from '../../src/vm/fault.js';
import { repoRoot } from '../support/conformance.js';

const fixture = (name: string): string => path.join(repoRoot, 'test', 'fixtures', 'bpf', name);
const u32 = (n: number): Uint8Array => Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24);
const frame = new Uint8Array(64).fill(0, 0).map((_, i) => (i === 12 ? 8 : 0));

function load(engine: EngineKind, object: string, budget?: number) {
  const runtime = new Runtime({ engine, perfReaders: false, budget });
  const collection = Collection.load(runtime, loadCollectionSpec(new Uint8Array(readFileSync(fixture(object))), fixture(object)));
  return { runtime, collection };
}

/** A run's observable outcome, or its fault's. */
function outcome(engine: EngineKind, object: string, program: string, opts: { budget?: number; counts?: string } = {}) {
  const { runtime, collection } = load(engine, object, opts.budget);
  const hits = (): string[] => [...collection.map(opts.counts ?? 'hits').entries()].map(([, v]) => Buffer.from(v).toString('hex'));
  try {
    const r = testRun(runtime, collection.program(program), { data: frame });
    const e = runtime.engine;
    return { retval: r.retval, executed: e.executed, tailCalls: e.tailCalls, source: verdictSource(e), hits: hits() };
  } catch (err) {
    if (!(err instanceof VmFault)) throw err;
    return { fault: err.reason, pc: err.pc, program: err.program, executed: runtime.engine.executed, hits: hits() };
  }
}

/** Both engines, the same outcome; the JIT's, with how often it asked the helper's prog array. */
function both(object: string, program: string, opts: Parameters<typeof outcome>[3] = {}) {
  const interp = outcome('interp', object, program, opts);
  const spy = vi.spyOn(ProgArrayMap.prototype, 'programIdAt');
  const jit = outcome('jit', object, program, opts);
  const helperCalls = spy.mock.calls.length;
  spy.mockRestore();
  expect(jit).toEqual(interp);
  return { ...jit, helperCalls };
}

afterEach(() => vi.restoreAllMocks());

describe('tail calls in wasm', () => {
  it('a chain of four programs: in wasm, not through the helper', () => {
    const out = both('../../../bench/programs/tailcall.bpf.o', 'xdp_chain', { counts: 'hops' });
    expect(out).toMatchObject({ retval: 2, tailCalls: 3, helperCalls: 0 });
  });

  it('a program calling itself stops after exactly 33 tail calls', () => {
    const out = both('rt-tailcall.bpf.o', 'self_loop');
    expect(out).toMatchObject({ retval: 2, tailCalls: MAX_TAIL_CALL_CNT, helperCalls: 0 });
    expect(out.hits![2]).toBe((MAX_TAIL_CALL_CNT + 1).toString(16).padEnd(16, '0'));
  });

  it('an empty slot and an index past max_entries fall through, and use none of the 33', () => {
    for (const program of ['empty_burn', 'empty_32', 'range_burn']) {
      expect(both('rt-tailcall-count.bpf.o', program)).toMatchObject({ retval: 7, tailCalls: 1, helperCalls: 0 });
    }
    expect(both('rt-tailcall.bpf.o', 'entry')).toMatchObject({ retval: 3, tailCalls: 1, helperCalls: 0 });
  });

  it('a chain across subprograms: links that call functions before their tail call', () => {
    const out = both('rt-tailcall-count.bpf.o', 'sub_chain');
    expect(out).toMatchObject({ retval: 7, tailCalls: 2, helperCalls: 0 });
    expect(out.source).toMatchObject({ program: 'target' });
  });

  it('a slot the user API updates or deletes between runs: the next run follows it', () => {
    for (const engine of ['interp', 'jit'] as const) {
      const { runtime, collection } = load(engine, 'rt-tailcall-count.bpf.o');
      const jmp = collection.map('jmp');
      const run = (): number => testRun(runtime, collection.program('range_burn'), { data: frame }).retval;
      expect(run()).toBe(7); // slot 1: target
      jmp.update(u32(1), u32(collection.program('link2').id));
      expect(run()).toBe(4); // slot 1: link2, which tail-calls slot 1 — itself — until the 34th fails
      expect(verdictSource(runtime.engine).program).toBe('link2');
      expect(runtime.engine.tailCalls).toBe(MAX_TAIL_CALL_CNT);
      jmp.delete(u32(1));
      expect(run()).toBe(3); // empty: falls through
      expect(runtime.engine.tailCalls).toBe(0);
      jmp.update(u32(1), u32(collection.program('target').id));
      expect(run()).toBe(7);
      expect(verdictSource(runtime.engine).program).toBe('target');
    }
  });

  it('a fault in a tail-called program names it, at its pc, with the count', () => {
    const out = both('rt-tailcall-count.bpf.o', 'sub_chain', { budget: 30 });
    expect(out).toMatchObject({ fault: 'BUDGET' });
  });

  it('every budget stops both engines at the same pc with the same count', () => {
    for (const budget of [5, 12, 40, 90, 200, 400]) both('rt-tailcall.bpf.o', 'self_loop', { budget });
  });

  it('a test run with repeat loops inside wasm through the chain, with the maps of n runs', () => {
    const outs = (['interp', 'jit'] as const).map((engine) => {
      const { runtime, collection } = load(engine, 'rt-tailcall.bpf.o');
      const run = vi.spyOn(runtime.engine, 'run');
      const r = testRun(runtime, collection.program('entry'), { data: frame, repeat: 50 });
      const self = testRun(runtime, collection.program('self_loop'), { data: frame, repeat: 3 });
      const hits = [...collection.map('hits').entries()].map(([, v]) => Buffer.from(v).toString('hex'));
      return { retval: r.retval, self: self.retval, hits, tailCalls: runtime.engine.tailCalls, source: verdictSource(runtime.engine), runs: run.mock.calls.filter(([image]) => image.name !== 'warm_up').length };
    });
    expect(outs[1].runs).toBe(0); // every run inside the JIT's repeat loop
    expect(outs[0].runs).toBe(53);
    expect({ ...outs[1], runs: 0 }).toEqual({ ...outs[0], runs: 0 });
    expect(outs[1].hits.slice(0, 3)).toEqual([50, 50, 3 * 34].map((n) => n.toString(16).padStart(2, '0').padEnd(16, '0')));
  });

  it('with coverage on, the JIT interprets: every link counted', () => {
    const { runtime, collection } = load('jit', 'rt-tailcall.bpf.o');
    runtime.engine.coverage = new Coverage();
    expect(testRun(runtime, collection.program('entry'), { data: frame }).retval).toBe(3);
    expect(runtime.engine.coverage.all.map((c) => c.image.name).filter((n) => n !== 'warm_up').sort()).toEqual(['entry', 'stage2']);
  });
});
