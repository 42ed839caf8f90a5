/**
 * No process-wide state: two identical runtimes in one process give identical results —
 * socket cookies, PRNG draws, compiled code and its statistics — whatever ran before them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TcHook } from '../../src/hooks/tc.js';
import { testRun } from '../../src/hooks/test-run.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import type { EngineKind } from '../../src/vm/engine.js';
import type { JitEngine } from '../../src/vm/jit/jit-engine.js';
import { udp4 } from '../support/packets.js';
import { repoRoot } from '../support/paths.js';

const load = (runtime: Runtime, object: string): Collection => {
  const file = path.join(repoRoot, object);
  return Collection.load(runtime, loadCollectionSpec(new Uint8Array(readFileSync(file)), file));
};

/** Three test runs of a program that asks for its socket's cookie: the cookies, and what the runs returned. */
function cookies(engine: EngineKind): unknown {
  const runtime = new Runtime({ engine });
  const hook = new TcHook(runtime);
  const program = load(runtime, 'test/fixtures/bpf/tc-meta.bpf.o').program('cgroup_sock');
  return [0, 1, 2].map(() => {
    const r = hook.testRun(program, { data: udp4() });
    return { cookie: r.skb.sk?.cookie, retval: r.retval, ctx: Buffer.from(r.ctxOut).toString('hex') };
  });
}

describe('two identical runtimes in one process', () => {
  it.each(['jit', 'interp'] as const)('give the same socket cookies, run for run (%s)', (engine) => {
    const first = cookies(engine);
    expect(cookies(engine)).toEqual(first);
    expect((first as { cookie: number }[]).map((r) => r.cookie)).toEqual([0x1000, 0x1001, 0x1002]);
  });

  it('draw the same random numbers and compile alike, each counting its own compilation', () => {
    const run = (): unknown => {
      const runtime = new Runtime({ engine: 'jit', seed: 7 });
      const collection = load(runtime, 'topologies/l4-lb/lb.bpf.o');
      const data = new Uint8Array(64);
      data.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45]);
      const result = testRun(runtime, collection.program('xdp_lb'), { data });
      const { images, fallbacks } = (runtime.engine as JitEngine).compileStats;
      return { retval: result.retval, dataOut: Buffer.from(result.dataOut).toString('hex'), images, fallbacks, next: runtime.prandomU32() };
    };
    const first = run();
    expect(run()).toEqual(first);
    expect((first as { images: number }).images).toBeGreaterThan(0);
  });
});

describe('XDPLAB_ENGINE', () => {
  it('is read when a runtime is made, and a value it does not know is an error', async () => {
    const saved = process.env.XDPLAB_ENGINE;
    try {
      process.env.XDPLAB_ENGINE = 'interp';
      expect(new Runtime().engineName).toBe('interp');
      process.env.XDPLAB_ENGINE = 'jit';
      expect(new Runtime().engineName).toBe('jit');
      process.env.XDPLAB_ENGINE = 'foo';
      expect(() => new Runtime()).toThrow('XDPLAB_ENGINE=foo: unknown engine (jit or interp)');
      expect(new Runtime({ engine: 'interp' }).engineName).toBe('interp'); // an engine named in the options wins
    } finally {
      if (saved === undefined) delete process.env.XDPLAB_ENGINE;
      else process.env.XDPLAB_ENGINE = saved;
    }
  });
});
