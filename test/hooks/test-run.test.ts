/**
 * BPF_PROG_TEST_RUN's duration is the program's run (issue 10): `prog run` without `repeat`
 * reported 6–27 ms, the JIT compiling the program (and V8 its code) inside the timed run,
 * where the kernel reports about a microsecond. Every program is compiled, instantiated and
 * entered once before the clock starts; the check is relative, not a timed benchmark: a run
 * that compiled would take at least the compile time, which is a hundred times the run.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testRun } from '../../src/hooks/test-run.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import type { JitEngine } from '../../src/vm/jit/jit-engine.js';
import { repoRoot } from '../support/conformance.js';

const CASES: Array<[string, string, number]> = [
  ['topologies/edge-firewall/firewall.bpf.o', 'xdp_firewall', 64],
  ['topologies/l4-lb/lb.bpf.o', 'xdp_lb', 64], // tail calls: every program of the chain compiled first
  ['topologies/tc-nat-vlan/nat.bpf.o', 'tc_wan_ingress', 64],
];

describe('test run: the duration leaves compilation out', () => {
  it.each(CASES)('%s %s', (object, name, size) => {
    const file = path.join(repoRoot, object);
    const runtime = new Runtime({ engine: 'jit' });
    const collection = Collection.load(runtime, loadCollectionSpec(new Uint8Array(readFileSync(file)), file));
    const program = collection.program(name);
    const compileStats = (runtime.engine as JitEngine).compileStats;
    const before = { ...compileStats };
    const data = new Uint8Array(size);
    data.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45]);
    const result = testRun(runtime, program, { data });
    const compiledMs = compileStats.ms - before.ms;
    expect(compileStats.images).toBeGreaterThan(before.images); // compiled by this test run
    // A run that compiled inside the clock would take at least the compile time (no margin
    // beyond that: on a loaded machine the first run's own JavaScript can be slow too).
    expect(result.durationNs).toBeLessThan(compiledMs * 1e6);
  });

  it('prepareAll leaves nothing to compile for the run itself', () => {
    const file = path.join(repoRoot, 'topologies/l4-lb/lb.bpf.o');
    const runtime = new Runtime({ engine: 'jit' });
    const collection = Collection.load(runtime, loadCollectionSpec(new Uint8Array(readFileSync(file)), file));
    runtime.prepareAll();
    const compileStats = (runtime.engine as JitEngine).compileStats;
    const images = compileStats.images;
    expect(images).toBeGreaterThan(0);
    testRun(runtime, collection.program('xdp_lb'), { data: new Uint8Array(64) });
    expect(compileStats.images).toBe(images);
  });
});
