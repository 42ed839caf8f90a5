/**
 * createMap: a live map of the spec's type, after the checks the kernel makes when a map is
 * created (each type's map_alloc_check / map_alloc: key and value sizes, max_entries, which
 * flags the type takes). A spec the kernel would refuse is refused with a MapError naming the
 * map, the reason and the errno the kernel would give.
 *
 * The few values the kernel (or libbpf) adjusts at creation are adjusted in the live map's
 * spec (`map.spec`): perf_event_array's max_entries 0 becomes the CPU count (libbpf),
 * BPF_F_NO_COMMON_LRU maps round max_entries to a multiple of the CPU count, devmaps and
 * cpumaps get BPF_F_RDONLY_PROG.
 */
import { XdplabError } from '../errors.js';
import { BPF_MAP_TYPE, MAP_TYPE_NAMES } from '../uapi/bpf.js';
import { MapSpecCheck } from './alloc-check.js';
import type { MapSpec } from '../spec/types.js';
import { ArrayMap } from './array.js';
import { ArrayOfMapsMap } from './array-of-maps.js';
import { BloomFilterMap } from './bloom-filter.js';
import { CpuMap, NR_CPUS } from './cpumap.js';
import { DevMap } from './devmap.js';
import { DevMapHash } from './devmap-hash.js';
import { HashMap } from './hash.js';
import { HashOfMapsMap } from './hash-of-maps.js';
import { LpmTrieMap } from './lpm-trie.js';
import { LruHashMap } from './lru-hash.js';
import { LruPercpuHashMap } from './lru-percpu-hash.js';
import type { BpfMap, MapHost } from './map.js';
import { PercpuArrayMap } from './percpu-array.js';
import { PercpuHashMap } from './percpu-hash.js';
import { PerfEventArrayMap } from './perf-event-array.js';
import { ProgArrayMap } from './prog-array.js';
import { QueueMap } from './queue.js';
import { RingbufMap } from './ringbuf.js';
import { StackMap } from './stack.js';
import { StackTraceMap } from './stack-trace.js';
import { XskMap } from './xskmap.js';

export * from './map.js';
export { ArrayMap, ArrayOfMapsMap, BloomFilterMap, CpuMap, DevMap, DevMapHash, HashMap, HashOfMapsMap, LpmTrieMap, LruHashMap };
export { LruPercpuHashMap, PercpuArrayMap, PercpuHashMap, PerfEventArrayMap, ProgArrayMap, QueueMap, RingbufMap, StackMap, StackTraceMap, XskMap };
export type { PerfRecord } from './perf-event-array.js';
export { jhash, jhash2 } from './common.js';
export { NR_CPUS };

const T = BPF_MAP_TYPE;
type MapClass = (new (host: MapHost, spec: MapSpec, id: number) => BpfMap) & { checkSpec(check: MapSpecCheck): void };

const CLASSES: Record<number, MapClass> = {
  [T.BPF_MAP_TYPE_HASH]: HashMap,
  [T.BPF_MAP_TYPE_ARRAY]: ArrayMap,
  [T.BPF_MAP_TYPE_PROG_ARRAY]: ProgArrayMap,
  [T.BPF_MAP_TYPE_PERF_EVENT_ARRAY]: PerfEventArrayMap,
  [T.BPF_MAP_TYPE_PERCPU_HASH]: PercpuHashMap,
  [T.BPF_MAP_TYPE_PERCPU_ARRAY]: PercpuArrayMap,
  [T.BPF_MAP_TYPE_STACK_TRACE]: StackTraceMap,
  [T.BPF_MAP_TYPE_LRU_HASH]: LruHashMap,
  [T.BPF_MAP_TYPE_LRU_PERCPU_HASH]: LruPercpuHashMap,
  [T.BPF_MAP_TYPE_LPM_TRIE]: LpmTrieMap,
  [T.BPF_MAP_TYPE_ARRAY_OF_MAPS]: ArrayOfMapsMap,
  [T.BPF_MAP_TYPE_HASH_OF_MAPS]: HashOfMapsMap,
  [T.BPF_MAP_TYPE_DEVMAP]: DevMap,
  [T.BPF_MAP_TYPE_CPUMAP]: CpuMap,
  [T.BPF_MAP_TYPE_QUEUE]: QueueMap,
  [T.BPF_MAP_TYPE_STACK]: StackMap,
  [T.BPF_MAP_TYPE_DEVMAP_HASH]: DevMapHash,
  [T.BPF_MAP_TYPE_RINGBUF]: RingbufMap,
  [T.BPF_MAP_TYPE_BLOOM_FILTER]: BloomFilterMap,
  [T.BPF_MAP_TYPE_XSKMAP]: XskMap,
};

/** Every map type createMap makes. */
export const SUPPORTED_MAP_TYPES: readonly number[] = Object.keys(CLASSES).map(Number);

/** Make the live map for `spec`, with id `id`, after the kernel's creation checks. */
export function createMap(host: MapHost, spec: MapSpec, id: number): BpfMap {
  const live = checkMapSpec(spec, host.cpus);
  const Class = CLASSES[live.type];
  return new Class(host, live, id);
}

/**
 * The kernel's creation checks for `spec` on a machine of `cpus` CPUs — each map class's own
 * (`checkSpec`, as each map type's map_alloc_check): the spec the live map will have (a copy
 * when the kernel adjusts something), or a thrown MapError.
 */
export function checkMapSpec(spec: MapSpec, cpus: number): MapSpec {
  const Class = CLASSES[spec.type];
  if (Class === undefined) {
    throw new XdplabError('UNSUPPORTED', `map ${spec.name}: map type ${MAP_TYPE_NAMES[spec.type] ?? spec.type} is not supported by xdplab (supported: ${SUPPORTED_MAP_TYPES.map((t) => MAP_TYPE_NAMES[t]).join(', ')})`);
  }
  const check = new MapSpecCheck(spec, cpus);
  const mapExtra = spec.mapExtra ?? 0;
  if (mapExtra !== 0 && spec.type !== T.BPF_MAP_TYPE_BLOOM_FILTER) check.fail('EINVAL', `map_extra ${mapExtra} is only for bloom filters`);
  Class.checkSpec(check);
  return check.result();
}
