import { describe, expect, it } from 'vitest';
import { PerfEventArrayMap, RingbufMap, StackTraceMap } from '../../src/maps/index.js';
import { ERRNO } from '../../src/uapi/errno.js';
import { BPF_RINGBUF_BUSY_BIT, BPF_RINGBUF_DISCARD_BIT } from '../../src/maps/ringbuf.js';
import { PERF_RING_BYTES } from '../../src/maps/perf-event-array.js';
import { BPF_F_CURRENT_CPU } from '../../src/uapi/bpf.js';
import { BPF_F_FAST_STACK_CMP, BPF_F_REUSE_STACKID } from '../../src/uapi/bpf.js';
import { errnoOf, hex, keyOrder, make, makeHost, stager, u32 } from './support.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString();

describe('ringbuf', () => {
  function setup(size = 4096): { map: RingbufMap; host: ReturnType<typeof makeHost>; put: (s: string) => number } {
    const host = makeHost();
    const map = make('ringbuf', 0, 0, size, 0, {}, host) as RingbufMap;
    const stage = stager(host);
    return { map, host, put: (s) => stage(Buffer.from(s)) };
  }

  it('writes records with the kernel\'s header and reads them back in order', () => {
    const { map, host, put } = setup();
    expect(map.output(put('hello'), 5, 0)).toBe(0);
    const sample = map.reserve(3, 0);
    expect(sample).toBe(map.data.start + 16 + 8);
    const view = host.arena.view;
    expect(view.getUint32(sample - 8, true)).toBe((3 | BPF_RINGBUF_BUSY_BIT) >>> 0);
    expect(view.getUint32(sample - 4, true)).toBe(3); // page offset: data starts 3 pages into struct bpf_ringbuf
    host.arena.u8.set(Buffer.from('abc'), sample);
    expect(map.ownsSample(sample)).toBe(true);
    expect(map.drain().map(text)).toEqual(['hello']); // stops at the busy record
    map.submit(sample);
    expect(map.ownsSample(sample)).toBe(false);
    expect(view.getUint32(sample - 8, true)).toBe(3);
    const dropped = map.reserve(4, 0);
    map.discard(dropped);
    expect(view.getUint32(dropped - 8, true)).toBe((4 | BPF_RINGBUF_DISCARD_BIT) >>> 0);
    map.output(put('end'), 3, 1);
    expect(map.drain().map(text)).toEqual(['abc', 'end']);
    expect(map.drain()).toEqual([]);
  });

  it('refuses records that do not fit (NULL / -EAGAIN), and flags', () => {
    const { map, put } = setup();
    expect(map.reserve(8, 1)).toBe(0);
    expect(map.output(put('x'), 1, 4)).toBe(-ERRNO.EINVAL);
    expect(map.reserve(4096, 0)).toBe(0);
    // The producer may run at most size - 1 bytes ahead of the consumer.
    expect(map.reserve(4096 - 16, 0)).not.toBe(0);
    expect(map.reserve(8, 0)).toBe(0);
    expect(map.output(put('x'), 1, 0)).toBe(-ERRNO.EAGAIN);
    expect(map.query(0)).toBe(4096 - 8);
  });

  it('wraps records around the end of the ring, as the kernel\'s double mapping does', () => {
    const { map, host, put } = setup();
    const payload = 'y'.repeat(1000);
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) {
      const s = `${i}:${payload}`.slice(0, 1000);
      expect(map.output(put(s), 1000, 0)).toBe(0);
      seen.push(...map.drain().map(text));
      expect(seen[seen.length - 1]).toBe(s);
    }
    expect(map.query(2)).toBe(map.query(3));
    expect(map.query(1)).toBe(4096);
    expect(map.query(9)).toBe(0);
    // A reserved sample crossing the end is contiguous for the program.
    const sample = map.reserve(1500, 0);
    host.arena.u8.fill(0x41, sample, sample + 1500);
    map.submit(sample);
    expect(map.drain().map(text)).toEqual(['A'.repeat(1500)]);
  });

  it('has no keys', () => {
    const { map } = setup();
    expect(errnoOf(() => map.lookup(new Uint8Array(0)))).toBe(ERRNO.ENOTSUPP);
    expect(errnoOf(() => map.nextKey(undefined))).toBe(ERRNO.ENOTSUPP);
    expect([...map.entries()]).toEqual([]);
  });
});

describe('perf_event_array', () => {
  it('collects records per CPU, padded as perf pads raw samples, in emission order', () => {
    const host = makeHost(2);
    const stage = stager(host);
    const map = make('perf_event_array', 4, 4, 0, 0, {}, host) as PerfEventArrayMap;
    expect(map.spec.maxEntries).toBe(2);
    expect(map.output(BPF_F_CURRENT_CPU, stage(Buffer.from('abcd')), 4, 1)).toBe(0);
    expect(map.output(0, stage(Buffer.from('hello')), 5, 0, stage(Buffer.from('PKT')), 3)).toBe(0);
    const records = map.drain();
    expect(records.map((r) => [r.cpu, hex(r.data)])).toEqual([
      [1, hex(Buffer.from('abcd'))],
      [0, hex(Buffer.from('helloPKT\0\0\0\0'))],
    ]);
    expect(map.drain()).toEqual([]);
  });

  it('refuses bad indices, closed slots and other CPUs\' events', () => {
    const host = makeHost(2);
    const stage = stager(host);
    const map = make('perf_event_array', 4, 4, 4, 0, {}, host) as PerfEventArrayMap;
    const data = stage(u32(1));
    expect(map.output(4, data, 4, 0)).toBe(-ERRNO.E2BIG);
    expect(map.output(3, data, 4, 0)).toBe(-ERRNO.ENOENT);
    expect(map.output(1, data, 4, 0)).toBe(-ERRNO.EOPNOTSUPP);
    map.delete(u32(0));
    expect(map.output(0, data, 4, 0)).toBe(-ERRNO.ENOENT);
    map.update(u32(3), u32(99));
    expect(map.output(3, data, 4, 3)).toBe(0);
    expect(errnoOf(() => map.lookup(u32(3)))).toBe(ERRNO.ENOTSUPP);
    expect(errnoOf(() => map.update(u32(3), u32(1), 1))).toBe(ERRNO.EINVAL);
  });

  it('loses records when a CPU\'s ring is full (-ENOSPC)', () => {
    const host = makeHost(1);
    const big = host.arena.alloc(PERF_RING_BYTES, 'memory', 'big').start;
    const map = make('perf_event_array', 4, 4, 1, 0, {}, host) as PerfEventArrayMap;
    let sent = 0;
    while (map.output(0, big, 4096, 0) === 0) sent++;
    expect(map.output(0, big, 4096, 0)).toBe(-ERRNO.ENOSPC);
    expect(map.lost[0]).toBe(2);
    expect(map.drain().length).toBe(sent);
    expect(map.output(0, big, 4096, 0)).toBe(0);
  });
});

describe('stack_trace', () => {
  const setup = (max = 4, value = 32): StackTraceMap => make('stack_trace', 4, value, max) as StackTraceMap;

  it('gives a stack an id (a bucket), the same stack the same id', () => {
    const map = setup();
    const id = map.record([0x1000, 0x2000, 0x3000], 0);
    expect(id).toBeGreaterThanOrEqual(0);
    expect(map.record([0x1000, 0x2000, 0x3000], 0)).toBe(id);
    expect(map.record([0x1000n, 0x2000n, 0x3000n], 0)).toBe(id);
    expect(hex(map.lookup(u32(id)))).toBe('0010000000000000' + '0020000000000000' + '0030000000000000' + '0000000000000000');
    expect(keyOrder(map)).toEqual([hex(u32(id))]);
  });

  it('skips frames, refuses a too-short trace, caps it at value_size / 8', () => {
    const map = setup(4, 16);
    const id = map.record([1, 2, 3, 4, 5], 1);
    expect(hex(map.lookup(u32(id)))).toBe('0200000000000000' + '0300000000000000');
    expect(map.record([1], 1)).toBe(-ERRNO.EFAULT);
    expect(map.record([1], 1 << 11)).toBe(-ERRNO.EINVAL);
  });

  it('collides: -EEXIST, or replaced with BPF_F_REUSE_STACKID; hashes only with BPF_F_FAST_STACK_CMP', () => {
    const map = setup(1);
    expect(map.record([0xaaaa], 0)).toBe(0); // one bucket
    expect(map.record([0xbbbb], 0)).toBe(-ERRNO.EEXIST);
    expect(map.record([0xcccc], BPF_F_FAST_STACK_CMP)).toBe(-ERRNO.EEXIST);
    // Replacing takes a new stack before freeing the old one: with every stack in use, -ENOMEM.
    expect(map.record([0xbbbb], BPF_F_REUSE_STACKID)).toBe(-ERRNO.ENOMEM);
    const roomy = make('stack_trace', 4, 32, 2) as StackTraceMap;
    const id = roomy.record([0xaaaa], 0);
    let other = 1;
    while (roomy.record([other], BPF_F_FAST_STACK_CMP) !== -ERRNO.EEXIST) {
      roomy.delete(u32(1 - id));
      other++;
    }
    expect(roomy.record([other], BPF_F_REUSE_STACKID)).toBe(id);
    expect(hex(roomy.lookup(u32(id)))?.slice(0, 16)).toBe(hex(Uint8Array.from([other & 255, other >> 8, 0, 0, 0, 0, 0, 0])));
  });

  it('deletes ids, walks them in order, runs out of room (-ENOMEM), refuses updates', () => {
    const map = setup(2);
    const ids = new Set<number>();
    for (let i = 1; ids.size < 2 && i < 100; i++) {
      const id = map.record([i], 0);
      if (id >= 0) ids.add(id);
    }
    expect(keyOrder(map)).toEqual([...ids].sort((x, y) => x - y).map((id) => hex(u32(id))));
    // Both stacks in use: another stack, even with BPF_F_REUSE_STACKID, finds no room.
    expect(map.record([1000], BPF_F_REUSE_STACKID)).toBe(-ERRNO.ENOMEM);
    const [first] = ids;
    map.delete(u32(first));
    expect(errnoOf(() => map.delete(u32(first)))).toBe(ERRNO.ENOENT);
    expect(errnoOf(() => map.delete(u32(1000)))).toBe(ERRNO.E2BIG);
    expect(errnoOf(() => map.update(u32(0), new Uint8Array(32)))).toBe(ERRNO.EINVAL);
    expect(map.lookupElem(0, 0)).toBe(0);
  });
});
