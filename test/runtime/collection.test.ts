import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MapError } from '../../src/maps/map.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { testRun } from '../../src/hooks/test-run.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { LIBBPF_PIN_BY_NAME } from '../../src/spec/types.js';
import { repoRoot } from '../support/conformance.js';

const fixture = (name: string): string => path.join(repoRoot, 'test', 'fixtures', 'bpf', name);
const load = (name: string) => loadCollectionSpec(new Uint8Array(readFileSync(fixture(name))), fixture(name));
const u32 = (n: number): Uint8Array => Uint8Array.of(n, n >> 8, n >> 16, n >> 24);

describe('Collection.load', () => {
  it('refuses a program that calls a helper xdplab lacks, naming it, its section and the pc — when it is asked for', () => {
    const collection = Collection.load(new Runtime(), load('rt-missing-helper.bpf.o'));
    expect(() => collection.program('lookup_sock'))
      .toThrow(/program lookup_sock \(section \w+\): pc \d+: calls bpf_tcp_raw_gen_syncookie_ipv4 \(helper 204\), which xdplab does not implement/);
  });

  it('a load that fails half-way leaves nothing behind: the maps it made are gone and the next load gets the same ids', () => {
    const runtime = new Runtime();
    const good = load('rt-maps.bpf.o');
    expect(good.maps.size).toBeGreaterThanOrEqual(2);
    const before = runtime.nextMapId;
    const names = [...good.maps.keys()];
    const last = names[names.length - 1];
    const broken = { ...good, maps: new Map([...good.maps].map(([n, m]) => [n, n === last ? { ...m, keySize: 0, valueSize: 0 } : m])) };
    expect(() => Collection.load(runtime, broken)).toThrow(new RegExp(`map ${last}`));
    expect(runtime.nextMapId).toBe(before); // the maps made before the failing one were undone
    const loaded = Collection.load(runtime, good);
    expect(loaded.map(names[0]).id).toBe(before);
  });

  it('finds a program by the kernel\'s 15-character name and by a section that holds it alone', () => {
    const skb = Collection.load(new Runtime(), load('tc-skb.bpf.o'));
    expect(skb.program('load_bytes_rela').name).toBe('load_bytes_relative'); // as bpftool prog show lists it
    expect(skb.program('load_bytes').name).toBe('load_bytes'); // an exact name wins over a prefix
    expect(() => skb.program('tc')).toThrow(/no program tc/); // four programs in section tc
    const devmap = Collection.load(new Runtime(), load('devmap-egress.bpf.o'));
    expect(devmap.program('xdp/cpumap').name).toBe('xdp_on_cpu');
  });

  it('names the programs and maps it has when asked for one it has not', () => {
    const collection = Collection.load(new Runtime(), load('xdp-count.bpf.o'));
    expect(() => collection.program('nope')).toThrow(/it has: xdp_count/);
    expect(() => collection.map('nope')).toThrow(/it has: proto_count/);
  });

  it('shares maps pinned by name between collections of one runtime', () => {
    const runtime = new Runtime();
    const a = load('xdp-count.bpf.o');
    const b = load('xdp-count.bpf.o');
    a.maps.get('proto_count')!.pinning = LIBBPF_PIN_BY_NAME;
    b.maps.get('proto_count')!.pinning = LIBBPF_PIN_BY_NAME;
    const first = Collection.load(runtime, a);
    const second = Collection.load(runtime, b);
    expect(second.map('proto_count')).toBe(first.map('proto_count'));
  });

  it('uses a replacement map instead of creating one', () => {
    const runtime = new Runtime();
    const first = Collection.load(runtime, load('xdp-count.bpf.o'));
    const second = Collection.load(runtime, load('xdp-count.bpf.o'), { mapReplacements: new Map([['proto_count', first.map('proto_count')]]) });
    const packet = new Uint8Array(64);
    packet[12] = 0x08; packet[14] = 0x45; packet[23] = 17;
    testRun(runtime, second.program('xdp_count'), { data: packet });
    expect(first.map('proto_count').lookup(u32(17))).toEqual(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0));
  });
});

describe('map batch operations', () => {
  it('update, look up and delete in batches, stopping at the first refusal with the count done', () => {
    const map = Collection.load(new Runtime(), load('rt-maps.bpf.o')).map('hash'); // 4 entries
    const entries = [1, 2, 3, 4, 5].map((k) => [u32(k), new Uint8Array(8).fill(k)] as const);
    let error: unknown;
    try {
      map.updateBatch(entries);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MapError);
    expect((error as MapError).processed).toBe(4);
    expect((error as MapError).message).toContain('E2BIG');
    expect(map.lookupBatch([u32(1), u32(5)])).toEqual([new Uint8Array(8).fill(1), undefined]);
    expect(map.deleteBatch([u32(1), u32(2)])).toBe(2);
    expect([...map.entries()].length).toBe(2);
  });
});
