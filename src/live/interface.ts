/**
 * A host interface, live: frames arriving on it are captured (inbound only, so what xdplab
 * injects is never captured again; an optional BPF filter expression narrows them further)
 * and frames can be injected onto it. Capturing needs root or CAP_NET_RAW.
 *
 * Frames go to the handler one at a time, in arrival order, with the capture's timestamp
 * (microseconds, as libpcap gives them). A frame is a view of one read buffer, valid until
 * the handler returns: copy what you keep. The ring is read in batches while it holds frames,
 * and polled every millisecond while it is empty. The kernel ring's drops come from
 * pcap_stats, exactly (`stats()`); the ring (TPACKET_V3: frames packed into blocks, handed
 * over within a millisecond) holds a burst of a million small frames read slower than they arrive.
 */
import { XdplabError } from '../errors.js';
import { libpcap, type PcapHandle } from './binding.js';

/** The kernel ring's size. */
export const RING_BYTES = 256 << 20;
/** Frames are captured whole up to this length. */
export const SNAP_LENGTH = 65535;
/** One read takes at most this many bytes of records (and so at least 64 frames). */
const READ_BYTES = 4 << 20;
/** How often an empty ring is looked at again, in milliseconds. */
const IDLE_POLL_MS = 1;

export interface LiveOptions {
  /** A BPF filter expression (pcap-filter(7)) frames must match as well. */
  filter?: string;
  ringBytes?: number;
}

/** Counts since the interface was opened. */
export interface LiveStats {
  /** Frames the kernel queued for xdplab (captured), not counting those it dropped. */
  captured: number;
  /** Frames the kernel dropped because the ring was full (pcap_stats ps_drop). */
  droppedByKernel: number;
  /**
   * The interface's own receive drops meanwhile (ps_ifdrop: Linux's rx_dropped, which counts
   * frames the stack found no use for after they were captured too): a hint, not lost frames.
   */
  interfaceRxDropped: number;
}

export type FrameHandler = (frame: Uint8Array, tsSec: number, tsNsec: number, origLen: number) => void;

export class LiveInterface {
  private closed = false;
  private finalStats: LiveStats | undefined;
  private timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  private readonly buffer = Buffer.alloc(READ_BYTES);
  private onError: ((err: unknown) => void) | undefined;

  private constructor(readonly name: string, private readonly handle: PcapHandle) {}

  /** Opens `name` for capture and injection; errors name the interface (or the filter) and say why. */
  static open(name: string, options: LiveOptions = {}): LiveInterface {
    const binding = libpcap();
    try {
      return new LiveInterface(name, binding.open(name, options.filter ?? '', options.ringBytes ?? RING_BYTES, SNAP_LENGTH));
    } catch (err) {
      throw openError(name, options.filter, err);
    }
  }

  /**
   * Hands every frame to `handler` until close(), and calls `onBatch` after each read that
   * brought frames. A handler that throws ends the capture (closed) and the error goes to `onError`.
   */
  start(handler: FrameHandler, onError: (err: unknown) => void, onBatch?: () => void): void {
    this.onError = onError;
    const poll = (): void => {
      this.timer = undefined;
      if (this.closed) return;
      let frames: number;
      try {
        frames = this.readBatch(handler);
        if (frames > 0 && !this.closed) onBatch?.();
      } catch (err) {
        this.close();
        return this.onError?.(err);
      }
      if (this.closed) return;
      this.timer = frames > 0 ? setImmediate(poll) : setTimeout(poll, IDLE_POLL_MS);
    };
    this.timer = setImmediate(poll);
  }

  /** One read of the ring, each frame handed over; the number of frames read. */
  private readBatch(handler: FrameHandler): number {
    const buffer = this.buffer;
    const frames = libpcap().read(this.handle, buffer);
    let offset = 0;
    for (let i = 0; i < frames && !this.closed; i++) {
      const caplen = buffer.readUInt32LE(offset + 8);
      handler(buffer.subarray(offset + 16, offset + 16 + caplen), buffer.readUInt32LE(offset), buffer.readUInt32LE(offset + 4) * 1000, buffer.readUInt32LE(offset + 12));
      offset += 16 + ((caplen + 3) & ~3);
    }
    return frames;
  }

  /** Sends one frame out of the interface (pcap_inject). */
  inject(frame: Uint8Array): void {
    try {
      libpcap().inject(this.handle, Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
    } catch (err) {
      throw new XdplabError('BAD_INPUT', `live ${this.name}: cannot inject a frame of ${frame.length} bytes: ${(err as Error).message}`, { cause: err });
    }
  }

  /** pcap_stats since open (the last ones read before close, once closed). */
  stats(): LiveStats {
    if (this.finalStats) return this.finalStats;
    const s = libpcap().stats(this.handle);
    return { captured: s.received - s.dropped, droppedByKernel: s.dropped, interfaceRxDropped: s.ifdropped };
  }

  /** Stops capturing (no frame is handed over after it) and closes the handle; stats stay readable. */
  close(): void {
    if (this.closed) return;
    this.finalStats = this.stats();
    this.closed = true;
    if (this.timer) {
      clearTimeout(this.timer as NodeJS.Timeout);
      clearImmediate(this.timer as NodeJS.Immediate);
    }
    libpcap().close(this.handle);
  }
}

function openError(name: string, filter: string | undefined, err: unknown): XdplabError {
  const reason = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string }).code;
  if (code === 'ENODEV') return new XdplabError('BAD_INPUT', `live ${name}: no such interface`, { cause: err });
  if (code === 'EPERM') return new XdplabError('BAD_INPUT', `live ${name}: capture not permitted (run as root or with CAP_NET_RAW): ${reason}`, { cause: err });
  if (code === 'EFILTER') return new XdplabError('USAGE', `--filter ${filter}: ${reason}`, { cause: err });
  return new XdplabError('BAD_INPUT', `live ${name}: cannot capture: ${reason}`, { cause: err });
}
