/**
 * TargetArrayMap: what devmap (devmap.ts) and cpumap (cpumap.ts) share — an array of redirect
 * targets, each entry two u32s (struct bpf_devmap_val / bpf_cpumap_val: the target, an ifindex
 * or a queue size, and a program id), an entry whose target is 0 empty. Lookups give the
 * entry's address or 0; deletes empty an entry (an empty one deletes fine); keys are indexes.
 * Each map type checks and stores its own updates.
 */
import type { MapSpec } from '../spec/types.js';
import { ERRNO } from '../uapi/errno.js';
import { REGION_READ, type Region } from '../vm/arena.js';
import { arrayNextKey, readU32, writeU32 } from './common.js';
import { BpfMap, type MapHost } from './map.js';

/** Bytes of a stored entry: struct bpf_devmap_val / bpf_cpumap_val (two u32s). */
export const TARGET_ENTRY_SIZE = 8;

export abstract class TargetArrayMap extends BpfMap {
  readonly values: Region;

  constructor(host: MapHost, spec: MapSpec, id: number) {
    super(host, spec, id);
    this.values = this.arena.alloc(spec.maxEntries * TARGET_ENTRY_SIZE, 'map', `${spec.name} values`, REGION_READ);
  }

  /** The arena address of entry `index`. */
  protected entryAddr(index: number): number {
    return this.values.start + index * TARGET_ENTRY_SIZE;
  }

  /** Store entry `index`: its target and program id (both 0: empty). */
  protected setEntry(index: number, target: number, prog: number): void {
    const addr = this.entryAddr(index);
    writeU32(this.arena.u8, addr, target);
    writeU32(this.arena.u8, addr + 4, prog);
  }

  override lookupElem(keyAddr: number, cpu: number): number {
    void cpu;
    const u8 = this.arena.u8;
    const index = readU32(u8, keyAddr);
    if (index >= this.spec.maxEntries) return 0;
    const addr = this.entryAddr(index);
    return readU32(u8, addr) === 0 ? 0 : addr;
  }

  /** dev_map_delete_elem / cpu_map_delete_elem: an empty entry deletes fine. */
  override deleteElem(keyAddr: number): number {
    const index = readU32(this.arena.u8, keyAddr);
    if (index >= this.spec.maxEntries) return -ERRNO.EINVAL;
    this.setEntry(index, 0, 0);
    return 0;
  }

  protected override userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return arrayNextKey(key, this.spec.maxEntries);
  }

  override close(): void {
    this.arena.free(this.values);
    super.close();
  }
}
