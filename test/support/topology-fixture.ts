/**
 * Run a fixture topology (test/fixtures/topologies/NAME) over frames the test makes: the
 * topology is copied beside a capture of them (objects resolved to test/fixtures/bpf), run
 * with a sink that keeps what each interface sent, delivered and dropped.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PacketSink } from '../../src/net/recorder.js';
import { createCaptureWriter } from '../../src/pcap/writer.js';
import { loadTopology } from '../../src/topology/load.js';
import { runTraffic } from '../../src/topology/run.js';
import { repoRoot } from './conformance.js';

export interface FixtureRun {
  /** "<nic> src <source MAC>" of every frame put on a wire. */
  tx: string[];
  /** The length of each of them. */
  txLengths: number[];
  /** The same for every packet delivered to a node's stack. */
  delivered: string[];
  /** "<nic> <comment>" of every drop. */
  dropped: string[];
  counters: Record<string, Record<string, Record<string, number>>>;
}

const mac = (f: Uint8Array, at: number): string => [...f.subarray(at, at + 6)].map((b) => b.toString(16)).join(':');

export async function runFixtureTopology(name: string, frames: Uint8Array[]): Promise<FixtureRun> {
  const work = mkdtempSync(path.join(os.tmpdir(), `xdplab-${name}-`));
  const text = readFileSync(path.join(repoRoot, 'test', 'fixtures', 'topologies', name, 'topology.yaml'), 'utf8')
    .replaceAll('../../bpf/', `${path.join(repoRoot, 'test', 'fixtures', 'bpf')}/`);
  writeFileSync(path.join(work, 'topology.yaml'), text);
  const w = createCaptureWriter(path.join(work, 'traffic.pcap'), { format: 'pcap' });
  frames.forEach((f, i) => w.write(f, 1_700_000_000, i * 1000));
  await w.close();
  const run: FixtureRun = { tx: [], txLengths: [], delivered: [], dropped: [], counters: {} };
  const sink: PacketSink = {
    tx: (nic, f) => {
      run.tx.push(`${nic.id} src ${mac(f, 6)}`);
      run.txLengths.push(f.length);
    },
    delivered: (nic, f) => run.delivered.push(`${nic.id} src ${mac(f, 6)}`),
    dropped: (nic, _f, _t, comment) => run.dropped.push(`${nic.id} ${comment}`),
  };
  const topology = loadTopology(path.join(work, 'topology.yaml'), sink);
  await runTraffic(topology);
  run.counters = topology.network.counters.toJSON();
  return run;
}
