/**
 * xdplab's maps against the running kernel's, through bpftool: the same operations give the
 * same errors, the same lookups and the same dump order. Hash maps are created with
 * BPF_F_ZERO_SEED in the kernel, so an identical order proves the jhash and the bucket layout.
 * Where the kernel cannot be asked (not root, no bpftool), its answers recorded in
 * test/fixtures/kernel/maps/kernel.json stand in for it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { checkMapSpec } from '../../src/maps/index.js';
import { MapError, type BpfMap } from '../../src/maps/map.js';
import { errnoName } from '../../src/uapi/errno.js';
import { BPF_F_NO_PREALLOC, BPF_F_ZERO_SEED } from '../../src/uapi/bpf.js';
import { removeAllPins } from '../support/kernel.js';
import { KernelRecord, RecordedMap } from '../support/kernel-record.js';
import { bytes, hex, lpmKey, make, spec, u32 } from './support.js';

const record = KernelRecord.for(import.meta.url);

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

const randomBytes = (r: () => number, n: number): Uint8Array => Uint8Array.from({ length: n }, () => r() & 0xff);

/** The result of a user-face call as the kernel test helper reports it: 'ok' or the errno name. */
function outcome(fn: () => void): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof MapError) return errnoName(e.errno);
    throw e;
  }
}

const dumpKeys = (k: RecordedMap): string[] => k.dump().map((e) => hex(e.key)!);
const ourKeys = (m: BpfMap): string[] => [...m.entries()].map(([key]) => hex(key)!);

/** Run the same updates on both maps; the outcomes, side by side. */
function updateBoth(ours: BpfMap, kernel: RecordedMap, key: Uint8Array, value: Uint8Array, flag: 'any' | 'exist' | 'noexist' = 'any'): [string, string] {
  const flags = { any: 0, noexist: 1, exist: 2 }[flag];
  return [outcome(() => ours.update(key, value, flags)), kernel.update(key, value, flag)];
}

describe('maps against the kernel (bpftool)', () => {
  afterAll(() => removeAllPins());

  describe('hash maps with BPF_F_ZERO_SEED: the same order', () => {
    it.each([
      ['hash', 4, 8],
      ['hash', 3, 16],
      ['hash', 6, 32],
      ['hash', 13, 64],
      ['hash', 16, 128],
      ['hash', 20, 24],
      ['percpu_hash', 8, 16],
      ['lru_hash', 4, 1024],
    ] as const)('%s, key_size %i, max_entries %i', (type, keySize, maxEntries) => {
      const r = prng(keySize * 1000 + maxEntries);
      const kernel = record.map(type, keySize, 8, maxEntries, BPF_F_ZERO_SEED);
      try {
        const ours = make(type, keySize, 8, maxEntries, BPF_F_ZERO_SEED);
        const n = Math.min(maxEntries, 40);
        const keys = Array.from({ length: n }, () => randomBytes(r, keySize));
        const uniq = [...new Map(keys.map((k) => [hex(k), k])).values()];
        const value = (i: number): Uint8Array => (type === 'percpu_hash' ? new Uint8Array(16) : Uint8Array.from([...u32(i), 0, 0, 0, 0]));
        const kernelValue = (i: number): Uint8Array => Uint8Array.from([...u32(i), 0, 0, 0, 0]);
        uniq.forEach((k, i) => ours.update(k, value(i)));
        kernel.updateAll(uniq.map((k, i) => [k, kernelValue(i)]));
        // Replacing existing keys moves them to the head of their bucket (except per-CPU maps).
        uniq.slice(0, 5).forEach((k, i) => ours.update(k, value(100 + i)));
        kernel.updateAll(uniq.slice(0, 5).map((k, i) => [k, kernelValue(100 + i)]));
        // Deletes, then a few new keys.
        for (const k of uniq.slice(5, 9)) expect([outcome(() => ours.delete(k)), kernel.delete(k)]).toEqual(['ok', 'ok']);
        expect(kernelOrder(kernel)).toEqual(ourKeys(ours));
        expect(dumpKeys(kernel)).toEqual(ourKeys(ours));
        // get_next_key from a missing key restarts from the first.
        const missing = uniq[5];
        expect(hex(kernel.nextKey(missing) as Uint8Array)).toBe(hex(ours.nextKey(missing)));
      } finally {
        kernel.close();
      }
    });

    function kernelOrder(kernel: RecordedMap): string[] {
      const keys: string[] = [];
      for (let k = kernel.nextKey(); k instanceof Uint8Array; k = kernel.nextKey(k)) keys.push(hex(k)!);
      return keys;
    }
  });

  it('hash: the same errors (full map, flags, missing keys)', () => {
    const kernel = record.map('hash', 4, 4, 4, BPF_F_ZERO_SEED);
    try {
      const ours = make('hash', 4, 4, 4, BPF_F_ZERO_SEED);
      const steps: [string, string][] = [];
      for (let i = 1; i <= 5; i++) steps.push(updateBoth(ours, kernel, u32(i), u32(i)));
      steps.push(updateBoth(ours, kernel, u32(1), u32(9))); // replace in a full map
      steps.push(updateBoth(ours, kernel, u32(2), u32(9), 'noexist'));
      steps.push(updateBoth(ours, kernel, u32(7), u32(9), 'exist'));
      steps.push(updateBoth(ours, kernel, u32(3), u32(9), 'exist'));
      steps.push([outcome(() => ours.delete(u32(7))), kernel.delete(u32(7))]);
      steps.push([outcome(() => ours.delete(u32(3))), kernel.delete(u32(3))]);
      steps.push(updateBoth(ours, kernel, u32(6), u32(6), 'noexist'));
      for (const [o, k] of steps) expect(o).toBe(k);
      expect(steps.map(([o]) => o)).toEqual(['ok', 'ok', 'ok', 'ok', 'E2BIG', 'ok', 'EEXIST', 'ENOENT', 'ok', 'ENOENT', 'ok', 'ok']);
      expect(kernel.dump().map((e) => [hex(e.key), hex(e.value)])).toEqual([...ours.entries()].map(([k, v]) => [hex(k), hex(v)]));
    } finally {
      kernel.close();
    }
  });

  it('array: the same errors, lookups and get_next_key', () => {
    const kernel = record.map('array', 4, 4, 4);
    try {
      const ours = make('array', 4, 4, 4);
      const steps = [
        updateBoth(ours, kernel, u32(0), u32(5)),
        updateBoth(ours, kernel, u32(3), u32(6), 'exist'),
        updateBoth(ours, kernel, u32(4), u32(6)),
        updateBoth(ours, kernel, u32(1), u32(6), 'noexist'),
        [outcome(() => ours.delete(u32(1))), kernel.delete(u32(1))],
      ];
      for (const [o, k] of steps) expect(o).toBe(k);
      expect(steps.map(([o]) => o)).toEqual(['ok', 'ok', 'E2BIG', 'EEXIST', 'EINVAL']);
      expect(kernel.lookup(u32(9))).toBe('ENOENT');
      expect(ours.lookup(u32(9))).toBeUndefined();
      for (const key of [undefined, u32(0), u32(2), u32(3), u32(77)]) {
        const k = kernel.nextKey(key);
        expect(k === undefined ? undefined : hex(k as Uint8Array)).toBe(hex(ours.nextKey(key)));
      }
      expect(kernel.dump().map((e) => [hex(e.key), hex(e.value)])).toEqual([...ours.entries()].map(([k, v]) => [hex(k), hex(v)]));
    } finally {
      kernel.close();
    }
  });

  describe('lpm_trie: the same lookups, errors and order', () => {
    it.each([
      ['IPv4', 4, 300],
      ['one byte', 1, 40],
      ['IPv6', 16, 120],
    ] as const)('%s prefixes', (_what, dataSize, n) => {
      const r = prng(dataSize * 7 + n);
      const kernel = record.map('lpm_trie', 4 + dataSize, 4, 1000, BPF_F_NO_PREALLOC);
      try {
        const ours = make('lpm_trie', 4 + dataSize, 4, 1000, BPF_F_NO_PREALLOC);
        const bits = dataSize * 8;
        // Prefixes clustered under a few roots, so that they nest and share paths.
        const roots = Array.from({ length: 4 }, () => randomBytes(r, dataSize));
        const entries: [Uint8Array, Uint8Array][] = [];
        for (let i = 0; i < n; i++) {
          const data = Uint8Array.from(roots[r() % roots.length]);
          const len = r() % (bits + 1);
          for (let b = Math.floor(bits / 3) + (r() % 5); b < bits; b++) if (r() & 1) data[b >>> 3] ^= 0x80 >>> (b & 7);
          entries.push([lpmKey(len, ...data), u32(i)]);
        }
        for (const [k, v] of entries) ours.update(k, v);
        kernel.updateAll(entries);
        expect(dumpKeys(kernel)).toEqual(ourKeys(ours));
        // Lookups: addresses near the roots, with full and shorter prefix lengths.
        for (let i = 0; i < 25; i++) {
          const data = Uint8Array.from(roots[r() % roots.length]);
          for (let b = r() % bits; b < bits; b++) if (r() & 1) data[b >>> 3] ^= 0x80 >>> (b & 7);
          const key = lpmKey(i % 3 === 0 ? r() % (bits + 1) : bits, ...data);
          const k = kernel.lookup(key);
          expect(typeof k === 'string' ? undefined : hex(k)).toBe(hex(ours.lookup(key)));
        }
        // Deleting some changes the order the same way.
        for (const [k] of entries.slice(0, 30)) expect(outcome(() => ours.delete(k))).toBe(kernel.delete(k));
        expect(dumpKeys(kernel)).toEqual(ourKeys(ours));
        // get_next_key from a missing key and from a too-long prefix: the first.
        const missing = lpmKey(bits, ...randomBytes(r, dataSize));
        expect(hex(kernel.nextKey(missing) as Uint8Array)).toBe(hex(ours.nextKey(missing)));
        const tooLong = lpmKey(bits + 1, ...randomBytes(r, dataSize));
        expect(hex(kernel.nextKey(tooLong) as Uint8Array)).toBe(hex(ours.nextKey(tooLong)));
      } finally {
        kernel.close();
      }
    });

    it('errors: prefix too long, flags, a full trie, missing prefixes', () => {
      const kernel = record.map('lpm_trie', 8, 4, 3, BPF_F_NO_PREALLOC);
      try {
        const ours = make('lpm_trie', 8, 4, 3, BPF_F_NO_PREALLOC);
        const steps = [
          updateBoth(ours, kernel, lpmKey(33, 10, 0, 0, 0), u32(1)),
          updateBoth(ours, kernel, lpmKey(8, 10, 0, 0, 0), u32(1)),
          updateBoth(ours, kernel, lpmKey(8, 10, 9, 9, 9), u32(2), 'noexist'),
          updateBoth(ours, kernel, lpmKey(8, 10, 9, 9, 9), u32(2), 'exist'),
          updateBoth(ours, kernel, lpmKey(16, 10, 1, 0, 0), u32(3), 'exist'),
          updateBoth(ours, kernel, lpmKey(16, 10, 1, 0, 0), u32(3)),
          updateBoth(ours, kernel, lpmKey(0, 0, 0, 0, 0), u32(4)),
          updateBoth(ours, kernel, lpmKey(24, 10, 1, 2, 0), u32(5)),
          updateBoth(ours, kernel, lpmKey(0, 1, 1, 1, 1), u32(6)),
          [outcome(() => ours.delete(lpmKey(12, 10, 0, 0, 0))), kernel.delete(lpmKey(12, 10, 0, 0, 0))],
          [outcome(() => ours.delete(lpmKey(40, 10, 0, 0, 0))), kernel.delete(lpmKey(40, 10, 0, 0, 0))],
        ];
        for (const [o, k] of steps) expect(o).toBe(k);
        expect(steps.map(([o]) => o)).toEqual(['EINVAL', 'ok', 'EEXIST', 'ok', 'ENOENT', 'ok', 'ok', 'ENOSPC', 'ok', 'ENOENT', 'EINVAL']);
        // The stored key keeps the data bits past the prefix length that were last written.
        expect(kernel.dump().map((e) => [hex(e.key), hex(e.value)])).toEqual([...ours.entries()].map(([k, v]) => [hex(k), hex(v)]));
      } finally {
        kernel.close();
      }
    });
  });

  it('devmap_hash: the same order (key & (n_buckets - 1), head insertion)', () => {
    const kernel = record.map('devmap_hash', 4, 4, 8);
    try {
      const ours = make('devmap_hash', 4, 4, 8);
      const keys = [3, 11, 19, 4, 12, 0, 8, 27];
      const steps = keys.map((k) => updateBoth(ours, kernel, u32(k), u32(1)));
      steps.push(updateBoth(ours, kernel, u32(99), u32(1)));
      steps.push(updateBoth(ours, kernel, u32(11), u32(1))); // moves to its bucket's head
      steps.push(updateBoth(ours, kernel, u32(3), u32(1), 'noexist'));
      steps.push(updateBoth(ours, kernel, u32(5), u32(0)));
      steps.push([outcome(() => ours.delete(u32(99))), kernel.delete(u32(99))]);
      for (const [o, k] of steps) expect(o).toBe(k);
      expect(steps.slice(8).map(([o]) => o)).toEqual(['E2BIG', 'ok', 'EEXIST', 'EINVAL', 'ENOENT']);
      expect(dumpKeys(kernel)).toEqual(ourKeys(ours));
    } finally {
      kernel.close();
    }
  });

  it('queue and stack: the same pops and a full map refusing a push', () => {
    for (const type of ['queue', 'stack']) {
      const kernel = record.map(type, 0, 4, 3);
      try {
        const ours = make(type, 0, 4, 3);
        const pushes = [1, 2, 3, 4].map((v) => [outcome(() => ours.push(u32(v))), kernel.push(u32(v))]);
        for (const [o, k] of pushes) expect(o).toBe(k);
        expect(pushes.map(([o]) => o)).toEqual(['ok', 'ok', 'ok', 'E2BIG']);
        for (let i = 0; i < 4; i++) {
          const k = kernel.pop();
          expect(typeof k === 'string' ? k : hex(k)).toBe(hex(ours.pop()) ?? 'ENOENT');
        }
      } finally {
        kernel.close();
      }
    }
  });

  describe('creation checks: the same refusals', () => {
    const rows: [string, number, number, number, number][] = [
      ['array', 8, 4, 4, 0],
      ['array', 4, 0, 4, 0],
      ['array', 4, 4, 0, 0],
      ['array', 4, 4, 4, BPF_F_NO_PREALLOC],
      ['percpu_array', 4, 40000, 4, 0],
      ['hash', 0, 4, 4, 0],
      ['hash', 4, 4, 4, 2],
      ['lru_hash', 4, 4, 4, BPF_F_NO_PREALLOC],
      ['lru_hash', 4, 4, 4, 2],
      ['hash', 4, 4, 4, (1 << 3) | (1 << 4)],
      ['lpm_trie', 8, 4, 4, 0],
      ['lpm_trie', 4, 4, 4, BPF_F_NO_PREALLOC],
      ['lpm_trie', 261, 4, 4, BPF_F_NO_PREALLOC],
      ['queue', 4, 4, 4, 0],
      ['stack', 0, 4, 4, BPF_F_ZERO_SEED],
      ['bloom_filter', 4, 4, 4, 0],
      ['ringbuf', 0, 0, 1000, 0],
      ['ringbuf', 0, 0, 8192, 0],
      ['ringbuf', 0, 4, 4096, 0],
      ['devmap', 4, 12, 4, 0],
      ['devmap', 4, 8, 4, BPF_F_ZERO_SEED],
      ['cpumap', 4, 4, 4, 1 << 3],
      ['stack_trace', 4, 12, 4, 0],
      ['stack_trace', 4, 8 * 128, 4, 0],
      ['prog_array', 4, 8, 4, 0],
      ['perf_event_array', 4, 4, 4, 1 << 7],
    ];
    it.each(rows)('%s key %i value %i entries %i flags %i', (type, key, value, entries, flags) => {
      const expected = RecordedMap.tryCreate(record, type, key, value, entries, flags);
      expect(outcome(() => checkMapSpec(spec(type, key, value, entries, flags), 2))).toBe(expected);
    });
  });

  it('a repeated value under other keys: the same bytes back', () => {
    const kernel = record.map('hash', 5, 3, 16, BPF_F_ZERO_SEED);
    try {
      const ours = make('hash', 5, 3, 16, BPF_F_ZERO_SEED);
      for (let i = 0; i < 10; i++) {
        const k = bytes(i, i * 3, 7, 0, 255 - i);
        expect(updateBoth(ours, kernel, k, bytes(1, 2, i))).toEqual(['ok', 'ok']);
      }
      expect(kernel.dump().map((e) => [hex(e.key), hex(e.value)])).toEqual([...ours.entries()].map(([k, v]) => [hex(k), hex(v)]));
    } finally {
      kernel.close();
    }
  });
});
