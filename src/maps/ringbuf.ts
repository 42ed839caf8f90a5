/**
 * BPF_MAP_TYPE_RINGBUF (kernel/bpf/ringbuf.c): one ring of max_entries bytes (a power of two,
 * a multiple of the page size) shared by all CPUs. Records are laid out as the kernel lays
 * them, so a reader walks them as libbpf's ring_buffer does:
 * - each record starts with an 8-byte header { u32 len; u32 pg_off } at an 8-byte-aligned
 *   position; len has BPF_RINGBUF_BUSY_BIT while reserved and BPF_RINGBUF_DISCARD_BIT when
 *   discarded; pg_off is the header's page offset from the start of struct bpf_ringbuf (whose
 *   data begins 3 pages in);
 * - reserving round_up(size + 8, 8) bytes fails (NULL, -EAGAIN for output) when the producer
 *   would get a full ring (mask) ahead of the consumer or of the oldest busy record;
 * - the reader stops at a busy record and skips discarded ones.
 * The kernel maps the data pages twice in a row so that a record crossing the end is
 * contiguous; here the data region is twice the ring too, and committing a record that ran past
 * the end copies that part back to the start, where a reader expects it.
 * The consumer and producer positions live in a separate region, as u64s.
 */
import type { MapSpec } from '../spec/types.js';
import type { Region } from '../vm/arena.js';
import { PAGE_SIZE, REGION_READ, REGION_WRITE } from '../vm/arena.js';
import { NO_PROGRAM_ACCESS, readU32, writeU32 } from './common.js';
import { BpfMap, type MapHost, type UserRefusals } from './map.js';
import { ERRNO } from '../uapi/errno.js';
import type { MapSpecCheck } from './alloc-check.js';
import { BPF_F_NUMA_NODE } from '../uapi/bpf.js';
import { isPow2 } from './common.js';

export const BPF_RINGBUF_BUSY_BIT = 0x80000000;
export const BPF_RINGBUF_DISCARD_BIT = 0x40000000;
export const BPF_RINGBUF_HDR_SZ = 8;
/** bpf_ringbuf_output / submit / discard flags. */
export const BPF_RB_NO_WAKEUP = 1;
export const BPF_RB_FORCE_WAKEUP = 2;
/** bpf_ringbuf_query flags. */
export const BPF_RB_AVAIL_DATA = 0;
export const BPF_RB_RING_SIZE = 1;
export const BPF_RB_CONS_POS = 2;
export const BPF_RB_PROD_POS = 3;
/** The largest record: UINT_MAX / 4. */
export const RINGBUF_MAX_RECORD_SZ = 0x3fffffff;
/** Pages of struct bpf_ringbuf before its data (control page, consumer page, producer page). */
const RINGBUF_DATA_PGOFF = 3;

const RINGBUF_REFUSALS: UserRefusals = {
  get_next_key: { errno: ERRNO.ENOTSUPP, why: 'a ring buffer has no keys; use drain()' },
  lookup: { errno: ERRNO.ENOTSUPP, why: 'a ring buffer has no keys; use drain()' },
  update: { errno: ERRNO.ENOTSUPP, why: 'a ring buffer has no keys' },
  delete: { errno: ERRNO.ENOTSUPP, why: 'a ring buffer has no keys' },
};

export class RingbufMap extends BpfMap {
  /** ringbuf_map_alloc's checks. */
  static override checkSpec(check: MapSpecCheck): void {
    const maxEntries = check.maxEntries;
    check.onlyFlags(BPF_F_NUMA_NODE);
    if (check.keySize !== 0 || check.valueSize !== 0) check.fail('EINVAL', 'key_size and value_size must be 0');
    if (!isPow2(maxEntries) || maxEntries % 4096 !== 0) check.fail('EINVAL', `max_entries ${maxEntries} must be a power of 2 and a multiple of the page size`);
  }

  readonly size: number;
  private readonly mask: number;
  /** The ring, twice over (see above); records are readable and writable by programs. */
  readonly data: Region;
  /** consumer_pos, producer_pos, pending_pos as u64s. */
  readonly positions: Region;
  private consumer = 0;
  private producer = 0;
  private pending = 0;

  constructor(host: MapHost, spec: MapSpec, id: number) {
    super(host, spec, id);
    this.size = spec.maxEntries;
    this.mask = this.size - 1;
    this.data = this.arena.alloc(2 * this.size, 'ringbuf', `${spec.name} data`, REGION_READ | REGION_WRITE);
    this.positions = this.arena.alloc(24, 'ringbuf', `${spec.name} positions`, NO_PROGRAM_ACCESS);
  }

  private savePositions(): void {
    const u8 = this.arena.u8;
    const p = this.positions.start;
    writeU64(u8, p, this.consumer);
    writeU64(u8, p + 8, this.producer);
    writeU64(u8, p + 16, this.pending);
  }

  /** bpf_ringbuf_reserve: the sample's address, or 0. */
  reserve(size: number, flags: number): number {
    if (flags !== 0) return 0;
    if (size > RINGBUF_MAX_RECORD_SZ) return 0;
    const len = (size + BPF_RINGBUF_HDR_SZ + 7) & ~7;
    if (len > this.size) return 0;
    const u8 = this.arena.u8;
    const base = this.data.start;
    let pend = this.pending;
    while (pend < this.producer) {
      const hdrLen = readU32(u8, base + (pend % this.size));
      if (hdrLen & BPF_RINGBUF_BUSY_BIT) break;
      pend += (((hdrLen & ~BPF_RINGBUF_DISCARD_BIT) >>> 0) + BPF_RINGBUF_HDR_SZ + 7) & ~7;
    }
    this.pending = pend;
    const prod = this.producer;
    const next = prod + len;
    if (next - this.consumer > this.mask || next - pend > this.mask) return 0;
    const off = prod % this.size;
    writeU32(u8, base + off, (size | BPF_RINGBUF_BUSY_BIT) >>> 0);
    writeU32(u8, base + off + 4, RINGBUF_DATA_PGOFF + Math.floor(off / PAGE_SIZE));
    this.producer = next;
    this.savePositions();
    return base + off + BPF_RINGBUF_HDR_SZ;
  }

  /** Whether `sample` is a record this ring reserved and that is not committed yet. */
  ownsSample(sample: number): boolean {
    const off = sample - BPF_RINGBUF_HDR_SZ - this.data.start;
    if (off < 0 || off >= this.size || off & 7) return false;
    return (readU32(this.arena.u8, sample - BPF_RINGBUF_HDR_SZ) & BPF_RINGBUF_BUSY_BIT) !== 0;
  }

  /** bpf_ringbuf_submit / bpf_ringbuf_discard of the sample at `sample`. */
  commit(sample: number, discard: boolean): void {
    const u8 = this.arena.u8;
    const hdr = sample - BPF_RINGBUF_HDR_SZ;
    const len = readU32(u8, hdr);
    const size = (len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) >>> 0;
    const end = sample + size;
    const ringEnd = this.data.start + this.size;
    if (!discard && end > ringEnd) u8.copyWithin(this.data.start, ringEnd, end);
    writeU32(u8, hdr, ((len ^ BPF_RINGBUF_BUSY_BIT) | (discard ? BPF_RINGBUF_DISCARD_BIT : 0)) >>> 0);
  }

  submit(sample: number, flags = 0): void {
    void flags;
    this.commit(sample, false);
  }

  discard(sample: number, flags = 0): void {
    void flags;
    this.commit(sample, true);
  }

  /** bpf_ringbuf_output: copy `size` bytes at `dataAddr` into a new record; 0 or -errno. */
  output(dataAddr: number, size: number, flags: number): number {
    if (flags & ~(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) return -ERRNO.EINVAL;
    const sample = this.reserve(size, 0);
    if (sample === 0) return -ERRNO.EAGAIN;
    this.arena.u8.copyWithin(sample, dataAddr, dataAddr + size);
    this.commit(sample, false);
    return 0;
  }

  /** bpf_ringbuf_query. */
  query(flags: number): number {
    switch (flags) {
      case BPF_RB_AVAIL_DATA: return this.producer - this.consumer;
      case BPF_RB_RING_SIZE: return this.size;
      case BPF_RB_CONS_POS: return this.consumer;
      case BPF_RB_PROD_POS: return this.producer;
      default: return 0;
    }
  }

  /** The submitted records from the consumer position on, in order (stopping at a busy one); consumes them. */
  drain(): Uint8Array[] {
    const u8 = this.arena.u8;
    const base = this.data.start;
    const records: Uint8Array[] = [];
    while (this.consumer < this.producer) {
      const off = this.consumer % this.size;
      const len = readU32(u8, base + off);
      if (len & BPF_RINGBUF_BUSY_BIT) break;
      const size = (len & ~BPF_RINGBUF_DISCARD_BIT) >>> 0;
      if (!(len & BPF_RINGBUF_DISCARD_BIT)) {
        const record = new Uint8Array(size);
        const start = off + BPF_RINGBUF_HDR_SZ;
        for (let i = 0; i < size; i++) record[i] = u8[base + ((start + i) % this.size)];
        records.push(record);
      }
      this.consumer += (size + BPF_RINGBUF_HDR_SZ + 7) & ~7;
    }
    this.savePositions();
    return records;
  }

  protected override get keyedOpErrno(): number {
    return ERRNO.ENOTSUPP;
  }

  protected override get refusals(): UserRefusals {
    return RINGBUF_REFUSALS;
  }

  override *entries(): Generator<[Uint8Array, Uint8Array]> {}

  override close(): void {
    this.arena.free(this.data);
    this.arena.free(this.positions);
    super.close();
  }
}

function writeU64(u8: Uint8Array, p: number, v: number): void {
  writeU32(u8, p, v % 4294967296);
  writeU32(u8, p + 4, Math.floor(v / 4294967296));
}
