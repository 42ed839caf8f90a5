/**
 * What the scenario tests share: a scenario's programs loaded as its topology file loads them
 * (maps seeded from its `maps:` sections), its capture with the label every packet carries in
 * its comment (scripts/gen-pcaps.mjs), and the comparison of xdplab with the kernel on a table
 * of packets — return value, output bytes, then map contents. The kernel is asked through a
 * KernelRecord (test/support/kernel-record.ts): live as root, else its recorded answers.
 *
 * Map contents are compared in a form both sides give the same way: entries sorted by key
 * (hash and LRU maps iterate in an order of their own in each), per-CPU values summed over
 * the CPUs (a test run counts on whichever CPU it ran).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { otherExpectLines, verdictLines } from '../../src/hooks/expect.js';
import { testRun } from '../../src/hooks/test-run.js';
import type { BpfMap } from '../../src/maps/map.js';
import { NULL_SINK } from '../../src/net/recorder.js';
import { readCaptureSync } from '../../src/pcap/reader.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { setGlobal } from '../../src/spec/edit.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { loadTopology, type Topology } from '../../src/topology/load.js';
import { repoRoot } from '../support/conformance.js';
import type { KernelMapEntry } from '../support/kernel-object.js';
import type { KernelRecord, RecordedObject } from '../support/kernel-record.js';

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const scenarioDir = (name: string): string => path.join(repoRoot, 'topologies', name);
export const objectPath = (scenario: string, object: string): string => path.join(scenarioDir(scenario), object);

/** The scenario's topology, loaded as `xdplab run` loads it (programs attached, maps seeded). */
export function loadScenario(name: string): Topology {
  return loadTopology(path.join(scenarioDir(name), 'topology.yaml'), NULL_SINK);
}

/** The collection a topology loaded from `object` (a file name in the scenario's folder). */
export function scenarioCollection(topology: Topology, scenario: string, object: string): Collection {
  const c = topology.collections.get(objectPath(scenario, object));
  if (!c) throw new Error(`${scenario}: no collection for ${object} (have ${[...topology.collections.keys()].join(', ')})`);
  return c;
}

/**
 * An object loaded on its own as BPF_PROG_TEST_RUN would see it: one CPU, no perf readers,
 * globals at their C defaults unless given (the kernel's copy keeps the defaults: bpftool
 * cannot set them), maps empty until seeded.
 */
export function loadObject(scenario: string, object: string, globals: Record<string, number> = {}): { runtime: Runtime; collection: Collection } {
  const file = objectPath(scenario, object);
  const spec = loadCollectionSpec(new Uint8Array(readFileSync(file)), file);
  for (const [name, value] of Object.entries(globals)) setGlobal(spec, name, value);
  const runtime = new Runtime({ perfReaders: false });
  return { runtime, collection: Collection.load(runtime, spec) };
}

/** One packet of a scenario's capture: its frame, time and the labels of its comment. */
export interface LabelledPacket {
  index: number;
  frame: Uint8Array;
  /** Nanoseconds since the capture's first packet. */
  ns: number;
  /** What the program is expected to do: the reason names before " | " (comma-separated). */
  labels: string[];
  what: string;
  /** The comment's `expect: <verdict>` line (what replay --expect checks), if any. */
  verdict?: string;
  /** The comment's network expectation line (what run --expect checks). */
  network?: string;
}

export function readCapture(scenario: string): LabelledPacket[] {
  const file = path.join(repoRoot, 'pcaps', `${scenario}.pcapng`);
  const { records } = readCaptureSync(new Uint8Array(readFileSync(file)), file);
  const t0 = records[0].tsSec * 1e9 + records[0].tsNsec;
  return records.map((r) => {
    // The first line is the label and description; the next lines the expectations in xdplab's words.
    const [labels, what] = (r.comment ?? '').split('\n')[0].split(' | ');
    const verdict = verdictLines(r.comment)[0];
    const network = otherExpectLines(r.comment)[0];
    return { index: r.index, frame: r.data, ns: r.tsSec * 1e9 + r.tsNsec - t0, labels: labels.split(','), what: what ?? '', verdict, network };
  });
}

/** How many packets carry each label. */
export function tally(packets: LabelledPacket[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of packets) for (const l of p.labels) out[l] = (out[l] ?? 0) + 1;
  return out;
}

/**
 * A table from a capture: for each label, one packet of every kind of description (digits
 * made alike, so "dns query #3" and "#4" are one kind), at most `perKind` of each.
 */
export function tableFromCapture(packets: LabelledPacket[], accept: (p: LabelledPacket) => boolean = () => true, perKind = 1): LabelledPacket[] {
  const seen = new Map<string, number>();
  const out: LabelledPacket[] = [];
  for (const p of packets) {
    if (!accept(p)) continue;
    const kind = `${p.labels.join(',')}|${p.what.replace(/[0-9a-f]*\d[0-9a-f]*/g, 'N')}`;
    const n = seen.get(kind) ?? 0;
    if (n >= perKind) continue;
    seen.set(kind, n + 1);
    out.push(p);
  }
  return out;
}

// ---- map contents ------------------------------------------------------------------------

/** Sum per-CPU values (u64 words) over `cpus` copies of `size` bytes, each `stride` apart. */
function sumPerCpu(bytes: Uint8Array, size: number, stride: number, cpus: number): string {
  const words = size / 8;
  const sums = new Array<bigint>(words).fill(0n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let cpu = 0; cpu < cpus; cpu++) for (let w = 0; w < words; w++) sums[w] += view.getBigUint64(cpu * stride + w * 8, true);
  const out = new Uint8Array(size);
  const ov = new DataView(out.buffer);
  sums.forEach((s, w) => ov.setBigUint64(w * 8, BigInt.asUintN(64, s), true));
  return hex(out);
}

export type MapView = 'entries' | 'keys';

/** A map's entries, sorted by key, per-CPU values summed; `keys` leaves the values out. */
export function xdplabEntries(map: BpfMap, view: MapView = 'entries'): { key: string; value?: string }[] {
  const size = map.spec.valueSize;
  const out = [...map.entries()].map(([k, v]) => ({
    key: hex(k),
    value: view === 'keys' ? undefined : map.perCpu ? sumPerCpu(v, size, Math.ceil(size / 8) * 8, map.cpus) : hex(v),
  }));
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

export function kernelEntries(kernel: RecordedObject, map: BpfMap, view: MapView = 'entries'): { key: string; value?: string }[] {
  const size = map.spec.valueSize;
  return kernel.ask(`dump ${map.name} (${view}, sorted, per-CPU values summed)`, (k) => {
    const out = k.dumpMap(map.name).map((e: KernelMapEntry) => {
      const bytes = Uint8Array.from(Buffer.from(e.value, 'hex'));
      const perCpu = map.perCpu ? sumPerCpu(bytes, size, size, bytes.length / size) : e.value;
      return view === 'keys' ? { key: e.key } : { key: e.key, value: perCpu };
    });
    return out.sort((a, b) => a.key.localeCompare(b.key));
  });
}

/** Copy every entry of the named maps (not per-CPU ones) from one collection to another. */
export function copyEntries(from: Collection, to: Collection, maps: string[]): void {
  for (const name of maps) for (const [k, v] of from.map(name).entries()) to.map(name).update(k, v);
}

/** The same, into the kernel's copy of the object. */
export function copyEntriesToKernel(from: Collection, kernel: RecordedObject, maps: string[]): void {
  for (const name of maps) for (const [k, v] of from.map(name).entries()) kernel.updateMap(name, k, v);
}

// ---- the comparison ----------------------------------------------------------------------

export interface TableCase {
  name: string;
  data: Uint8Array;
}

export interface Side {
  run(program: string, data: Uint8Array): { retval: number; data: string };
}

/** xdplab's side of a comparison: a collection (and its runtime) answering test runs. */
export function xdplabSide(runtime: Runtime, collection: Collection): Side {
  return {
    run(program, data) {
      const r = testRun(runtime, collection.program(program), { data });
      return { retval: r.retval, data: hex(r.dataOut) };
    },
  };
}

export function kernelSide(kernel: RecordedObject): Side {
  return {
    run(program, data) {
      const r = kernel.mustRun(program, { data });
      return { retval: r.retval, data: hex(r.dataOut) };
    },
  };
}

/** Run `cases` (at least one) through `program` on both sides, in order, and expect identical answers. */
export function expectSameRuns(program: string, cases: TableCase[], xdplab: Side, kernel: Side): void {
  expect(cases.length, `${program}: no cases to compare`).toBeGreaterThan(0);
  for (const c of cases) {
    const want = kernel.run(program, c.data);
    const got = xdplab.run(program, c.data);
    expect({ case: c.name, ...got }).toEqual({ case: c.name, ...want });
  }
}

/**
 * Every packet of a capture through `program`, in order, in xdplab and in the kernel (state
 * carried from packet to packet on both sides): the same verdict and output bytes for each.
 * Returns how many packets were compared.
 */
export function expectSameCapture(program: string, packets: readonly LabelledPacket[], runtime: Runtime, collection: Collection, kernel: RecordedObject): number {
  expect(packets.length, `${program}: no packets to compare`).toBeGreaterThan(0);
  const answers = kernel.runMany(program, packets.map((p) => p.frame));
  const different: string[] = [];
  packets.forEach((p, i) => {
    const r = testRun(runtime, collection.program(program), { data: p.frame });
    const k = answers[i];
    if (r.retval !== k.retval || hex(r.dataOut) !== hex(k.dataOut)) {
      different.push(`#${p.index} ${p.what}: xdplab ${r.retval} ${hex(r.dataOut).slice(0, 80)}…, kernel ${k.retval} ${hex(k.dataOut).slice(0, 80)}…`);
    }
  });
  expect(different.slice(0, 10)).toEqual([]);
  return packets.length;
}

/**
 * A scenario's whole capture through `program` in a fresh kernel copy of the object (asked
 * through `record`) and in xdplab, both seeded with the topology's entries of `seeded`: the
 * same answer for every packet, then the same `maps`. Returns how many packets were compared.
 */
export function expectSameWholeCapture(
  record: KernelRecord, scenario: string, object: string, program: string, packets: readonly LabelledPacket[], seeded: string[], maps: [string, MapView][],
): number {
  const kernel = record.object(objectPath(scenario, object));
  try {
    const { runtime, collection } = loadObject(scenario, object);
    if (seeded.length) {
      const topology = scenarioCollection(loadScenario(scenario), scenario, object);
      copyEntries(topology, collection, seeded);
      copyEntriesToKernel(topology, kernel, seeded);
    }
    const compared = expectSameCapture(program, packets, runtime, collection, kernel);
    expectSameMaps(collection, kernel, maps);
    return compared;
  } finally {
    kernel.close();
  }
}

/** Expect the named maps (at least one) to hold the same (sorted, per-CPU-summed) contents on both sides. */
export function expectSameMaps(collection: Collection, kernel: RecordedObject, maps: [string, MapView][]): void {
  expect(maps.length).toBeGreaterThan(0);
  for (const [name, view] of maps) {
    const map = collection.map(name);
    expect({ map: name, entries: xdplabEntries(map, view) }).toEqual({ map: name, entries: kernelEntries(kernel, map, view) });
  }
}

// ---- packets -----------------------------------------------------------------------------

/** RFC 1071, independent of the code under test: 0 when `bytes` (with their checksum) are valid. */
export function onesComplement(bytes: Uint8Array, initial = 0): number {
  let s = initial;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i] << 8) | (i + 1 < bytes.length ? bytes[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** Whether the IPv4 header at `off` has a valid checksum. */
export const ipv4HeaderValid = (frame: Uint8Array, off: number): boolean => onesComplement(frame.subarray(off, off + (frame[off] & 15) * 4)) === 0;

/** Whether the TCP / UDP / ICMP checksum of the IPv4 packet at `off` is valid (a UDP 0 is "none"). */
export function ipv4L4Valid(frame: Uint8Array, off: number): boolean {
  const ihl = (frame[off] & 15) * 4;
  const total = (frame[off + 2] << 8) | frame[off + 3];
  const proto = frame[off + 9];
  const seg = frame.subarray(off + ihl, off + total);
  if (proto === 1) return onesComplement(seg) === 0;
  if (proto === 17 && seg[6] === 0 && seg[7] === 0) return true;
  const pseudo = new Uint8Array(12);
  pseudo.set(frame.subarray(off + 12, off + 20), 0);
  pseudo[9] = proto;
  pseudo[10] = seg.length >> 8;
  pseudo[11] = seg.length & 0xff;
  return onesComplement(seg, ~onesComplement(pseudo) & 0xffff) === 0;
}

export const macText = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
export const ip4Text = (b: Uint8Array): string => [...b].join('.');
