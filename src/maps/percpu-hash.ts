/**
 * BPF_MAP_TYPE_PERCPU_HASH: a hash map (hash.ts, same buckets and order) with one value slot
 * per CPU. A program's lookup gets its CPU's slot; a program's update of a new key zeroes the
 * other CPUs' slots (pcpu_init_value); the user reads and writes every CPU's value,
 * round_up(value_size, 8) bytes each. Updates of an existing key are in place, so they do not
 * move the key in the iteration order (plain hash maps do).
 */
import { HashMap } from './hash.js';

export class PercpuHashMap extends HashMap {}
