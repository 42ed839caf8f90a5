/**
 * The same object, with the same tables, in the running kernel (bpftool prog loadall, map
 * updates, BPF_PROG_TEST_RUN over every frame in one process): the same verdict for every
 * packet, the same rule deciding it (read back from fw_log), the same counters (fw_hits). The
 * kernel's answers are kept in test/fixtures/kernel/firewall/kernel.json (test/support/
 * kernel-record.ts), so a machine without root checks xdplab against them; as root the live
 * kernel answers and must equal the record too. Record: as root,
 * `XDPLAB_RECORD_KERNEL=1 npx vitest run test/firewall/kernel.test.ts`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileRules } from '../../src/firewall/compile.js';
import { FIREWALL_OBJECT, loadFirewall, type FirewallHook } from '../../src/firewall/firewall.js';
import { FW_DECISION_DEFAULT, FW_DECISION_MALFORMED, FW_DECISION_NON_IP, FW_LOG_SIZE, FW_PROGRAMS } from '../../src/firewall/layout.js';
import type { Decision } from '../../src/firewall/tables.js';
import { ReplayInputError } from '../../src/hooks/replay.js';
import { readCaptureSync } from '../../src/pcap/reader.js';
import { KernelRecord, digest } from '../support/kernel-record.js';
import type { KernelMapEntry } from '../support/kernel-object.js';
import { repoRoot } from '../support/paths.js';
import { mixedFrames } from './packets.js';
import { referenceDecide } from './reference.js';
import { MIX_POOLS, MIX_RULES, randomRules } from './rule-sets.js';

const record = KernelRecord.for(import.meta.url);

const slotOf = (d: Decision): number =>
  d.by === 'rule' ? d.rule.index : d.by === 'default' ? FW_DECISION_DEFAULT : d.by === 'non-ip' ? FW_DECISION_NON_IP : FW_DECISION_MALFORMED;

const u32le = (hex: string, at = 0): number => Buffer.from(hex, 'hex').readUInt32LE(at);
const u64le = (hex: string, at: number): number => Number(Buffer.from(hex, 'hex').readBigUInt64LE(at));

/** fw_hits' non-zero slots as [slot, packets, bytes], CPUs summed. */
function hitsOf(entries: readonly KernelMapEntry[]): Array<[number, number, number]> {
  const out: Array<[number, number, number]> = [];
  for (const e of entries) {
    let packets = 0;
    let bytes = 0;
    for (let at = 0; at < e.value.length / 2; at += 16) {
      packets += u64le(e.value, at);
      bytes += u64le(e.value, at + 8);
    }
    if (packets) out.push([u32le(e.key), packets, bytes]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}

/** Run `frames` through the rules at `hook` in xdplab and in the kernel; compare packet by packet. */
function expectSameAsKernel(rulesText: string, frames: readonly Uint8Array[], hook: FirewallHook): number {
  const compiled = compileRules(rulesText, 'rules.yaml');
  const fw = loadFirewall(compiled, { hook });
  const ran: Uint8Array[] = [];
  const ours: Array<{ retval: number; slot: number }> = [];
  for (const f of frames) {
    try {
      const r = fw.run(f);
      ours.push({ retval: r.retval, slot: slotOf(r.decision) });
      ran.push(f);
    } catch (err) {
      if (!(err instanceof ReplayInputError)) throw err; // a frame the test run refuses: not sent to the kernel either
    }
  }
  expect(ran.length).toBeLessThanOrEqual(FW_LOG_SIZE);
  const kernel = record.object(FIREWALL_OBJECT);
  for (const [map, entries] of compiled.maps) kernel.updateMapMany(map, entries);
  // The program never changes a packet: its verdicts are kept, and that each output is its input.
  const runs = kernel.ask(`run ${FW_PROGRAMS[hook]} on ${ran.length} packets ${digest(...ran)}`, (k) =>
    k.runMany(FW_PROGRAMS[hook], ran).map((r, i) => ({ retval: r.retval, unchanged: Buffer.compare(r.dataOut, ran[i]) === 0 })));
  expect(runs.filter((r) => !r.unchanged)).toEqual([]);
  const logged = kernel.ask('fw_log', (k) => k.dumpMap('fw_log').slice(0, ran.length).map((e) => u32le(e.value)));
  const theirs = runs.map((r, i) => ({ retval: r.retval, slot: logged[i] }));
  const diffs = ours.flatMap((o, i) => (o.retval === theirs[i].retval && o.slot === theirs[i].slot ? [] : [`packet ${i + 1}: xdplab ${JSON.stringify(o)}, kernel ${JSON.stringify(theirs[i])}`]));
  expect(diffs).toEqual([]);
  // And both decide as the rules say (the reference evaluator).
  const direction = hook === 'tc-egress' ? 'egress' : 'ingress';
  const reference = ran.map((f) => {
    const d = referenceDecide(compiled.ruleSet, f, direction).decision;
    return d.by === 'rule' ? d.index : d.by === 'default' ? FW_DECISION_DEFAULT : d.by === 'non-ip' ? FW_DECISION_NON_IP : FW_DECISION_MALFORMED;
  });
  expect(theirs.map((t) => t.slot)).toEqual(reference);
  const ourHits = fw.tables.hits().filter((h) => h.packets).map((h): [number, number, number] => [slotOf(h.decision), h.packets, h.bytes]).sort((a, b) => a[0] - b[0]);
  expect(ourHits).toEqual(kernel.ask('fw_hits', (k) => hitsOf(k.dumpMap('fw_hits'))));
  return ran.length;
}

describe('the rules program in xdplab and in the kernel: same verdicts, same deciding rules, same counters', () => {
  it('examples/rules.yaml over pcaps/edge-firewall.pcapng (XDP)', () => {
    const capture = readCaptureSync(new Uint8Array(readFileSync(path.join(repoRoot, 'pcaps', 'edge-firewall.pcapng'))));
    const rules = readFileSync(path.join(repoRoot, 'examples', 'rules.yaml'), 'utf8');
    expect(expectSameAsKernel(rules, capture.records.map((r) => r.data), 'xdp')).toBe(593);
  });

  for (const hook of ['xdp', 'tc-ingress', 'tc-egress'] as const) {
    it(`a mix of 600 frames at ${hook}`, () => {
      expect(expectSameAsKernel(MIX_RULES, mixedFrames(600, 7, MIX_POOLS), hook)).toBeGreaterThan(550);
    });
  }

  it('300 random, overlapping rules over 1000 frames (XDP)', () => {
    const { text, pools } = randomRules(300, 23);
    expect(expectSameAsKernel(text, mixedFrames(1000, 29, pools), 'xdp')).toBeGreaterThan(950);
  });
});
