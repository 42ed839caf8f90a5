// bpf_tail_call through a prog array the user changes between runs, in both engines: a slot
// pointed at another program, emptied (falls through, r0 untouched), and the chain stopped by
// MAX_TAIL_CALL_CNT (33) — the fixture rt-tailcall.bpf.c, the maps read back from the user side.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testRun } from '../../src/hooks/test-run.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { repoRoot } from '../support/conformance.js';
import { XDP_ABORTED, XDP_PASS, XDP_TX } from '../../src/uapi/bpf.js';

const OBJECT = path.join(repoRoot, 'test', 'fixtures', 'bpf', 'rt-tailcall.bpf.o');

const u32 = (v: number): Uint8Array => new Uint8Array(new Uint32Array([v]).buffer);
const u64At = (b: Uint8Array | undefined): number => Number(new DataView(b!.buffer, b!.byteOffset).getBigUint64(0, true));

function load(engine: 'jit' | 'interp') {
  const runtime = new Runtime({ engine, perfReaders: false });
  const c = Collection.load(runtime, loadCollectionSpec(new Uint8Array(readFileSync(OBJECT)), OBJECT));
  const data = new Uint8Array(64);
  return {
    run: (name: string) => testRun(runtime, c.program(name), { data }).retval,
    hits: (slot: number) => u64At(c.map('hits').lookup(u32(slot))),
    jmp: c.map('jmp'),
    id: (name: string) => c.program(name).id,
  };
}

describe.each(['jit', 'interp'] as const)('prog array slots changed between runs (%s)', (engine) => {
  it('follows a slot re-pointed at another program, then falls through once it is emptied', () => {
    const t = load(engine);
    expect(t.run('entry')).toBe(XDP_TX); // entry → stage2
    t.jmp.update(u32(1), u32(t.id('self_loop')));
    expect(t.run('entry')).toBe(XDP_PASS); // entry → self_loop, 33 tail calls in all: 33 runs of self_loop
    expect(t.hits(2)).toBe(33);
    t.jmp.delete(u32(1));
    expect(t.run('entry')).toBe(XDP_ABORTED); // the empty slot falls through
    t.jmp.update(u32(1), u32(t.id('stage2')));
    expect(t.run('entry')).toBe(XDP_TX);
    expect([t.hits(0), t.hits(1)]).toEqual([4, 2]);
    // A refused update (no such program: -EBADF) or delete (empty slot: -ENOENT) changes nothing.
    expect(() => t.jmp.update(u32(1), u32(9999))).toThrow();
    expect(() => t.jmp.delete(u32(3))).toThrow();
    expect(() => t.jmp.update(u32(4), u32(t.id('stage2')))).toThrow();
    expect(t.run('entry')).toBe(XDP_TX);
    expect(t.jmp.lookup(u32(1))).toEqual(u32(t.id('stage2')));
  });

  it('stops a self tail call at 33 on every run, the count starting afresh', () => {
    const t = load(engine);
    for (let i = 1; i <= 3; i++) {
      expect(t.run('self_loop')).toBe(XDP_PASS);
      expect(t.hits(2)).toBe(34 * i);
    }
  });

  it('a slot re-pointed at its own program from entry counts the entry run too', () => {
    const t = load(engine);
    t.jmp.update(u32(1), u32(t.id('entry')));
    // entry calls itself: 1 run + 33 tail calls, then the 34th falls through to XDP_ABORTED.
    expect(t.run('entry')).toBe(XDP_ABORTED);
    expect(t.hits(0)).toBe(34);
  });
});
