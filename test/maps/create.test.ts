import { describe, expect, it } from 'vitest';
import { XdplabError } from '../../src/errors.js';
import { checkMapSpec, createMap, SUPPORTED_MAP_TYPES } from '../../src/maps/index.js';
import { ERRNO } from '../../src/uapi/errno.js';
import { BPF_F_NO_COMMON_LRU, BPF_F_NO_PREALLOC, BPF_F_RDONLY_PROG, MAP_TYPE_NAMES } from '../../src/uapi/bpf.js';
import { errnoOf, makeHost, spec } from './support.js';

const E = ERRNO;

// [type, key, value, max_entries, flags, extra, errno (0: accepted)]
const CASES: [string, number, number, number, number, Record<string, unknown>, number][] = [
  ['array', 4, 4, 1, 0, {}, 0],
  ['array', 8, 4, 1, 0, {}, E.EINVAL],
  ['array', 4, 0, 1, 0, {}, E.EINVAL],
  ['array', 4, 4, 0, 0, {}, E.EINVAL],
  ['array', 4, 4, 1, BPF_F_NO_PREALLOC, {}, E.EINVAL],
  ['array', 4, 4, 1, (1 << 3) | (1 << 4), {}, E.EINVAL],
  ['array', 4, 4, 1, (1 << 7) | (1 << 8), {}, E.EINVAL],
  ['percpu_array', 4, 32768, 1, 0, {}, 0],
  ['percpu_array', 4, 32769, 1, 0, {}, E.E2BIG],
  ['percpu_array', 4, 4, 1, 1 << 10, {}, E.EINVAL],
  ['prog_array', 4, 4, 1, 0, {}, 0],
  ['prog_array', 4, 8, 1, 0, {}, E.EINVAL],
  ['perf_event_array', 4, 4, 0, 0, {}, 0],
  ['array_of_maps', 4, 4, 1, 0, {}, E.EBADF],
  ['hash', 4, 4, 1, 0, {}, 0],
  ['hash', 0, 4, 1, 0, {}, E.EINVAL],
  ['hash', 4, 0, 1, 0, {}, E.EINVAL],
  ['hash', 4, 4, 0, 0, {}, E.EINVAL],
  ['hash', 4, 4, 1, BPF_F_NO_COMMON_LRU, {}, E.EINVAL],
  ['hash', 4, 1 << 22, 1, 0, {}, E.E2BIG],
  ['hash', 4, 4, 1, 0, { mapExtra: 3 }, E.EINVAL],
  ['percpu_hash', 4, 40000, 1, 0, {}, E.E2BIG],
  ['lru_hash', 4, 4, 1, BPF_F_NO_PREALLOC, {}, E.ENOTSUPP],
  ['lru_percpu_hash', 4, 4, 3, BPF_F_NO_COMMON_LRU, {}, 0],
  ['hash_of_maps', 4, 8, 1, 0, {}, E.EINVAL],
  ['lpm_trie', 8, 4, 1, BPF_F_NO_PREALLOC, {}, 0],
  ['lpm_trie', 8, 4, 1, 0, {}, E.EINVAL],
  ['lpm_trie', 4, 4, 1, BPF_F_NO_PREALLOC, {}, E.EINVAL],
  ['lpm_trie', 260, 4, 1, BPF_F_NO_PREALLOC, {}, 0],
  ['lpm_trie', 261, 4, 1, BPF_F_NO_PREALLOC, {}, E.EINVAL],
  ['lpm_trie', 8, 0, 1, BPF_F_NO_PREALLOC, {}, E.EINVAL],
  ['xskmap', 4, 4, 64, 0, {}, 0],
  ['xskmap', 4, 8, 64, 0, {}, E.EINVAL],
  ['xskmap', 4, 4, 0, 0, {}, E.EINVAL],
  ['xskmap', 4, 4, 1, BPF_F_NO_PREALLOC, {}, E.EINVAL],
  ['queue', 0, 4, 1, 0, {}, 0],
  ['queue', 4, 4, 1, 0, {}, E.EINVAL],
  ['stack', 0, 0, 1, 0, {}, E.EINVAL],
  ['bloom_filter', 0, 4, 1, 0, { mapExtra: 3 }, 0],
  ['bloom_filter', 0, 4, 1, 0, { mapExtra: 16 }, E.EINVAL],
  ['bloom_filter', 4, 4, 1, 0, {}, E.EINVAL],
  ['ringbuf', 0, 0, 4096, 0, {}, 0],
  ['ringbuf', 0, 0, 2048, 0, {}, E.EINVAL],
  ['ringbuf', 0, 0, 12288, 0, {}, E.EINVAL],
  ['ringbuf', 4, 0, 4096, 0, {}, E.EINVAL],
  ['devmap', 4, 4, 1, 0, {}, 0],
  ['devmap', 4, 8, 1, 0, {}, 0],
  ['devmap', 4, 6, 1, 0, {}, E.EINVAL],
  ['devmap_hash', 4, 4, 1, BPF_F_NO_PREALLOC, {}, E.EINVAL],
  ['cpumap', 4, 8, 64, 0, {}, 0],
  ['cpumap', 4, 4, 8193, 0, {}, E.E2BIG],
  ['stack_trace', 4, 8, 1, 0, {}, 0],
  ['stack_trace', 4, 12, 1, 0, {}, E.EINVAL],
  ['stack_trace', 4, 1024, 1, 0, {}, E.EINVAL],
];

describe('createMap: the kernel\'s creation checks', () => {
  it.each(CASES)('%s key %i value %i entries %i flags %i %o → errno %i', (type, key, value, entries, flags, extra, errno) => {
    expect(errnoOf(() => createMap(makeHost(), spec(type, key, value, entries, flags, extra), 1))).toBe(errno);
  });

  it('names the map and the reason in its errors', () => {
    expect(() => checkMapSpec(spec('lpm_trie', 8, 4, 1, 0), 1)).toThrow(/map t_lpm_trie: cannot create lpm_trie map: LPM tries need BPF_F_NO_PREALLOC: EINVAL/);
  });

  it('refuses types it does not implement, as UNSUPPORTED', () => {
    const e = (() => {
      try {
        checkMapSpec(spec('sockmap', 4, 4, 1), 1);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(XdplabError);
    expect((e as XdplabError).code).toBe('UNSUPPORTED');
  });

  it('adjusts what the kernel and libbpf adjust', () => {
    expect(checkMapSpec(spec('perf_event_array', 4, 4, 0), 6).maxEntries).toBe(6);
    expect(checkMapSpec(spec('lru_hash', 4, 4, 10, BPF_F_NO_COMMON_LRU), 4).maxEntries).toBe(12);
    expect(checkMapSpec(spec('devmap', 4, 4, 1), 1).flags & BPF_F_RDONLY_PROG).toBeTruthy();
    expect(checkMapSpec(spec('cpumap', 4, 4, 1), 1).flags & BPF_F_RDONLY_PROG).toBeTruthy();
    const same = spec('hash', 4, 4, 1);
    expect(checkMapSpec(same, 1)).toBe(same);
  });

  it('keeps an XSKMAP empty: user space cannot store a socket here, and deletes succeed in range', () => {
    const map = createMap(makeHost(), spec('xskmap', 4, 4, 8), 3);
    expect(errnoOf(() => map.update(Uint8Array.of(0, 0, 0, 0), Uint8Array.of(5, 0, 0, 0)))).toBe(E.EOPNOTSUPP);
    expect(errnoOf(() => map.update(Uint8Array.of(9, 0, 0, 0), Uint8Array.of(5, 0, 0, 0)))).toBe(E.E2BIG);
    expect(map.delete(Uint8Array.of(1, 0, 0, 0))).toBeUndefined();
    expect(errnoOf(() => map.delete(Uint8Array.of(8, 0, 0, 0)))).toBe(E.EINVAL);
    expect([...map.entries()]).toEqual([]);
    map.close();
  });

  it('makes every supported type with a minimal valid spec', () => {
    const shapes: Record<string, [number, number, number, number, Partial<Parameters<typeof spec>[5]>]> = {
      lpm_trie: [8, 4, 4, BPF_F_NO_PREALLOC, {}],
      queue: [0, 4, 4, 0, {}], stack: [0, 4, 4, 0, {}], bloom_filter: [0, 4, 4, 0, {}],
      ringbuf: [0, 0, 4096, 0, {}], stack_trace: [4, 8, 4, 0, {}],
      array_of_maps: [4, 4, 4, 0, { innerMap: spec('array', 4, 4, 1) }],
      hash_of_maps: [4, 4, 4, 0, { innerMap: spec('array', 4, 4, 1) }],
    };
    for (const type of SUPPORTED_MAP_TYPES) {
      const name = MAP_TYPE_NAMES[type];
      const [k, v, n, f, extra] = shapes[name] ?? [4, 4, 4, 0, {}];
      const map = createMap(makeHost(), spec(name, k, v, n, f, extra), 7);
      expect(map.spec.type).toBe(type);
      expect(map.arena.view.getUint32(map.header.start, true)).toBe(7);
      map.close();
    }
  });
});
