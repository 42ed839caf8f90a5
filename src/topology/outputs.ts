/**
 * The files a run writes, per interface: what it sent on its wire, what its node delivered to
 * itself, and what was dropped — pcapng, each dropped packet with a comment saying which
 * program, hook, verdict and pc dropped it (Wireshark shows it as the packet comment). Writers
 * open on first use; every file is written under a temporary name and renamed when complete.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { XdplabError } from '../errors.js';
import type { VirtualNic } from '../net/nic.js';
import type { PacketSink, PacketTime } from '../net/recorder.js';
import { createCaptureWriter } from '../pcap/writer.js';
import type { CaptureWriter } from '../pcap/types.js';

type Kind = 'tx' | 'delivered' | 'dropped';

/** The file of --before-after: every program run, the frame before and after it. */
export const BEFORE_AFTER_FILE = 'before-after.pcapng';

export class OutputFiles implements PacketSink {
  private dir: string | undefined;
  private readonly writers = new Map<string, CaptureWriter>();
  private beforeAfter: CaptureWriter | undefined;
  private runs = 0;
  readonly ran: PacketSink['ran'];

  /** `beforeAndAfter`: also write BEFORE_AFTER_FILE (two records for every program run). */
  constructor(beforeAndAfter = false) {
    this.ran = beforeAndAfter ? (nic, hook, program, before, after, verdict, t) => this.logRun(nic, hook, program, before, after, verdict, t) : undefined;
  }

  /** Where the files go; created when the first one is. */
  setDirectory(dir: string): void {
    this.dir = dir;
  }

  get files(): string[] {
    return [...this.writers.values(), ...(this.beforeAfter ? [this.beforeAfter] : [])].map((w) => w.file);
  }

  private writer(nic: VirtualNic, kind: Kind): CaptureWriter {
    const key = `${nic.id}|${kind}`;
    let w = this.writers.get(key);
    if (!w) {
      if (!this.dir) throw new XdplabError('USAGE', 'outputs: no directory set');
      mkdirSync(this.dir, { recursive: true });
      w = createCaptureWriter(path.join(this.dir, `${nic.node.name}-${nic.name}.${kind}.pcapng`), { format: 'pcapng' });
      this.writers.set(key, w);
    }
    return w;
  }

  tx(nic: VirtualNic, frame: Uint8Array, t: PacketTime): void {
    this.writer(nic, 'tx').write(frame, t.sec, t.nsec);
  }

  delivered(nic: VirtualNic, frame: Uint8Array, t: PacketTime): void {
    this.writer(nic, 'delivered').write(frame, t.sec, t.nsec);
  }

  dropped(nic: VirtualNic, frame: Uint8Array, t: PacketTime, comment: string): void {
    this.writer(nic, 'dropped').write(frame, t.sec, t.nsec, comment);
  }

  private logRun(nic: VirtualNic, hook: string, program: string, before: Uint8Array, after: Uint8Array, verdict: string, t: PacketTime): void {
    if (!this.beforeAfter) {
      if (!this.dir) throw new XdplabError('USAGE', 'outputs: no directory set');
      mkdirSync(this.dir, { recursive: true });
      this.beforeAfter = createCaptureWriter(path.join(this.dir, BEFORE_AFTER_FILE), { format: 'pcapng' });
    }
    const run = ++this.runs;
    const what = `run ${run}: ${nic.id} ${hook} program ${program}`;
    this.beforeAfter.write(before, t.sec, t.nsec, `${what}: before`);
    this.beforeAfter.write(after, t.sec, t.nsec, `${what}: after, ${verdict}`);
  }

  /** Finish every file (rename into place) and write `name` (JSON) beside them. */
  async close(summaryName: string, summary: unknown): Promise<void> {
    for (const w of this.writers.values()) await w.close();
    await this.beforeAfter?.close();
    if (!this.dir) return;
    mkdirSync(this.dir, { recursive: true });
    const file = path.join(this.dir, summaryName);
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, JSON.stringify(summary, null, 2) + '\n');
    renameSync(temp, file);
  }

  /** Give up: remove every temporary file; nothing appears under a final name. */
  async abort(): Promise<void> {
    for (const w of this.writers.values()) await w.abort();
    await this.beforeAfter?.abort();
  }
}
