/**
 * PacketState: a packet in the arena as the kernel's xdp_buff / sk_buff linear part holds it —
 * the buffer, and data_meta, data and data_end inside it — kept in step with the program's
 * context and with what the program may access.
 */
import type { Region } from '../vm/arena.js';
import type { XdpFrags } from './xdp-frags.js';

/**
 * A packet in the arena: one region holding headroom + data + tailroom, and the offsets of
 * data_meta, data and data_end inside it. The program may touch only [data_meta, data_end):
 * the region's accessible window follows every change, and so do the context's fields.
 */
export class PacketState {
  dataMeta = 0;
  data = 0;
  dataEnd = 0;
  /**
   * The lowest data_meta and highest data_end since `resetTouched()`: every byte a program or
   * a helper could have written lies inside, so a hook reusing the buffer zeroes only that.
   */
  touchedStart = 0;
  touchedEnd = 0;
  /** An XDP frame's fragments past data_end (multi-buffer frames), reached only by helpers. */
  frags: XdpFrags | undefined = undefined;

  constructor(
    readonly region: Region,
    /** Where in the context the u32 data / data_end / data_meta fields live (arena addresses). */
    private readonly ctxData: number,
    private readonly ctxDataEnd: number,
    private readonly ctxDataMeta: number,
  ) {
    // Until a first reset, assume the whole buffer was touched.
    this.touchedStart = region.base;
    this.touchedEnd = region.base + region.capacity;
  }

  /** The first and one-past-last byte a program may use: the whole allocation. */
  get bufferStart(): number {
    return this.region.base;
  }

  get bufferEnd(): number {
    return this.region.base + this.region.capacity;
  }

  /** The linear part's length (data_end - data); xdpGetBuffLen adds the fragments. */
  get length(): number {
    return this.dataEnd - this.data;
  }

  /** Set the three pointers (arena addresses), then bounds and context fields follow them. */
  set(dataMeta: number, data: number, dataEnd: number, view: DataView): void {
    this.dataMeta = dataMeta;
    this.data = data;
    this.dataEnd = dataEnd;
    if (dataMeta < this.touchedStart) this.touchedStart = dataMeta;
    if (dataEnd > this.touchedEnd) this.touchedEnd = dataEnd;
    this.region.setBounds(dataMeta, dataEnd);
    view.setUint32(this.ctxData, data, true);
    view.setUint32(this.ctxDataEnd, dataEnd, true);
    if (this.ctxDataMeta >= 0) view.setUint32(this.ctxDataMeta, dataMeta, true);
  }

  /** Start tracking the touched window afresh (empty). */
  resetTouched(): void {
    this.touchedStart = this.region.base + this.region.capacity;
    this.touchedEnd = this.region.base;
  }

  /** A copy of the packet's bytes [data, data_end). */
  bytes(u8: Uint8Array): Uint8Array {
    return u8.slice(this.data, this.dataEnd);
  }
}
