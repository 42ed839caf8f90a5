/**
 * A drop names the line that decided it (issue 10): every edge-firewall drop pointed at
 * `firewall.bpf.c:267: }`, the exit, and tail-called drops named no line at all. The engines
 * follow the returned value back to the instruction that made it (test/vm/r0-origin.test.ts),
 * and the report takes that instruction's line — in the tail-called program when the verdict
 * came from one. Both engines must say the same.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testRun } from '../../src/hooks/test-run.js';
import { readCaptureSync } from '../../src/pcap/reader.js';
import { Collection } from '../../src/runtime/collection.js';
import { verdictSource } from '../../src/runtime/program.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { cli } from '../support/cli.js';
import { repoRoot } from '../support/conformance.js';

/** The comments of a run's dropped packets, counted. */
async function dropComments(scenario: string, engine: string): Promise<Map<string, number>> {
  const out = mkdtempSync(path.join(os.tmpdir(), `xdplab-verdict-${scenario}-`));
  const r = await cli(['run', path.join(repoRoot, 'topologies', scenario, 'topology.yaml'), '--out', out, '--engine', engine]);
  expect(r.code).toBe(0);
  const counts = new Map<string, number>();
  for (const file of ['edge-wan0', 'lb-eth0', 'r1-eth1'].map((n) => path.join(out, `${n}.dropped.pcapng`))) {
    let records;
    try {
      records = readCaptureSync(new Uint8Array(readFileSync(file)), file).records;
    } catch {
      continue; // this scenario has no such interface
    }
    for (const rec of records) {
      const comment = (rec.comment ?? '').replace(/; trace: .*/, '');
      if (comment.includes('program')) counts.set(comment, (counts.get(comment) ?? 0) + 1);
    }
  }
  return counts;
}

describe('drops name the line that decided them', () => {
  it.each(['edge-firewall', 'l4-lb', 'l3-router'])('%s: both engines say the same', async (scenario) => {
    const [interp, jit] = await Promise.all([dropComments(scenario, 'interp'), dropComments(scenario, 'jit')]);
    expect(jit).toEqual(interp);
    expect(jit.size).toBeGreaterThan(0);
  });

  it('edge-firewall: blocklist drops at their `return verdict(…)`, none at the closing brace', async () => {
    const comments = [...(await dropComments('edge-firewall', 'jit')).keys()];
    expect(comments.some((c) => /\(firewall\.bpf\.c:\d+: return verdict\(ctx, FW_DROP_BLOCKLIST_V4, XDP_DROP\);\)$/.test(c))).toBe(true);
    expect(comments.some((c) => /\(firewall\.bpf\.c:\d+: return verdict\(ctx, FW_DROP_BLOCKLIST_V6, XDP_DROP\);\)$/.test(c))).toBe(true);
    expect(comments.filter((c) => /: }\)$/.test(c))).toEqual([]);
  });

  it('l4-lb: drops in tail-called programs name the callee and its line', async () => {
    const comments = [...(await dropComments('l4-lb', 'jit')).keys()];
    for (const callee of ['lb_classify', 'lb_encap']) {
      expect(comments.some((c) => new RegExp(`via tail call to ${callee}\\) returned XDP_DROP at pc \\d+ \\(lb\\.bpf\\.c:\\d+: `).test(c)), callee).toBe(true);
    }
  });

  // The fixture's first byte picks a case; [first byte, second byte, verdict, program, line text].
  const FIXTURE = path.join(repoRoot, 'test', 'fixtures', 'bpf', 'verdict-origin.bpf.o');
  const CASES: Array<[number, number, string, string, string | undefined]> = [
    [2, 0, 'XDP_TX', 'xdp_origin', 'return decide(1, XDP_TX); /* through an argument */'],
    [3, 9, 'XDP_DROP', 'xdp_origin', 'kept = *((__u8 *)data + 1) == 9 ? XDP_DROP : XDP_TX; /* kept across a call */'],
    [4, 7, 'XDP_DROP', 'tail_target', 'if (*((__u8 *)data + 1) == 7)'],
    [5, 0, 'XDP_DROP', 'xdp_origin', 'return *v; /* from a map */'],
    [9, 0, 'XDP_PASS', 'xdp_origin', undefined], // a constant jumped to: no line rather than a wrong one
  ];
  it.each(CASES)('verdict-origin.bpf.o, packet %i/%i: %s decided in %s at %j', (first, second, verdict, program, text) => {
    const seen = (['interp', 'jit'] as const).map((engine) => {
      const runtime = new Runtime({ engine });
      const collection = Collection.load(runtime, loadCollectionSpec(new Uint8Array(readFileSync(FIXTURE)), FIXTURE));
      collection.map('verdicts').update(new Uint8Array(4), Uint8Array.of(1, 0, 0, 0));
      const data = new Uint8Array(64);
      data.set([first, second]);
      const r = testRun(runtime, collection.program('xdp_origin'), { data });
      return { verdict: r.verdict, ...verdictSource(runtime.engine) };
    });
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[0].verdict).toBe(verdict);
    expect(seen[0].program).toBe(program);
    if (text === undefined) expect(seen[0].line).toBeUndefined();
    else expect(seen[0].line).toMatch(new RegExp(`^verdict-origin\\.bpf\\.c:\\d+: ${text.replace(/[()*+?.[\]\\/^$|{}]/g, '\\$&')}$`));
  });
});
