/**
 * What `xdplab crosscheck` compares, as plain functions over both sides' answers (so the
 * report is tested without a kernel): per packet the verdict (or the test run's refusal, or
 * xdplab's fault) and the output bytes, then each map's contents after the run.
 *
 * Maps are compared in the form both sides give alike: entries by key; a per-CPU value summed
 * over the CPUs in u64 words (a test run counts on whichever CPU it runs, xdplab on CPU 0);
 * a value that is not a whole number of u64 words (a per-CPU scratch struct), the values of
 * the CPUs that hold one (not all zero bytes), sorted — the kernel's batches run on one CPU.
 */
import { BPF_MAP_TYPE } from '../uapi/bpf.js';

/** One side's answer for one packet. */
export type SideAnswer =
  | { verdict: string; out: Uint8Array; decided?: string }
  | { refused: string }
  | { fault: string };

export interface PacketDifference {
  /** From 1, as Wireshark counts. */
  packet: number;
  kind: 'verdict' | 'bytes';
  xdplab: string;
  kernel: string;
  /** For bytes: the first offset where they differ. */
  offset?: number;
  /** Where xdplab's verdict was decided (its pc and C line). */
  decided?: string;
}

export interface MapDifference {
  map: string;
  key: string;
  /** Hex of the (normalised) value, undefined when the side has no such key. */
  xdplab?: string;
  kernel?: string;
}

/** The map types whose contents both sides can show (no fds, program ids or queues). */
export const COMPARABLE_MAPS = new Set<number>([
  BPF_MAP_TYPE.BPF_MAP_TYPE_HASH, BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE.BPF_MAP_TYPE_PERCPU_HASH,
  BPF_MAP_TYPE.BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE.BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE.BPF_MAP_TYPE_LRU_PERCPU_HASH,
  BPF_MAP_TYPE.BPF_MAP_TYPE_LPM_TRIE,
]);

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** The first offset where two byte strings differ (the shorter one's length when one is a prefix), or -1. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

const outcome = (s: SideAnswer): string => ('verdict' in s ? s.verdict : 'refused' in s ? `refused (${s.refused})` : `a fault (${s.fault})`);

/** How one packet's answers differ, if they do: the verdict first, then the bytes. */
export function comparePacket(packet: number, x: SideAnswer, k: SideAnswer): PacketDifference | undefined {
  const decided = 'verdict' in x ? x.decided : undefined;
  if (!('verdict' in x) || !('verdict' in k)) {
    // Both refused the packet (a frame a test run cannot take): they agree.
    if ('refused' in x && 'refused' in k) return undefined;
    return { packet, kind: 'verdict', xdplab: outcome(x), kernel: outcome(k) };
  }
  if (x.verdict !== k.verdict) return { packet, kind: 'verdict', xdplab: x.verdict, kernel: k.verdict, decided };
  const at = firstDifference(x.out, k.out);
  if (at < 0) return undefined;
  return { packet, kind: 'bytes', xdplab: `${x.out.length} bytes`, kernel: `${k.out.length} bytes`, offset: at };
}

/** One value as compared: per-CPU values summed in u64 words (or sorted when they are not words). */
export function normaliseValue(values: readonly Uint8Array[], valueSize: number): string {
  if (values.length === 1) return hex(values[0].subarray(0, valueSize));
  if (valueSize % 8 !== 0) {
    const held = values.map((v) => v.subarray(0, valueSize)).filter((v) => v.some((b) => b !== 0));
    return held.length === 0 ? hex(new Uint8Array(valueSize)) : held.map(hex).sort().join(',');
  }
  const out = new Uint8Array(valueSize);
  const view = new DataView(out.buffer);
  for (const v of values) {
    const src = new DataView(v.buffer, v.byteOffset, v.byteLength);
    for (let w = 0; w < valueSize; w += 8) view.setBigUint64(w, BigInt.asUintN(64, view.getBigUint64(w, true) + src.getBigUint64(w, true)), true);
  }
  return hex(out);
}

/** Every key whose value differs, or that one side lacks, in key order. */
export function compareEntries(map: string, xdplab: ReadonlyMap<string, string>, kernel: ReadonlyMap<string, string>): MapDifference[] {
  const keys = [...new Set([...xdplab.keys(), ...kernel.keys()])].sort();
  return keys.filter((k) => xdplab.get(k) !== kernel.get(k)).map((key) => ({ map, key, xdplab: xdplab.get(key), kernel: kernel.get(key) }));
}

const clip = (h: string): string => (h.length > 64 ? `${h.slice(0, 64)}…` : h);

export function packetLine(d: PacketDifference): string {
  if (d.kind === 'bytes') return `  packet ${d.packet}: output bytes differ from byte ${d.offset} (xdplab ${d.xdplab}, kernel ${d.kernel})`;
  return `  packet ${d.packet}: verdict: xdplab ${d.xdplab}, kernel ${d.kernel}${d.decided ? ` (xdplab ${d.decided})` : ''}`;
}

export function mapLine(d: MapDifference): string {
  const side = (v: string | undefined): string => (v === undefined ? 'no such key' : clip(v));
  return `  map ${d.map}: key ${clip(d.key)}: xdplab ${side(d.xdplab)}, kernel ${side(d.kernel)}`;
}

export interface CrosscheckResult {
  program: string;
  packets: number;
  kernel: string;
  packetDifferences: PacketDifference[];
  mapDifferences: MapDifference[];
  mapsCompared: string[];
  /** Maps left out, each with why. */
  mapsNotCompared: string[];
}

/** The report a person reads: each difference, then one line that says where the two parted, or that they agree. */
export function reportLines(r: CrosscheckResult): string[] {
  const head = `crosscheck: ${r.packets} packet${r.packets === 1 ? '' : 's'} through ${r.program} in xdplab and in the kernel (BPF_PROG_TEST_RUN, Linux ${r.kernel})`;
  const lines = [head, ...r.packetDifferences.map(packetLine), ...r.mapDifferences.map(mapLine)];
  if (r.mapsNotCompared.length) lines.push(`maps not compared: ${r.mapsNotCompared.join('; ')}`);
  const maps = r.mapsCompared.length ? `maps ${r.mapsCompared.join(', ')}` : 'no map';
  const np = new Set(r.packetDifferences.map((d) => d.packet)).size;
  const nm = r.mapDifferences.length;
  lines.push(np + nm === 0
    ? `all agree: every verdict and output byte, and ${maps} after the run`
    : `they differ: ${np} packet${np === 1 ? '' : 's'}, ${nm} map entr${nm === 1 ? 'y' : 'ies'} (of ${maps})`);
  return lines;
}
