/**
 * A live interface as a packet source: the frames it captures as capture records, one after
 * another, until a count of frames, a duration or an abort signal (Ctrl-C) ends the run —
 * the shape of a capture reader (pcap/reader.ts), so a replay runs either the same way.
 *
 * Records count from 0 in arrival order; timestamps are the capture's. `stats` are the
 * interface's when the run ended (captured, dropped by the kernel's ring).
 */
import { LINKTYPE_ETHERNET } from '../packet/constants.js';
import { LiveInterface, type LiveOptions, type LiveStats } from './interface.js';

export interface LiveRunLimits {
  /**
   * Stop once this many frames have arrived: run, or dropped by the kernel because the ring was
   * full — so a burst larger than the ring still ends, every frame accounted for.
   */
  count?: number;
  /** Stop after this many seconds. */
  seconds?: number;
  /** Stop when aborted (SIGINT). */
  signal?: AbortSignal;
}

/**
 * The one record a live source refills for every frame (a reader's contract: copy what you
 * keep); the shape of pcap/'s CaptureRecord, which live/, beside pcap/, does not import.
 */
export class LiveRecord {
  index = -1;
  tsSec = 0;
  tsNsec = 0;
  bytes: Uint8Array = new Uint8Array(0);
  dataOffset = 0;
  capLen = 0;
  origLen = 0;
  readonly linkType = LINKTYPE_ETHERNET;
  readonly interfaceId = 0;
  get data(): Uint8Array {
    return this.bytes;
  }
}

export class LiveSource {
  /** A live source skips nothing and has nothing to note; there for the reader's shape. */
  readonly skipped: readonly never[] = [];
  readonly notes: readonly string[] = [];
  private readonly iface: LiveInterface;

  constructor(readonly name: string, options: LiveOptions, private readonly limits: LiveRunLimits) {
    this.iface = LiveInterface.open(name, options);
  }

  /** Counts of the interface (final once the run has ended). */
  get stats(): LiveStats {
    return this.iface.stats();
  }

  /** Sends a frame out of the interface. */
  inject(frame: Uint8Array): void {
    this.iface.inject(frame);
  }

  /** Hands every frame to `visit` until a limit ends the run; resolves to the number of frames. */
  forEach(visit: (record: LiveRecord) => void): Promise<number> {
    const { count, seconds, signal } = this.limits;
    const record = new LiveRecord();
    return new Promise<number>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const end = (err?: unknown): void => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.iface.close();
        if (err === undefined) resolve(record.index + 1);
        else reject(err);
      };
      const onAbort = (): void => end();
      if (count === 0 || signal?.aborted) return end();
      if (seconds !== undefined) timer = setTimeout(onAbort, seconds * 1000);
      signal?.addEventListener('abort', onAbort);
      this.iface.start((frame, tsSec, tsNsec, origLen) => {
        record.index++;
        record.bytes = frame;
        record.capLen = frame.length;
        record.origLen = origLen;
        record.tsSec = tsSec;
        record.tsNsec = tsNsec;
        visit(record);
        if (count !== undefined && record.index + 1 >= count) end();
      }, end, count === undefined ? undefined : () => {
        const s = this.iface.stats();
        if (record.index + 1 + s.droppedByKernel >= count) end();
      });
    });
  }

  async close(): Promise<void> {
    this.iface.close();
  }
}
