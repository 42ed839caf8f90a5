/**
 * BPF_MAP_TYPE_HASH (kernel/bpf/hashtab.c), laid out as the kernel lays it out so that
 * iteration order is the kernel's for a map created with BPF_F_ZERO_SEED:
 * - n_buckets = roundup_pow_of_two(max_entries); an element's bucket is
 *   htab_map_hash(key) & (n_buckets - 1), htab_map_hash being jhash2 over the key's u32s when
 *   key_size % 4 == 0 and jhash otherwise, seed 0 (the kernel seeds randomly unless
 *   BPF_F_ZERO_SEED; we always use the zero seed, so runs are deterministic);
 * - a new element goes to the head of its bucket; replacing a key's value puts a fresh
 *   element at the head and unlinks the old one (per-CPU maps update in place);
 * - get_next_key walks the rest of the key's bucket, then the following buckets; a key that
 *   is not in the map restarts from the first bucket.
 * Elements are preallocated: max_entries of them plus one spare for replacements (the
 * kernel's per-CPU extra_elems), so a full map refuses a new key with -E2BIG but still
 * replaces existing ones. BPF_F_NO_PREALLOC maps behave the same from outside.
 *
 * Arena layout (nothing here is JS state a lookup needs):
 * - buckets: n_buckets u32s, each 1 + the first element's index, 0 when empty;
 * - meta (not addressable by programs): per element [next, hash, lru prev, lru next,
 *   lru state, key padded to 4 bytes] as u32 words (the lru words only in LRU maps);
 * - values (programs read and write them): round_up(value_size, 8) bytes per element, times
 *   the CPU count in per-CPU maps (one CPU's slot after the other).
 */
import { BPF_EXIST, BPF_F_LOCK, BPF_MAP_TYPE, BPF_NOEXIST } from '../uapi/bpf.js';
import type { MapSpec } from '../spec/types.js';
import type { Region } from '../vm/arena.js';
import { keyHash, NO_PROGRAM_ACCESS, roundUpPow2 } from './common.js';
import { programAccess } from './array.js';
import { BpfMap, roundUp8, type MapHost } from './map.js';
import { ERRNO } from '../uapi/errno.js';
import { ACCESS_MASK, KMALLOC_MAX_SIZE, type MapSpecCheck } from './alloc-check.js';
import { BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE, BPF_F_ZERO_SEED } from '../uapi/bpf.js';
import { HASH_STATE, setMapLookupLayout, type HashLookupLayout } from '../vm/map-layout.js';

/** sizeof(struct htab_elem) on 64-bit kernels. */
const HTAB_ELEM_SIZE = 48;
const HTAB_FLAGS = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | ACCESS_MASK | BPF_F_ZERO_SEED;

/** Meta words of an element. */
export const META_NEXT = 0;
export const META_HASH = 1;
export const META_LRU_PREV = 2;
export const META_LRU_NEXT = 3;
export const META_LRU_STATE = 4;
/** Words of the state region (shared with the JIT's compiled updates). */
const { COUNT: STATE_COUNT, FREE: STATE_FREE, SPARE: STATE_SPARE } = HASH_STATE;

export class HashMap extends BpfMap {
  /** htab_map_alloc_check (hash, per-CPU hash, LRU hash, LRU per-CPU hash, hash of maps), and the LRU's per-CPU share. */
  static override checkSpec(check: MapSpecCheck): void {
    const { type, flags, keySize, valueSize } = check;
    const percpu = type === BPF_MAP_TYPE.BPF_MAP_TYPE_PERCPU_HASH || type === BPF_MAP_TYPE.BPF_MAP_TYPE_LRU_PERCPU_HASH;
    const lru = type === BPF_MAP_TYPE.BPF_MAP_TYPE_LRU_HASH || type === BPF_MAP_TYPE.BPF_MAP_TYPE_LRU_PERCPU_HASH;
    check.onlyFlags(HTAB_FLAGS);
    check.accessOk();
    if (!lru && flags & BPF_F_NO_COMMON_LRU) check.fail('EINVAL', 'BPF_F_NO_COMMON_LRU is only for LRU maps');
    if (lru && flags & BPF_F_NO_PREALLOC) check.fail('ENOTSUPP', 'LRU maps are always preallocated (BPF_F_NO_PREALLOC)');
    check.needEntries();
    if (keySize === 0) check.fail('EINVAL', 'key_size is 0');
    check.needValue();
    if (keySize + valueSize >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE) check.fail('E2BIG', `key_size + value_size is too large`);
    if (percpu) check.perCpuValueFits();
    if (lru && flags & BPF_F_NO_COMMON_LRU) {
      // Each CPU gets the same share of the elements.
      const { maxEntries, cpus } = check;
      const rounded = Math.ceil(maxEntries / cpus) * cpus;
      check.maxEntries = rounded > 0xffffffff ? Math.floor(maxEntries / cpus) * cpus : rounded;
    }
    if (check.maxEntries > 2 ** 31) check.fail('E2BIG', `max_entries ${check.maxEntries} is above 2^31`);
  }

  readonly nBuckets: number;
  protected readonly bucketMask: number;
  readonly buckets: Region;
  readonly meta: Region;
  readonly values: Region;
  /** Elements in the pool (max_entries, plus the spare of plain hash maps). */
  protected readonly nElems: number;
  /** u32 words of an element's meta record, and the word where its key starts. */
  protected readonly metaWords: number;
  protected readonly keyWord: number;
  /** Bytes of one element's value(s), and of one CPU's slot. */
  protected readonly valueStride: number;
  protected readonly cpuStride: number;
  /** First word of the buckets and of the meta records, first byte of the values (regions never move). */
  protected readonly bucketWord: number;
  protected readonly metaWord: number;
  protected readonly valueBase: number;
  /**
   * The pool's state, in the arena so that compiled updates and deletes (vm/jit/lower-hash-update.ts)
   * share it: [elements in use, free list head, spare] as u32 words (STATE_*).
   */
  readonly state: Region;
  protected readonly stateWord: number;

  /** Elements in use. */
  get count(): number {
    return this.words()[this.stateWord + STATE_COUNT];
  }

  set count(n: number) {
    this.words()[this.stateWord + STATE_COUNT] = n;
  }

  /** Head (1 + index) of the free list, threaded through META_NEXT. */
  protected get freeHead(): number {
    return this.words()[this.stateWord + STATE_FREE];
  }

  protected set freeHead(e: number) {
    this.words()[this.stateWord + STATE_FREE] = e;
  }

  /** The spare element replacements use (plain hash maps; 1 + index, 0 when none). */
  protected get spare(): number {
    return this.words()[this.stateWord + STATE_SPARE];
  }

  protected set spare(e: number) {
    this.words()[this.stateWord + STATE_SPARE] = e;
  }

  constructor(host: MapHost, spec: MapSpec, id: number, options: { lru?: boolean } = {}) {
    super(host, spec, id);
    this.nBuckets = roundUpPow2(spec.maxEntries);
    this.bucketMask = this.nBuckets - 1;
    this.keyWord = options.lru ? 5 : 2;
    this.metaWords = this.keyWord + ((spec.keySize + 3) >>> 2);
    this.cpuStride = roundUp8(spec.valueSize);
    this.valueStride = this.cpuStride * (this.perCpu ? this.cpus : 1);
    const spareElem = !this.perCpu && !options.lru;
    this.nElems = spec.maxEntries + (spareElem ? 1 : 0);
    this.buckets = this.arena.alloc(this.nBuckets * 4, 'map', `${spec.name} buckets`, NO_PROGRAM_ACCESS);
    this.meta = this.arena.alloc(this.nElems * this.metaWords * 4, 'map', `${spec.name} elements`, NO_PROGRAM_ACCESS);
    this.values = this.arena.alloc(this.nElems * this.valueStride, 'map', `${spec.name} values`, programAccess(spec.flags));
    this.state = this.arena.alloc(12, 'map', `${spec.name} state`, NO_PROGRAM_ACCESS);
    this.stateWord = this.state.start >>> 2;
    this.bucketWord = this.buckets.start >>> 2;
    this.metaWord = this.meta.start >>> 2;
    this.valueBase = this.values.start;
    if (!options.lru) {
      const first = spareElem ? 1 : 0;
      if (spareElem) this.spare = 1;
      const w = this.words();
      const m = this.metaWord;
      for (let e = first; e < this.nElems; e++) w[m + e * this.metaWords + META_NEXT] = e + 1 < this.nElems ? e + 2 : 0;
      this.freeHead = first + 1;
    }
    const t = spec.type;
    if (t === BPF_MAP_TYPE.BPF_MAP_TYPE_HASH || t === BPF_MAP_TYPE.BPF_MAP_TYPE_PERCPU_HASH) this.publishLookupLayout(undefined);
  }

  /**
   * For the JIT's compiled lookup (vm/jit/lower-hash.ts): exactly what find and lookupElem read,
   * and the reference bit an LRU map's lookup sets. Withdrawn by close.
   */
  protected publishLookupLayout(ref: HashLookupLayout['ref']): void {
    setMapLookupLayout(this.arena, this.header.start, {
      kind: 'hash',
      keySize: this.spec.keySize,
      bucketBase: this.buckets.start,
      bucketMask: this.bucketMask,
      metaBase: this.meta.start,
      metaBytes: this.metaWords * 4,
      nextOffset: META_NEXT * 4,
      hashOffset: META_HASH * 4,
      keyOffset: this.keyWord * 4,
      valueBase: this.valueBase,
      valueStride: this.valueStride,
      cpuStride: this.perCpu ? this.cpuStride : 0,
      ref,
      update: ref === undefined ? { stateBase: this.state.start, valueSize: this.spec.valueSize } : undefined,
    });
  }

  override get perCpu(): boolean {
    return this.spec.type === BPF_MAP_TYPE.BPF_MAP_TYPE_PERCPU_HASH || this.spec.type === BPF_MAP_TYPE.BPF_MAP_TYPE_LRU_PERCPU_HASH;
  }

  // ---- element access ------------------------------------------------------------------

  /** Word index of element `e`'s meta record. */
  protected metaOf(e: number): number {
    return this.metaWord + e * this.metaWords;
  }

  /** Address of element `e`'s value (CPU `cpu`'s slot). */
  protected elemValue(e: number, cpu = 0): number {
    return this.valueBase + e * this.valueStride + cpu * this.cpuStride;
  }

  /** The hash of the key at `keyAddr`. */
  protected hashAt(keyAddr: number): number {
    return keyHash(this.arena.u8, keyAddr, this.spec.keySize, 0);
  }

  /** The element holding the key at `keyAddr` (hash `hash`), or -1. */
  protected find(keyAddr: number, hash: number): number {
    const w = this.words();
    const u8 = this.arena.u8;
    const size = this.spec.keySize;
    const mw = this.metaWords;
    const mbase = this.metaWord;
    const h = hash | 0;
    let e = w[this.bucketWord + (hash & this.bucketMask)];
    const aligned = (keyAddr & 3) === 0 && (size & 3) === 0;
    while (e !== 0) {
      const m = mbase + (e - 1) * mw;
      if (w[m + META_HASH] === h) {
        const k = m + this.keyWord;
        let same = true;
        if (aligned) {
          const kw = keyAddr >>> 2;
          for (let i = 0; i < size >>> 2; i++) if (w[k + i] !== w[kw + i]) { same = false; break; }
        } else {
          const kb = k << 2;
          for (let i = 0; i < size; i++) if (u8[kb + i] !== u8[keyAddr + i]) { same = false; break; }
        }
        if (same) return e - 1;
      }
      e = w[m + META_NEXT];
    }
    return -1;
  }

  /** Put element `e` (hash and key already written) at the head of its bucket. */
  protected linkHead(e: number, hash: number): void {
    const w = this.words();
    const b = this.bucketWord + (hash & this.bucketMask);
    w[this.metaOf(e) + META_NEXT] = w[b];
    w[b] = e + 1;
  }

  /** Take element `e` out of its bucket. */
  protected unlink(e: number): void {
    const w = this.words();
    const m = this.metaOf(e);
    let at = this.bucketWord + (w[m + META_HASH] & this.bucketMask);
    while (w[at] !== 0) {
      if (w[at] === e + 1) {
        w[at] = w[m + META_NEXT];
        return;
      }
      at = this.metaOf(w[at] - 1) + META_NEXT;
    }
  }

  /** Write hash and key (from `keyAddr`) into element `e`. */
  protected writeKey(e: number, keyAddr: number, hash: number): void {
    const w = this.words();
    const m = this.metaOf(e);
    w[m + META_HASH] = hash | 0;
    const kb = (m + this.keyWord) << 2;
    this.arena.u8.copyWithin(kb, keyAddr, keyAddr + this.spec.keySize);
  }

  protected popFree(): number {
    if (this.freeHead === 0) return -1;
    const e = this.freeHead - 1;
    this.freeHead = this.words()[this.metaOf(e) + META_NEXT];
    return e;
  }

  protected pushFree(e: number): void {
    this.words()[this.metaOf(e) + META_NEXT] = this.freeHead;
    this.freeHead = e + 1;
  }

  /**
   * Write a value into element `e`: from a program (`allCpus` false) CPU `cpu`'s slot gets
   * value_size bytes and, for a new per-CPU element, the other CPUs' slots are zeroed
   * (pcpu_init_value); from the user every CPU's slot comes from the buffer.
   */
  protected writeValue(e: number, valueAddr: number, cpu: number, allCpus: boolean, fresh: boolean): void {
    const u8 = this.arena.u8;
    if (!this.perCpu) {
      const dst = this.elemValue(e);
      u8.copyWithin(dst, valueAddr, valueAddr + this.spec.valueSize);
      return;
    }
    if (allCpus) {
      u8.copyWithin(this.elemValue(e), valueAddr, valueAddr + this.valueStride);
      return;
    }
    if (fresh) u8.fill(0, this.elemValue(e), this.elemValue(e) + this.valueStride);
    const dst = this.elemValue(e, cpu);
    u8.copyWithin(dst, valueAddr, valueAddr + this.spec.valueSize);
  }

  // ---- the program's face --------------------------------------------------------------

  override lookupElem(keyAddr: number, cpu: number): number {
    const e = this.find(keyAddr, this.hashAt(keyAddr));
    if (e < 0) return 0;
    return this.valueBase + e * this.valueStride + (this.perCpu ? cpu * this.cpuStride : 0);
  }

  override updateElem(keyAddr: number, valueAddr: number, flags: number, cpu: number): number {
    return this.update3(keyAddr, valueAddr, flags, cpu, false);
  }

  /** htab_map_update_elem and __htab_percpu_map_update_elem. */
  protected update3(keyAddr: number, valueAddr: number, flags: number, cpu: number, allCpus: boolean): number {
    if (this.perCpu) {
      if (flags >>> 0 > BPF_EXIST) return -ERRNO.EINVAL;
    } else {
      if ((flags & ~BPF_F_LOCK) >>> 0 > BPF_EXIST) return -ERRNO.EINVAL;
      // No value of ours holds a bpf_spin_lock: the kernel refuses BPF_F_LOCK then.
      if (flags & BPF_F_LOCK) return -ERRNO.EINVAL;
    }
    const op = flags & ~BPF_F_LOCK;
    const hash = this.hashAt(keyAddr);
    const old = this.find(keyAddr, hash);
    if (old >= 0 && op === BPF_NOEXIST) return -ERRNO.EEXIST;
    if (old < 0 && op === BPF_EXIST) return -ERRNO.ENOENT;
    if (this.perCpu && old >= 0) {
      this.writeValue(old, valueAddr, cpu, allCpus, false);
      return 0;
    }
    let e: number;
    if (old >= 0) {
      // Replace: the spare element takes the new value, the old one becomes the spare.
      e = this.spare - 1;
      this.spare = old + 1;
    } else {
      e = this.popFree();
      if (e < 0) return -ERRNO.E2BIG;
      this.count++;
    }
    this.writeKey(e, keyAddr, hash);
    this.writeValue(e, valueAddr, cpu, allCpus, true);
    this.linkHead(e, hash);
    if (old >= 0) this.unlink(old);
    return 0;
  }

  override deleteElem(keyAddr: number): number {
    const e = this.find(keyAddr, this.hashAt(keyAddr));
    if (e < 0) return -ERRNO.ENOENT;
    this.unlink(e);
    this.release(e);
    return 0;
  }

  /** An element leaves the table: back to the free list. */
  protected release(e: number): void {
    this.pushFree(e);
    this.count--;
  }

  // ---- the user's face -----------------------------------------------------------------

  /** htab_map_get_next_key. */
  protected override userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    const w = this.words();
    const bucketBase = this.bucketWord;
    let i = 0;
    if (key !== undefined) {
      const keyAddr = this.stageKey(key);
      const hash = this.hashAt(keyAddr);
      const e = this.find(keyAddr, hash);
      if (e >= 0) {
        const next = w[this.metaOf(e) + META_NEXT];
        if (next !== 0) return this.keyOf(next - 1);
        i = (hash & this.bucketMask) + 1;
      }
    }
    for (; i < this.nBuckets; i++) {
      const head = w[bucketBase + i];
      if (head !== 0) return this.keyOf(head - 1);
    }
    return undefined;
  }

  /** A copy of element `e`'s key. */
  protected keyOf(e: number): Uint8Array {
    return this.copyOut((this.metaOf(e) + this.keyWord) << 2, this.spec.keySize);
  }

  protected override userLookup(key: Uint8Array): Uint8Array | undefined {
    const keyAddr = this.stageKey(key);
    const e = this.find(keyAddr, this.hashAt(keyAddr));
    if (e < 0) return undefined;
    return this.copyOut(this.elemValue(e), this.perCpu ? this.valueStride : this.spec.valueSize);
  }

  protected override userUpdate(key: Uint8Array, value: Uint8Array, flags: number): void {
    this.orThrow(this.update3(this.stageKey(key), this.stageValue(value), flags, 0, true), 'update');
  }

  override close(): void {
    setMapLookupLayout(this.arena, this.header.start, undefined);
    this.arena.free(this.buckets);
    this.arena.free(this.meta);
    this.arena.free(this.values);
    this.arena.free(this.state);
    super.close();
  }
}
