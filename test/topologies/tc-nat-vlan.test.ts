/**
 * topologies/tc-nat-vlan: tc_wan_egress (SNAT + VLAN push) and tc_wan_ingress (VLAN pop, rate
 * limit, reverse NAT) on the gateway's WAN port, with an XDP reflector behind it.
 *
 * In xdplab, the whole topology over its capture: each packet's egress and ingress outcome as
 * its comment names it (counted by nat_stats), every frame on the WAN wire tagged with VLAN 7
 * and translated with valid checksums, every answer delivered to the PC that asked with its
 * address and port restored. Against the kernel: both programs on one packet of every kind.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PacketSink } from '../../src/net/recorder.js';
import { testRun } from '../../src/hooks/test-run.js';
import { loadTopology } from '../../src/topology/load.js';
import { runTraffic } from '../../src/topology/run.js';
import { KernelRecord } from '../support/kernel-record.js';
import {
  expectSameWholeCapture, expectSameMaps, expectSameRuns, hex, ipv4HeaderValid, ipv4L4Valid, kernelSide, loadObject, objectPath,
  readCapture, scenarioCollection, scenarioDir, tableFromCapture, tally, xdplabEntries, xdplabSide, type MapView,
} from './support.js';

const SCENARIO = 'tc-nat-vlan';
const OBJECT = 'nat.bpf.o';
/** nat.bpf.c's enum nat_outcome, in order. */
const OUTCOMES = [
  'EG_SNAT_NEW', 'EG_SNAT', 'EG_PASS', 'EG_DROP_UNSUPPORTED', 'EG_DROP_NO_PORT', 'EG_DROP_MALFORMED', 'EG_DROP_VLAN',
  'IN_DNAT', 'IN_PASS', 'IN_DROP_VLAN', 'IN_DROP_RATE', 'IN_DROP_MALFORMED',
];
/** What the README counts for the capture (the two STACK_* packets never reach TC). */
const EXPECTED = {
  EG_SNAT_NEW: 25, EG_SNAT: 210, EG_PASS: 66, EG_DROP_UNSUPPORTED: 7, IN_DNAT: 107, IN_PASS: 38, IN_DROP_RATE: 156,
  STACK_LOCAL: 2, STACK_TTL_EXCEEDED: 1,
};
const NAT_ADDR = 'c6336401'; // 198.51.100.1
const WAN_VID = 7;

const capture = readCapture(SCENARIO);

interface Seen {
  nic: string;
  frame: Uint8Array;
}

/** Runs the topology and keeps every frame put on a wire and every one delivered. */
async function runScenario(): Promise<{ tx: Seen[]; delivered: Seen[]; stats: Record<string, number> }> {
  const tx: Seen[] = [];
  const delivered: Seen[] = [];
  const sink: PacketSink = {
    tx: (nic, frame) => tx.push({ nic: nic.id, frame: frame.slice() }),
    delivered: (nic, frame) => delivered.push({ nic: nic.id, frame: frame.slice() }),
    dropped: () => {},
  };
  const topology = loadTopology(path.join(scenarioDir(SCENARIO), 'topology.yaml'), sink);
  await runTraffic(topology);
  const nat = scenarioCollection(topology, SCENARIO, OBJECT);
  const counts = xdplabEntries(nat.map('nat_stats')).map((e) => Number(Buffer.from(e.value!, 'hex').readBigUInt64LE(0)));
  const stats = Object.fromEntries(OUTCOMES.map((o, i) => [o, counts[i]]).filter(([, n]) => n));
  return { tx, delivered, stats };
}

describe('tc-nat-vlan: the topology over its capture (xdplab)', () => {
  it('the capture holds what the README says it holds', () => {
    expect(capture.length).toBe(311);
    expect(tally(capture)).toEqual(EXPECTED);
  });

  it('translates, tags, limits and restores each packet as its comment says', async () => {
    const { tx, delivered, stats } = await runScenario();
    const { STACK_LOCAL, STACK_TTL_EXCEEDED, ...tcOutcomes } = EXPECTED;
    void STACK_LOCAL;
    void STACK_TTL_EXCEEDED;
    expect(stats).toEqual(tcOutcomes);

    // On the WAN wire: tagged with the provider's VLAN; IPv4 from the NAT address, checksums valid.
    const wan = tx.filter((s) => s.nic === 'gw/wan0');
    expect(wan.length).toBe(EXPECTED.EG_SNAT_NEW + EXPECTED.EG_SNAT + EXPECTED.EG_PASS);
    const bad: string[] = [];
    for (const [i, { frame }] of wan.entries()) {
      const tpid = (frame[12] << 8) | frame[13];
      const vid = ((frame[14] << 8) | frame[15]) & 0xfff;
      if (tpid !== 0x8100 || vid !== WAN_VID) bad.push(`wan #${i}: tag ${tpid.toString(16)} vid ${vid}`);
      if (((frame[16] << 8) | frame[17]) !== 0x0800) continue;
      if (hex(frame.subarray(30, 34)) !== NAT_ADDR) bad.push(`wan #${i}: source ${hex(frame.subarray(30, 34))}`);
      if (!ipv4HeaderValid(frame, 18) || !ipv4L4Valid(frame, 18)) bad.push(`wan #${i}: checksum`);
    }
    // The reflector's answers that got through: untagged again, to a PC's own address.
    const toPcs = delivered.filter((s) => s.nic === 'pc1/eth0' || s.nic === 'pc2/eth0');
    expect(toPcs.length).toBe(EXPECTED.IN_DNAT + EXPECTED.IN_PASS);
    for (const [i, { nic, frame }] of toPcs.entries()) {
      if (((frame[12] << 8) | frame[13]) !== 0x0800) continue;
      const dst = [...frame.subarray(30, 34)].join('.');
      if (dst !== (nic === 'pc1/eth0' ? '10.0.0.10' : '10.0.0.20')) bad.push(`${nic} #${i}: destination ${dst}`);
      if (!ipv4HeaderValid(frame, 14) || !ipv4L4Valid(frame, 14)) bad.push(`${nic} #${i}: checksum`);
    }
    expect(bad).toEqual([]);
  });
});

const record = KernelRecord.for(import.meta.url);

describe('tc-nat-vlan: xdplab agrees with the kernel (BPF_PROG_TEST_RUN)', () => {
  it('tc_wan_egress: every packet of the capture, in order, then the mappings and counters', () => {
    // (Ingress is left out here: its rate limit reads bpf_ktime_get_ns, the kernel's real clock.)
    const maps: [string, MapView][] = [['nat_out', 'entries'], ['nat_in', 'entries'], ['nat_stats', 'entries']];
    expect(expectSameWholeCapture(record, SCENARIO, OBJECT, 'tc_wan_egress', capture, [], maps)).toBe(311);
  });


  const kernel = record.object(objectPath(SCENARIO, OBJECT));

  it('tc_wan_egress, then tc_wan_ingress on what it sent, with the same mappings', () => {
    const { runtime, collection } = loadObject(SCENARIO, OBJECT);
    const xdplab = xdplabSide(runtime, collection);
    const kernelRuns = kernelSide(kernel);
    // Egress sees frames as the gateway forwards them: one of every kind the capture holds.
    const egress = tableFromCapture(capture, (p) => p.labels[0].startsWith('EG_'))
      .map((p) => ({ name: `${p.labels[0]}: ${p.what}`, data: p.frame }));
    expectSameRuns('tc_wan_egress', egress, xdplab, kernelRuns);
    expectSameMaps(collection, kernel, [['nat_out', 'entries'], ['nat_in', 'entries'], ['nat_stats', 'entries']]);
    // Ingress: what the reflector answers to each translated frame, on VLAN 7 (a test run
    // leaves the tag in the frame, so vlan_accept reads and pops it in band).
    // A second copy makes them, so the counters compared stay those of the runs on both sides.
    const mirror = loadObject(SCENARIO, 'mirror.bpf.o');
    const gateway = loadObject(SCENARIO, OBJECT);
    const answers = egress.flatMap((c) => {
      const sent = testRun(gateway.runtime, gateway.collection.program('tc_wan_egress'), { data: c.data });
      if (sent.retval !== 0) return [];
      const tagged = new Uint8Array(sent.dataOut.length + 4);
      tagged.set(sent.dataOut.subarray(0, 12));
      tagged.set([0x81, 0x00, 0, WAN_VID], 12);
      tagged.set(sent.dataOut.subarray(12), 16);
      const answer = testRun(mirror.runtime, mirror.collection.program('xdp_mirror'), { data: tagged });
      return answer.retval === 3 ? [{ name: `answer to ${c.name}`, data: answer.dataOut.slice() }] : [];
    });
    expect(answers.length).toBeGreaterThan(10);
    expectSameRuns('tc_wan_ingress', answers, xdplab, kernelRuns);
    expectSameMaps(collection, kernel, [['nat_stats', 'entries']]);
    const dnat = xdplabEntries(collection.map('nat_stats'))[OUTCOMES.indexOf('IN_DNAT')];
    expect(Number(Buffer.from(dnat.value!, 'hex').readBigUInt64LE(0))).toBeGreaterThan(5);
  });
});
