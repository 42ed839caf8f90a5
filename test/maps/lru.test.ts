import { describe, expect, it } from 'vitest';
import { LruHashMap } from '../../src/maps/index.js';
import { ERRNO } from '../../src/uapi/errno.js';
import { BPF_F_NO_COMMON_LRU } from '../../src/uapi/bpf.js';
import { errnoOf, hex, make, makeHost, readU32, stager, u32 } from './support.js';

const has = (map: LruHashMap, k: number): boolean => map.lookup(u32(k)) !== undefined;

describe('lru_hash', () => {
  it('never refuses a new key: a full map evicts the least recently used', () => {
    const map = make('lru_hash', 4, 4, 4) as LruHashMap;
    for (let k = 1; k <= 4; k++) map.update(u32(k), u32(k));
    map.update(u32(5), u32(5));
    expect(map.count).toBe(4);
    expect([1, 2, 3, 4, 5].map((k) => has(map, k))).toEqual([false, true, true, true, true]);
    map.update(u32(6), u32(6));
    expect(has(map, 2)).toBe(false);
  });

  it('keeps what programs look up (the reference bit), not what the user looks up', () => {
    const host = makeHost();
    const stage = stager(host);
    const map = make('lru_hash', 4, 4, 4, 0, {}, host) as LruHashMap;
    for (let k = 1; k <= 4; k++) map.update(u32(k), u32(k));
    expect(map.lookupElem(stage(u32(1)), 0)).not.toBe(0); // a program uses key 1
    expect(has(map, 2)).toBe(true); // the user's lookup does not count
    map.update(u32(5), u32(5));
    expect([1, 2].map((k) => has(map, k))).toEqual([true, false]);
    map.update(u32(6), u32(6));
    expect([1, 3].map((k) => has(map, k))).toEqual([true, false]);
  });

  it('takes (and may evict for) a new element before checking flags, as the kernel does', () => {
    const map = make('lru_hash', 4, 4, 2) as LruHashMap;
    map.update(u32(1), u32(1));
    map.update(u32(2), u32(2));
    expect(errnoOf(() => map.update(u32(2), u32(9), 1))).toBe(ERRNO.EEXIST);
    expect(has(map, 1)).toBe(false); // evicted to make room for an update that then failed
    expect(readU32(map.lookup(u32(2)))).toBe(2);
    expect(errnoOf(() => map.update(u32(7), u32(9), 2))).toBe(ERRNO.ENOENT);
    expect(errnoOf(() => map.update(u32(7), u32(9), 4))).toBe(ERRNO.EINVAL);
  });

  it('a replaced key is referenced, so it outlives an untouched one', () => {
    const map = make('lru_hash', 4, 4, 3) as LruHashMap;
    for (let k = 1; k <= 3; k++) map.update(u32(k), u32(k));
    map.update(u32(1), u32(10));
    map.update(u32(4), u32(4));
    expect([1, 2, 3, 4].map((k) => has(map, k))).toEqual([true, false, true, true]);
    expect(map.lruOrder().length).toBe(3);
  });

  it('deletes free their element', () => {
    const map = make('lru_hash', 4, 4, 2) as LruHashMap;
    map.update(u32(1), u32(1));
    map.update(u32(2), u32(2));
    map.delete(u32(1));
    map.update(u32(3), u32(3));
    expect([2, 3].map((k) => has(map, k))).toEqual([true, true]);
    expect(errnoOf(() => map.delete(u32(1)))).toBe(ERRNO.ENOENT);
  });

  it('BPF_F_NO_COMMON_LRU: each CPU evicts from its own share', () => {
    const host = makeHost(2);
    const stage = stager(host);
    const map = make('lru_hash', 4, 4, 3, BPF_F_NO_COMMON_LRU, {}, host) as LruHashMap;
    expect(map.spec.maxEntries).toBe(4);
    // CPU 1 fills its two elements and a third evicts one of its own, not CPU 0's.
    expect(map.updateElem(stage(u32(1)), stage(u32(1)), 0, 0)).toBe(0);
    for (const k of [2, 3, 4]) expect(map.updateElem(stage(u32(k)), stage(u32(k)), 0, 1)).toBe(0);
    expect([1, 2, 3, 4].map((k) => has(map, k))).toEqual([true, false, true, true]);
  });
});

describe('lru_percpu_hash', () => {
  it('updates in place, and BPF_EXIST on a missing key takes no element', () => {
    const host = makeHost(2);
    const stage = stager(host);
    const map = make('lru_percpu_hash', 4, 4, 2, 0, {}, host) as LruHashMap;
    map.update(u32(1), new Uint8Array(16));
    map.update(u32(2), new Uint8Array(16));
    const addr = map.lookupElem(stage(u32(1)), 1);
    expect(map.updateElem(stage(u32(1)), stage(u32(3)), 2, 1)).toBe(0);
    expect(map.lookupElem(stage(u32(1)), 1)).toBe(addr);
    expect(hex(map.lookup(u32(1)))).toBe('0000000000000000' + '0300000000000000');
    expect(map.updateElem(stage(u32(9)), stage(u32(3)), 2, 0)).toBe(-ERRNO.ENOENT);
    expect([1, 2].map((k) => has(map, k))).toEqual([true, true]);
    // Without BPF_EXIST an element is taken first — in a full map, by evicting (the kernel's
    // order) — even when the key turns out to exist.
    expect(map.updateElem(stage(u32(1)), stage(u32(4)), 0, 1)).toBe(0);
    expect([1, 2].map((k) => has(map, k))).toEqual([true, false]);
    expect(map.count).toBe(1);
  });
});
