/**
 * What the compiled rules program decides, packet by packet — verdict, action and the rule
 * (index, name, line) that decided — equals what the reference evaluator (reference.ts, first
 * match over the parsed rules) decides: on the example rules over the edge firewall's capture,
 * on a mix of built frames at every hook, and on a few thousand rules.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFirewall, type FirewallHook } from '../../src/firewall/firewall.js';
import { parseRules, type RuleSet } from '../../src/firewall/schema.js';
import type { Decision } from '../../src/firewall/tables.js';
import { ReplayInputError } from '../../src/hooks/replay.js';
import { readCaptureSync } from '../../src/pcap/reader.js';
import { repoRoot } from '../support/paths.js';
import { frame, mixedFrames } from './packets.js';
import { MIX_POOLS, MIX_RULES, randomRules } from './rule-sets.js';
import { referenceDecide, type RefDecision } from './reference.js';

const EXAMPLE = path.join(repoRoot, 'examples', 'rules.yaml');
const exampleRules = (): RuleSet => parseRules(readFileSync(EXAMPLE, 'utf8'), 'examples/rules.yaml');

const asRef = (d: Decision): RefDecision => (d.by === 'rule' ? { by: 'rule', index: d.rule.index } : { by: d.by });

const PASS: Record<FirewallHook, string> = { xdp: 'XDP_PASS', 'tc-ingress': 'TC_ACT_OK', 'tc-egress': 'TC_ACT_OK' };
const DROP: Record<FirewallHook, string> = { xdp: 'XDP_DROP', 'tc-ingress': 'TC_ACT_SHOT', 'tc-egress': 'TC_ACT_SHOT' };

/** Run every frame the hook takes; each difference from the reference as a line. */
export function differences(rules: RuleSet, frames: readonly Uint8Array[], hook: FirewallHook): { ran: number; diffs: string[]; byRule: Map<string, number> } {
  const fw = loadFirewall(rules, { hook });
  const direction = hook === 'tc-egress' ? 'egress' : 'ingress';
  const diffs: string[] = [];
  const byRule = new Map<string, number>();
  let ran = 0;
  frames.forEach((f, i) => {
    let got;
    try {
      got = fw.run(f);
    } catch (err) {
      if (err instanceof ReplayInputError) return; // a frame the hook's test run refuses (too short for TC)
      throw err;
    }
    ran++;
    const want = referenceDecide(rules, f, direction);
    const key = want.decision.by === 'rule' ? `rule ${want.decision.index + 1}` : want.decision.by;
    byRule.set(key, (byRule.get(key) ?? 0) + 1);
    const verdict = want.action === 'allow' ? PASS[hook] : DROP[hook];
    const d = got.decision;
    if (d.by === 'rule') expect(d.rule).toBe(rules.rules[d.rule.index]);
    const gotLine = JSON.stringify({ decision: asRef(d), action: got.action, verdict: got.verdict });
    const wantLine = JSON.stringify({ decision: want.decision, action: want.action, verdict });
    if (gotLine !== wantLine) diffs.push(`packet ${i + 1}: got ${gotLine}, reference ${wantLine}`);
  });
  return { ran, diffs, byRule };
}

describe('the rules program decides as the reference evaluator', () => {
  it('examples/rules.yaml over pcaps/edge-firewall.pcapng, packet by packet (XDP)', () => {
    const capture = readCaptureSync(new Uint8Array(readFileSync(path.join(repoRoot, 'pcaps', 'edge-firewall.pcapng'))));
    const rules = exampleRules();
    const { ran, diffs, byRule } = differences(rules, capture.records.map((r) => r.data), 'xdp');
    expect(diffs).toEqual([]);
    expect(ran).toBe(capture.records.length);
    // Every rule, the default, non-IP and malformed decide some packet: the test sees them all.
    for (const k of [...rules.rules.map((r) => `rule ${r.index + 1}`), 'default', 'non-ip', 'malformed']) expect(byRule.get(k), k).toBeGreaterThan(0);
  });

  for (const hook of ['xdp', 'tc-ingress', 'tc-egress'] as const) {
    it(`a mix of 600 frames at ${hook}`, () => {
      const rules = parseRules(MIX_RULES, 'mix.yaml');
      const { ran, diffs, byRule } = differences(rules, mixedFrames(600, 7, MIX_POOLS), hook);
      expect(diffs).toEqual([]);
      expect(ran).toBeGreaterThan(550);
      expect(byRule.size).toBeGreaterThan(8);
    });
  }

  it('400 random, overlapping rules over a mix of 800 frames (XDP and TC egress)', () => {
    const { text, pools } = randomRules(400, 11);
    const rules = parseRules(text, 'random.yaml');
    for (const hook of ['xdp', 'tc-egress'] as const) {
      const { diffs, byRule } = differences(rules, mixedFrames(800, 5, pools), hook);
      expect(diffs).toEqual([]);
      expect(byRule.size).toBeGreaterThan(10);
    }
  });

  it('3000 rules (one entry each): the last rules, the default and the first decide as the reference says', () => {
    const lines = ['default: deny', 'rules:'];
    for (let i = 0; i < 3000; i++) lines.push(`  - { action: ${i % 2 ? 'allow' : 'deny'}, protocol: tcp, from: 10.${i >> 8}.${i & 255}.0/24, port: ${1000 + (i % 7)} }`);
    const rules = parseRules(lines.join('\n'), 'many.yaml');
    const v4: string[] = [];
    for (const i of [0, 1, 2, 1500, 2997, 2998, 2999, 3005]) v4.push(`10.${i >> 8}.${i & 255}.7`);
    const { diffs, byRule } = differences(rules, mixedFrames(200, 3, { v4, v6: ['2001:db8::1'], ports: [1000, 1001, 1002, 1003, 1004, 1005, 1006] }), 'xdp');
    expect(diffs).toEqual([]);
    expect(byRule.get('rule 3000')).toBeGreaterThan(0);
    expect(byRule.get('default')).toBeGreaterThan(0);
  });

  it('setRules starts the counters and the decision log afresh: old counts are not credited to the new rules', () => {
    const fw = loadFirewall(parseRules('default: deny\nrules:\n  - { name: a, action: allow, protocol: tcp }\n', 'a.yaml'), { hook: 'xdp' });
    for (let i = 0; i < 5; i++) fw.run(frame({ proto: 'tcp', src: '10.0.0.1', dst: '10.0.0.2' }));
    expect(fw.tables.hits().find((h) => h.decision.by === 'rule')?.packets).toBe(5);
    fw.setRules(parseRules('default: allow\nrules:\n  - { name: b, action: deny, protocol: udp }\n', 'b.yaml'));
    expect(fw.tables.lastDecision()).toBeUndefined();
    expect(fw.tables.hits().map((h) => h.packets)).toEqual([0, 0, 0, 0]);
    const v = fw.run(frame({ proto: 'udp', src: '10.0.0.1', dst: '10.0.0.2' }));
    expect(v.decision).toMatchObject({ by: 'rule', rule: { name: 'b' } });
    expect(fw.tables.hits().map((h) => h.packets)).toEqual([1, 0, 0, 0]);
  });
});
