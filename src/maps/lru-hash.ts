/**
 * BPF_MAP_TYPE_LRU_HASH and (with per-CPU values) BPF_MAP_TYPE_LRU_PERCPU_HASH: a hash map
 * (hash.ts: same buckets, same order) whose max_entries preallocated elements never run
 * out — when none is free, an update evicts one, as kernel/bpf/bpf_lru_list.c does:
 * - elements sit on an active and an inactive list and carry a reference bit, which a
 *   program's lookup sets (a lookup from user space does not);
 * - a new element enters at the head of the inactive list; an update that replaces a key
 *   sets the new element's reference bit;
 * - to find a free element: when the inactive list is shorter than the active one, the
 *   active list is rotated (from its tail, up to nr_scans nodes: referenced ones go back to
 *   its head with the bit cleared, the others to the inactive head); then the inactive list is
 *   scanned from its tail (referenced nodes move to the active head, bit cleared; the first
 *   unreferenced one is evicted); failing that, the tail of the inactive (else active) list is
 *   evicted regardless.
 * - BPF_F_NO_COMMON_LRU gives each CPU its own lists and max_entries / ncpus elements (the
 *   kernel rounds max_entries to a multiple of the CPU count, createMap does too); the user's
 *   face acts as CPU 0.
 *
 * APPROXIMATE, by design: the kernel's common LRU also keeps per-CPU local free and pending
 * lists, moves free nodes to a CPU LOCAL_FREE_TARGET (128) at a time and evicts up to that
 * many at once, and rotates the inactive list with a cursor; so the kernel may evict earlier,
 * more at a time, and from a different CPU's share than here. Here eviction is one element at
 * a time, only when no element is free, from one set of lists: which key goes first follows
 * the same active/inactive/reference-bit policy, not the kernel's exact batch.
 */
import { BPF_EXIST, BPF_F_LOCK, BPF_F_NO_COMMON_LRU, BPF_NOEXIST } from '../uapi/bpf.js';
import type { MapSpec } from '../spec/types.js';
import { HashMap, META_LRU_NEXT, META_LRU_PREV, META_LRU_STATE } from './hash.js';
import { type MapHost } from './map.js';
import { ERRNO } from '../uapi/errno.js';

const ACTIVE = 0;
const INACTIVE = 1;
const FREE = 2;
const REF = 4;
const LIST_MASK = 3;
/** Nodes one rotation or shrink looks at (kernel: LOCAL_NR_SCANS, PERCPU_NR_SCANS). */
const NR_SCANS_COMMON = 128;
const NR_SCANS_PERCPU = 4;

export class LruHashMap extends HashMap {
  /** One set of lists, or one per CPU (BPF_F_NO_COMMON_LRU). */
  private readonly owners: number;
  private readonly nrScans: number;
  /** Per owner: head and tail (1 + index) of the active and inactive lists, and their lengths. */
  private readonly lists: Int32Array;
  private readonly freeHeads: Int32Array;

  constructor(host: MapHost, spec: MapSpec, id: number) {
    super(host, spec, id, { lru: true });
    const percpuLru = (spec.flags & BPF_F_NO_COMMON_LRU) !== 0;
    this.owners = percpuLru ? this.cpus : 1;
    this.nrScans = percpuLru ? NR_SCANS_PERCPU : NR_SCANS_COMMON;
    this.lists = new Int32Array(this.owners * 6);
    this.freeHeads = new Int32Array(this.owners);
    const w = this.words();
    const share = Math.floor(this.nElems / this.owners);
    for (let e = this.nElems - 1; e >= 0; e--) {
      const owner = Math.min(Math.floor(e / share), this.owners - 1);
      const m = this.metaOf(e);
      w[m + META_LRU_STATE] = FREE | (owner << 8);
      w[m + META_LRU_NEXT] = this.freeHeads[owner];
      this.freeHeads[owner] = e + 1;
    }
    this.publishLookupLayout({ offset: META_LRU_STATE * 4, bit: REF });
  }

  // ---- lists ---------------------------------------------------------------------------

  private listOf(e: number): number {
    return this.words()[this.metaOf(e) + META_LRU_STATE] & LIST_MASK;
  }

  private ownerOf(e: number): number {
    return this.words()[this.metaOf(e) + META_LRU_STATE] >>> 8;
  }

  /** Put `e` (on no list) at the head of list `list` of its owner, clearing its reference bit. */
  private pushHead(e: number, list: number): void {
    const w = this.words();
    const m = this.metaOf(e);
    const owner = w[m + META_LRU_STATE] >>> 8;
    const l = owner * 6 + list * 2;
    const head = this.lists[l];
    w[m + META_LRU_PREV] = 0;
    w[m + META_LRU_NEXT] = head;
    if (head !== 0) w[this.metaOf(head - 1) + META_LRU_PREV] = e + 1;
    else this.lists[l + 1] = e + 1;
    this.lists[l] = e + 1;
    this.lists[owner * 6 + 4 + list]++;
    w[m + META_LRU_STATE] = list | (owner << 8);
  }

  /** Take `e` off its active or inactive list. */
  private remove(e: number): void {
    const w = this.words();
    const m = this.metaOf(e);
    const state = w[m + META_LRU_STATE];
    const list = state & LIST_MASK;
    const owner = state >>> 8;
    const l = owner * 6 + list * 2;
    const prev = w[m + META_LRU_PREV];
    const next = w[m + META_LRU_NEXT];
    if (prev !== 0) w[this.metaOf(prev - 1) + META_LRU_NEXT] = next;
    else this.lists[l] = next;
    if (next !== 0) w[this.metaOf(next - 1) + META_LRU_PREV] = prev;
    else this.lists[l + 1] = prev;
    this.lists[owner * 6 + 4 + list]--;
  }

  private moveHead(e: number, list: number): void {
    this.remove(e);
    this.pushHead(e, list);
  }

  private isRef(e: number): boolean {
    return (this.words()[this.metaOf(e) + META_LRU_STATE] & REF) !== 0;
  }

  private setRef(e: number): void {
    this.words()[this.metaOf(e) + META_LRU_STATE] |= REF;
  }

  /** Evict `e`: out of its bucket and its list (it is about to be reused). */
  private evict(e: number): void {
    this.unlink(e);
    this.remove(e);
    this.count--;
  }

  /** A free element for CPU `cpu`, evicting one when none is free; on the inactive list. -1 if none. */
  private popLru(cpu: number): number {
    const owner = this.owners === 1 ? 0 : cpu % this.owners;
    let e = this.freeHeads[owner] - 1;
    if (e >= 0) {
      this.freeHeads[owner] = this.words()[this.metaOf(e) + META_LRU_NEXT];
    } else {
      e = this.shrink(owner);
      if (e < 0) return -1;
    }
    this.words()[this.metaOf(e) + META_LRU_STATE] = FREE | (owner << 8);
    this.pushHead(e, INACTIVE);
    return e;
  }

  /** Rotate and shrink `owner`'s lists until one element is evicted; its index, or -1. */
  private shrink(owner: number): number {
    const o = owner * 6;
    if (this.lists[o + 4 + INACTIVE] < this.lists[o + 4 + ACTIVE]) {
      const first = this.lists[o + ACTIVE * 2];
      for (let i = 0, e = this.lists[o + ACTIVE * 2 + 1]; e !== 0 && i < this.nrScans; i++) {
        const prev = this.words()[this.metaOf(e - 1) + META_LRU_PREV];
        this.moveHead(e - 1, this.isRef(e - 1) ? ACTIVE : INACTIVE);
        if (e === first) break;
        e = prev;
      }
    }
    for (let i = 0, e = this.lists[o + INACTIVE * 2 + 1]; e !== 0 && i < this.nrScans; i++) {
      const prev = this.words()[this.metaOf(e - 1) + META_LRU_PREV];
      if (!this.isRef(e - 1)) {
        this.evict(e - 1);
        return e - 1;
      }
      this.moveHead(e - 1, ACTIVE);
      e = prev;
    }
    const tail = this.lists[o + INACTIVE * 2 + 1] || this.lists[o + ACTIVE * 2 + 1];
    if (tail === 0) return -1;
    this.evict(tail - 1);
    return tail - 1;
  }

  /** Back to its owner's free list. */
  private freeLru(e: number): void {
    if (this.listOf(e) !== FREE) this.remove(e);
    const owner = this.ownerOf(e);
    const w = this.words();
    const m = this.metaOf(e);
    w[m + META_LRU_STATE] = FREE | (owner << 8);
    w[m + META_LRU_NEXT] = this.freeHeads[owner];
    this.freeHeads[owner] = e + 1;
  }

  // ---- the program's face --------------------------------------------------------------

  /** A program's lookup marks the element referenced. */
  override lookupElem(keyAddr: number, cpu: number): number {
    const e = this.find(keyAddr, this.hashAt(keyAddr));
    if (e < 0) return 0;
    const w = this.words();
    w[this.metaOf(e) + META_LRU_STATE] |= REF;
    return this.valueBase + e * this.valueStride + (this.perCpu ? cpu * this.cpuStride : 0);
  }

  /** htab_lru_map_update_elem and __htab_lru_percpu_map_update_elem. */
  protected override update3(keyAddr: number, valueAddr: number, flags: number, cpu: number, allCpus: boolean): number {
    const hash = this.hashAt(keyAddr);
    if (this.perCpu) {
      if (flags >>> 0 > BPF_EXIST) return -ERRNO.EINVAL;
      // A new element is taken (perhaps evicting) before the key is looked up, unless BPF_EXIST.
      let fresh = -1;
      if (flags !== BPF_EXIST) {
        fresh = this.popLru(cpu);
        if (fresh < 0) return -ERRNO.ENOMEM;
      }
      const old = this.find(keyAddr, hash);
      let err = 0;
      if (old >= 0 && flags === BPF_NOEXIST) err = -ERRNO.EEXIST;
      else if (old < 0 && flags === BPF_EXIST) err = -ERRNO.ENOENT;
      else if (old >= 0) {
        this.setRef(old);
        this.writeValue(old, valueAddr, cpu, allCpus, false);
      } else {
        this.writeKey(fresh, keyAddr, hash);
        this.writeValue(fresh, valueAddr, cpu, allCpus, true);
        this.linkHead(fresh, hash);
        this.count++;
        fresh = -1;
      }
      if (fresh >= 0) this.freeLru(fresh);
      return err;
    }
    if ((flags & ~BPF_F_LOCK) >>> 0 > BPF_EXIST) return -ERRNO.EINVAL;
    if (flags & BPF_F_LOCK) return -ERRNO.EINVAL;
    const e = this.popLru(cpu);
    if (e < 0) return -ERRNO.ENOMEM;
    const u8 = this.arena.u8;
    u8.copyWithin(this.elemValue(e), valueAddr, valueAddr + this.spec.valueSize);
    const old = this.find(keyAddr, hash);
    if ((old >= 0 && flags === BPF_NOEXIST) || (old < 0 && flags === BPF_EXIST)) {
      this.freeLru(e);
      return old >= 0 ? -ERRNO.EEXIST : -ERRNO.ENOENT;
    }
    this.writeKey(e, keyAddr, hash);
    this.linkHead(e, hash);
    this.count++;
    if (old >= 0) {
      this.setRef(e);
      this.unlink(old);
      this.count--;
      this.freeLru(old);
    }
    return 0;
  }

  protected override release(e: number): void {
    this.freeLru(e);
    this.count--;
  }

  /** The keys from most to least recently used as the lists stand (active, then inactive), for tests. */
  lruOrder(owner = 0): Uint8Array[] {
    const keys: Uint8Array[] = [];
    for (const list of [ACTIVE, INACTIVE]) {
      for (let e = this.lists[owner * 6 + list * 2]; e !== 0; e = this.words()[this.metaOf(e - 1) + META_LRU_NEXT]) keys.push(this.keyOf(e - 1));
    }
    return keys;
  }
}
