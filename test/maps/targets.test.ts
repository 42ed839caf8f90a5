import { describe, expect, it } from 'vitest';
import { ProgArrayMap } from '../../src/maps/index.js';
import { ERRNO } from '../../src/uapi/errno.js';
import { REGION_WRITE } from '../../src/vm/arena.js';
import { errnoOf, hex, keyOrder, make, makeHost, readU32, stager, u32 } from './support.js';

const devval = (ifindex: number, prog: number): Uint8Array => Uint8Array.from([...u32(ifindex), ...u32(prog)]);

describe('prog_array', () => {
  it('holds program ids for tail calls; programs cannot read it', () => {
    const programs = new Set([3, 4]);
    const host = makeHost(1, { programById: (id: number) => (programs.has(id) ? {} : undefined) });
    const stage = stager(host);
    const map = make('prog_array', 4, 4, 4, 0, {}, host) as ProgArrayMap;
    map.update(u32(1), u32(3));
    expect(map.programIdAt(1)).toBe(3);
    expect(map.programIdAt(0)).toBeUndefined();
    expect(map.programIdAt(99)).toBeUndefined();
    expect(readU32(map.lookup(u32(1)))).toBe(3);
    expect(map.lookup(u32(0))).toBeUndefined();
    expect(map.lookupElem(stage(u32(1)), 0)).toBe(0);
    expect(keyOrder(map).length).toBe(4);
    expect([...map.entries()].map(([k, v]) => [readU32(k), readU32(v)])).toEqual([[1, 3]]);
  });

  // [key, value, flags, errno]
  it.each([
    [0, 4, 0, 0], [0, 4, 1, ERRNO.EINVAL], [0, 4, 2, ERRNO.EINVAL], [4, 4, 0, ERRNO.E2BIG], [0, 9, 0, ERRNO.EBADF], [0, 0, 0, ERRNO.EBADF],
  ])('update key %i with program %i, flags %i → errno %i', (key, id, flags, errno) => {
    const host = makeHost(1, { programById: (n: number) => (n === 4 ? {} : undefined) });
    const map = make('prog_array', 4, 4, 4, 0, {}, host);
    expect(errnoOf(() => map.update(u32(key), u32(id), flags))).toBe(errno);
  });

  it('deletes: E2BIG past the end, ENOENT when empty', () => {
    const map = make('prog_array', 4, 4, 2);
    map.update(u32(0), u32(1));
    map.delete(u32(0));
    expect(errnoOf(() => map.delete(u32(0)))).toBe(ERRNO.ENOENT);
    expect(errnoOf(() => map.delete(u32(2)))).toBe(ERRNO.E2BIG);
  });
});

describe('devmap', () => {
  it('stores ifindex (and program) entries that programs can only read', () => {
    const host = makeHost();
    const stage = stager(host);
    const map = make('devmap', 4, 8, 4, 0, {}, host);
    map.update(u32(2), devval(7, 0));
    map.update(u32(3), devval(8, -1 >>> 0)); // a negative fd: no program
    const addr = map.lookupElem(stage(u32(2)), 0);
    expect(readU32(host.arena.u8.slice(addr, addr + 4))).toBe(7);
    expect(host.arena.canAccess(addr, 0, 4, REGION_WRITE)).toBe(false);
    expect(hex(map.lookup(u32(3)))).toBe(hex(devval(8, 0)));
    expect(map.lookupElem(stage(u32(0)), 0)).toBe(0);
    expect([...map.entries()].map(([k]) => readU32(k))).toEqual([2, 3]);
    map.update(u32(2), devval(0, 0)); // ifindex 0 empties the entry
    expect(map.lookup(u32(2))).toBeUndefined();
    map.delete(u32(1)); // an empty entry deletes fine
  });

  // [key, ifindex, prog, flags, errno]
  it.each([
    [0, 1, 0, 0, 0], [0, 1, 0, 2, 0], [0, 1, 0, 1, ERRNO.EEXIST], [0, 1, 0, 3, ERRNO.EINVAL], [4, 1, 0, 0, ERRNO.E2BIG],
    [0, 0, 5, 0, ERRNO.EINVAL], [0, 9, 0, 0, ERRNO.EINVAL], [0, 1, 5, 0, 0], [0, 1, 6, 0, ERRNO.EINVAL],
  ])('update key %i ifindex %i prog %i flags %i → errno %i', (key, ifindex, prog, flags, errno) => {
    const host = makeHost(1, { netdevExists: (i: number) => i < 5, programById: (id: number) => (id === 5 ? {} : undefined) });
    const map = make('devmap', 4, 8, 4, 0, {}, host);
    expect(errnoOf(() => map.update(u32(key), devval(ifindex, prog), flags))).toBe(errno);
  });

  it('deletes past the end with EINVAL', () => {
    expect(errnoOf(() => make('devmap', 4, 4, 2).delete(u32(2)))).toBe(ERRNO.EINVAL);
  });
});

describe('devmap_hash', () => {
  it('stores under any key; quirks: BPF_EXIST inserts, ifindex 0 is EINVAL, full is E2BIG', () => {
    const host = makeHost();
    const stage = stager(host);
    const map = make('devmap_hash', 4, 4, 2, 0, {}, host);
    map.update(u32(1000), u32(3), 2);
    expect(readU32(map.lookup(u32(1000)))).toBe(3);
    expect(map.lookupElem(stage(u32(1000)), 0)).not.toBe(0);
    expect(errnoOf(() => map.update(u32(5), u32(0)))).toBe(ERRNO.EINVAL);
    map.update(u32(5), u32(4));
    expect(errnoOf(() => map.update(u32(6), u32(4)))).toBe(ERRNO.E2BIG);
    expect(errnoOf(() => map.update(u32(5), u32(4), 1))).toBe(ERRNO.EEXIST);
    map.update(u32(5), u32(9));
    expect(readU32(map.lookup(u32(5)))).toBe(9);
    map.delete(u32(1000));
    expect(errnoOf(() => map.delete(u32(1000)))).toBe(ERRNO.ENOENT);
    map.update(u32(6), u32(4));
    expect(new Set(keyOrder(map))).toEqual(new Set([hex(u32(5)), hex(u32(6))]));
  });

  it('orders by bucket (key & (n_buckets - 1)), newest first within a bucket', () => {
    const map = make('devmap_hash', 4, 4, 4);
    for (const k of [1, 5, 2, 9]) map.update(u32(k), u32(1));
    expect(keyOrder(map).map((h) => readU32(Buffer.from(h, 'hex')))).toEqual([9, 5, 1, 2]);
  });
});

describe('cpumap', () => {
  // [key, qsize, prog, flags, errno]
  it.each([
    [0, 192, 0, 0, 0], [1, 192, 0, 2, 0], [0, 192, 0, 1, ERRNO.EEXIST], [0, 192, 0, 4, ERRNO.EINVAL], [8, 192, 0, 0, ERRNO.E2BIG],
    [0, 16385, 0, 0, ERRNO.EOVERFLOW], [2, 192, 0, 0, ERRNO.ENODEV], [0, 192, 5, 0, 0], [0, 192, 6, 0, ERRNO.ENOMEM], [0, 0, 6, 0, 0],
  ])('update cpu %i qsize %i prog %i flags %i → errno %i', (key, qsize, prog, flags, errno) => {
    const host = makeHost(2, { programById: (id: number) => (id === 5 ? {} : undefined) });
    const map = make('cpumap', 4, 8, 8, 0, {}, host);
    expect(errnoOf(() => map.update(u32(key), devval(qsize, prog), flags))).toBe(errno);
  });

  it('qsize 0 empties an entry; lookups give the entry to redirect', () => {
    const host = makeHost(2);
    const stage = stager(host);
    const map = make('cpumap', 4, 4, 4, 0, {}, host);
    map.update(u32(1), u32(256));
    expect(map.lookupElem(stage(u32(1)), 0)).not.toBe(0);
    expect(readU32(map.lookup(u32(1)))).toBe(256);
    map.update(u32(1), u32(0));
    expect(map.lookup(u32(1))).toBeUndefined();
    map.delete(u32(0));
    expect(errnoOf(() => map.delete(u32(4)))).toBe(ERRNO.EINVAL);
  });
});
