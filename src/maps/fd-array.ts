/**
 * The kernel's fd arrays (arraymap.c, fd_array_map_*): arrays whose values the user gives as
 * object references — a program (prog_array), an inner map (array_of_maps), a perf event
 * (perf_event_array) — and that programs cannot read as values. Here a reference is an object
 * id (u32), checked through the MapHost; each slot holds one u32 in the arena (0 = empty).
 */
import { BPF_ANY } from '../uapi/bpf.js';
import type { MapSpec } from '../spec/types.js';
import type { Region } from '../vm/arena.js';
import { arrayNextKey, NO_PROGRAM_ACCESS, readU32, u32Bytes, writeU32 } from './common.js';
import { BpfMap, type MapHost } from './map.js';
import { ERRNO } from '../uapi/errno.js';
import type { MapSpecCheck } from './alloc-check.js';
import { ArrayMap } from './array.js';
import { BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG } from '../uapi/bpf.js';

export abstract class FdArrayMap extends BpfMap {
  /** fd_array_map_alloc_check: 4-byte ids, no program access flags, then array_map_alloc_check. */
  static override checkSpec(check: MapSpecCheck): void {
    if (check.valueSize !== 4) check.fail('EINVAL', `value_size is ${check.valueSize}, this type's values are 4-byte ids`);
    if (check.flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) check.fail('EINVAL', 'BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG are not for fd arrays');
    ArrayMap.checkSpec(check);
  }

  readonly slots: Region;

  constructor(host: MapHost, spec: MapSpec, id: number) {
    super(host, spec, id);
    this.slots = this.arena.alloc(spec.maxEntries * 4, 'map', `${spec.name} slots`, NO_PROGRAM_ACCESS);
  }

  /** The object a user's u32 refers to, as the slot stores it, or -errno (kernel: map_fd_get_ptr). */
  protected abstract resolve(ref: number): number;
  /** What the user reads back for a stored slot (kernel: map_fd_sys_lookup_elem), or -errno. */
  protected abstract sysValue(stored: number): number;

  /** The stored u32 of slot `index`, 0 when empty or out of range. */
  protected slotAt(index: number): number {
    if (index >= this.spec.maxEntries) return 0;
    return readU32(this.arena.u8, this.slots.start + index * 4);
  }

  // Programs cannot look into fd arrays (the kernel: -EOPNOTSUPP, refused by the verifier):
  // BpfMap's lookupElem.

  /** bpf_fd_array_map_update_elem. */
  override updateElem(keyAddr: number, valueAddr: number, flags: number, cpu: number): number {
    void cpu;
    const u8 = this.arena.u8;
    const index = readU32(u8, keyAddr);
    if (flags !== BPF_ANY) return -ERRNO.EINVAL;
    if (index >= this.spec.maxEntries) return -ERRNO.E2BIG;
    const stored = this.resolve(readU32(u8, valueAddr));
    if (stored < 0) return stored;
    writeU32(this.arena.u8, this.slots.start + index * 4, stored);
    return 0;
  }

  /** fd_array_map_delete_elem. */
  override deleteElem(keyAddr: number): number {
    const u8 = this.arena.u8;
    const index = readU32(u8, keyAddr);
    if (index >= this.spec.maxEntries) return -ERRNO.E2BIG;
    const at = this.slots.start + index * 4;
    if (readU32(u8, at) === 0) return -ERRNO.ENOENT;
    writeU32(u8, at, 0);
    return 0;
  }

  protected override userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return arrayNextKey(key, this.spec.maxEntries);
  }

  protected override userLookup(key: Uint8Array): Uint8Array | undefined {
    const stored = this.slotAt(readU32(key, 0));
    if (stored === 0) return undefined;
    const value = this.sysValue(stored);
    this.orThrow(value, 'lookup');
    return u32Bytes(value);
  }

  override close(): void {
    this.arena.free(this.slots);
    super.close();
  }
}
