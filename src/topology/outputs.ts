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

export class OutputFiles implements PacketSink {
  private dir: string | undefined;
  private readonly writers = new Map<string, CaptureWriter>();

  /** Where the files go; created when the first one is. */
  setDirectory(dir: string): void {
    this.dir = dir;
  }

  get files(): string[] {
    return [...this.writers.values()].map((w) => w.file);
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

  /** Finish every file (rename into place) and write `name` (JSON) beside them. */
  async close(summaryName: string, summary: unknown): Promise<void> {
    for (const w of this.writers.values()) await w.close();
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
  }
}
