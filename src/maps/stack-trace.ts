/**
 * BPF_MAP_TYPE_STACK_TRACE (kernel/bpf/stackmap.c): stack ids → arrays of u64 instruction
 * pointers. `record(ips, flags)` is bpf_get_stackid's map part: it drops the first
 * flags & BPF_F_SKIP_FIELD_MASK frames (after capping the trace at value_size / 8 + skip
 * frames, at most sysctl_perf_event_max_stack = 127), hashes the rest with jhash2 (seed 0),
 * and uses bucket hash & (n_buckets - 1), n_buckets = roundup_pow_of_two(max_entries) — so a
 * stack id can exceed max_entries, as in the kernel. The same stack gives the same id; another
 * stack in an occupied bucket is -EEXIST unless BPF_F_REUSE_STACKID replaces it;
 * BPF_F_FAST_STACK_CMP compares hashes only. max_entries buckets' worth of storage exist
 * (-ENOMEM beyond). The user reads a stack by id (zero-padded to value_size), deletes it, and
 * walks ids in order; updates are -EINVAL; programs cannot look into the map.
 */
import type { MapSpec } from '../spec/types.js';
import type { Region } from '../vm/arena.js';
import { jhash2, NO_PROGRAM_ACCESS, readU32, roundUpPow2, u32Bytes, writeU32 } from './common.js';
import { BpfMap, type MapHost, type UserRefusals } from './map.js';
import { ERRNO } from '../uapi/errno.js';
import { BPF_F_FAST_STACK_CMP, BPF_F_REUSE_STACKID, BPF_F_SKIP_FIELD_MASK, BPF_F_USER_STACK } from '../uapi/bpf.js';
import type { MapSpecCheck } from './alloc-check.js';
import { BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_STACK_BUILD_ID, BPF_F_WRONLY } from '../uapi/bpf.js';

/** The kernel's default sysctl kernel.perf_event_max_stack. */
export const PERF_EVENT_MAX_STACK = 127;

export class StackTraceMap extends BpfMap {
  /** stack_map_alloc's checks (build-id stack maps are the kernel's only). */
  static override checkSpec(check: MapSpecCheck): void {
    const valueSize = check.valueSize;
    check.onlyFlags(BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_STACK_BUILD_ID);
    check.needEntries();
    check.needKey(4);
    if (valueSize < 8 || valueSize % 8) check.fail('EINVAL', `value_size ${valueSize}: a whole number of u64 instruction pointers`);
    if (check.flags & BPF_F_STACK_BUILD_ID) {
      if (valueSize % 32 || valueSize / 32 > PERF_EVENT_MAX_STACK) check.fail('EINVAL', `value_size ${valueSize}: a whole number of struct bpf_stack_build_id`);
      check.unsupported('BPF_F_STACK_BUILD_ID stack maps');
    }
    if (valueSize / 8 > PERF_EVENT_MAX_STACK) check.fail('EINVAL', `value_size ${valueSize}: more than ${PERF_EVENT_MAX_STACK} frames`);
    if (check.maxEntries > 2 ** 31) check.fail('E2BIG', `max_entries ${check.maxEntries} is above 2^31`);
  }

  readonly nBuckets: number;
  /** n_buckets u32s: 1 + the element holding that id's stack, 0 when none. */
  readonly buckets: Region;
  /** Per element: [hash u32, nr u32, nr u64 ips …] padded to value_size. */
  readonly elements: Region;
  /** Where a trace is put to be hashed. */
  private readonly staging: Region;
  private readonly elemSize: number;
  private readonly free: Int32Array;
  private nFree: number;

  constructor(host: MapHost, spec: MapSpec, id: number) {
    super(host, spec, id);
    this.nBuckets = roundUpPow2(spec.maxEntries);
    this.elemSize = 8 + spec.valueSize;
    this.buckets = this.arena.alloc(this.nBuckets * 4, 'map', `${spec.name} buckets`, NO_PROGRAM_ACCESS);
    this.elements = this.arena.alloc(spec.maxEntries * this.elemSize, 'map', `${spec.name} stacks`, NO_PROGRAM_ACCESS);
    this.staging = this.arena.alloc(PERF_EVENT_MAX_STACK * 8, 'map', `${spec.name} staging`, NO_PROGRAM_ACCESS);
    this.free = new Int32Array(spec.maxEntries);
    for (let i = 0; i < spec.maxEntries; i++) this.free[i] = spec.maxEntries - 1 - i;
    this.nFree = spec.maxEntries;
  }

  private elemAddr(e: number): number {
    return this.elements.start + e * this.elemSize;
  }

  /** The element holding stack id `id`, or -1. */
  private bucket(id: number): number {
    if (id >= this.nBuckets) return -1;
    return readU32(this.arena.u8, this.buckets.start + id * 4) - 1;
  }

  /**
   * bpf_get_stackid's map part for the trace `ips` (innermost frame first): the stack id, or
   * -errno. Flags: skip count, BPF_F_USER_STACK (accepted), BPF_F_FAST_STACK_CMP, BPF_F_REUSE_STACKID.
   */
  record(ips: readonly (bigint | number)[], flags: number): number {
    if (flags & ~(BPF_F_SKIP_FIELD_MASK | BPF_F_USER_STACK | BPF_F_FAST_STACK_CMP | BPF_F_REUSE_STACKID)) return -ERRNO.EINVAL;
    const skip = flags & BPF_F_SKIP_FIELD_MASK;
    const maxDepth = Math.min(this.spec.valueSize / 8 + skip, PERF_EVENT_MAX_STACK);
    const total = Math.min(ips.length, maxDepth);
    if (total <= skip) return -ERRNO.EFAULT;
    const nr = total - skip;
    const u8 = this.arena.u8;
    const s = this.staging.start;
    for (let i = 0; i < nr; i++) {
      const ip = ips[skip + i];
      if (typeof ip === 'bigint') {
        const v = BigInt.asUintN(64, ip);
        writeU32(u8, s + i * 8, Number(v & 0xffffffffn));
        writeU32(u8, s + i * 8 + 4, Number(v >> 32n));
      } else {
        writeU32(u8, s + i * 8, ip % 4294967296);
        writeU32(u8, s + i * 8 + 4, Math.floor(ip / 4294967296));
      }
    }
    const hash = jhash2(u8, s, nr * 2, 0);
    const id = hash & (this.nBuckets - 1);
    const old = this.bucket(id);
    const hashMatches = old >= 0 && readU32(u8, this.elemAddr(old)) === hash;
    if (hashMatches && flags & BPF_F_FAST_STACK_CMP) return id;
    if (hashMatches && readU32(u8, this.elemAddr(old) + 4) === nr && sameBytes(u8, this.elemAddr(old) + 8, s, nr * 8)) return id;
    if (old >= 0 && !(flags & BPF_F_REUSE_STACKID)) return -ERRNO.EEXIST;
    if (this.nFree === 0) return -ERRNO.ENOMEM;
    const e = this.free[--this.nFree];
    const at = this.elemAddr(e);
    writeU32(u8, at, hash);
    writeU32(u8, at + 4, nr);
    u8.copyWithin(at + 8, s, s + nr * 8);
    writeU32(u8, this.buckets.start + id * 4, e + 1);
    if (old >= 0) this.free[this.nFree++] = old;
    return id;
  }

  // Programs cannot look into a stack map (the kernel: -EOPNOTSUPP, refused by the verifier)
  // nor update it: BpfMap's lookupElem and updateElem.

  /** stack_map_delete_elem. */
  override deleteElem(keyAddr: number): number {
    const id = readU32(this.arena.u8, keyAddr);
    if (id >= this.nBuckets) return -ERRNO.E2BIG;
    const e = this.bucket(id);
    if (e < 0) return -ERRNO.ENOENT;
    writeU32(this.arena.u8, this.buckets.start + id * 4, 0);
    this.free[this.nFree++] = e;
    return 0;
  }

  /** stack_map_get_next_key. */
  protected override userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    let id = 0;
    if (key !== undefined) {
      id = readU32(key, 0);
      id = id >= this.nBuckets || this.bucket(id) < 0 ? 0 : id + 1;
    }
    while (id < this.nBuckets && this.bucket(id) < 0) id++;
    return id >= this.nBuckets ? undefined : u32Bytes(id);
  }

  /** bpf_stackmap_copy: the ips, zero-padded to value_size. */
  protected override userLookup(key: Uint8Array): Uint8Array | undefined {
    const e = this.bucket(readU32(key, 0));
    if (e < 0) return undefined;
    const at = this.elemAddr(e);
    const value = new Uint8Array(this.spec.valueSize);
    value.set(this.arena.u8.subarray(at + 8, at + 8 + readU32(this.arena.u8, at + 4) * 8));
    return value;
  }

  protected override get refusals(): UserRefusals {
    return { update: { errno: ERRNO.EINVAL, why: 'stacks are recorded by bpf_get_stackid' } };
  }

  override close(): void {
    this.arena.free(this.buckets);
    this.arena.free(this.elements);
    this.arena.free(this.staging);
    super.close();
  }
}

function sameBytes(u8: Uint8Array, p: number, q: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (u8[p + i] !== u8[q + i]) return false;
  return true;
}
