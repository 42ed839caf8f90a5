import { describe, expect, it } from 'vitest';
import { BloomFilterMap } from '../../src/maps/index.js';
import { ERRNO } from '../../src/uapi/errno.js';
import { bloomGeometry } from '../../src/maps/bloom-filter.js';
import { errnoOf, hex, make, makeHost, readU32, stager, u32 } from './support.js';

const values = (map: ReturnType<typeof make>): number[] => [...map.entries()].map(([, v]) => readU32(v)!);

describe('queue and stack', () => {
  // [type, pushes, pops expected]
  it.each([
    ['queue', [1, 2, 3], [1, 2, 3]],
    ['stack', [1, 2, 3], [3, 2, 1]],
  ])('%s pops %j as %j, then ENOENT', (type, pushes, pops) => {
    const map = make(type as string, 0, 4, 3);
    for (const v of pushes as number[]) map.push(u32(v));
    expect(values(map)).toEqual(pops);
    expect(readU32(map.peek())).toBe((pops as number[])[0]);
    expect(readU32(map.lookup(new Uint8Array(0)))).toBe((pops as number[])[0]);
    for (const v of pops as number[]) expect(readU32(map.pop())).toBe(v);
    expect(map.pop()).toBeUndefined();
    expect(map.peek()).toBeUndefined();
  });

  it.each([
    ['queue', [2, 3, 4]],
    ['stack', [4, 3, 2]],
  ])('%s: a full map refuses a push (E2BIG) unless BPF_EXIST, which overwrites the oldest', (type, after) => {
    const map = make(type as string, 0, 4, 3);
    for (const v of [1, 2, 3]) map.push(u32(v));
    expect(errnoOf(() => map.push(u32(4)))).toBe(ERRNO.E2BIG);
    map.push(u32(4), 2);
    expect(values(map)).toEqual(after);
  });

  it('takes only BPF_ANY and BPF_EXIST; has no keys', () => {
    const host = makeHost();
    const stage = stager(host);
    const map = make('queue', 0, 4, 2, 0, {}, host);
    expect(map.pushElem(stage(u32(1)), 1)).toBe(-ERRNO.EINVAL);
    expect(map.pushElem(stage(u32(1)), 4)).toBe(-ERRNO.EINVAL);
    expect(map.pushElem(stage(u32(1)), 0)).toBe(0);
    const out = stage(u32(0));
    expect(map.peekElem(out)).toBe(0);
    expect(readU32(host.arena.u8.slice(out, out + 4))).toBe(1);
    expect(map.popElem(out)).toBe(0);
    expect(map.popElem(out)).toBe(-ERRNO.ENOENT);
    expect(map.lookupElem(stage(u32(0)), 0)).toBe(0);
    expect(map.updateElem(0, 0, 0, 0)).toBe(-ERRNO.EINVAL);
    expect(errnoOf(() => map.delete(new Uint8Array(0)))).toBe(ERRNO.EINVAL);
    expect(errnoOf(() => map.nextKey(undefined))).toBe(ERRNO.EINVAL);
    map.update(new Uint8Array(0), u32(5)); // the syscall's update is a push
    expect(values(map)).toEqual([5]);
  });

  it('wraps around its ring many times', () => {
    const map = make('queue', 0, 4, 3);
    for (let i = 0; i < 20; i++) {
      map.push(u32(i));
      map.push(u32(i + 100));
      expect(readU32(map.pop())).toBe(i);
      expect(readU32(map.pop())).toBe(i + 100);
    }
    expect(map.pop()).toBeUndefined();
  });
});

describe('bloom_filter', () => {
  it.each([
    [100, 5, 1024, 128],
    [1, 5, 64, 8],
    [10, 1, 64, 8],
    [1000, 3, 8192, 1024],
    [0x7fffffff, 15, 2 ** 32, 2 ** 29],
  ])('max_entries %i with %i hash functions: %i bits', (entries, funcs, bits, bytes) => {
    const g = bloomGeometry(entries, funcs);
    expect(g.mask + 1).toBe(bits);
    expect(g.bytes).toBe(bytes);
  });

  it('never forgets a value, and mostly answers "absent" for others', () => {
    const map = make('bloom_filter', 0, 4, 1000) as BloomFilterMap;
    expect(map.hashFuncs).toBe(5);
    for (let i = 0; i < 1000; i++) map.push(u32(i * 7919));
    for (let i = 0; i < 1000; i++) expect(map.contains(u32(i * 7919))).toBe(true);
    let falsePositives = 0;
    for (let i = 0; i < 10000; i++) if (map.contains(u32(0x80000000 + i))) falsePositives++;
    expect(falsePositives).toBeLessThan(500);
  });

  it('takes map_extra hash functions, odd value sizes (jhash), BPF_ANY only', () => {
    const host = makeHost();
    const stage = stager(host);
    const map = make('bloom_filter', 0, 3, 10, 0, { mapExtra: 2 }, host) as BloomFilterMap;
    expect(map.hashFuncs).toBe(2);
    expect(map.pushElem(stage(Uint8Array.of(1, 2, 3)), 1)).toBe(-ERRNO.EINVAL);
    expect(map.peekElem(stage(Uint8Array.of(1, 2, 3)))).toBe(-ERRNO.ENOENT);
    expect(map.pushElem(stage(Uint8Array.of(1, 2, 3)), 0)).toBe(0);
    expect(map.peekElem(stage(Uint8Array.of(1, 2, 3)))).toBe(0);
    expect(map.popElem(stage(Uint8Array.of(1, 2, 3)))).toBe(-ERRNO.EOPNOTSUPP);
    expect(map.lookupElem(0, 0)).toBe(0);
    expect(errnoOf(() => map.delete(new Uint8Array(0)))).toBe(ERRNO.EOPNOTSUPP);
    expect(errnoOf(() => map.nextKey(undefined))).toBe(ERRNO.EOPNOTSUPP);
    map.update(new Uint8Array(0), Uint8Array.of(9, 9, 9));
    expect(map.contains(Uint8Array.of(9, 9, 9))).toBe(true);
    expect([...map.entries()]).toEqual([]);
    expect(hex(Uint8Array.of(1))).toBe('01');
  });
});
