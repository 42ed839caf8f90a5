import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCaptureWriter } from '../../src/pcap/writer.js';
import { readCaptureSync } from '../../src/pcap/reader.js';
import { cli } from '../support/cli.js';
import { NULL_SINK } from '../../src/net/recorder.js';
import { loadTopology } from '../../src/topology/load.js';
import { repoRoot } from '../support/conformance.js';

// The fixture topology, copied beside a capture the test writes (objects resolved to the repo).
const work = mkdtempSync(path.join(os.tmpdir(), 'xdplab-topology-'));
const topologyFile = path.join(work, 'topology.yaml');
const captureFile = path.join(work, 'traffic.pcap');
const fixtureText = readFileSync(path.join(repoRoot, 'test', 'fixtures', 'topologies', 'basic', 'topology.yaml'), 'utf8')
  .replace('../../bpf/', `${path.join(repoRoot, 'test', 'fixtures', 'bpf')}/`);

/** client (02:..:01:02, 10.0.1.2) → router wan (02:..:01:01) → dst, with the given IP protocol. */
function frame(dst: number[], protocol: number, ttl = 64): Uint8Array {
  const f = new Uint8Array(60);
  f.set([2, 0, 0, 0, 1, 1, 2, 0, 0, 0, 1, 2, 0x08, 0x00], 0);
  f.set([0x45, 0, 0, 46, 0, 0, 0, 0, ttl, protocol, 0, 0, 10, 0, 1, 2, ...dst], 14);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += (f[i] << 8) | f[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const check = ~sum & 0xffff;
  f[24] = check >> 8;
  f[25] = check & 0xff;
  return f;
}

beforeAll(async () => {
  writeFileSync(topologyFile, fixtureText);
  // 3 TCP and 2 UDP to the server (forwarded), 2 ICMP (dropped by XDP), 1 TCP to the router itself.
  const w = createCaptureWriter(captureFile, { format: 'pcap' });
  const packets = [
    frame([10, 0, 2, 2], 6), frame([10, 0, 2, 2], 17), frame([10, 0, 2, 2], 1), frame([10, 0, 2, 2], 6),
    frame([10, 0, 2, 2], 17), frame([10, 0, 2, 2], 1), frame([10, 0, 1, 1], 6), frame([10, 0, 2, 2], 6),
  ];
  packets.forEach((p, i) => w.write(p, 1_700_000_000, i * 1000));
  await w.close();
});

describe('xdplab run', () => {
  it('forwards, drops and delivers as the topology says, and writes the outputs', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'xdplab-run-'));
    const r = await cli(['run', topologyFile, '--out', out, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!).summary;
    expect(summary.packets).toBe(8);
    const wan = summary.interfaces['router/wan'];
    expect(wan.xdp).toEqual({ XDP_PASS: 6, XDP_DROP: 2 });
    expect(wan.stack).toEqual({ 'forwarded → lan': 5, delivered: 1 });
    expect(summary.interfaces['server/eth0'].stack).toEqual({ delivered: 5 });

    const files = readdirSync(out).sort();
    expect(files).toEqual([
      'router-lan.tx.pcapng', 'router-wan.delivered.pcapng', 'router-wan.dropped.pcapng',
      'server-eth0.delivered.pcapng', 'summary.json',
    ]);
    const dropped = readCaptureSync(new Uint8Array(readFileSync(path.join(out, 'router-wan.dropped.pcapng')))).records;
    expect(dropped).toHaveLength(2);
    expect(dropped[0].comment).toMatch(/^xdp: program counter \(xdp_count\) returned XDP_DROP at pc \d+/);
    // Forwarded: TTL 63, MACs rewritten to router/lan → server/eth0, checksum still valid.
    const sent = readCaptureSync(new Uint8Array(readFileSync(path.join(out, 'router-lan.tx.pcapng')))).records;
    const first = sent[0].data;
    expect([...first.subarray(0, 12)]).toEqual([2, 0, 0, 0, 2, 2, 2, 0, 0, 0, 2, 1]);
    expect(first[22]).toBe(63);
    let sum = 0;
    for (let i = 14; i < 34; i += 2) sum += (first[i] << 8) | first[i + 1];
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    expect(sum).toBe(0xffff);
  });

  it('is deterministic: the same run writes the same bytes', async () => {
    const a = mkdtempSync(path.join(os.tmpdir(), 'xdplab-run-'));
    const b = mkdtempSync(path.join(os.tmpdir(), 'xdplab-run-'));
    await cli(['run', topologyFile, '--out', a]);
    await cli(['run', topologyFile, '--out', b]);
    for (const f of readdirSync(a).filter((x) => x.endsWith('.pcapng'))) {
      expect(readFileSync(path.join(b, f))).toEqual(readFileSync(path.join(a, f)));
    }
  });

  it('prints a table per interface and hook', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'xdplab-run-'));
    const r = await cli(['run', topologyFile, '--out', out]);
    expect(r.stdout).toMatch(/basic: 8 packets in/);
    expect(r.stdout).toMatch(/router\/wan.*xdp.*8.*XDP_PASS 6, XDP_DROP 2/);
    expect(existsSync(path.join(out, 'summary.json'))).toBe(true);
  });

  it('--before-after writes every program run: the frame before it and after it, with the verdict', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'xdplab-run-'));
    const r = await cli(['run', topologyFile, '--out', out, '--before-after', '--json']);
    expect(r.code).toBe(0);
    const records = readCaptureSync(new Uint8Array(readFileSync(path.join(out, 'before-after.pcapng')))).records;
    expect(records).toHaveLength(16); // 8 XDP runs, two records each
    expect(records.slice(0, 2).map((x) => x.comment)).toEqual([
      'run 1: router/wan xdp program counter: before', 'run 1: router/wan xdp program counter: after, XDP_PASS',
    ]);
    expect(records.filter((x) => x.comment!.endsWith('XDP_DROP'))).toHaveLength(2);
    const input = readCaptureSync(new Uint8Array(readFileSync(captureFile))).records;
    records.filter((_, i) => i % 2 === 0).forEach((x, i) => expect(Buffer.from(x.data)).toEqual(Buffer.from(input[i].data)));
  });

  it('--engine interp and --engine jit write the same bytes', async () => {
    const dirs = ['interp', 'jit'].map(() => mkdtempSync(path.join(os.tmpdir(), 'xdplab-run-')));
    await cli(['run', topologyFile, '--out', dirs[0], '--engine', 'interp']);
    await cli(['run', topologyFile, '--out', dirs[1], '--engine', 'jit']);
    const files = readdirSync(dirs[0]).filter((x) => x.endsWith('.pcapng'));
    expect(files.length).toBeGreaterThan(2);
    for (const f of files) expect(readFileSync(path.join(dirs[1], f))).toEqual(readFileSync(path.join(dirs[0], f)));
  });

  it('loadTopology builds its runtime with the engine asked for', () => {
    expect(loadTopology(topologyFile, NULL_SINK, { engine: 'interp' }).network.runtime.engineName).toBe('interp');
    expect(loadTopology(topologyFile, NULL_SINK, { engine: 'jit' }).network.runtime.engineName).toBe('jit');
  });
});
