import { describe, expect, it } from 'vitest';
import { LpmTrieMap } from '../../src/maps/index.js';
import { ERRNO } from '../../src/uapi/errno.js';
import { BPF_F_NO_PREALLOC } from '../../src/uapi/bpf.js';
import { errnoOf, hex, keyOrder, lpmKey, make, makeHost, readU32, stager, u32 } from './support.js';

const ip = (s: string): number[] => s.split('.').map(Number);
const key = (cidr: string, plen?: number): Uint8Array => {
  const [addr, len] = cidr.split('/');
  return lpmKey(plen ?? Number(len ?? 32), ...ip(addr));
};
const trie = (max = 100, host = makeHost()): LpmTrieMap => make('lpm_trie', 8, 4, max, BPF_F_NO_PREALLOC, {}, host) as LpmTrieMap;
const cidr = (k: string): string => {
  const b = Buffer.from(k, 'hex');
  return `${[...b.subarray(4)].join('.')}/${b.readUInt32LE(0)}`;
};

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}

describe('lpm_trie', () => {
  const table = ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.3/32', '192.168.0.0/16', '0.0.0.0/0', '10.128.0.0/9'];
  // [address, prefix length of the key, the prefix that should match]
  it.each([
    ['10.1.2.3', 32, '10.1.2.3/32'],
    ['10.1.2.4', 32, '10.1.2.0/24'],
    ['10.1.3.4', 32, '10.1.0.0/16'],
    ['10.2.3.4', 32, '10.0.0.0/8'],
    ['10.200.3.4', 32, '10.128.0.0/9'],
    ['11.0.0.1', 32, '0.0.0.0/0'],
    ['192.168.255.1', 32, '192.168.0.0/16'],
    ['10.1.2.3', 24, '10.1.2.0/24'],
    ['10.1.2.3', 23, '10.1.0.0/16'],
    ['10.1.2.3', 8, '10.0.0.0/8'],
    ['10.1.2.3', 7, '0.0.0.0/0'],
    ['10.1.2.3', 0, '0.0.0.0/0'],
  ])('lookup %s (key prefixlen %i) → %s', (addr, plen, want) => {
    const map = trie();
    table.forEach((c, i) => map.update(key(c), u32(i)));
    expect(readU32(map.lookup(key(addr, plen)))).toBe(table.indexOf(want));
  });

  it('finds nothing without a match, and nothing for a prefixlen past the data', () => {
    const map = trie();
    map.update(key('10.0.0.0/8'), u32(1));
    expect(map.lookup(key('11.0.0.0'))).toBeUndefined();
    expect(map.lookup(key('10.0.0.0', 33))).toBeUndefined();
    expect(map.lookupElem(stager(map)(key('10.0.0.0', 33)), 0)).toBe(0);
  });

  it('walks in the kernel\'s post-order', () => {
    const map = trie();
    // The example at the top of kernel/bpf/lpm_trie.c, plus nesting and /0.
    for (const c of ['192.168.0.0/16', '192.168.0.0/24', '192.168.128.0/24', '192.168.1.0/24', '0.0.0.0/0', '10.0.0.0/8', '10.0.0.0/32', '128.0.0.0/1'])
      map.update(key(c), u32(0));
    expect(keyOrder(map).map(cidr)).toEqual([
      '10.0.0.0/32', '10.0.0.0/8', '192.168.0.0/24', '192.168.1.0/24', '192.168.128.0/24', '192.168.0.0/16', '128.0.0.0/1', '0.0.0.0/0',
    ]);
    expect(cidr(hex(map.nextKey(key('1.2.3.4/32')))!)).toBe('10.0.0.0/32'); // missing → first
    expect(cidr(hex(map.nextKey(key('1.2.3.4', 40)))!)).toBe('10.0.0.0/32'); // too long → first
    expect(map.nextKey(key('0.0.0.0/0'))).toBeUndefined();
  });

  it('keeps the data bits past the prefix as last written; matches ignore them', () => {
    const map = trie();
    map.update(key('10.1.2.3/8'), u32(1));
    expect(keyOrder(map).map(cidr)).toEqual(['10.1.2.3/8']);
    map.update(key('10.9.9.9/8'), u32(2), 2);
    expect(keyOrder(map).map(cidr)).toEqual(['10.9.9.9/8']);
    expect(readU32(map.lookup(key('10.0.0.1')))).toBe(2);
    map.delete(key('10.7.7.7/8'));
    expect(map.count).toBe(0);
  });

  // [setup prefixes, flags, prefix, errno]
  it.each([
    [[], 0, '10.0.0.0/8', 0],
    [[], 1, '10.0.0.0/8', 0],
    [[], 2, '10.0.0.0/8', ERRNO.ENOENT],
    [['10.0.0.0/8'], 1, '10.0.0.0/8', ERRNO.EEXIST],
    [['10.0.0.0/8'], 2, '10.0.0.0/8', 0],
    [['10.0.0.0/8'], 3, '10.0.0.0/8', ERRNO.EINVAL],
    [['10.0.0.0/8'], 4, '10.0.0.0/8', ERRNO.EINVAL],
    [[], 0, '10.0.0.0/33', ERRNO.EINVAL],
    [['1.0.0.0/8', '2.0.0.0/8'], 0, '3.0.0.0/8', ERRNO.ENOSPC],
    [['1.0.0.0/8', '2.0.0.0/8'], 0, '2.0.0.0/8', 0],
  ] as [string[], number, string, number][])('with %j, update flags %i of %s → errno %i', (setup, flags, c, errno) => {
    const map = trie(2);
    for (const s of setup) map.update(key(s), u32(1));
    expect(errnoOf(() => map.update(key(c), u32(2), flags))).toBe(errno);
  });

  it('deletes exact prefixes only', () => {
    const map = trie();
    map.update(key('10.0.0.0/8'), u32(1));
    map.update(key('10.1.0.0/16'), u32(2));
    expect(errnoOf(() => map.delete(key('10.0.0.0/9')))).toBe(ERRNO.ENOENT);
    expect(errnoOf(() => map.delete(key('10.0.0.0/33')))).toBe(ERRNO.EINVAL);
    map.delete(key('10.1.0.0/16'));
    expect(readU32(map.lookup(key('10.1.2.3')))).toBe(1);
    map.delete(key('10.0.0.0/8'));
    expect(map.lookup(key('10.1.2.3'))).toBeUndefined();
    expect(keyOrder(map)).toEqual([]);
    expect(errnoOf(() => map.delete(key('0.0.0.0/0')))).toBe(ERRNO.ENOENT);
  });

  it('returns a value address programs can write', () => {
    const host = makeHost();
    const stage = stager(host);
    const map = trie(10, host);
    map.update(key('10.0.0.0/8'), u32(1));
    const addr = map.lookupElem(stage(key('10.2.3.4')), 0);
    host.arena.u8[addr] = 77;
    expect(readU32(map.lookup(key('10.0.0.0/8')))).toBe(77);
  });

  it.each([
    ['IPv4', 4, 4000],
    ['one byte', 1, 300],
    ['IPv6', 16, 1500],
    ['3 bytes', 3, 1500],
  ])('%s: random updates, deletes and lookups agree with a brute-force model', (_what, dataSize, steps) => {
    const r = prng(dataSize * 101 + steps);
    const bits = dataSize * 8;
    const map = make('lpm_trie', 4 + dataSize, 4, 100000, BPF_F_NO_PREALLOC) as LpmTrieMap;
    const model = new Map<string, { len: number; data: Uint8Array; value: number }>();
    const masked = (data: Uint8Array, len: number): string => {
      const m = Uint8Array.from(data);
      for (let b = len; b < bits; b++) m[b >>> 3] &= ~(0x80 >>> (b & 7));
      return `${len}/${Buffer.from(m).toString('hex')}`;
    };
    // Keys under a few roots, so that prefixes nest, share nodes and get pruned.
    const roots = Array.from({ length: 6 }, () => Uint8Array.from({ length: dataSize }, () => r() & 0xff));
    const randomData = (): Uint8Array => {
      const d = Uint8Array.from(roots[r() % roots.length]);
      for (let b = r() % bits; b < bits; b++) if (r() & 1) d[b >>> 3] ^= 0x80 >>> (b & 7);
      return d;
    };
    for (let i = 0; i < steps; i++) {
      if (r() % 3 === 0 && model.size > 0) {
        const keys = [...model.keys()];
        const victim = model.get(keys[r() % keys.length])!;
        map.delete(lpmKey(victim.len, ...victim.data));
        model.delete(masked(victim.data, victim.len));
      } else {
        const data = randomData();
        const len = r() % (bits + 1);
        map.update(lpmKey(len, ...data), u32(i));
        model.set(masked(data, len), { len, data, value: i });
      }
    }
    expect(map.count).toBe(model.size);
    const matches = (e: { len: number; data: Uint8Array }, data: Uint8Array): boolean => masked(e.data, e.len) === masked(data, e.len);
    for (let i = 0; i < 400; i++) {
      const data = randomData();
      const plen = i % 4 === 0 ? r() % (bits + 1) : bits;
      let best: { len: number; value: number } | undefined;
      for (const e of model.values()) if (e.len <= plen && matches(e, data) && (!best || e.len > best.len)) best = e;
      expect(readU32(map.lookup(lpmKey(plen, ...data)))).toBe(best?.value);
    }
    // The kernel's order: by the first differing bit (0 first), else the longer prefix first.
    const order = [...model.values()].sort((x, y) => {
      const n = Math.min(x.len, y.len);
      for (let b = 0; b < n; b++) {
        const bx = (x.data[b >>> 3] >>> (7 - (b & 7))) & 1;
        const by = (y.data[b >>> 3] >>> (7 - (b & 7))) & 1;
        if (bx !== by) return bx - by;
      }
      return y.len - x.len;
    });
    expect(keyOrder(map)).toEqual(order.map((e) => hex(lpmKey(e.len, ...e.data))));
  });

  it('grows past its first chunks and frees nodes it no longer needs', () => {
    const map = trie(100000);
    const r = prng(3);
    const keys = Array.from({ length: 20000 }, () => lpmKey(8 + (r() % 25), r() & 255, r() & 255, r() & 255, r() & 255));
    for (const k of keys) map.update(k, u32(1));
    const grown = map.memoryBytes;
    for (const k of keys) if (map.lookup(k) !== undefined) errnoOf(() => map.delete(k));
    expect(map.count).toBe(0);
    expect(keyOrder(map)).toEqual([]);
    for (const k of keys) map.update(k, u32(2));
    expect(map.memoryBytes).toBe(grown); // the freed nodes and entries were reused
  });
});
