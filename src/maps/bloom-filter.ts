/**
 * BPF_MAP_TYPE_BLOOM_FILTER (kernel/bpf/bloom_filter.c). No keys; a push adds a value, a peek
 * answers 0 ("maybe present") or -ENOENT ("certainly absent"). As the kernel:
 * - nr_hash_funcs = map_extra & 0xf, 5 when 0;
 * - the bit array has roundup_pow_of_two(max_entries * nr_hash_funcs / 5 * 7) bits (at least
 *   64; 2^32 when that overflows or exceeds 2^31), rounded to whole u64s;
 * - bit i of a value is jhash2(value, value_size / 4, seed + i) when value_size % 4 == 0, else
 *   jhash(value, value_size, seed + i), masked to the array. The seed is 0 (the kernel's is
 *   random unless BPF_F_ZERO_SEED), so the same values give the kernel's false positives.
 * The user's update is a push (BPF_ANY only); `contains(value)` is the syscall's lookup.
 */
import { BPF_ANY } from '../uapi/bpf.js';
import type { MapSpec } from '../spec/types.js';
import type { Region } from '../vm/arena.js';
import { keyHash, NO_PROGRAM_ACCESS, roundUpPow2 } from './common.js';
import { BpfMap, MapError, type MapHost, type UserRefusals } from './map.js';
import { ERRNO } from '../uapi/errno.js';
import { ACCESS_MASK, KMALLOC_MAX_SIZE, type MapSpecCheck } from './alloc-check.js';
import { BPF_F_NUMA_NODE, BPF_F_ZERO_SEED } from '../uapi/bpf.js';

export const BLOOM_DEFAULT_HASH_FUNCS = 5;

/** The bit array's size for a map: { bits mask, bytes }. */
export function bloomGeometry(maxEntries: number, hashFuncs: number): { mask: number; bytes: number } {
  const product = maxEntries * hashFuncs;
  let bits = Math.floor(product / 5) * 7;
  if (product > 0xffffffff || bits > 0xffffffff || bits > 2 ** 31) return { mask: 0xffffffff, bytes: 2 ** 29 };
  bits = bits <= 64 ? 64 : roundUpPow2(bits);
  return { mask: bits - 1, bytes: Math.ceil(bits / 8 / 8) * 8 };
}

const BLOOM_REFUSALS: UserRefusals = {
  get_next_key: { errno: ERRNO.EOPNOTSUPP, why: 'a bloom filter has no keys' },
  lookup: { errno: ERRNO.EINVAL, why: 'a bloom filter is asked with contains(value)' },
  delete: { errno: ERRNO.EOPNOTSUPP, why: 'a bloom filter cannot forget' },
};

export class BloomFilterMap extends BpfMap {
  /** bloom_map_alloc_check. */
  static override checkSpec(check: MapSpecCheck): void {
    const mapExtra = check.spec.mapExtra ?? 0;
    if (check.valueSize > KMALLOC_MAX_SIZE) check.fail('E2BIG', `value_size ${check.valueSize} is too large`);
    check.needKey(0);
    check.needValue();
    check.needEntries();
    check.onlyFlags(BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | ACCESS_MASK);
    check.accessOk();
    if (mapExtra & ~0xf) check.fail('EINVAL', `map_extra ${mapExtra}: only its low 4 bits (the number of hash functions) may be set`);
  }

  readonly hashFuncs: number;
  readonly bitsMask: number;
  readonly bits: Region;

  constructor(host: MapHost, spec: MapSpec, id: number) {
    super(host, spec, id);
    this.hashFuncs = (spec.mapExtra ?? 0) & 0xf || BLOOM_DEFAULT_HASH_FUNCS;
    const { mask, bytes } = bloomGeometry(spec.maxEntries, this.hashFuncs);
    this.bitsMask = mask;
    this.bits = this.arena.alloc(bytes, 'map', `${spec.name} bits`, NO_PROGRAM_ACCESS);
  }

  private bitOf(valueAddr: number, i: number): number {
    return (keyHash(this.arena.u8, valueAddr, this.spec.valueSize, i) & this.bitsMask) >>> 0;
  }

  override pushElem(valueAddr: number, flags: number): number {
    if (flags !== BPF_ANY) return -ERRNO.EINVAL;
    for (let i = 0; i < this.hashFuncs; i++) {
      const bit = this.bitOf(valueAddr, i);
      this.arena.u8[this.bits.start + (bit >>> 3)] |= 1 << (bit & 7);
    }
    return 0;
  }

  override peekElem(valueAddr: number): number {
    const u8 = this.arena.u8;
    for (let i = 0; i < this.hashFuncs; i++) {
      const bit = this.bitOf(valueAddr, i);
      if (!(u8[this.bits.start + (bit >>> 3)] & (1 << (bit & 7)))) return -ERRNO.ENOENT;
    }
    return 0;
  }

  override popElem(valueAddr: number): number {
    void valueAddr;
    return -ERRNO.EOPNOTSUPP;
  }

  protected override get keyedOpErrno(): number {
    return ERRNO.EOPNOTSUPP;
  }

  /** Whether `value` may be in the filter (false: certainly not). */
  contains(value: Uint8Array): boolean {
    this.checkReadable();
    this.checkValue(value);
    return this.peekElem(this.stageValue(value)) === 0;
  }

  override peek(): Uint8Array | undefined {
    throw new MapError(this.name, ERRNO.EINVAL, 'a bloom filter is asked with contains(value)');
  }

  protected override get refusals(): UserRefusals {
    return BLOOM_REFUSALS;
  }

  /** The syscall's update on a bloom filter is a push. */
  protected override userUpdate(key: Uint8Array, value: Uint8Array, flags: number): void {
    void key;
    this.push(value, flags);
  }


  /** A bloom filter cannot list what it holds. */
  override *entries(): Generator<[Uint8Array, Uint8Array]> {}

  override close(): void {
    this.arena.free(this.bits);
    super.close();
  }
}
