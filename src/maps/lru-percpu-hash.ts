/**
 * BPF_MAP_TYPE_LRU_PERCPU_HASH: the LRU hash (lru-hash.ts, whose notes on what is
 * approximate apply) with per-CPU values as in percpu-hash.ts. An update of an existing key is
 * in place and sets its reference bit; a new key takes (perhaps evicts) an element first,
 * unless the update is BPF_EXIST.
 */
import { LruHashMap } from './lru-hash.js';

export class LruPercpuHashMap extends LruHashMap {}
