/**
 * BPF_MAP_TYPE_PERCPU_ARRAY: an array with one value slot per CPU. A program's lookup gets
 * its own CPU's slot; the user's face reads and writes every CPU's value, round_up(value_size,
 * 8) bytes each, one after the other (as bpf_percpu_array_copy / _update do). The slots of one
 * element are adjacent in the arena, so that whole value is one copy.
 */
import { ArrayMap } from './array.js';
import type { MapSpecCheck } from './alloc-check.js';

export class PercpuArrayMap extends ArrayMap {
  static override checkSpec(check: MapSpecCheck): void {
    super.checkSpec(check);
    check.perCpuValueFits();
  }

  override get perCpu(): boolean {
    return true;
  }
}
