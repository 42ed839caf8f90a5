/**
 * Feed a topology its traffic: every capture, merged by capture time, each frame injected into
 * its interface's wire. With `realtime` timing the feed waits as tcpreplay does (at ×N speed);
 * `asap` goes as fast as the emulator can (tcpreplay's --topspeed).
 */
import { openCapture } from '../pcap/reader.js';
import { LINKTYPE_ETHERNET, type CaptureReader, type SkippedRecord } from '../pcap/types.js';
import type { Topology, TrafficSource } from './load.js';

export interface RunStats {
  packets: number;
  skipped: SkippedRecord[];
  /** What the readers said once about their files (pcap/types.ts, CaptureReader.notes). */
  notes: string[];
  /** Wall-clock time of the run. */
  elapsedMs: number;
}

export interface RunOptions {
  skipBad?: boolean;
  /** Called now and then with the packets done so far. */
  onProgress?: (packets: number) => void;
  /**
   * Called after each packet has run to completion: its source (an index into the topology's
   * traffic), its record number in that capture (from 0) and its comment (what --expect checks).
   */
  afterPacket?: (source: number, index: number, comment: string | undefined) => void;
}

interface Pending {
  source: TrafficSource;
  reader: CaptureReader;
  iterator: AsyncIterator<{ index: number; data: Uint8Array; tsSec: number; tsNsec: number; comment?: string }>;
  head: { index: number; data: Uint8Array; tsSec: number; tsNsec: number; comment?: string } | undefined;
  /** Its position in the topology's traffic. */
  at: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function runTraffic(topology: Topology, options: RunOptions = {}): Promise<RunStats> {
  const started = performance.now();
  const readers: CaptureReader[] = [];
  try {
    for (const source of topology.traffic) {
      // Linux cooked and raw IP captures come in as the Ethernet frames their interface would have received.
      readers.push(await openCapture(source.pcap, { skipBad: options.skipBad, linkTypes: [LINKTYPE_ETHERNET], ethernet: { destination: source.into.mac } }));
    }
    const packets = readers.length === 1
      ? await feedOne(topology, topology.traffic[0], readers[0], options)
      : await feedMerged(topology, readers, options);
    return { packets, skipped: readers.flatMap((r) => [...r.skipped]), notes: readers.flatMap((r) => [...r.notes]), elapsedMs: performance.now() - started };
  } finally {
    for (const r of readers) await r.close();
  }
}

/** The pacing of one source: how long to wait before a packet of capture time t. */
class Pacer {
  private first: number | undefined;
  private readonly wallStart = performance.now();

  constructor(private readonly source: TrafficSource) {}

  delayMs(tsSec: number, tsNsec: number): number {
    if (this.source.timing.kind === 'asap') return 0;
    const t = tsSec * 1e3 + tsNsec / 1e6;
    this.first ??= t;
    const due = this.wallStart + (t - this.first) / this.source.timing.multiplier;
    return Math.max(0, due - performance.now());
  }
}

/** One capture: its reader's fast callback path, unless the timing makes it wait. */
async function feedOne(topology: Topology, source: TrafficSource, reader: CaptureReader, options: RunOptions): Promise<number> {
  const network = topology.network;
  let count = 0;
  if (source.timing.kind === 'asap') {
    await reader.forEach((r) => {
      network.inject(source.into, r.data, r.tsSec, r.tsNsec, r.comment);
      options.afterPacket?.(0, r.index, r.comment);
      if (++count % 65536 === 0) options.onProgress?.(count);
    });
    return count;
  }
  const pacer = new Pacer(source);
  for await (const r of reader) {
    const wait = pacer.delayMs(r.tsSec, r.tsNsec);
    const data = wait > 0 ? r.data.slice() : r.data;
    if (wait > 0) await sleep(wait);
    network.inject(source.into, data, r.tsSec, r.tsNsec, r.comment);
    options.afterPacket?.(0, r.index, r.comment);
    if (++count % 1024 === 0) options.onProgress?.(count);
  }
  return count;
}

/** Several captures, merged by capture time (ties: in the order the topology lists them). */
async function feedMerged(topology: Topology, readers: CaptureReader[], options: RunOptions): Promise<number> {
  const pending: Pending[] = [];
  for (const [i, reader] of readers.entries()) {
    const iterator = reader[Symbol.asyncIterator]();
    pending.push({ source: topology.traffic[i], reader, iterator, head: undefined, at: i });
  }
  const advance = async (p: Pending): Promise<void> => {
    const next = await p.iterator.next();
    p.head = next.done ? undefined : { index: next.value.index, data: next.value.data.slice(), tsSec: next.value.tsSec, tsNsec: next.value.tsNsec, comment: next.value.comment };
  };
  for (const p of pending) await advance(p);
  const pacers = new Map(pending.map((p) => [p, new Pacer(p.source)]));
  let count = 0;
  for (;;) {
    let best: Pending | undefined;
    for (const p of pending) {
      if (!p.head) continue;
      if (!best || p.head.tsSec < best.head!.tsSec || (p.head.tsSec === best.head!.tsSec && p.head.tsNsec < best.head!.tsNsec)) best = p;
    }
    if (!best) return count;
    const { data, tsSec, tsNsec } = best.head!;
    const wait = pacers.get(best)!.delayMs(tsSec, tsNsec);
    if (wait > 0) await sleep(wait);
    topology.network.inject(best.source.into, data, tsSec, tsNsec, best.head!.comment);
    options.afterPacket?.(best.at, best.head!.index, best.head!.comment);
    if (++count % 1024 === 0) options.onProgress?.(count);
    await advance(best);
  }
}

