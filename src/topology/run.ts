/**
 * Feed a topology its traffic: every capture, merged by capture time, each frame injected into
 * its interface's wire. With `realtime` timing the feed waits as tcpreplay does (at ×N speed);
 * `asap` goes as fast as the emulator can (tcpreplay's --topspeed).
 *
 * Interfaces live on host interfaces (`live: IFACE`) take the frames arriving there into their
 * wire as they come, between the captures' frames, and what they send goes out of the host
 * interface; the network then runs on the host's clock. A run with live interfaces ends at
 * `seconds` or when `signal` aborts (Ctrl-C), once its captures are fed.
 */
import { LiveInterface, type LiveStats } from '../live/interface.js';
import type { Network } from '../net/network.js';
import type { VirtualNic } from '../net/nic.js';
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
  /** Each live interface's counts (pcap_stats) and the frames sent out of it. */
  live: LiveCount[];
}

export interface LiveCount extends LiveStats {
  /** node/iface */
  nic: string;
  host: string;
  sent: number;
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
  /** With live interfaces: end after this many seconds (else at `signal`). */
  seconds?: number;
  signal?: AbortSignal;
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
  const live = openLive(topology.network);
  try {
    for (const source of topology.traffic) {
      // Linux cooked and raw IP captures come in as the Ethernet frames their interface would have received.
      readers.push(await openCapture(source.pcap, { skipBad: options.skipBad, linkTypes: [LINKTYPE_ETHERNET], ethernet: { destination: source.into.mac } }));
    }
    let packets = readers.length === 1
      ? await feedOne(topology, topology.traffic[0], readers[0], options)
      : await feedMerged(topology, readers, options);
    if (live.length) packets += await untilEnd(live, options);
    return {
      packets, skipped: readers.flatMap((r) => [...r.skipped]), notes: readers.flatMap((r) => [...r.notes]), elapsedMs: performance.now() - started,
      live: live.map((l) => l.count()),
    };
  } finally {
    for (const l of live) l.close();
    for (const r of readers) await r.close();
  }
}

/** A live interface of the topology while the run captures there. */
class LiveWire {
  received = 0;
  sent = 0;
  failure: unknown;

  constructor(readonly nic: VirtualNic, readonly iface: LiveInterface) {}

  count(): LiveCount {
    return { nic: this.nic.id, host: this.iface.name, sent: this.sent, ...this.iface.stats() };
  }

  close(): void {
    this.nic.hostWire = undefined;
    this.iface.close();
  }
}

/** Opens every live interface and starts feeding its frames into the network (on the host's clock). */
function openLive(network: Network): LiveWire[] {
  const wires: LiveWire[] = [];
  try {
    for (const nic of network.nodes.flatMap((n) => n.nics)) {
      if (nic.host !== undefined) wires.push(new LiveWire(nic, LiveInterface.open(nic.host)));
    }
  } catch (err) {
    for (const w of wires) w.close();
    throw err;
  }
  if (wires.length) network.hostClock = true;
  for (const w of wires) {
    w.nic.hostWire = (frame) => {
      w.iface.inject(frame);
      w.sent++;
    };
    w.iface.start((frame, tsSec, tsNsec) => {
      w.received++;
      network.inject(w.nic, frame, tsSec, tsNsec);
    }, (err) => { w.failure = err; });
  }
  return wires;
}

/** Waits for the end of a live run (seconds, or the signal); the frames the live interfaces took. */
async function untilEnd(live: LiveWire[], options: RunOptions): Promise<number> {
  const deadline = options.seconds === undefined ? Infinity : performance.now() + options.seconds * 1000;
  while (!options.signal?.aborted && performance.now() < deadline) {
    const failed = live.find((l) => l.failure !== undefined);
    if (failed) throw failed.failure;
    await sleep(Math.min(50, Math.max(0, deadline - performance.now())));
  }
  return live.reduce((n, l) => n + l.received, 0);
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

