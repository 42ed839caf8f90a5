/**
 * BPF_MAP_TYPE_PERF_EVENT_ARRAY: where bpf_perf_event_output sends records. In the kernel each
 * slot holds a perf event (opened by a reader such as libbpf's perf_buffer, one per CPU) with
 * its own ring; here every slot below the CPU count starts open, as if such a reader were
 * attached (unless the host says none is: MapHost.perfReaders = false, as in a test run), with its event on the CPU of the same number. `update(key, any 4 bytes)` opens a
 * slot (event on CPU `key`), `delete(key)` closes it.
 *
 * Records go to a ring per slot in the arena (allocated on a slot's first record; no JS
 * allocation per record), each as the reader's sample callback sees it: the data, then the
 * context bytes the helper appends (BPF_F_CTXLEN_MASK), zero-padded so that 4 + size is a
 * multiple of 8 (perf's raw sample). A full ring loses the record: -ENOSPC and `lost` grows.
 * `drain()` returns every record in the order they were written, across slots.
 */
import type { MapSpec } from '../spec/types.js';
import type { Region } from '../vm/arena.js';
import { NO_PROGRAM_ACCESS, readU32, writeU32 } from './common.js';
import { FdArrayMap } from './fd-array.js';
import { type MapHost } from './map.js';
import { ERRNO } from '../uapi/errno.js';
import { BPF_F_CURRENT_CPU } from '../uapi/bpf.js';
import type { MapSpecCheck } from './alloc-check.js';

/** Bytes of each slot's ring (64 pages, libbpf's common choice); a power of two. */
export const PERF_RING_BYTES = 64 * 4096;
const RECORD_HEADER = 8;

export interface PerfRecord {
  /** The slot (CPU) the record went to. */
  cpu: number;
  data: Uint8Array;
}

export class PerfEventArrayMap extends FdArrayMap {
  /** libbpf sizes a perf event array left at 0 to the number of CPUs; then fd_array_map_alloc_check. */
  static override checkSpec(check: MapSpecCheck): void {
    if (check.maxEntries === 0) check.maxEntries = check.cpus;
    super.checkSpec(check);
  }

  private readonly rings: (Region | undefined)[];
  /** Producer and consumer positions of each slot's ring (bytes, monotonic). */
  private readonly head: Float64Array;
  private readonly tail: Float64Array;
  /** Records lost to a full ring, per slot. */
  readonly lost: Float64Array;
  private seq = 0;

  constructor(host: MapHost, spec: MapSpec, id: number) {
    super(host, spec, id);
    this.rings = new Array(spec.maxEntries).fill(undefined);
    this.head = new Float64Array(spec.maxEntries);
    this.tail = new Float64Array(spec.maxEntries);
    this.lost = new Float64Array(spec.maxEntries);
    const u8 = this.arena.u8;
    if (host.perfReaders === false) return;
    for (let i = 0; i < Math.min(spec.maxEntries, this.cpus); i++) writeU32(u8, this.slots.start + i * 4, i + 1);
  }

  /** A slot stores 1 + the CPU its event is on. */
  protected resolve(ref: number): number {
    void ref;
    return 1;
  }

  override updateElem(keyAddr: number, valueAddr: number, flags: number, cpu: number): number {
    const index = readU32(this.arena.u8, keyAddr);
    const err = super.updateElem(keyAddr, valueAddr, flags, cpu);
    if (err === 0) writeU32(this.arena.u8, this.slots.start + index * 4, index + 1);
    return err;
  }

  /** The kernel has no way to read a perf event back through the map: -ENOTSUPP. */
  protected sysValue(stored: number): number {
    void stored;
    return -ERRNO.ENOTSUPP;
  }

  /**
   * bpf_perf_event_output's map part (__bpf_perf_event_output): `index` is the low 32 bits of
   * the flags (BPF_F_CURRENT_CPU for this CPU's slot), the record is `size` bytes at `dataAddr`
   * followed by `ctxSize` bytes at `ctxAddr`. 0 or -errno. The helper checks the other flag bits.
   */
  output(index: number, dataAddr: number, size: number, cpu: number, ctxAddr = 0, ctxSize = 0): number {
    let slot = index >>> 0;
    if (slot === BPF_F_CURRENT_CPU) slot = cpu;
    if (slot >= this.spec.maxEntries) return -ERRNO.E2BIG;
    const open = this.slotAt(slot);
    if (open === 0) return -ERRNO.ENOENT;
    if (open - 1 !== cpu) return -ERRNO.EOPNOTSUPP;
    const raw = ((size + ctxSize + 4 + 7) & ~7) - 4;
    const len = RECORD_HEADER + ((raw + 7) & ~7);
    if (len > PERF_RING_BYTES || this.head[slot] + len - this.tail[slot] > PERF_RING_BYTES) {
      this.lost[slot]++;
      return -ERRNO.ENOSPC;
    }
    const ring = (this.rings[slot] ??= this.arena.alloc(PERF_RING_BYTES, 'map', `${this.name} perf ring ${slot}`, NO_PROGRAM_ACCESS));
    const u8 = this.arena.u8;
    const base = ring.start;
    let pos = this.head[slot];
    // Records are 8-byte aligned and the ring a power of two, so a header never wraps.
    const hdr = base + (pos % PERF_RING_BYTES);
    writeU32(u8, hdr, raw);
    writeU32(u8, hdr + 4, this.seq++);
    pos += RECORD_HEADER;
    pos = ringWrite(u8, base, pos, dataAddr, size);
    pos = ringWrite(u8, base, pos, ctxAddr, ctxSize);
    for (let i = size + ctxSize; i < ((raw + 7) & ~7); i++, pos++) u8[base + (pos % PERF_RING_BYTES)] = 0;
    this.head[slot] += len;
    return 0;
  }

  /** Every record written since the last drain, in the order written. */
  drain(): PerfRecord[] {
    const found: { seq: number; record: PerfRecord }[] = [];
    const u8 = this.arena.u8;
    for (let slot = 0; slot < this.spec.maxEntries; slot++) {
      const ring = this.rings[slot];
      if (!ring) continue;
      let pos = this.tail[slot];
      while (pos < this.head[slot]) {
        const hdr = ring.start + (pos % PERF_RING_BYTES);
        const raw = readU32(u8, hdr);
        const data = new Uint8Array(raw);
        for (let i = 0; i < raw; i++) data[i] = u8[ring.start + ((pos + RECORD_HEADER + i) % PERF_RING_BYTES)];
        found.push({ seq: readU32(u8, hdr + 4), record: { cpu: slot, data } });
        pos += RECORD_HEADER + ((raw + 7) & ~7);
      }
      this.tail[slot] = pos;
    }
    return found.sort((a, b) => a.seq - b.seq).map((f) => f.record);
  }

  /** Perf events cannot be read back through the map, so a dump has no entries. */
  override *entries(): Generator<[Uint8Array, Uint8Array]> {}

  override close(): void {
    for (const ring of this.rings) if (ring) this.arena.free(ring);
    super.close();
  }
}

/** Copy `size` bytes at `src` into the ring at position `pos` (wrapping); the new position. */
function ringWrite(u8: Uint8Array, base: number, pos: number, src: number, size: number): number {
  const off = pos % PERF_RING_BYTES;
  const first = Math.min(size, PERF_RING_BYTES - off);
  u8.copyWithin(base + off, src, src + first);
  if (first < size) u8.copyWithin(base, src + first, src + size);
  return pos + size;
}
