/**
 * BPF_MAP_TYPE_DEVMAP_HASH (kernel/bpf/devmap.c): devmap entries (devmap.ts) under arbitrary
 * u32 keys. As the kernel: n_buckets = roundup_pow_of_two(max_entries), a key's bucket is
 * key & (n_buckets - 1) (no hashing), entries enter at the head of their bucket (an update of
 * an existing key moves it there too), get_next_key walks the key's bucket then the following
 * ones. Quirks kept: BPF_EXIST on a missing key inserts it; ifindex 0 is -EINVAL.
 *
 * Arena: buckets (u32: 1 + element), meta [next, key] per element (not addressable by
 * programs), values (struct bpf_devmap_val, 8 bytes, read-only to programs).
 */
import { BPF_EXIST, BPF_NOEXIST } from '../uapi/bpf.js';
import type { MapSpec } from '../spec/types.js';
import type { Region } from '../vm/arena.js';
import { REGION_READ } from '../vm/arena.js';
import { NO_PROGRAM_ACCESS, readU32, roundUpPow2, u32Bytes, writeU32 } from './common.js';
import { devmapProgram } from './devmap.js';
import { TARGET_ENTRY_SIZE } from './target-array.js';
import { BpfMap, type MapHost } from './map.js';
import { ERRNO } from '../uapi/errno.js';
import type { MapSpecCheck } from './alloc-check.js';
import { DevMap } from './devmap.js';

export class DevMapHash extends BpfMap {
  static override checkSpec(check: MapSpecCheck): void {
    DevMap.checkSpec(check);
    if (check.maxEntries > 2 ** 31) check.fail('EINVAL', `max_entries ${check.maxEntries} is above 2^31`);
  }

  readonly nBuckets: number;
  readonly buckets: Region;
  readonly meta: Region;
  readonly values: Region;
  count = 0;
  private freeHead: number;

  constructor(host: MapHost, spec: MapSpec, id: number) {
    super(host, spec, id);
    this.nBuckets = roundUpPow2(spec.maxEntries);
    this.buckets = this.arena.alloc(this.nBuckets * 4, 'map', `${spec.name} buckets`, NO_PROGRAM_ACCESS);
    this.meta = this.arena.alloc(spec.maxEntries * 8, 'map', `${spec.name} elements`, NO_PROGRAM_ACCESS);
    this.values = this.arena.alloc(spec.maxEntries * TARGET_ENTRY_SIZE, 'map', `${spec.name} values`, REGION_READ);
    const u8 = this.arena.u8;
    for (let e = 0; e < spec.maxEntries; e++) writeU32(u8, this.meta.start + e * 8, e + 1 < spec.maxEntries ? e + 2 : 0);
    this.freeHead = 1;
  }

  private bucketAt(key: number): number {
    return this.buckets.start + (key & (this.nBuckets - 1)) * 4;
  }

  /** The element with key `key`, or -1. */
  private find(key: number): number {
    const u8 = this.arena.u8;
    for (let e = readU32(u8, this.bucketAt(key)); e !== 0; e = readU32(u8, this.meta.start + (e - 1) * 8)) {
      if (readU32(u8, this.meta.start + (e - 1) * 8 + 4) === key) return e - 1;
    }
    return -1;
  }

  private unlink(e: number, key: number): void {
    const u8 = this.arena.u8;
    let at = this.bucketAt(key);
    for (let cur = readU32(u8, at); cur !== 0; at = this.meta.start + (cur - 1) * 8, cur = readU32(u8, at)) {
      if (cur === e + 1) {
        writeU32(u8, at, readU32(u8, this.meta.start + e * 8));
        return;
      }
    }
  }

  override lookupElem(keyAddr: number, cpu: number): number {
    void cpu;
    const e = this.find(readU32(this.arena.u8, keyAddr));
    return e < 0 ? 0 : this.values.start + e * TARGET_ENTRY_SIZE;
  }

  /** __dev_map_hash_update_elem. */
  override updateElem(keyAddr: number, valueAddr: number, flags: number, cpu: number): number {
    void cpu;
    const u8 = this.arena.u8;
    const key = readU32(u8, keyAddr);
    const ifindex = readU32(u8, valueAddr);
    if (flags >>> 0 > BPF_EXIST || ifindex === 0) return -ERRNO.EINVAL;
    const old = this.find(key);
    if (old >= 0 && flags & BPF_NOEXIST) return -ERRNO.EEXIST;
    const prog = devmapProgram(this.host, u8, valueAddr, this.spec.valueSize);
    if (prog < 0) return prog;
    let e = old;
    if (old >= 0) {
      this.unlink(old, key);
    } else {
      if (this.count >= this.spec.maxEntries || this.freeHead === 0) return -ERRNO.E2BIG;
      e = this.freeHead - 1;
      this.freeHead = readU32(u8, this.meta.start + e * 8);
      this.count++;
    }
    const m = this.meta.start + e * 8;
    const bucket = this.bucketAt(key);
    writeU32(u8, m, readU32(u8, bucket));
    writeU32(u8, m + 4, key);
    writeU32(u8, bucket, e + 1);
    writeU32(u8, this.values.start + e * TARGET_ENTRY_SIZE, ifindex);
    writeU32(u8, this.values.start + e * TARGET_ENTRY_SIZE + 4, prog);
    return 0;
  }

  override deleteElem(keyAddr: number): number {
    const u8 = this.arena.u8;
    const key = readU32(u8, keyAddr);
    const e = this.find(key);
    if (e < 0) return -ERRNO.ENOENT;
    this.unlink(e, key);
    writeU32(u8, this.meta.start + e * 8, this.freeHead);
    this.freeHead = e + 1;
    this.count--;
    return 0;
  }

  /** dev_map_hash_get_next_key. */
  protected override userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    const u8 = this.arena.u8;
    let i = 0;
    if (key !== undefined) {
      const k = readU32(key, 0);
      const e = this.find(k);
      if (e >= 0) {
        const next = readU32(u8, this.meta.start + e * 8);
        if (next !== 0) return u32Bytes(readU32(u8, this.meta.start + (next - 1) * 8 + 4));
        i = (k & (this.nBuckets - 1)) + 1;
      }
    }
    for (; i < this.nBuckets; i++) {
      const head = readU32(u8, this.buckets.start + i * 4);
      if (head !== 0) return u32Bytes(readU32(u8, this.meta.start + (head - 1) * 8 + 4));
    }
    return undefined;
  }

  override close(): void {
    this.arena.free(this.buckets);
    this.arena.free(this.meta);
    this.arena.free(this.values);
    super.close();
  }
}
