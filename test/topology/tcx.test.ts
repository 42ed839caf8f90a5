/**
 * Several TC programs on one hook, as tcx runs them (tcx_run, tcx_action_code): in order; a
 * program returning TC_ACT_UNSPEC hands the packet to the next; the first other verdict ends
 * the chain, and only TC_ACT_OK, TC_ACT_SHOT and TC_ACT_REDIRECT mean something — STOLEN,
 * PIPE and the rest let the packet through (no legacy filter follows).
 */
import { describe, expect, it } from 'vitest';
import { runFixtureTopology } from '../support/topology-fixture.js';

/** peer (10.0.0.9) → h (10.0.0.N), UDP, a valid IPv4 header checksum. */
function frame(n: number): Uint8Array {
  const f = new Uint8Array(60);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  f.set([0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 9, 10, 0, 0, n], 14);
  f.set([0x30, 0x39, 0x30, 0x39, 0, 26, 0, 0], 34);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += (f[i] << 8) | f[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  f[24] = (~sum >> 8) & 0xff;
  f[25] = ~sum & 0xff;
  return f;
}

describe('tcx: programs on one hook', () => {
  it('run in order; UNSPEC hands over; SHOT drops; STOLEN, PIPE and OK let the packet through', async () => {
    const run = await runFixtureTopology('tcx', [frame(1), frame(2), frame(3), frame(4)]);
    expect(run.counters['h/eth0']['tc-ingress']).toEqual({ TC_ACT_SHOT: 1, TC_ACT_UNSPEC: 3, TC_ACT_STOLEN: 1, TC_ACT_PIPE: 1, TC_ACT_OK: 1 });
    expect(run.dropped).toEqual([expect.stringMatching(/^h\/eth0 tc-ingress: program first \(tc_first\) returned TC_ACT_SHOT at pc \d+/)]);
    expect(run.delivered).toEqual(['h/eth0 src 2:0:0:0:0:1', 'h/eth0 src 2:0:0:0:0:1', 'h/eth0 src 2:0:0:0:0:1']);
  });
});
