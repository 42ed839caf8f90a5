/**
 * `xdplab run`'s figures, on the shipped scenarios (issue 10): a hook's packets are the packets
 * it saw — l3-router's xdp row said 515 for 307 received, adding where XDP_REDIRECT sent them
 * into the total (and pps with it).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { verdictsText } from '../../src/cli/run-command.js';
import { cli } from '../support/cli.js';
import { repoRoot } from '../support/conformance.js';

const SCENARIOS = ['edge-firewall', 'l3-router', 'l4-lb', 'tc-nat-vlan'];

interface HookLine {
  interface: string;
  hook: string;
  packets?: number;
  verdicts: Record<string, number>;
}

async function runScenario(name: string, json: boolean): Promise<string> {
  const out = mkdtempSync(path.join(os.tmpdir(), `xdplab-run-${name}-`));
  const r = await cli(['run', path.join(repoRoot, 'topologies', name, 'topology.yaml'), '--out', out, ...(json ? ['--json'] : [])]);
  expect(r.code).toBe(0);
  return r.stdout;
}

describe('run: a hook counts each packet once', () => {
  it.each(SCENARIOS)('%s: every xdp row counts what its interface received, and the table says the same', async (name) => {
    const lines = (await runScenario(name, true)).trim().split('\n').slice(0, -1).map((l) => JSON.parse(l) as HookLine);
    const table = await runScenario(name, false);
    for (const line of lines.filter((l) => l.hook === 'xdp')) {
      const rx = lines.find((l) => l.interface === line.interface && l.hook === 'wire')!.verdicts.rx;
      expect(line.packets, `${line.interface} xdp`).toBe(rx);
      const row = table.split('\n').find((l) => l.includes(` ${line.interface} `) && / xdp +│/.test(l))!;
      expect(row.split('│').map((c) => c.trim())[3]).toBe(String(rx));
    }
  });

  it('l3-router: 307 packets at r1/eth1 xdp, the redirects told apart by where they went', async () => {
    const lines = (await runScenario('l3-router', true)).trim().split('\n').map((l) => JSON.parse(l) as HookLine);
    const xdp = lines.find((l) => l.interface === 'r1/eth1' && l.hook === 'xdp')!;
    expect(xdp.packets).toBe(307);
    expect(xdp.verdicts.XDP_REDIRECT).toBe(xdp.verdicts['redirect → eth2'] + xdp.verdicts['redirect → eth3']);
  });

  it.each([
    [{ XDP_REDIRECT: 208, 'redirect → eth2': 168, XDP_PASS: 77, 'redirect → eth3': 40 }, 'XDP_REDIRECT 208 (→ eth2 168, → eth3 40), XDP_PASS 77'],
    [{ XDP_PASS: 3, XDP_DROP: 1 }, 'XDP_PASS 3, XDP_DROP 1'],
  ])('shows %j as %s', (verdicts, text) => {
    expect(verdictsText(new Map(Object.entries(verdicts)), (n) => n.startsWith('redirect '))).toBe(text);
  });
});

describe('run: the maps after the run', () => {
  it('edge-firewall: summary.json holds every map, decoded; the counters add up to the packets XDP saw', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'xdplab-run-maps-'));
    const r = await cli(['run', path.join(repoRoot, 'topologies', 'edge-firewall', 'topology.yaml'), '--out', out]);
    expect(r.code).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    expect(summary.packets).toBe(593);
    const maps = summary.maps['firewall.bpf.o'];
    expect(Object.keys(maps).sort()).toEqual(['allowed_ports', 'blocklist_v4', 'blocklist_v6', 'firewall.rodata', 'fw_stats']);
    expect(maps.allowed_ports.map((e: { formatted: { key: number; value: number } }) => [e.formatted.key, e.formatted.value]).sort((a: number[], b: number[]) => a[0] - b[0]))
      .toEqual([[25, 1], [53, 3], [80, 1], [123, 2], [443, 3]]);
    const counted = maps.fw_stats.flatMap((e: { formatted: { values: Array<{ value: { packets: number } }> } }) => e.formatted.values.map((v) => v.value.packets));
    expect(counted.reduce((a: number, b: number) => a + b, 0)).toBe(summary.interfaces['edge/wan0'].xdp.XDP_PASS + summary.interfaces['edge/wan0'].xdp.XDP_DROP);
    // The table shows the small maps entry by entry.
    expect(r.stdout).toMatch(/maps after the run/);
    expect(r.stdout).toMatch(/│ allowed_ports +│ 443 +│ 3 +│/);
    expect(r.stdout).toMatch(/│ fw_stats +│ 0 +│ \[\{packets: \d+, bytes: \d+\}, \{packets: \d+, bytes: \d+\}\] +│/);
  });

  it('l4-lb: a map too large for the table is a count that points to summary.json', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'xdplab-run-maps-lb-'));
    const r = await cli(['run', path.join(repoRoot, 'topologies', 'l4-lb', 'topology.yaml'), '--out', out]);
    const conn = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8')).maps['lb.bpf.o'].conn_table;
    expect(r.stdout).toMatch(new RegExp(`│ conn_table +│ ${conn.length} entries +│ in summary\\.json +│`));
  });
});
