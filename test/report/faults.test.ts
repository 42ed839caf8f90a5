/**
 * Faults in the report: a program that faults (run unverified) is a run with the verdict
 * "fault", counted as summary.json and replay count it, and a drop whose line is the fault's.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { repoRoot } from '../support/paths.js';
import { embeddedData, FIREWALL_PCAP } from './reports.js';

const OBJECT = path.join(repoRoot, 'test', 'fixtures', 'bpf', 'replay.bpf.o');
const FAULT_LINE = 'replay.bpf.c:80: return data[100] & 1 ? XDP_DROP : XDP_PASS;';

describe('faults in the report', () => {
  it('run: the runs that faulted, as summary.json counts them, dropped at the line that faulted', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-report-'));
    const topology = path.join(dir, 'topology.yaml');
    writeFileSync(topology, [
      'name: faulty',
      'nodes:',
      '  - { name: h1, kind: host, interfaces: [{ name: eth0, mac: "02:00:00:00:00:01", ipv4: [198.51.100.1/24] }] }',
      `programs: [{ name: bad, object: ${JSON.stringify(OBJECT)}, program: xdp_fault }]`,
      'attach: [{ program: bad, interface: h1/eth0, hook: xdp }]',
      `traffic: [{ pcap: ${JSON.stringify(FIREWALL_PCAP)}, into: h1/eth0 }]`,
    ].join('\n'));
    const file = path.join(dir, 'report.html');
    const r = await cli(['run', topology, '--no-verify', '--out', path.join(dir, 'out'), '--report', file, '--json']);
    expect(r.code).toBe(1);
    const summary = JSON.parse(readFileSync(path.join(dir, 'out', 'summary.json'), 'utf8'));
    const data = embeddedData(readFileSync(file, 'utf8'));
    const [point] = data.points;
    const faults = summary.interfaces['h1/eth0'].xdp.fault as number;
    expect(faults).toBeGreaterThan(0);
    expect(data.faults).toBe(faults);
    expect(point.totals[point.verdicts.indexOf('fault')]).toBe(faults);
    expect(data.drops.byReason).toContainEqual(['xdp: bad faulted', faults]);
    const drops = point.totals[point.verdicts.indexOf('XDP_DROP')];
    expect(data.drops.byLine).toEqual([[FAULT_LINE, faults + drops]]);
  }, 60_000);

  it('replay: the packets that faulted, by the fault and its line', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-report-'));
    const file = path.join(dir, 'report.html');
    const r = await cli(['replay', OBJECT, 'xdp_fault', '--no-verify', '--pcap', FIREWALL_PCAP, '--report', file, '--json']);
    expect(r.code).toBe(1);
    const faults = r.stdout.split('\n').filter((l) => l.includes('"fault"')).length;
    const data = embeddedData(readFileSync(file, 'utf8'));
    expect(faults).toBeGreaterThan(0);
    expect(data.faults).toBe(faults);
    expect(data.drops.byReason).toContainEqual(['fault: invalid memory access', faults]);
    expect(data.drops.byLine[0]).toEqual([FAULT_LINE, data.dropped]);
  }, 60_000);
});
