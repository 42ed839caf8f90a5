/**
 * BPF_MAP_TYPE_ARRAY (kernel/bpf/arraymap.c): max_entries values of round_up(value_size, 8)
 * bytes, zero-initialised, in one arena region that programs address directly. Keys are u32
 * indices; every element always exists, so delete is -EINVAL and BPF_NOEXIST is -EEXIST.
 * PercpuArrayMap (percpu-array.ts) reuses this with one slot per CPU.
 */
import { BPF_EXIST, BPF_F_LOCK, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG, BPF_MAP_TYPE } from '../uapi/bpf.js';
import type { Region } from '../vm/arena.js';
import { REGION_READ, REGION_WRITE } from '../vm/arena.js';
import { setMapLookupLayout } from '../vm/map-layout.js';
import { arrayNextKey, readU32 } from './common.js';
import { BpfMap, roundUp8, type MapHost, type UserRefusals } from './map.js';
import { ERRNO } from '../uapi/errno.js';
import type { MapSpec } from '../spec/types.js';
import { ACCESS_MASK, type MapSpecCheck } from './alloc-check.js';
import { BPF_F_INNER_MAP, BPF_F_MMAPABLE, BPF_F_NUMA_NODE, BPF_F_PRESERVE_ELEMS } from '../uapi/bpf.js';

/** The flags an array-backed map takes. */
export const ARRAY_FLAGS = BPF_F_NUMA_NODE | BPF_F_MMAPABLE | ACCESS_MASK | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;

export class ArrayMap extends BpfMap {
  /** array_map_alloc_check, for every array-backed type (array, per-CPU array, fd arrays). */
  static override checkSpec(check: MapSpecCheck): void {
    const { type, flags, valueSize } = check;
    check.needEntries();
    check.needKey(4);
    check.needValue();
    check.onlyFlags(ARRAY_FLAGS);
    check.accessOk();
    if (type !== BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY && flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP)) check.fail('EINVAL', 'BPF_F_MMAPABLE / BPF_F_INNER_MAP are only for arrays');
    if (type !== BPF_MAP_TYPE.BPF_MAP_TYPE_PERF_EVENT_ARRAY && flags & BPF_F_PRESERVE_ELEMS) check.fail('EINVAL', 'BPF_F_PRESERVE_ELEMS is only for perf event arrays');
    if (valueSize > 0x7fffffff) check.fail('E2BIG', `value_size ${valueSize} is too large`);
  }

  /** Bytes between two value slots: round_up(value_size, 8). */
  readonly stride: number;
  /** Value slots per element: 1, or the CPU count for per-CPU arrays. */
  protected readonly slots: number;
  readonly values: Region;
  /** The first value's address (regions never move). */
  protected readonly base: number;

  constructor(host: MapHost, spec: MapSpec, id: number) {
    super(host, spec, id);
    this.stride = roundUp8(spec.valueSize);
    this.slots = this.perCpu ? this.cpus : 1;
    this.values = this.arena.alloc(spec.maxEntries * this.slots * this.stride, 'map', `${spec.name} values`, programAccess(spec.flags));
    this.base = this.values.start;
    if (spec.type === BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY || spec.type === BPF_MAP_TYPE.BPF_MAP_TYPE_PERCPU_ARRAY) {
      // For the JIT's inline lookup: exactly what lookupElem computes.
      setMapLookupLayout(this.arena, this.header.start, { base: this.base, stride: this.stride, slots: this.slots, maxEntries: spec.maxEntries });
    }
  }

  /** The address of element `index`'s value (CPU `cpu`'s slot), or 0 past the end. */
  valueAddress(index: number, cpu = 0): number {
    if (index >= this.spec.maxEntries || cpu >= this.slots) return 0;
    return this.base + (index * this.slots + cpu) * this.stride;
  }

  override lookupElem(keyAddr: number, cpu: number): number {
    const index = readU32(this.arena.u8, keyAddr);
    if (index >= this.spec.maxEntries) return 0;
    return this.base + (index * this.slots + (this.slots === 1 ? 0 : cpu)) * this.stride;
  }

  /** array_map_update_elem's checks, in its order. */
  protected checkUpdate(index: number, flags: number): number {
    if (this.perCpu ? flags >>> 0 > BPF_EXIST : (flags & ~BPF_F_LOCK) >>> 0 > BPF_EXIST) return -ERRNO.EINVAL;
    if (index >= this.spec.maxEntries) return -ERRNO.E2BIG;
    if (flags & 1 /* BPF_NOEXIST */) return -ERRNO.EEXIST;
    // No value of ours holds a bpf_spin_lock, so BPF_F_LOCK is refused as the kernel does then.
    if (flags & BPF_F_LOCK) return -ERRNO.EINVAL;
    return 0;
  }

  override updateElem(keyAddr: number, valueAddr: number, flags: number, cpu: number): number {
    const u8 = this.arena.u8;
    const index = readU32(u8, keyAddr);
    const err = this.checkUpdate(index, flags);
    if (err) return err;
    const dst = this.base + (index * this.slots + (this.slots === 1 ? 0 : cpu)) * this.stride;
    u8.copyWithin(dst, valueAddr, valueAddr + this.spec.valueSize);
    return 0;
  }

  override deleteElem(keyAddr: number): number {
    void keyAddr;
    return -ERRNO.EINVAL;
  }

  protected override userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return arrayNextKey(key, this.spec.maxEntries);
  }

  protected override userLookup(key: Uint8Array): Uint8Array | undefined {
    const index = readU32(key, 0);
    if (index >= this.spec.maxEntries) return undefined;
    const addr = this.base + index * this.slots * this.stride;
    if (!this.perCpu) return this.copyOut(addr, this.spec.valueSize);
    return this.copyOut(addr, this.slots * this.stride);
  }

  protected override userUpdate(key: Uint8Array, value: Uint8Array, flags: number): void {
    const index = readU32(key, 0);
    if (!this.perCpu) {
      this.orThrow(this.updateElem(this.stageKey(key), this.stageValue(value), flags, 0), 'update');
      return;
    }
    // bpf_percpu_array_update: every CPU's value, round_up(value_size, 8) bytes each.
    this.orThrow(this.checkUpdate(index, flags), 'update');
    this.arena.u8.set(value, this.base + index * this.slots * this.stride);
  }

  protected override get refusals(): UserRefusals {
    return { delete: { errno: ERRNO.EINVAL, why: 'array elements cannot be deleted' } };
  }

  override close(): void {
    setMapLookupLayout(this.arena, this.header.start, undefined);
    this.arena.free(this.values);
    super.close();
  }
}

/** Region flags for a map's values: BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG as access rights. */
export function programAccess(mapFlags: number): number {
  if (mapFlags & BPF_F_RDONLY_PROG) return REGION_READ;
  if (mapFlags & BPF_F_WRONLY_PROG) return REGION_WRITE;
  return REGION_READ | REGION_WRITE;
}
