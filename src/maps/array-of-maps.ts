/**
 * BPF_MAP_TYPE_ARRAY_OF_MAPS: slots of inner maps. The user stores an inner map by its id (4
 * bytes) and reads the id back; a program's lookup gets the inner map itself, i.e. the
 * address of its header (what `lddw rX, map` would load), which it passes to map helpers.
 * An inner map must have the shape of the spec's template (kernel: bpf_map_meta_equal).
 */
import { FdArrayMap } from './fd-array.js';
import { readU32 } from './common.js';
import { innerMapRef, type InnerMapHolder } from './inner-map.js';
import type { MapSpecCheck } from './alloc-check.js';

export class ArrayOfMapsMap extends FdArrayMap implements InnerMapHolder {
  static override checkSpec(check: MapSpecCheck): void {
    super.checkSpec(check);
    check.needInnerMap();
  }

  /** A program's lookup: the inner map's header address, or 0. */
  override lookupElem(keyAddr: number, cpu: number): number {
    void cpu;
    return this.slotAt(readU32(this.arena.u8, keyAddr));
  }

  /** The id of the inner map under the key at `keyAddr`, undefined when none. */
  innerMapIdAt(keyAddr: number): number | undefined {
    const header = this.slotAt(readU32(this.arena.u8, keyAddr));
    return header === 0 ? undefined : readU32(this.arena.u8, header);
  }

  protected resolve(ref: number): number {
    return innerMapRef(this, ref);
  }

  protected sysValue(stored: number): number {
    return readU32(this.arena.u8, stored);
  }
}
