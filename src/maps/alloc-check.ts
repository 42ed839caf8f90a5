/**
 * MapSpecCheck: what every map type's creation check (its `static checkSpec`, the kernel's
 * map_alloc_check / map_alloc per map type) is made of — a refusal worded one way, the flags a
 * type takes, the sizes it needs — and the spec the live map will have when the kernel (or
 * libbpf) adjusts max_entries or the flags at creation.
 */
import { XdplabError } from '../errors.js';
import type { MapSpec } from '../spec/types.js';
import { BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY, BPF_F_WRONLY_PROG, BPF_MAP_TYPE, MAP_TYPE_NAMES } from '../uapi/bpf.js';
import { ERRNO, type ErrnoName } from '../uapi/errno.js';
import { MapError } from './map.js';

/** KMALLOC_MAX_SIZE on x86-64 (order-10 pages). */
export const KMALLOC_MAX_SIZE = 1 << 22;
/** PCPU_MIN_UNIT_SIZE: the largest per-CPU value. */
export const PCPU_MIN_UNIT_SIZE = 32768;
/** The access flags (BPF_F_RDONLY, BPF_F_WRONLY and their _PROG forms). */
export const ACCESS_MASK = BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;

export class MapSpecCheck {
  /** max_entries as the live map will have it. */
  maxEntries: number;
  /** Flags the kernel adds at creation (devmaps and cpumaps: BPF_F_RDONLY_PROG). */
  extraFlags = 0;

  constructor(
    readonly spec: MapSpec,
    /** The machine's CPU count. */
    readonly cpus: number,
  ) {
    this.maxEntries = spec.maxEntries;
  }

  get type(): number {
    return this.spec.type;
  }

  get flags(): number {
    return this.spec.flags;
  }

  get keySize(): number {
    return this.spec.keySize;
  }

  get valueSize(): number {
    return this.spec.valueSize;
  }

  /** Refuse the map as the kernel does: `errno` and why. */
  fail(errno: ErrnoName, reason: string): never {
    const spec = this.spec;
    throw new MapError(spec.name, ERRNO[errno], `cannot create ${MAP_TYPE_NAMES[spec.type] ?? `type ${spec.type}`} map: ${reason}`);
  }

  /** A map xdplab cannot make though the kernel could. */
  unsupported(what: string): never {
    throw new XdplabError('UNSUPPORTED', `map ${this.spec.name}: ${what} are not supported by xdplab`);
  }

  /** bpf_map_flags_access_ok: read-only and write-only not both, for user space or programs. */
  accessOk(): void {
    const flags = this.flags;
    if ((flags & BPF_F_RDONLY && flags & BPF_F_WRONLY) || (flags & BPF_F_RDONLY_PROG && flags & BPF_F_WRONLY_PROG)) {
      this.fail('EINVAL', 'conflicting read-only and write-only flags');
    }
  }

  /** No flag outside `allowed`. */
  onlyFlags(allowed: number): void {
    const extra = (this.flags & ~allowed) >>> 0;
    if (extra) this.fail('EINVAL', `flags 0x${extra.toString(16)} are not allowed for this type`);
  }

  needEntries(): void {
    if (this.maxEntries === 0) this.fail('EINVAL', 'max_entries is 0');
  }

  needKey(size: number): void {
    if (this.keySize !== size) this.fail('EINVAL', `key_size is ${this.keySize}, this type needs ${size}`);
  }

  needValue(): void {
    if (this.valueSize === 0) this.fail('EINVAL', 'value_size is 0');
  }

  /** Per-CPU values fit a per-CPU unit. */
  perCpuValueFits(): void {
    if (((this.valueSize + 7) & ~7) > PCPU_MIN_UNIT_SIZE) this.fail('E2BIG', `per-CPU values are at most ${PCPU_MIN_UNIT_SIZE} bytes`);
  }

  /** A map of maps needs the shape of its inner maps, and they may not be maps of maps. */
  needInnerMap(): void {
    const inner = this.spec.innerMap;
    if (!inner) this.fail('EBADF', 'a map of maps needs an inner map (the spec has no innerMap)');
    if (inner.type === BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY_OF_MAPS || inner.type === BPF_MAP_TYPE.BPF_MAP_TYPE_HASH_OF_MAPS) {
      this.fail('EINVAL', 'an inner map may not itself be a map of maps');
    }
  }

  /** The spec the live map gets: the same object when nothing was adjusted. */
  result(): MapSpec {
    const spec = this.spec;
    if (this.maxEntries === spec.maxEntries && this.extraFlags === 0) return spec;
    return { ...spec, maxEntries: this.maxEntries, flags: (spec.flags | this.extraFlags) >>> 0 };
  }
}
