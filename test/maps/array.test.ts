import { describe, expect, it } from 'vitest';
import { ArrayMap } from '../../src/maps/index.js';
import { ERRNO } from '../../src/uapi/errno.js';
import { BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY } from '../../src/uapi/bpf.js';
import { REGION_READ, REGION_WRITE } from '../../src/vm/arena.js';
import { errnoOf, hex, keyOrder, make, makeHost, stager, u32 } from './support.js';

describe('array', () => {
  it('starts zeroed and reads back what is written, through both faces', () => {
    const host = makeHost();
    const stage = stager(host);
    const map = make('array', 4, 6, 3, 0, {}, host);
    expect(hex(map.lookup(u32(2)))).toBe('000000000000');
    map.update(u32(1), Uint8Array.from([1, 2, 3, 4, 5, 6]));
    const addr = map.lookupElem(stage(u32(1)), 0);
    expect(hex(host.arena.u8.slice(addr, addr + 6))).toBe('010203040506');
    // A program writes through the value's address; the user sees it.
    host.arena.u8[addr + 5] = 0xff;
    expect(hex(map.lookup(u32(1)))).toBe('0102030405ff');
    expect(map.updateElem(stage(u32(0)), stage(Uint8Array.from([9, 9, 9, 9, 9, 9])), 0, 0)).toBe(0);
    expect(hex(map.lookup(u32(0)))).toBe('090909090909');
    // Values are round_up(value_size, 8) apart.
    expect(map.lookupElem(stage(u32(2)), 0) - map.lookupElem(stage(u32(1)), 0)).toBe(8);
    expect(map.lookupElem(stage(u32(3)), 0)).toBe(0);
    expect(map.lookup(u32(3))).toBeUndefined();
  });

  // [flags, index, errno]
  it.each([
    [0, 0, 0], [2, 0, 0], [1, 0, -ERRNO.EEXIST], [0, 5, -ERRNO.E2BIG], [1, 5, -ERRNO.E2BIG],
    [3, 0, -ERRNO.EINVAL], [4, 0, -ERRNO.EINVAL], [5, 0, -ERRNO.EEXIST], [6, 0, -ERRNO.EINVAL], [8, 0, -ERRNO.EINVAL],
  ])('update flags %i index %i → %i', (flags, index, result) => {
    const host = makeHost();
    const stage = stager(host);
    const map = make('array', 4, 4, 4, 0, {}, host);
    expect(map.updateElem(stage(u32(index)), stage(u32(1)), flags, 0)).toBe(result);
  });

  it('cannot delete (EINVAL) and walks keys 0..max-1 (an index past the end restarts at 0)', () => {
    const map = make('array', 4, 4, 3);
    expect(errnoOf(() => map.delete(u32(0)))).toBe(ERRNO.EINVAL);
    expect(map.deleteElem(0)).toBe(-ERRNO.EINVAL);
    expect(keyOrder(map)).toEqual(['00000000', '01000000', '02000000']);
    expect(hex(map.nextKey(u32(9)))).toBe('00000000');
    expect(map.nextKey(u32(2))).toBeUndefined();
    expect([...map.entries()].length).toBe(3);
  });

  it('checks sizes and the syscall access flags on the user face', () => {
    const map = make('array', 4, 4, 3);
    expect(errnoOf(() => map.update(u32(0), u32(1).subarray(1)))).toBe(ERRNO.EINVAL);
    expect(errnoOf(() => map.lookup(Uint8Array.of(1)))).toBe(ERRNO.EINVAL);
    const ro = make('array', 4, 4, 1, BPF_F_RDONLY);
    expect(errnoOf(() => ro.update(u32(0), u32(1)))).toBe(ERRNO.EPERM);
    expect(hex(ro.lookup(u32(0)))).toBe('00000000');
    const wo = make('array', 4, 4, 1, BPF_F_WRONLY);
    expect(errnoOf(() => wo.lookup(u32(0)))).toBe(ERRNO.EPERM);
    wo.update(u32(0), u32(1));
    const frozen = make('array', 4, 4, 1);
    frozen.freeze();
    expect(errnoOf(() => frozen.update(u32(0), u32(1)))).toBe(ERRNO.EPERM);
  });

  it('gives programs read-only values under BPF_F_RDONLY_PROG', () => {
    const host = makeHost();
    const map = make('array', 4, 4, 1, BPF_F_RDONLY_PROG, {}, host) as ArrayMap;
    const addr = map.valueAddress(0);
    expect(host.arena.canAccess(addr, 0, 4, REGION_READ)).toBe(true);
    expect(host.arena.canAccess(addr, 0, 4, REGION_WRITE)).toBe(false);
    map.update(u32(0), u32(7)); // the user still may
    expect(hex(map.lookup(u32(0)))).toBe('07000000');
  });
});

describe('percpu_array', () => {
  it('gives each CPU its own slot; the user sees round_up(value_size, 8) bytes per CPU', () => {
    const host = makeHost(3);
    const stage = stager(host);
    const map = make('percpu_array', 4, 4, 2, 0, {}, host);
    expect(map.userValueSize).toBe(24);
    expect(map.updateElem(stage(u32(1)), stage(u32(0xaa)), 0, 2)).toBe(0);
    expect(hex(map.lookup(u32(1)))).toBe('00000000000000000000000000000000aa00000000000000');
    map.update(u32(0), Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0]));
    for (const cpu of [0, 1, 2]) {
      const addr = map.lookupElem(stage(u32(0)), cpu);
      expect(host.arena.u8[addr]).toBe(cpu + 1);
    }
    expect(map.updateElem(stage(u32(0)), stage(u32(0)), 4, 0)).toBe(-ERRNO.EINVAL);
    expect(map.updateElem(stage(u32(2)), stage(u32(0)), 0, 0)).toBe(-ERRNO.E2BIG);
    expect(map.updateElem(stage(u32(0)), stage(u32(0)), 1, 0)).toBe(-ERRNO.EEXIST);
    expect(errnoOf(() => map.update(u32(0), new Uint8Array(4)))).toBe(ERRNO.EINVAL);
  });
});
