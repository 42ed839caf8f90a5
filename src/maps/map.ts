/**
 * BpfMap: a live map over the arena, with the kernel's semantics.
 *
 * Two faces, one implementation:
 * - the program's face (helpers call it): keys and values are arena addresses, results are
 *   addresses (0 for "none") or 0 / -errno, exactly what the kernel's map_ops return;
 * - the user's face (tests, `--maps-in/--maps-out`, the library): bytes in, bytes out, errors
 *   thrown as MapError with the errno name. It copies keys into the arena and calls the
 *   program's face, so both see the same semantics.
 *
 * Every byte a lookup needs (buckets, elements, keys, values) lives in the arena, so that a
 * WebAssembly implementation can later run the same lookups over the same memory (DESIGN.md,
 * "Performance model"). A map is known to programs by the address of its header: a small
 * arena region whose first u32 is the map's id; `lddw rX, map` loads that address.
 */
import { XdplabError } from '../errors.js';
import type { Arena, Region } from '../vm/arena.js';
import { REGION_READ } from '../vm/arena.js';
import { BPF_F_RDONLY, BPF_F_WRONLY } from '../uapi/bpf.js';
import type { MapSpec } from '../spec/types.js';

import { ERRNO, errnoName } from '../uapi/errno.js';
import type { MapSpecCheck } from './alloc-check.js';

/** A map operation refused, as the kernel refuses it (the user's face). */
export class MapError extends XdplabError {
  /** For a batch operation: the entries done before this one failed. */
  processed?: number;

  constructor(readonly map: string, readonly errno: number, message: string) {
    super('BAD_INPUT', `map ${map}: ${message}: ${errnoName(errno)}`);
  }
}

/** What a map needs from the machine it lives in. */
export interface MapHost {
  readonly arena: Arena;
  /** Emulated CPUs (per-CPU maps hold one value per CPU). */
  readonly cpus: number;
  /** A live map by id: maps of maps check and store inner maps (absent: ids are refused). */
  mapById?(id: number): BpfMap | undefined;
  /** A loaded program by id: prog arrays, devmap and cpumap entries (absent: any id ≠ 0 is taken). */
  programById?(id: number): unknown;
  /** Whether a net device has this ifindex: devmap entries (absent: any ifindex ≠ 0 is taken). */
  netdevExists?(ifindex: number): boolean;
  /**
   * Whether a perf buffer reader is attached to every CPU's slot of a new perf event array
   * (default true). BPF_PROG_TEST_RUN has none: bpf_perf_event_output then returns -ENOENT.
   */
  readonly perfReaders?: boolean;
}

/** The user-face operations a map type may refuse. */
export type UserOp = 'get_next_key' | 'lookup' | 'update' | 'delete';
/** Why a map type refuses an operation: the errno and the reason, as `op (why): ERRNO`. */
export type UserRefusals = Partial<Record<UserOp, { errno: number; why: string }>>;
const NO_REFUSALS: UserRefusals = {};

/** Bytes of a header region: id (u32), type (u32), key size, value size, max entries, flags. */
export const MAP_HEADER_SIZE = 64;

/**
 * The maps' shared base. Subclasses implement the program's face (`lookupElem` …) and the
 * user's face as `userLookup` / `userUpdate` / `userDelete` / `userNextKey`; the public
 * `lookup` / `update` / `delete` / `nextKey` check sizes and the syscall-side access rules
 * (BPF_F_RDONLY, BPF_F_WRONLY, frozen maps: -EPERM) first, as the bpf() syscall does.
 */
export abstract class BpfMap {
  /**
   * The kernel's creation checks for this map type (its map_alloc_check): a refusal thrown
   * through `check.fail`, adjustments made on `check`. Each map class has its own.
   */
  static checkSpec(check: MapSpecCheck): void {
    void check;
  }

  readonly arena: Arena;
  readonly cpus: number;
  readonly host: MapHost;
  readonly header: Region;
  /** Scratch arena space for the user's face: two keys and one (per-CPU) value. */
  protected readonly scratch: Region;
  /** Set by freeze(): the user's face may no longer write (BPF_MAP_FREEZE). */
  private frozen = false;
  private viewU8: Uint8Array | undefined;
  private viewI32: Int32Array = new Int32Array(0);

  constructor(
    host: MapHost,
    readonly spec: MapSpec,
    readonly id: number,
  ) {
    this.host = host;
    this.arena = host.arena;
    this.cpus = host.cpus;
    this.header = this.arena.alloc(MAP_HEADER_SIZE, 'map', `${spec.name} header`, REGION_READ);
    const view = this.arena.view;
    const h = this.header.start;
    [id, spec.type, spec.keySize, spec.valueSize, spec.maxEntries, spec.flags].forEach((v, i) => view.setUint32(h + i * 4, v, true));
    this.scratch = this.arena.alloc(Math.max(8, spec.keySize) * 2 + Math.max(8, this.userValueSize), 'map', `${spec.name} scratch`);
  }

  get name(): string {
    return this.spec.name;
  }

  /** max_entries as the map has it (the kernel adjusts a few types' value at creation). */
  get maxEntries(): number {
    return this.spec.maxEntries;
  }

  /** Bytes of one value as the user sees it: per-CPU maps give round_up(value_size, 8) per CPU. */
  get userValueSize(): number {
    return this.perCpu ? roundUp8(this.spec.valueSize) * this.cpus : this.spec.valueSize;
  }

  /** True for the per-CPU types (one value slot per CPU). */
  get perCpu(): boolean {
    return false;
  }

  /** The arena as 32-bit words (a view refreshed whenever the arena grows). */
  protected words(): Int32Array {
    const u8 = this.arena.u8;
    if (u8 !== this.viewU8) {
      this.viewU8 = u8;
      this.viewI32 = new Int32Array(u8.buffer);
    }
    return this.viewI32;
  }

  // ---- the program's face: arena addresses in, address or 0 / -errno out ----------------

  /**
   * bpf_map_lookup_elem: the value's address (this CPU's slot for per-CPU maps), or 0. By
   * default a map has no value a program can look up by key (ring buffers, bloom filters,
   * queues and stacks, stack traces, fd arrays: the verifier refuses the call).
   */
  lookupElem(keyAddr: number, cpu: number): number {
    void keyAddr; void cpu;
    return 0;
  }

  /** bpf_map_update_elem: 0 or -errno; by default -keyedOpErrno. */
  updateElem(keyAddr: number, valueAddr: number, flags: number, cpu: number): number {
    void keyAddr; void valueAddr; void flags; void cpu;
    return -this.keyedOpErrno;
  }

  /** bpf_map_delete_elem: 0 or -errno; by default -keyedOpErrno. */
  deleteElem(keyAddr: number): number {
    void keyAddr;
    return -this.keyedOpErrno;
  }

  /** The errno of a keyed update or delete on a map type without them (its map_ops' answer). */
  protected get keyedOpErrno(): number {
    return ERRNO.EINVAL;
  }

  /** bpf_map_push_elem / pop / peek (queue, stack, bloom filter): 0 or -errno. */
  pushElem(valueAddr: number, flags: number): number {
    void valueAddr; void flags;
    return -ERRNO.ENOTSUPP;
  }
  popElem(valueAddr: number): number {
    void valueAddr;
    return -ERRNO.ENOTSUPP;
  }
  peekElem(valueAddr: number): number {
    void valueAddr;
    return -ERRNO.ENOTSUPP;
  }

  // ---- the user's face: bytes --------------------------------------------------------------

  /**
   * The key after `key` (the first key when `key` is undefined), in the kernel's order for
   * this map type; undefined at the end. Errors as the kernel's get_next_key.
   */
  nextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    this.checkReadable();
    if (key !== undefined) this.checkKey(key);
    return this.userNextKey(key);
  }

  /** The value under `key` (all CPUs' values for per-CPU maps), or undefined. */
  lookup(key: Uint8Array): Uint8Array | undefined {
    this.checkReadable();
    this.checkKey(key);
    return this.userLookup(key);
  }

  /** Set `key` to `value` (for per-CPU maps: every CPU's value, userValueSize bytes). */
  update(key: Uint8Array, value: Uint8Array, flags = 0): void {
    this.checkWritable();
    this.checkKey(key);
    this.checkValue(value);
    this.userUpdate(key, value, flags);
  }

  delete(key: Uint8Array): void {
    this.checkWritable();
    this.checkKey(key);
    this.userDelete(key);
  }

  /** Queues and stacks: push (BPF_MAP_UPDATE_ELEM with no key). */
  push(value: Uint8Array, flags = 0): void {
    this.checkWritable();
    this.checkValue(value);
    const addr = this.stageValue(value);
    this.orThrow(this.pushElem(addr, flags), 'push');
  }

  /** Queues and stacks: the element pop would take, removed (undefined when empty). */
  pop(): Uint8Array | undefined {
    this.checkWritable();
    return this.popOrPeek(true);
  }

  /** Queues and stacks: the element pop would take, left in place (undefined when empty). */
  peek(): Uint8Array | undefined {
    this.checkReadable();
    return this.popOrPeek(false);
  }

  /** BPF_MAP_FREEZE: from now on the user's face may not write (programs still may). */
  freeze(): void {
    this.frozen = true;
  }

  get isFrozen(): boolean {
    return this.frozen;
  }

  /**
   * The user-face operations this map type refuses, with the errno and the reason its map_ops
   * give (a ring buffer has no keys, a bloom filter cannot forget…); none by default.
   */
  protected get refusals(): UserRefusals {
    return NO_REFUSALS;
  }

  /** Throw the refusal of `op` when the map type has one. */
  private refuseIfRefused(op: UserOp): void {
    const refusal = this.refusals[op];
    if (refusal) throw new MapError(this.name, refusal.errno, `${op} (${refusal.why})`);
  }

  /** The user face's get_next_key: every map type with keys orders them its own way. */
  protected userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    void key;
    this.refuseIfRefused('get_next_key');
    throw new MapError(this.name, ERRNO.ENOTSUPP, 'get_next_key');
  }

  /** The user face's lookup, through the program's face (CPU 0's slot). */
  protected userLookup(key: Uint8Array): Uint8Array | undefined {
    this.refuseIfRefused('lookup');
    const addr = this.lookupElem(this.stageKey(key), 0);
    return addr ? this.copyOut(addr, this.spec.valueSize) : undefined;
  }

  /** The user face's update, through the program's face. */
  protected userUpdate(key: Uint8Array, value: Uint8Array, flags: number): void {
    this.refuseIfRefused('update');
    this.orThrow(this.updateElem(this.stageKey(key), this.stageValue(value), flags, 0), 'update');
  }

  /** The user face's delete, through the program's face. */
  protected userDelete(key: Uint8Array): void {
    this.refuseIfRefused('delete');
    this.orThrow(this.deleteElem(this.stageKey(key)), 'delete');
  }

  /** Every (key, value) in nextKey order. */
  /**
   * The batch operations (BPF_MAP_*_BATCH): each entry in order, stopping at the first refusal,
   * which is thrown as a MapError whose `processed` says how many entries were done before it.
   */
  updateBatch(entries: Iterable<readonly [Uint8Array, Uint8Array]>, flags = 0): number {
    return this.batch(entries, ([key, value]) => this.update(key, value, flags));
  }

  deleteBatch(keys: Iterable<Uint8Array>): number {
    return this.batch(keys, (key) => this.delete(key));
  }

  /** Values for `keys` (undefined where a key is absent). */
  lookupBatch(keys: Iterable<Uint8Array>): (Uint8Array | undefined)[] {
    return [...keys].map((key) => this.lookup(key));
  }

  private batch<T>(items: Iterable<T>, op: (item: T) => void): number {
    let processed = 0;
    for (const item of items) {
      try {
        op(item);
      } catch (err) {
        if (err instanceof MapError) err.processed = processed;
        throw err;
      }
      processed++;
    }
    return processed;
  }

  *entries(): Generator<[Uint8Array, Uint8Array]> {
    for (let key = this.nextKey(undefined); key; key = this.nextKey(key)) {
      const value = this.lookup(key);
      if (value) yield [key, value];
    }
  }

  /** Free the map's arena memory. */
  close(): void {
    this.arena.free(this.header);
    this.arena.free(this.scratch);
  }

  // ---- shared checks ---------------------------------------------------------------------

  protected checkKey(key: Uint8Array): void {
    if (key.length !== this.spec.keySize) {
      throw new MapError(this.name, ERRNO.EINVAL, `key is ${key.length} bytes, the map's keys are ${this.spec.keySize}`);
    }
  }

  protected checkValue(value: Uint8Array): void {
    if (value.length !== this.userValueSize) {
      throw new MapError(this.name, ERRNO.EINVAL, `value is ${value.length} bytes, the map's values are ${this.userValueSize}`);
    }
  }

  /** The syscall's read check: a BPF_F_WRONLY map cannot be read from user space. */
  protected checkReadable(): void {
    if (this.spec.flags & BPF_F_WRONLY) throw new MapError(this.name, ERRNO.EPERM, 'the map is write-only (BPF_F_WRONLY)');
  }

  /** The syscall's write check: BPF_F_RDONLY or frozen maps cannot be written from user space. */
  protected checkWritable(): void {
    if (this.spec.flags & BPF_F_RDONLY) throw new MapError(this.name, ERRNO.EPERM, 'the map is read-only (BPF_F_RDONLY)');
    if (this.frozen) throw new MapError(this.name, ERRNO.EPERM, 'the map is frozen');
  }

  /** Copy a user key into the scratch region; returns its address. */
  protected stageKey(key: Uint8Array, slot = 0): number {
    const addr = this.scratch.start + slot * Math.max(8, this.spec.keySize);
    this.arena.u8.set(key, addr);
    return addr;
  }

  /** Copy a user value into the scratch region; returns its address. */
  protected stageValue(value: Uint8Array): number {
    const addr = this.scratch.start + 2 * Math.max(8, this.spec.keySize);
    this.arena.u8.set(value, addr);
    return addr;
  }

  /** Stage a u32 key given by value (bpf_redirect_map's key) in scratch space; returns its address. */
  scratchKey(key: number): number {
    const addr = this.scratch.start + 2 * Math.max(8, this.spec.keySize);
    this.arena.view.setUint32(addr, key, true);
    return addr;
  }

  /** A copy of `size` arena bytes at `addr`. */
  protected copyOut(addr: number, size: number): Uint8Array {
    return this.arena.u8.slice(addr, addr + size);
  }

  private popOrPeek(pop: boolean): Uint8Array | undefined {
    const addr = this.scratch.start + 2 * Math.max(8, this.spec.keySize);
    const result = pop ? this.popElem(addr) : this.peekElem(addr);
    if (result === -ERRNO.ENOENT) return undefined;
    this.orThrow(result, pop ? 'pop' : 'peek');
    return this.copyOut(addr, this.spec.valueSize);
  }

  /** Throw MapError for a negative errno result of the program's face. */
  protected orThrow(result: number, what: string): void {
    if (result < 0) throw new MapError(this.name, -result, what);
  }
}

export const roundUp8 = (n: number): number => (n + 7) & ~7;
