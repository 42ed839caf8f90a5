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
import {
  BPF_F_INNER_MAP, BPF_F_MMAPABLE, BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_NUMA_NODE, BPF_F_PRESERVE_ELEMS, BPF_F_RDONLY,
  BPF_F_RDONLY_PROG, BPF_F_STACK_BUILD_ID, BPF_F_WRONLY, BPF_F_WRONLY_PROG, BPF_F_ZERO_SEED, BPF_MAP_TYPE, MAP_TYPE_NAMES,
} from '../uapi/bpf.js';
import type { MapSpec } from '../spec/types.js';
import { ArrayMap } from './array.js';
import { ArrayOfMapsMap } from './array-of-maps.js';
import { BloomFilterMap } from './bloom-filter.js';
import { isPow2 } from './common.js';
import { CpuMap } from './cpumap.js';
import { DevMap } from './devmap.js';
import { DevMapHash } from './devmap-hash.js';
import { HashMap } from './hash.js';
import { HashOfMapsMap } from './hash-of-maps.js';
import { LpmTrieMap } from './lpm-trie.js';
import { LruHashMap } from './lru-hash.js';
import { LruPercpuHashMap } from './lru-percpu-hash.js';
import { BpfMap, MapError, roundUp8, type MapHost } from './map.js';
import { ERRNO, type ErrnoName } from '../uapi/errno.js';
import { PercpuArrayMap } from './percpu-array.js';
import { PercpuHashMap } from './percpu-hash.js';
import { PerfEventArrayMap } from './perf-event-array.js';
import { ProgArrayMap } from './prog-array.js';
import { QueueMap } from './queue.js';
import { RingbufMap } from './ringbuf.js';
import { StackMap } from './stack.js';
import { PERF_EVENT_MAX_STACK, StackTraceMap } from './stack-trace.js';
import { XskMap } from './xskmap.js';

export * from './map.js';
export { ArrayMap, ArrayOfMapsMap, BloomFilterMap, CpuMap, DevMap, DevMapHash, HashMap, HashOfMapsMap, LpmTrieMap, LruHashMap };
export { LruPercpuHashMap, PercpuArrayMap, PercpuHashMap, PerfEventArrayMap, ProgArrayMap, QueueMap, RingbufMap, StackMap, StackTraceMap, XskMap };
export type { PerfRecord } from './perf-event-array.js';
export { jhash, jhash2 } from './common.js';

const T = BPF_MAP_TYPE;
type MapClass = new (host: MapHost, spec: MapSpec, id: number) => BpfMap;

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

/** KMALLOC_MAX_SIZE on x86-64 (order-10 pages). */
const KMALLOC_MAX_SIZE = 1 << 22;
/** PCPU_MIN_UNIT_SIZE: the largest per-CPU value. */
const PCPU_MIN_UNIT_SIZE = 32768;
/** sizeof(struct htab_elem) on 64-bit kernels. */
const HTAB_ELEM_SIZE = 48;
/** NR_CPUS of common distribution kernels (cpumap's max_entries limit). */
export const NR_CPUS = 8192;
/** LPM trie limits (kernel/bpf/lpm_trie.c). */
const LPM_DATA_SIZE_MIN = 1;
const LPM_DATA_SIZE_MAX = 256;
const LPM_VAL_SIZE_MAX = KMALLOC_MAX_SIZE - LPM_DATA_SIZE_MAX - 48;
const ACCESS_MASK = BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG;
const ARRAY_FLAGS = BPF_F_NUMA_NODE | BPF_F_MMAPABLE | ACCESS_MASK | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;
const HTAB_FLAGS = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | ACCESS_MASK | BPF_F_ZERO_SEED;
const LPM_FLAGS = BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | ACCESS_MASK;
const QUEUE_STACK_FLAGS = BPF_F_NUMA_NODE | ACCESS_MASK;
const BLOOM_FLAGS = BPF_F_NUMA_NODE | BPF_F_ZERO_SEED | ACCESS_MASK;
const DEV_FLAGS = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY;
const STACK_FLAGS = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY | BPF_F_STACK_BUILD_ID;

/** Make the live map for `spec`, with id `id`, after the kernel's creation checks. */
export function createMap(host: MapHost, spec: MapSpec, id: number): BpfMap {
  const live = checkMapSpec(spec, host.cpus);
  const Class = CLASSES[live.type];
  return new Class(host, live, id);
}

/**
 * The kernel's creation checks for `spec` on a machine of `cpus` CPUs: the spec the live map
 * will have (a copy when the kernel adjusts something), or a thrown MapError.
 */
export function checkMapSpec(spec: MapSpec, cpus: number): MapSpec {
  const fail = (errno: ErrnoName, reason: string): never => {
    throw new MapError(spec.name, ERRNO[errno], `cannot create ${MAP_TYPE_NAMES[spec.type] ?? `type ${spec.type}`} map: ${reason}`);
  };
  const { type, keySize, valueSize, flags } = spec;
  let maxEntries = spec.maxEntries;
  const typeName = MAP_TYPE_NAMES[type];
  if (!(type in CLASSES)) {
    throw new XdplabError('UNSUPPORTED', `map ${spec.name}: map type ${typeName ?? type} is not supported by xdplab (supported: ${SUPPORTED_MAP_TYPES.map((t) => MAP_TYPE_NAMES[t]).join(', ')})`);
  }
  const mapExtra = spec.mapExtra ?? 0;
  if (mapExtra !== 0 && type !== T.BPF_MAP_TYPE_BLOOM_FILTER) fail('EINVAL', `map_extra ${mapExtra} is only for bloom filters`);
  const accessOk = (): void => {
    if ((flags & BPF_F_RDONLY && flags & BPF_F_WRONLY) || (flags & BPF_F_RDONLY_PROG && flags & BPF_F_WRONLY_PROG)) {
      fail('EINVAL', 'conflicting read-only and write-only flags');
    }
  };
  const onlyFlags = (allowed: number): void => {
    const extra = (flags & ~allowed) >>> 0;
    if (extra) fail('EINVAL', `flags 0x${extra.toString(16)} are not allowed for this type`);
  };
  const needEntries = (): void => {
    if (maxEntries === 0) fail('EINVAL', 'max_entries is 0');
  };
  const needKey = (size: number): void => {
    if (keySize !== size) fail('EINVAL', `key_size is ${keySize}, this type needs ${size}`);
  };
  let extraFlags = 0;

  switch (type) {
    case T.BPF_MAP_TYPE_ARRAY:
    case T.BPF_MAP_TYPE_PERCPU_ARRAY:
    case T.BPF_MAP_TYPE_PROG_ARRAY:
    case T.BPF_MAP_TYPE_PERF_EVENT_ARRAY:
    case T.BPF_MAP_TYPE_ARRAY_OF_MAPS: {
      const fdArray = type === T.BPF_MAP_TYPE_PROG_ARRAY || type === T.BPF_MAP_TYPE_PERF_EVENT_ARRAY || type === T.BPF_MAP_TYPE_ARRAY_OF_MAPS;
      // libbpf sizes a perf event array left at 0 to the number of CPUs.
      if (type === T.BPF_MAP_TYPE_PERF_EVENT_ARRAY && maxEntries === 0) maxEntries = cpus;
      if (fdArray) {
        if (valueSize !== 4) fail('EINVAL', `value_size is ${valueSize}, this type's values are 4-byte ids`);
        if (flags & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) fail('EINVAL', 'BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG are not for fd arrays');
      }
      needEntries();
      needKey(4);
      if (valueSize === 0) fail('EINVAL', 'value_size is 0');
      onlyFlags(ARRAY_FLAGS);
      accessOk();
      if (type !== T.BPF_MAP_TYPE_ARRAY && flags & (BPF_F_MMAPABLE | BPF_F_INNER_MAP)) fail('EINVAL', 'BPF_F_MMAPABLE / BPF_F_INNER_MAP are only for arrays');
      if (type !== T.BPF_MAP_TYPE_PERF_EVENT_ARRAY && flags & BPF_F_PRESERVE_ELEMS) fail('EINVAL', 'BPF_F_PRESERVE_ELEMS is only for perf event arrays');
      if (valueSize > 0x7fffffff) fail('E2BIG', `value_size ${valueSize} is too large`);
      if (type === T.BPF_MAP_TYPE_PERCPU_ARRAY && roundUp8(valueSize) > PCPU_MIN_UNIT_SIZE) fail('E2BIG', `per-CPU values are at most ${PCPU_MIN_UNIT_SIZE} bytes`);
      if (type === T.BPF_MAP_TYPE_ARRAY_OF_MAPS) checkInner(spec, fail);
      break;
    }
    case T.BPF_MAP_TYPE_HASH:
    case T.BPF_MAP_TYPE_PERCPU_HASH:
    case T.BPF_MAP_TYPE_LRU_HASH:
    case T.BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case T.BPF_MAP_TYPE_HASH_OF_MAPS: {
      const percpu = type === T.BPF_MAP_TYPE_PERCPU_HASH || type === T.BPF_MAP_TYPE_LRU_PERCPU_HASH;
      const lru = type === T.BPF_MAP_TYPE_LRU_HASH || type === T.BPF_MAP_TYPE_LRU_PERCPU_HASH;
      if (type === T.BPF_MAP_TYPE_HASH_OF_MAPS && valueSize !== 4) fail('EINVAL', `value_size is ${valueSize}, inner maps are 4-byte ids`);
      onlyFlags(HTAB_FLAGS);
      accessOk();
      if (!lru && flags & BPF_F_NO_COMMON_LRU) fail('EINVAL', 'BPF_F_NO_COMMON_LRU is only for LRU maps');
      if (lru && flags & BPF_F_NO_PREALLOC) fail('ENOTSUPP', 'LRU maps are always preallocated (BPF_F_NO_PREALLOC)');
      needEntries();
      if (keySize === 0) fail('EINVAL', 'key_size is 0');
      if (valueSize === 0) fail('EINVAL', 'value_size is 0');
      if (keySize + valueSize >= KMALLOC_MAX_SIZE - HTAB_ELEM_SIZE) fail('E2BIG', `key_size + value_size is too large`);
      if (percpu && roundUp8(valueSize) > PCPU_MIN_UNIT_SIZE) fail('E2BIG', `per-CPU values are at most ${PCPU_MIN_UNIT_SIZE} bytes`);
      if (lru && flags & BPF_F_NO_COMMON_LRU) {
        // Each CPU gets the same share of the elements.
        const rounded = Math.ceil(maxEntries / cpus) * cpus;
        maxEntries = rounded > 0xffffffff ? Math.floor(maxEntries / cpus) * cpus : rounded;
      }
      if (maxEntries > 2 ** 31) fail('E2BIG', `max_entries ${maxEntries} is above 2^31`);
      if (type === T.BPF_MAP_TYPE_HASH_OF_MAPS) checkInner(spec, fail);
      break;
    }
    case T.BPF_MAP_TYPE_LPM_TRIE: {
      needEntries();
      if (!(flags & BPF_F_NO_PREALLOC)) fail('EINVAL', 'LPM tries need BPF_F_NO_PREALLOC');
      onlyFlags(LPM_FLAGS);
      accessOk();
      if (keySize < 4 + LPM_DATA_SIZE_MIN || keySize > 4 + LPM_DATA_SIZE_MAX) fail('EINVAL', `key_size ${keySize}: a u32 prefix length and 1..256 data bytes`);
      if (valueSize < 1 || valueSize > LPM_VAL_SIZE_MAX) fail('EINVAL', `value_size ${valueSize} is out of range`);
      break;
    }
    case T.BPF_MAP_TYPE_QUEUE:
    case T.BPF_MAP_TYPE_STACK: {
      needEntries();
      needKey(0);
      if (valueSize === 0) fail('EINVAL', 'value_size is 0');
      onlyFlags(QUEUE_STACK_FLAGS);
      accessOk();
      if (valueSize > KMALLOC_MAX_SIZE) fail('E2BIG', `value_size ${valueSize} is too large`);
      break;
    }
    case T.BPF_MAP_TYPE_BLOOM_FILTER: {
      if (valueSize > KMALLOC_MAX_SIZE) fail('E2BIG', `value_size ${valueSize} is too large`);
      needKey(0);
      if (valueSize === 0) fail('EINVAL', 'value_size is 0');
      needEntries();
      onlyFlags(BLOOM_FLAGS);
      accessOk();
      if (mapExtra & ~0xf) fail('EINVAL', `map_extra ${mapExtra}: only its low 4 bits (the number of hash functions) may be set`);
      break;
    }
    case T.BPF_MAP_TYPE_RINGBUF: {
      onlyFlags(BPF_F_NUMA_NODE);
      if (keySize !== 0 || valueSize !== 0) fail('EINVAL', 'key_size and value_size must be 0');
      if (!isPow2(maxEntries) || maxEntries % 4096 !== 0) fail('EINVAL', `max_entries ${maxEntries} must be a power of 2 and a multiple of the page size`);
      break;
    }
    case T.BPF_MAP_TYPE_DEVMAP:
    case T.BPF_MAP_TYPE_DEVMAP_HASH: {
      needEntries();
      needKey(4);
      if (valueSize !== 4 && valueSize !== 8) fail('EINVAL', `value_size ${valueSize}: a u32 ifindex, or struct bpf_devmap_val (8 bytes)`);
      onlyFlags(DEV_FLAGS);
      if (type === T.BPF_MAP_TYPE_DEVMAP_HASH && maxEntries > 2 ** 31) fail('EINVAL', `max_entries ${maxEntries} is above 2^31`);
      extraFlags = BPF_F_RDONLY_PROG;
      break;
    }
    case T.BPF_MAP_TYPE_XSKMAP: {
      // xsk_map_alloc
      needEntries();
      needKey(4);
      if (valueSize !== 4) fail('EINVAL', `value_size ${valueSize}: an AF_XDP socket's fd (4 bytes)`);
      onlyFlags(DEV_FLAGS);
      break;
    }
    case T.BPF_MAP_TYPE_CPUMAP: {
      needEntries();
      needKey(4);
      if (valueSize !== 4 && valueSize !== 8) fail('EINVAL', `value_size ${valueSize}: a u32 qsize, or struct bpf_cpumap_val (8 bytes)`);
      onlyFlags(BPF_F_NUMA_NODE);
      if (maxEntries > NR_CPUS) fail('E2BIG', `max_entries ${maxEntries} is above NR_CPUS (${NR_CPUS})`);
      extraFlags = BPF_F_RDONLY_PROG;
      break;
    }
    case T.BPF_MAP_TYPE_STACK_TRACE: {
      onlyFlags(STACK_FLAGS);
      needEntries();
      needKey(4);
      if (valueSize < 8 || valueSize % 8) fail('EINVAL', `value_size ${valueSize}: a whole number of u64 instruction pointers`);
      if (flags & BPF_F_STACK_BUILD_ID) {
        if (valueSize % 32 || valueSize / 32 > PERF_EVENT_MAX_STACK) fail('EINVAL', `value_size ${valueSize}: a whole number of struct bpf_stack_build_id`);
        throw new XdplabError('UNSUPPORTED', `map ${spec.name}: BPF_F_STACK_BUILD_ID stack maps are not supported by xdplab`);
      }
      if (valueSize / 8 > PERF_EVENT_MAX_STACK) fail('EINVAL', `value_size ${valueSize}: more than ${PERF_EVENT_MAX_STACK} frames`);
      if (maxEntries > 2 ** 31) fail('E2BIG', `max_entries ${maxEntries} is above 2^31`);
      break;
    }
  }
  if (maxEntries === spec.maxEntries && extraFlags === 0) return spec;
  return { ...spec, maxEntries, flags: (flags | extraFlags) >>> 0 };
}

/** A map of maps needs the shape of its inner maps, and they may not be maps of maps. */
function checkInner(spec: MapSpec, fail: (errno: ErrnoName, reason: string) => never): void {
  const inner = spec.innerMap;
  if (!inner) fail('EBADF', 'a map of maps needs an inner map (the spec has no innerMap)');
  else if (inner.type === T.BPF_MAP_TYPE_ARRAY_OF_MAPS || inner.type === T.BPF_MAP_TYPE_HASH_OF_MAPS) {
    fail('EINVAL', 'an inner map may not itself be a map of maps');
  }
}
