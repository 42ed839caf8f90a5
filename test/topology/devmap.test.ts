/**
 * A devmap entry's own program (SEC("xdp/devmap")): run on every frame redirected through the
 * entry, with xdp_md.egress_ifindex of the port it leaves by; XDP_PASS sends the frame as the
 * program left it, XDP_DROP drops it (recorded under the hook "xdp-devmap"). Broadcast runs
 * each entry's program on its own copy. A cpumap entry's program (SEC("xdp/cpumap")) runs on
 * the CPU the frame was sent to.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NULL_SINK } from '../../src/net/recorder.js';
import { loadTopology } from '../../src/topology/load.js';
import { repoRoot } from '../support/conformance.js';
import { runFixtureTopology } from '../support/topology-fixture.js';

/** src → r/eth0 with the given EtherType and a payload (60 bytes in all by default). */
function frame(etherType: number, length = 60): Uint8Array {
  const f = new Uint8Array(length);
  f.set([2, 0, 0, 0, 1, 2, 2, 0, 0, 0, 0, 2, etherType >> 8, etherType & 0xff]);
  f.fill(0x5a, 14);
  return f;
}

const run = (frames: Uint8Array[]) => runFixtureTopology('devmap', frames);

describe('devmap entry programs', () => {
  it('run before the frame leaves, with egress_ifindex, and pass it on rewritten', async () => {
    const { tx, dropped } = await run([frame(0x0800)]);
    expect(tx).toEqual(['r/eth1 src 2:0:0:0:0:3']);
    // (host a then drops it: addressed to r/eth0's MAC, not to a's)
    expect(dropped).toEqual(['a/eth0 stack: not addressed to this interface (PACKET_OTHERHOST)']);
  });

  it('drop what they drop, saying so', async () => {
    const { tx, dropped } = await run([frame(0x88b5)]);
    expect(tx).toEqual([]);
    expect(dropped).toEqual([expect.stringMatching(/^r\/eth1 xdp-devmap: program xdp_egress returned XDP_DROP at pc \d+ \(devmap-egress\.bpf\.c:\d+: .*\)$/)]);
  });

  it('run once per port on a broadcast, never on the excluded ingress port', async () => {
    const { tx } = await run([frame(0x88b6)]);
    expect(tx.sort()).toEqual(['r/eth1 src 2:0:0:0:0:3', 'r/eth2 src 2:0:0:0:0:4']);
  });

  it('a frame past 3520 bytes runs as a multi-buffer frame through both programs and leaves whole', async () => {
    const big = frame(0x0800, 9000);
    big[8999] = 0xee;
    const { tx, txLengths, counters } = await run([big]);
    expect(tx).toEqual(['r/eth1 src 2:0:0:0:0:3']);
    expect(txLengths).toEqual([9000]);
    expect(counters).toMatchObject({ 'r/eth0': { xdp: { XDP_REDIRECT: 1 } }, 'r/eth1': { 'xdp-devmap': { XDP_PASS: 1 } } });
  });

  it("a cpumap entry's program runs on the target CPU, and what it passes goes up the stack there", async () => {
    const { tx, delivered, counters } = await run([frame(0x88b7)]);
    expect(tx).toEqual([]);
    expect(delivered).toEqual(['r/eth0 src 2:0:0:0:0:c1']);
    expect(counters).toMatchObject({ 'r/eth0': { xdp: { XDP_REDIRECT: 1 }, 'xdp-cpumap': { XDP_PASS: 1 } } });
  });

  it('refuses, at its place in the file, an entry program the kernel would refuse (not xdp/devmap)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-devmap-bad-'));
    const text = readFileSync(path.join(repoRoot, 'test', 'fixtures', 'topologies', 'devmap', 'topology.yaml'), 'utf8')
      .replaceAll('../../bpf/', `${path.join(repoRoot, 'test', 'fixtures', 'bpf')}/`)
      .replace('{ key: 0, value: 3, program: egress }', '{ key: 0, value: 3, program: fwd }');
    writeFileSync(path.join(dir, 'topology.yaml'), text);
    expect(() => loadTopology(path.join(dir, 'topology.yaml'), NULL_SINK))
      .toThrow(/topology\.yaml:\d+:\d+: .*program fwd \(section xdp\) cannot run in a devmap entry/);
  });
});
