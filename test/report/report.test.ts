/**
 * The HTML report's structure, without a browser: the data the page embeds says what the run
 * said (summary.json's counters, the replay's verdicts, the lcov tracefile), the SVG draws the
 * network, user-controlled text is escaped, and a bad --report path stops the command first.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildReportHtml } from '../../src/report/html.js';
import { coverageFromLcov } from '../../src/report/coverage.js';
import type { ReportData } from '../../src/report/types.js';
import { cli } from '../support/cli.js';
import { hostileData } from './hostile.js';
import { embeddedData, FIREWALL, FIREWALL_PCAP, replayReport, runReport, topologyFile } from './reports.js';

/** A counter name that is a detail of a verdict or no run at all (summary.json has both). */
const notARun = (name: string): boolean => name.startsWith('redirect ') || name === 'skipped';
const PROGRAM_HOOKS = new Set(['xdp', 'tc-ingress', 'tc-egress', 'xdp-devmap', 'xdp-cpumap']);
const sum = (a: number[]): number => a.reduce((n, v) => n + v, 0);

function checkCosts(data: ReportData): void {
  for (const h of [data.instructions, data.runTime!]) {
    expect(sum(h.series.flatMap((s) => s.counts)), `${h.unit}: every run in a bar`).toBe(data.runs);
    expect(h.x.length).toBe(h.series[0].counts.length);
  }
  expect(sum(data.points.flatMap((p) => p.totals))).toBe(data.runs);
  for (const p of data.points) p.bins.forEach((bins, v) => expect(sum(bins), `${p.id} ${p.verdicts[v]}: every run in a time bin`).toBe(p.totals[v]));
  expect(sum(data.drops.byReason.map(([, n]) => n))).toBe(data.dropped);
}

describe.each(['edge-firewall', 'tc-nat-vlan', 'l3-router'])('run %s --report', (name) => {
  let report: Awaited<ReturnType<typeof runReport>>;
  beforeAll(async () => {
    report = await runReport(name);
  }, 60_000);

  it('counts what summary.json counts, per interface and hook', () => {
    const { data, summary } = report;
    expect(data.command).toBe('run');
    expect(data.packets).toBe(summary.packets);
    expect(data.faults).toBe(summary.faults);
    const expected: Record<string, Record<string, number>> = {};
    for (const [nic, hooks] of Object.entries(summary.interfaces)) {
      for (const [hook, counts] of Object.entries(hooks)) {
        if (!PROGRAM_HOOKS.has(hook)) continue;
        const runs = Object.entries(counts).filter(([v]) => !notARun(v));
        if (runs.length) expected[`${nic} ${hook}`] = Object.fromEntries(runs);
      }
    }
    const got = Object.fromEntries(data.points.map((p) => [p.id, Object.fromEntries(p.verdicts.map((v, i) => [v, p.totals[i]]))]));
    expect(got).toEqual(expected);
    // Where XDP_REDIRECT sent the packets: details beside the verdicts, as summary.json has them.
    const details = (p: (typeof data.points)[number]): Record<string, number> => Object.fromEntries(Object.entries(summary.interfaces[p.nic][p.hook]).filter(([v]) => v.startsWith('redirect ')));
    for (const p of data.points) expect(Object.fromEntries(p.details ?? []), p.id).toEqual(details(p));
    checkCosts(data);
  });

  it('draws every node, interface and wire of the topology', () => {
    const { html, data } = report;
    for (const node of data.topology.nodes) {
      expect(html).toContain(`<g class="node" data-node="${node.name}">`);
      for (const nic of node.nics) expect(html).toContain(`data-nic="${nic.id}"`);
    }
    expect(html.match(/<g class="link"/g)?.length ?? 0).toBe(data.topology.links.length);
    expect(data.topology.links.length).toBeGreaterThan(0);
  });

  it('is one file that loads nothing: uPlot and the page script inlined, no src or href to fetch', () => {
    const { html } = report;
    expect(html).toContain('uPlot');
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link(?![^>]*href="data:)[^>]*href=/);
    expect(html).not.toMatch(/(?:src|href)\s*=\s*["']?(?:https?:|\/\/)/);
    expect(html).not.toMatch(/url\(\s*["']?(?!data:|#)/);
  });
});

describe('run edge-firewall --report: drops', () => {
  it('every XDP_DROP by its reason and the C line that decided it', async () => {
    const { data } = await runReport('edge-firewall');
    const point = data.points.find((p) => p.id === 'edge/wan0 xdp')!;
    const drops = point.totals[point.verdicts.indexOf('XDP_DROP')];
    expect(data.drops.byReason).toContainEqual(['xdp: fw returned XDP_DROP', drops]);
    expect(sum(data.drops.byLine.map(([, n]) => n))).toBe(drops);
    expect(data.drops.byLine.some(([line]) => /^firewall\.bpf\.c:\d+: .*XDP_DROP/.test(line))).toBe(true);
  }, 60_000);
});

describe('replay --coverage --report', () => {
  let report: Awaited<ReturnType<typeof replayReport>>;
  beforeAll(async () => {
    report = await replayReport();
  }, 60_000);

  it('counts the verdicts the replay gave', () => {
    const { data, verdicts } = report;
    expect(data.command).toBe('replay');
    expect(data.points).toHaveLength(1);
    const [p] = data.points;
    expect(p.id).toBe('eth0 xdp');
    expect(new Map(p.verdicts.map((v, i) => [v, p.totals[i]]))).toEqual(verdicts);
    expect(data.packets).toBe(sum([...verdicts.values()]));
    checkCosts(data);
  });

  it("holds the tracefile's line counts, file by file, with the source text", () => {
    const { data, lcov, html } = report;
    const fromFile = coverageFromLcov(lcov, false);
    expect(data.coverage!.map(({ file, lines }) => ({ file, lines }))).toEqual(fromFile);
    const firewall = fromFile.find((f) => f.file.endsWith('firewall.bpf.c'))!;
    expect(firewall.lines.some(([, hits]) => hits > 0)).toBe(true);
    expect(html).toContain(`${path.basename(firewall.file)}: ${firewall.lines.filter(([, n]) => n > 0).length} of ${firewall.lines.length} lines run`);
    expect(html).toContain('<td><code>SEC(&quot;xdp&quot;)</code></td>');
  });

  it('draws the one device with the program at its hook', () => {
    expect(report.data.topology.nodes).toEqual([{ name: 'firewall.bpf.o', kind: 'replay', nics: [{ name: 'eth0', id: 'firewall.bpf.o/eth0', hooks: [{ hook: 'xdp', programs: ['xdp_firewall'] }] }] }]);
    expect(report.html).toContain('<g class="node" data-node="firewall.bpf.o">');
  });
});

describe('replay --coverage-by verdict --report', () => {
  it("adds up the tracefile's tests, one per verdict", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-report-'));
    const [info, file] = [path.join(dir, 'v.info'), path.join(dir, 'v.html')];
    const r = await cli(['replay', FIREWALL, 'xdp_firewall', '--pcap', FIREWALL_PCAP, '--coverage', info, '--coverage-by', 'verdict', '--report', file]);
    expect(r.code).toBe(0);
    const lcov = readFileSync(info, 'utf8');
    expect(lcov.match(/^TN:/gm)!.length).toBeGreaterThan(1);
    const data = embeddedData(readFileSync(file, 'utf8'));
    expect(data.coverage).toEqual(coverageFromLcov(lcov, false));
    const hits = (d: ReportData): number => sum(d.coverage!.flatMap((f) => f.lines.map(([, n]) => n)));
    expect(hits(data)).toBe(sum([...lcov.matchAll(/^DA:\d+,(\d+)$/gm)].map((m) => Number(m[1]))));
  }, 60_000);
});

describe('buildReportHtml', () => {
  it('escapes every name, path, comment and source line: no tag of theirs reaches the page', () => {
    const html = buildReportHtml(hostileData());
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script>window.__pwned');
    expect(html.match(/<script/g)).toHaveLength(3);
    expect(embeddedData(html)).toEqual({ ...hostileData(), coverage: [{ file: hostileData().coverage![0].file, lines: [[1, 1]] }] });
  });
});

describe('--report with a path that cannot be written', () => {
  it.each([
    ['run', [topologyFile('edge-firewall')]],
    ['replay', [FIREWALL, 'xdp_firewall', '--pcap', FIREWALL_PCAP]],
  ])('%s: one line, exit 2, before anything runs', async (command, args) => {
    const out = path.join(os.tmpdir(), `xdplab-report-never-${process.pid}`);
    const r = await cli([command, ...args, '--out', command === 'run' ? out : `${out}.pcap`, '--report', '/proc/nope/report.html']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^xdplab: \/proc\/nope\/report\.html: [^\n]+\n$/);
    expect(r.stdout).toBe('');
    expect(existsSync(out) || existsSync(`${out}.pcap`)).toBe(false);
  });
});
