/**
 * bpf_redirect_neigh, bpf_redirect_peer and the socket lookups (helpers/tc-redirect.ts): the
 * verdicts a TC test run returns, in xdplab and the kernel (live as root, else its record); and in
 * the emulated network, neigh fills in the MAC header and peer enters the other end's ingress.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testRun } from '../../src/hooks/test-run.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { repoRoot } from '../support/conformance.js';
import { KernelRecord } from '../support/kernel-record.js';
import { runFixtureTopology } from '../support/topology-fixture.js';

const OBJECT = path.join(repoRoot, 'test', 'fixtures', 'bpf', 'tc-redirect.bpf.o');
/** An IPv4 UDP frame. */
const FRAME = Uint8Array.from([
  2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00,
  0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
  0, 9, 0, 9, 0, 8, 0, 0,
]);
const EXPECTED: Record<string, number> = {
  tc_neigh: 7, tc_neigh_nexthop: 7, tc_neigh_short: 2, tc_neigh_flags: 2, tc_peer: 7, tc_peer_flags: 2, tc_sk_lookup: 0, xdp_sk_lookup: 2,
};

const runtime = new Runtime();
const collection = Collection.load(runtime, loadCollectionSpec(new Uint8Array(readFileSync(OBJECT)), OBJECT));
const xdplab = (prog: string): number => testRun(runtime, collection.program(prog), { data: FRAME }).retval;

describe('TC redirect helpers and socket lookups', () => {
  it.each(Object.entries(EXPECTED))('%s returns %i in a test run', (prog, want) => {
    expect(xdplab(prog)).toBe(want);
  });

  describe('the kernel agrees', () => {
    const kernel = KernelRecord.for(import.meta.url).object(OBJECT);

    it.each(Object.keys(EXPECTED))('%s', (prog) => {
      expect(xdplab(prog)).toBe(kernel.mustRun(prog, { data: FRAME }).retval);
    });
  });
});

/** src (10.0.0.2) → dst (10.0.1.2) through r, addressed to r/eth0's MAC: UDP (17) or TCP (6). */
function routed(proto: number): Uint8Array {
  const f = new Uint8Array(60);
  f.set([2, 0, 0, 0, 1, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  f.set([0x45, 0, 0, 46, 0, 0, 0, 0, 64, proto, 0, 0, 10, 0, 0, 2, 10, 0, 1, 2], 14);
  return f;
}

describe('TC redirects in the emulated network', () => {
  it('bpf_redirect_neigh leaves by the target with the neighbour\'s MAC header', async () => {
    const run = await runFixtureTopology('tc-redirect', [routed(17)]);
    expect(run.tx).toEqual(['r/eth1 src 2:0:0:0:1:3']);
    expect(run.delivered).toEqual(['dst/eth0 src 2:0:0:0:1:3']);
  });

  it('bpf_redirect_peer enters the ingress at the other end of the target\'s wire, untouched', async () => {
    const run = await runFixtureTopology('tc-redirect', [routed(6)]);
    expect(run.tx).toEqual([]);
    expect(run.counters['dst/eth0']).toBeDefined();
    expect(run.counters['r/eth1']).toBeUndefined();
  });
});
