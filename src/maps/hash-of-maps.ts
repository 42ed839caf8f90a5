/**
 * BPF_MAP_TYPE_HASH_OF_MAPS: a hash map (hash.ts: same buckets, flags and order) whose values
 * are inner maps. The user stores an inner map by its id (4 bytes) and reads the id back; the
 * element holds the inner map's header address, which is what a program's lookup returns.
 * Inner maps must match the spec's template (inner-map.ts).
 */
import type { MapSpec } from '../spec/types.js';
import type { Region } from '../vm/arena.js';
import { NO_PROGRAM_ACCESS, readU32, writeU32 } from './common.js';
import { HashMap } from './hash.js';
import { innerMapRef, type InnerMapHolder } from './inner-map.js';
import type { MapHost } from './map.js';
import type { MapSpecCheck } from './alloc-check.js';

export class HashOfMapsMap extends HashMap implements InnerMapHolder {
  static override checkSpec(check: MapSpecCheck): void {
    if (check.valueSize !== 4) check.fail('EINVAL', `value_size is ${check.valueSize}, inner maps are 4-byte ids`);
    super.checkSpec(check);
    check.needInnerMap();
  }

  /** Where a resolved inner map's header address is put before it is stored. */
  private readonly resolved: Region;

  constructor(host: MapHost, spec: MapSpec, id: number) {
    super(host, spec, id);
    this.resolved = this.arena.alloc(8, 'map', `${spec.name} inner ref`, NO_PROGRAM_ACCESS);
  }

  /** A program's lookup: the inner map's header address, or 0. */
  override lookupElem(keyAddr: number, cpu: number): number {
    const value = super.lookupElem(keyAddr, cpu);
    return value === 0 ? 0 : readU32(this.arena.u8, value);
  }

  innerMapIdAt(keyAddr: number): number | undefined {
    const header = this.lookupElem(keyAddr, 0);
    return header === 0 ? undefined : readU32(this.arena.u8, header);
  }

  /** The value given is an inner map id (the kernel: an fd). */
  protected override update3(keyAddr: number, valueAddr: number, flags: number, cpu: number, allCpus: boolean): number {
    const header = innerMapRef(this, readU32(this.arena.u8, valueAddr));
    if (header < 0) return header;
    writeU32(this.arena.u8, this.resolved.start, header);
    return super.update3(keyAddr, this.resolved.start, flags, cpu, allCpus);
  }

  protected override userLookup(key: Uint8Array): Uint8Array | undefined {
    const stored = super.userLookup(key);
    return stored && this.copyOut(readU32(stored, 0), 4);
  }

  override close(): void {
    this.arena.free(this.resolved);
    super.close();
  }
}
