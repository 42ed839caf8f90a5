/**
 * Reports made for the tests: `xdplab run --report` on shipped topologies and `xdplab replay
 * --report --coverage` on the edge firewall, each in its own directory under the OS temp dir,
 * with what the run itself said (summary.json, the replay's JSON lines, the lcov tracefile).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import type { ReportData } from '../../src/report/types.js';
import { cli } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';

export const FIREWALL = path.join(repoRoot, 'topologies/edge-firewall/firewall.bpf.o');
export const FIREWALL_PCAP = path.join(repoRoot, 'pcaps/edge-firewall.pcapng');

export const topologyFile = (name: string): string => path.join(repoRoot, 'topologies', name, 'topology.yaml');

export interface MadeReport {
  name: string;
  html: string;
  file: string;
  data: ReportData;
}

/** The data a report page embeds for its plots. */
export function embeddedData(html: string): ReportData {
  const m = /<script type="application\/json" id="xdplab-report-data">([^<]*)<\/script>/.exec(html);
  expect(m, 'the page embeds its data').not.toBeNull();
  return JSON.parse(m![1]) as ReportData;
}

const scratch = (): string => mkdtempSync(path.join(os.tmpdir(), 'xdplab-report-'));

function made(name: string, file: string): MadeReport {
  const html = readFileSync(file, 'utf8');
  return { name, html, file, data: embeddedData(html) };
}

/** `xdplab run TOPOLOGY --report`: the report and the run's summary.json. */
export async function runReport(topology: string): Promise<MadeReport & { summary: { packets: number; faults: number; interfaces: Record<string, Record<string, Record<string, number>>> } }> {
  const dir = scratch();
  const file = path.join(dir, `${topology}.html`);
  const r = await cli(['run', topologyFile(topology), '--out', path.join(dir, 'out'), '--report', file, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return { ...made(topology, file), summary: JSON.parse(readFileSync(path.join(dir, 'out', 'summary.json'), 'utf8')) };
}

/** `xdplab replay … --coverage --report --json`: the report, the verdicts of the JSON lines and the tracefile. */
export async function replayReport(): Promise<MadeReport & { verdicts: Map<string, number>; lcov: string }> {
  const dir = scratch();
  const file = path.join(dir, 'replay.html');
  const info = path.join(dir, 'replay.info');
  const r = await cli(['replay', FIREWALL, 'xdp_firewall', '--pcap', FIREWALL_PCAP, '--coverage', info, '--report', file, '--json']);
  expect(r.code).toBe(0);
  const verdicts = new Map<string, number>();
  for (const line of r.stdout.trim().split('\n')) {
    const o = JSON.parse(line) as { verdict?: string; fault?: string };
    const v = o.fault !== undefined ? 'fault' : o.verdict!;
    verdicts.set(v, (verdicts.get(v) ?? 0) + 1);
  }
  return { ...made('replay', file), verdicts, lcov: readFileSync(info, 'utf8') };
}
