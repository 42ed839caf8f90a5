/**
 * topologies/edge-firewall: xdp_firewall on a table of packets (one of every kind in the
 * scenario's capture) in xdplab and in the kernel (live as root, else its answers recorded in
 * test/fixtures/kernel/topologies/edge-firewall.json), with the topology's
 * blocklists and open ports: the same verdicts, bytes and counters. Then the whole capture in
 * xdplab, each packet held to the reason its comment names, and the totals the README states.
 */
import { describe, expect, it } from 'vitest';
import { testRun } from '../../src/hooks/test-run.js';
import { KernelRecord } from '../support/kernel-record.js';
import {
  copyEntries, copyEntriesToKernel, expectSameWholeCapture, expectSameMaps, expectSameRuns, hex, kernelSide, loadObject, loadScenario,
  objectPath, readCapture, scenarioCollection, tableFromCapture, tally, xdplabEntries, xdplabSide, type LabelledPacket,
} from './support.js';
import { XDP_DROP, XDP_PASS } from '../../src/uapi/bpf.js';

const SCENARIO = 'edge-firewall';
const OBJECT = 'firewall.bpf.o';
const PROGRAM = 'xdp_firewall';
const SEEDED = ['blocklist_v4', 'blocklist_v6', 'allowed_ports'];

/** firewall.bpf.c's enum fw_reason, in order. */
const REASONS = [
  'FW_PASS_ALLOWED', 'FW_PASS_ICMP', 'FW_PASS_NON_IP', 'FW_DROP_MALFORMED', 'FW_DROP_BLOCKLIST_V4', 'FW_DROP_BLOCKLIST_V6',
  'FW_DROP_PORT', 'FW_DROP_ICMP', 'FW_DROP_PROTO', 'FW_DROP_FRAGMENT',
];

/** What the README promises for the capture (XDP on edge/wan0). */
const EXPECTED = {
  FW_PASS_ALLOWED: 314, FW_PASS_ICMP: 47, FW_PASS_NON_IP: 10,
  FW_DROP_MALFORMED: 20, FW_DROP_BLOCKLIST_V4: 69, FW_DROP_BLOCKLIST_V6: 20, FW_DROP_PORT: 82, FW_DROP_ICMP: 8, FW_DROP_PROTO: 15, FW_DROP_FRAGMENT: 8,
};

/** Packets per reason so far, from the per-CPU counters. */
function counts(stats: ReturnType<typeof loadObject>['collection']): number[] {
  return xdplabEntries(stats.map('fw_stats')).map((e) => Number(Buffer.from(e.value!, 'hex').readBigUInt64LE(0)));
}

const capture = readCapture(SCENARIO);

describe('edge-firewall: the topology', () => {
  it('seeds the blocklists and open ports from topology.yaml', () => {
    const fw = scenarioCollection(loadScenario(SCENARIO), SCENARIO, OBJECT);
    expect(xdplabEntries(fw.map('blocklist_v4'))).toEqual([
      { key: '0f000000c6120000', value: '02000000' }, // 198.18.0.0/15 -> rule 2
      { key: '18000000cb007100', value: '01000000' }, // 203.0.113.0/24 -> rule 1
      { key: '20000000c0000242', value: '03000000' }, // 192.0.2.66/32 -> rule 3
    ]);
    expect(xdplabEntries(fw.map('blocklist_v6')).map((e) => e.key)).toEqual(['3000000020010db80bad00000000000000000000', '4000000020010db8deadbeef0000000000000000']);
    expect(xdplabEntries(fw.map('allowed_ports'))).toEqual([
      { key: '1900', value: '01000000' }, { key: '3500', value: '03000000' }, { key: '5000', value: '01000000' },
      { key: '7b00', value: '02000000' }, { key: 'bb01', value: '03000000' },
    ]);
  });

  it('the capture holds what the README says it holds', () => {
    expect(capture.length).toBe(593);
    expect(tally(capture)).toEqual(EXPECTED);
  });
});

describe('edge-firewall: xdp_firewall on the whole capture (xdplab)', () => {
  it('gives every packet the verdict and reason its comment names', () => {
    const topo = loadScenario(SCENARIO);
    const { runtime, collection } = loadObject(SCENARIO, OBJECT);
    copyEntries(scenarioCollection(topo, SCENARIO, OBJECT), collection, SEEDED);
    const program = collection.program(PROGRAM);
    let before = counts(collection);
    const wrong: string[] = [];
    for (const p of capture) {
      const r = testRun(runtime, program, { data: p.frame });
      const after = counts(collection);
      const reason = REASONS[after.findIndex((n, i) => n !== before[i])];
      before = after;
      const want = p.labels[0];
      const action = want.startsWith('FW_PASS') ? XDP_PASS : XDP_DROP;
      if (reason !== want || r.retval !== action) wrong.push(`#${p.index} ${p.what}: ${reason} ${r.verdict}, expected ${want}`);
      // The firewall only reads: what it passes leaves unchanged.
      if (hex(r.dataOut) !== hex(p.frame)) wrong.push(`#${p.index} ${p.what}: bytes changed`);
    }
    expect(wrong).toEqual([]);
    expect(Object.fromEntries(REASONS.map((r, i) => [r, before[i]]))).toEqual(EXPECTED);
  });

  it('prints a trace line for blocklist drops when log_drops is set', () => {
    const { runtime, collection } = loadObject(SCENARIO, OBJECT, { log_drops: 1 });
    copyEntries(scenarioCollection(loadScenario(SCENARIO), SCENARIO, OBJECT), collection, SEEDED);
    const v4 = capture.find((p) => p.labels[0] === 'FW_DROP_BLOCKLIST_V4' && p.what.includes('rule 2'))!;
    const v6 = capture.find((p) => p.labels[0] === 'FW_DROP_BLOCKLIST_V6' && p.what.includes('rule 102'))!;
    const trace = (p: LabelledPacket): string[] => testRun(runtime, collection.program(PROGRAM), { data: p.frame }).trace;
    expect(trace(v4)).toEqual([expect.stringMatching(/^edge-fw: drop 198\.1[89]\.\d+\.\d+ \(rule 2\)$/)]);
    expect(trace(v6)).toEqual(['edge-fw: drop 2001:0db8:dead:beef:0000:0000:0000:0001 (rule 102)']);
  });

  it('drops echo requests, and only them, when drop_icmp is set', () => {
    const { runtime, collection } = loadObject(SCENARIO, OBJECT, { drop_icmp: 1 });
    const run = (what: string): number => testRun(runtime, collection.program(PROGRAM), { data: capture.find((p) => p.what.startsWith(what))!.frame }).retval;
    expect(run('echo request')).toBe(XDP_DROP);
    expect(run('icmp6 echo request')).toBe(XDP_DROP);
    expect(run('echo reply')).toBe(XDP_PASS);
    expect(run('destination unreachable')).toBe(XDP_PASS);
    expect(run('icmp6 neighbour solicitation')).toBe(XDP_PASS);
  });
});

const record = KernelRecord.for(import.meta.url);

describe('edge-firewall: xdplab agrees with the kernel (BPF_PROG_TEST_RUN)', () => {
  const kernel = record.object(objectPath(SCENARIO, OBJECT));

  it('xdp_firewall: one packet of every kind in the capture, then the maps', () => {
    const seeded = scenarioCollection(loadScenario(SCENARIO), SCENARIO, OBJECT);
    const { runtime, collection } = loadObject(SCENARIO, OBJECT);
    copyEntries(seeded, collection, SEEDED);
    copyEntriesToKernel(seeded, kernel, SEEDED);
    const table = tableFromCapture(capture).map((p) => ({ name: `${p.labels[0]}: ${p.what}`, data: p.frame }));
    expect(table.length).toBeGreaterThan(50);
    expectSameRuns(PROGRAM, table, xdplabSide(runtime, collection), kernelSide(kernel));
    expectSameMaps(collection, kernel, [['fw_stats', 'entries'], ['blocklist_v4', 'entries'], ['blocklist_v6', 'entries'], ['allowed_ports', 'entries']]);
  });

  it('xdp_firewall: every packet of the capture, in order, then the counters', () => {
    expect(expectSameWholeCapture(record, SCENARIO, OBJECT, PROGRAM, capture, SEEDED, [['fw_stats', 'entries']])).toBe(593);
  });
});
