import { describe, expect, it } from 'vitest';
import { HashMap, jhash, jhash2, type BpfMap } from '../../src/maps/index.js';
import { ERRNO } from '../../src/uapi/errno.js';
import { roundUpPow2 } from '../../src/maps/common.js';
import { Arena } from '../../src/vm/arena.js';
import { bytes, errnoOf, hex, keyOrder, make, makeHost, readU32, spec, stager, u32 } from './support.js';
import { createMap } from '../../src/maps/index.js';

/** jhash / jhash2 over bytes put in an arena. */
function hashOf(data: Uint8Array, seed: number, words: boolean): number {
  const arena = new Arena();
  const at = arena.alloc(64, 'memory', 'jhash').start;
  arena.u8.set(data, at);
  return words ? jhash2(arena.u8, at, data.length / 4, seed) : jhash(arena.u8, at, data.length, seed);
}

describe('jhash (include/linux/jhash.h)', () => {
  it('returns the initial value for no input, and jhash equals jhash2 on whole words', () => {
    expect(hashOf(new Uint8Array(0), 0, false)).toBe(0xdeadbeef);
    expect(hashOf(new Uint8Array(0), 5, true)).toBe(0xdeadbeef + 5);
    for (const n of [4, 8, 12, 16, 24, 28]) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff);
      expect(hashOf(data, 7, false)).toBe(hashOf(data, 7, true));
    }
  });

  it('spreads: every key of a small set in a different bucket of a large table', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 64; i++) seen.add(hashOf(u32(i), 0, true) & 0xffff);
    expect(seen.size).toBeGreaterThan(60);
  });
  // Bit-exactness is shown against the kernel: kernel.test.ts compares bucket orders.
});

describe('roundup_pow_of_two', () => {
  it.each([[1, 1], [2, 2], [3, 4], [5, 8], [1000, 1024], [2 ** 31, 2 ** 31], [2 ** 31 - 1, 2 ** 31]])('%i → %i', (n, p) => {
    expect(roundUpPow2(n)).toBe(p);
  });
});

describe('hash', () => {
  // [flags, key present?, errno]
  it.each([
    [0, false, 0], [0, true, 0], [1, false, 0], [1, true, -ERRNO.EEXIST], [2, false, -ERRNO.ENOENT], [2, true, 0],
    [3, true, -ERRNO.EINVAL], [4, true, -ERRNO.EINVAL], [5, false, -ERRNO.EINVAL], [8, false, -ERRNO.EINVAL],
  ])('update flags %i (key present: %s) → %i', (flags, present, result) => {
    const host = makeHost();
    const stage = stager(host);
    const map = make('hash', 4, 4, 4, 0, {}, host);
    if (present) map.update(u32(1), u32(1));
    expect(map.updateElem(stage(u32(1)), stage(u32(2)), flags, 0)).toBe(result);
    expect(readU32(map.lookup(u32(1)))).toBe(present || result === 0 ? (result === 0 ? 2 : 1) : undefined);
  });

  it('refuses a new key when full (E2BIG) but replaces existing ones; deletes missing keys with ENOENT', () => {
    const map = make('hash', 4, 4, 2);
    map.update(u32(1), u32(10));
    map.update(u32(2), u32(20));
    expect(errnoOf(() => map.update(u32(3), u32(30)))).toBe(ERRNO.E2BIG);
    for (let i = 0; i < 5; i++) map.update(u32(1), u32(11 + i));
    expect(readU32(map.lookup(u32(1)))).toBe(15);
    expect(errnoOf(() => map.delete(u32(3)))).toBe(ERRNO.ENOENT);
    map.delete(u32(2));
    map.update(u32(3), u32(30));
    expect(new Set(keyOrder(map))).toEqual(new Set(['01000000', '03000000']));
  });

  it('replacing a value gives a new element (the old address is the spare), at the head of its bucket', () => {
    const host = makeHost();
    const stage = stager(host);
    // One bucket: every key collides, so the order is the insertion order reversed.
    const map = make('hash', 4, 4, 1, 0, {}, host) as HashMap;
    expect(map.nBuckets).toBe(1);
    const big = make('hash', 4, 4, 3, 0, {}, host);
    big.update(u32(1), u32(1));
    const before = big.lookupElem(stage(u32(1)), 0);
    big.update(u32(1), u32(2));
    expect(big.lookupElem(stage(u32(1)), 0)).not.toBe(before);
    const one = make('hash', 4, 4, 4, 0, {}, host) as HashMap;
    // Find four keys in the same bucket of a 4-bucket map, insert them, then replace the first.
    const same: number[] = [];
    for (let k = 0; same.length < 3; k++) if ((hashOfKey(k) & 3) === (hashOfKey(0) & 3)) same.push(k);
    for (const k of same) one.update(u32(k), u32(k));
    expect(keyOrder(one)).toEqual(same.slice().reverse().map((k) => hex(u32(k))));
    one.update(u32(same[0]), u32(99));
    expect(keyOrder(one)[0]).toBe(hex(u32(same[0])));
  });

  it('walks the rest of the bucket, then the next buckets; a missing key restarts from the first', () => {
    const map = make('hash', 4, 4, 64);
    for (let k = 0; k < 40; k++) map.update(u32(k * 7), u32(k));
    const order = keyOrder(map);
    expect(order.length).toBe(40);
    expect(hex(map.nextKey(u32(1)))).toBe(order[0]);
    expect(hex(map.nextKey(Uint8Array.from(Buffer.from(order[10], 'hex'))))).toBe(order[11]);
    expect(map.nextKey(Uint8Array.from(Buffer.from(order[39], 'hex')))).toBeUndefined();
    // Buckets in ascending order.
    const buckets = order.map((h) => hashOfKey(Buffer.from(h, 'hex').readUInt32LE(0)) & 63);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
  });

  it('finds keys staged at any alignment, and odd key sizes (jhash)', () => {
    const host = makeHost();
    const region = host.arena.alloc(64, 'memory', 'keys');
    const map = make('hash', 5, 4, 8, 0, {}, host);
    map.update(bytes(1, 2, 3, 4, 5), u32(42));
    for (let off = 0; off < 4; off++) {
      host.arena.u8.set(bytes(1, 2, 3, 4, 5), region.start + off);
      const addr = map.lookupElem(region.start + off, 0);
      expect(readU32(host.arena.u8.slice(addr, addr + 4))).toBe(42);
    }
    const aligned = make('hash', 8, 4, 8, 0, {}, host);
    aligned.update(bytes(1, 2, 3, 4, 5, 6, 7, 8), u32(7));
    host.arena.u8.set(bytes(1, 2, 3, 4, 5, 6, 7, 8), region.start + 1);
    expect(aligned.lookupElem(region.start + 1, 0)).not.toBe(0);
  });
});

describe('percpu_hash', () => {
  it('updates in place; a program\'s new key zeroes the other CPUs; the user sees every CPU', () => {
    const host = makeHost(2);
    const stage = stager(host);
    const map = make('percpu_hash', 4, 4, 4, 0, {}, host);
    expect(map.userValueSize).toBe(16);
    expect(map.updateElem(stage(u32(1)), stage(u32(5)), 0, 1)).toBe(0);
    expect(hex(map.lookup(u32(1)))).toBe('0000000000000000' + '0500000000000000');
    const addr = map.lookupElem(stage(u32(1)), 1);
    expect(map.updateElem(stage(u32(1)), stage(u32(6)), 2, 0)).toBe(0);
    expect(map.lookupElem(stage(u32(1)), 1)).toBe(addr);
    expect(hex(map.lookup(u32(1)))).toBe('0600000000000000' + '0500000000000000');
    map.update(u32(2), Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]));
    expect(host.arena.u8[map.lookupElem(stage(u32(2)), 1)]).toBe(2);
    expect(map.updateElem(stage(u32(1)), stage(u32(6)), 4, 0)).toBe(-ERRNO.EINVAL);
    expect(errnoOf(() => map.update(u32(1), u32(1)))).toBe(ERRNO.EINVAL);
  });
});

describe('maps of maps', () => {
  function setup(): { host: ReturnType<typeof makeHost>; inner: BpfMap[]; outer: (type: string) => BpfMap } {
    const maps: BpfMap[] = [];
    const host = makeHost(1, { mapById: (id: number) => maps[id] });
    const innerSpec = spec('array', 4, 4, 2);
    maps[1] = createMap(host, innerSpec, 1);
    maps[2] = createMap(host, spec('array', 4, 4, 3), 2);
    maps[3] = createMap(host, spec('hash', 4, 4, 2), 3);
    return { host, inner: maps, outer: (type) => createMap(host, spec(type, 4, 4, 4, 0, { innerMap: innerSpec }), 9) };
  }

  it.each(['array_of_maps', 'hash_of_maps'])('%s: ids in, ids out; programs get the inner map header', (type) => {
    const { host, inner, outer } = setup();
    const stage = stager(host);
    const map = outer(type) as BpfMap & { innerMapIdAt(k: number): number | undefined };
    map.update(u32(0), u32(1));
    expect(readU32(map.lookup(u32(0)))).toBe(1);
    expect(map.lookupElem(stage(u32(0)), 0)).toBe(inner[1].header.start);
    expect(map.innerMapIdAt(stage(u32(0)))).toBe(1);
    expect(map.innerMapIdAt(stage(u32(1)))).toBeUndefined();
    expect(map.lookupElem(stage(u32(1)), 0)).toBe(0);
    expect(errnoOf(() => map.update(u32(1), u32(2)))).toBe(ERRNO.EINVAL); // other max_entries
    expect(errnoOf(() => map.update(u32(1), u32(3)))).toBe(ERRNO.EINVAL); // other type
    expect(errnoOf(() => map.update(u32(1), u32(8)))).toBe(ERRNO.EBADF); // no such map
    map.delete(u32(0));
    expect(map.lookup(u32(0))).toBeUndefined();
    expect(errnoOf(() => map.delete(u32(0)))).toBe(ERRNO.ENOENT);
  });

  it('array_of_maps takes only BPF_ANY and indices below max_entries', () => {
    const { outer } = setup();
    const map = outer('array_of_maps');
    expect(errnoOf(() => map.update(u32(0), u32(1), 1))).toBe(ERRNO.EINVAL);
    expect(errnoOf(() => map.update(u32(4), u32(1)))).toBe(ERRNO.E2BIG);
    expect(errnoOf(() => map.delete(u32(4)))).toBe(ERRNO.E2BIG);
    const hashOfMaps = outer('hash_of_maps');
    hashOfMaps.update(u32(7), u32(1), 1);
    expect(errnoOf(() => hashOfMaps.update(u32(7), u32(1), 1))).toBe(ERRNO.EEXIST);
  });
});

function hashOfKey(k: number): number {
  return hashOf(u32(k), 0, true);
}
