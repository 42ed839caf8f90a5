/**
 * The files a run writes, per interface: what it sent on its wire, what its node delivered to
 * itself, and what was dropped — pcapng, each dropped packet with a comment saying which
 * program, hook, verdict and pc dropped it (Wireshark shows it as the packet comment) — and
 * summary.json, with every map's contents after the run. Writers
 * open on first use; every file is written under a temporary name and renamed when complete.
 */
import path from 'node:path';
import { XdplabError } from '../errors.js';
import { OutputFile, makeOutputDirectory, removeDirectories } from '../files.js';
import type { VirtualNic } from '../net/nic.js';
import type { PacketSink, PacketTime } from '../net/recorder.js';
import { createCaptureWriter } from '../pcap/writer.js';
import type { CaptureWriter } from '../pcap/types.js';
import type { Collection } from '../runtime/collection.js';
import { writeMapsJson } from '../runtime/map-dump.js';

type Kind = 'tx' | 'delivered' | 'dropped';

/** Each file's if_description: what its packets are. */
const DESCRIPTIONS: Record<Kind, (nic: VirtualNic) => string> = {
  tx: (nic) => `frames ${nic.id} sent on its wire`,
  delivered: (nic) => `packets ${nic.node.name}'s stack took for itself on ${nic.name}`,
  dropped: (nic) => `packets dropped at ${nic.id}, each commented with why`,
};

/** The file of --before-after: every program run, the frame before and after it. */
export const BEFORE_AFTER_FILE = 'before-after.pcapng';

export class OutputFiles implements PacketSink {
  private dir: string | undefined;
  /** Directories setDirectory made, removed again by abort when nothing was written. */
  private created: string[] = [];
  private readonly writers = new Map<string, CaptureWriter>();
  private beforeAfter: CaptureWriter | undefined;
  private runs = 0;
  readonly ran: PacketSink['ran'];

  /** `beforeAndAfter`: also write BEFORE_AFTER_FILE (two records for every program run). */
  constructor(beforeAndAfter = false) {
    this.ran = beforeAndAfter ? (nic, hook, program, before, after, verdict, t) => this.logRun(nic, hook, program, before, after, verdict, t) : undefined;
  }

  /**
   * Where the files go: made now (with missing parents) and checked to be writable, so a
   * directory that cannot be made or written ends the run before it starts.
   */
  setDirectory(dir: string): void {
    this.created = makeOutputDirectory(dir);
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
      w = createCaptureWriter(path.join(this.dir, `${nic.node.name}-${nic.name}.${kind}.pcapng`), {
        format: 'pcapng', interfaceName: nic.id, interfaceDescription: DESCRIPTIONS[kind](nic),
      });
      this.writers.set(key, w);
    }
    return w;
  }

  // The input packet's own comment comes first, then why it was dropped (two opt_comments).
  tx(nic: VirtualNic, frame: Uint8Array, t: PacketTime): void {
    this.writer(nic, 'tx').write(frame, t.sec, t.nsec, t.comment);
  }

  delivered(nic: VirtualNic, frame: Uint8Array, t: PacketTime): void {
    this.writer(nic, 'delivered').write(frame, t.sec, t.nsec, t.comment);
  }

  dropped(nic: VirtualNic, frame: Uint8Array, t: PacketTime, comment: string): void {
    this.writer(nic, 'dropped').write(frame, t.sec, t.nsec, t.comment ? [t.comment, comment] : comment);
  }

  private logRun(nic: VirtualNic, hook: string, program: string, before: Uint8Array, after: Uint8Array, verdict: string, t: PacketTime): void {
    if (!this.beforeAfter) {
      if (!this.dir) throw new XdplabError('USAGE', 'outputs: no directory set');
      this.beforeAfter = createCaptureWriter(path.join(this.dir, BEFORE_AFTER_FILE), {
        format: 'pcapng', interfaceName: 'program runs', interfaceDescription: 'every program run: the frame before it and after it',
      });
    }
    const run = ++this.runs;
    const what = `run ${run}: ${nic.id} ${hook} program ${program}`;
    this.beforeAfter.write(before, t.sec, t.nsec, `${what}: before`);
    this.beforeAfter.write(after, t.sec, t.nsec, `${what}: after, ${verdict}`);
  }

  /**
   * Finish every file and write `name` (JSON) beside them — the summary object, and under
   * "maps" every map of every object after the run ({ object: { map: [entries] } }, streamed:
   * runtime/map-dump.ts); only when all are complete are they renamed into place, so a failure
   * (a full disk) leaves none of them.
   */
  async close(summaryName: string, summary: Record<string, unknown>, maps: ReadonlyMap<string, Collection> = new Map()): Promise<void> {
    const captures = [...this.writers.values(), ...(this.beforeAfter ? [this.beforeAfter] : [])];
    for (const w of captures) w.finish();
    let out: OutputFile | undefined;
    if (this.dir) {
      out = new OutputFile(path.join(this.dir, summaryName));
      try {
        writeSummary(out, summary, maps);
      } catch (err) {
        out.abort();
        throw err;
      }
    }
    for (const w of captures) await w.close();
    out?.commit();
  }

  /**
   * Give up: remove every temporary file, and the directories setDirectory made if they are
   * still empty; nothing appears under a final name.
   */
  async abort(): Promise<void> {
    for (const w of this.writers.values()) await w.abort();
    await this.beforeAfter?.abort();
    removeDirectories(this.created);
  }
}

/** The summary as JSON.stringify(…, null, 2) would write it with `maps` added, the maps streamed. */
function writeSummary(out: OutputFile, summary: Record<string, unknown>, maps: ReadonlyMap<string, Collection>): void {
  const head = JSON.stringify(summary, null, 2);
  out.write(head.slice(0, head.lastIndexOf('}')).trimEnd());
  out.write(`${Object.keys(summary).length ? ',' : ''}\n  "maps": {`);
  let first = true;
  for (const [object, collection] of maps) {
    out.write(`${first ? '' : ','}\n    ${JSON.stringify(object)}: `);
    writeMapsJson(collection, (text) => out.write(text), '    ');
    first = false;
  }
  out.write(first ? '}\n}\n' : '\n  }\n}\n');
}
