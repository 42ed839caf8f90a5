import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testRun } from '../../src/hooks/test-run.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { getGlobal, resizeMap, setGlobal } from '../../src/spec/edit.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { repoRoot } from '../support/conformance.js';

const fixture = (name: string): string => path.join(repoRoot, 'test', 'fixtures', 'bpf', name);
const load = (name: string) => loadCollectionSpec(new Uint8Array(readFileSync(fixture(name))), fixture(name));
const packet = (first: number): Uint8Array => {
  const p = new Uint8Array(64);
  p[0] = first;
  return p;
};

describe('editing a spec before load', () => {
  it('reads the globals\' initial values by name', () => {
    const spec = load('globals.bpf.o');
    expect(getGlobal(spec, 'scan_bytes')).toEqual(Uint8Array.of(16, 0, 0, 0));
    expect(getGlobal(spec, 'drop_byte')).toEqual(Uint8Array.of(0xff));
    expect(getGlobal(spec, 'packets_seen')).toEqual(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0));
  });

  it('a rewritten .rodata constant changes what the program does', () => {
    const spec = load('globals.bpf.o');
    const before = new Runtime();
    const original = Collection.load(before, spec);
    expect(testRun(before, original.program('xdp_scan'), { data: packet(1) }).retval).toBe(2); // XDP_PASS

    const edited = load('globals.bpf.o');
    setGlobal(edited, 'drop_byte', 1);
    const runtime = new Runtime();
    const collection = Collection.load(runtime, edited);
    expect(testRun(runtime, collection.program('xdp_scan'), { data: packet(1) }).retval).toBe(1); // XDP_DROP
  });

  it('refuses unknown names and values that do not fit', () => {
    const spec = load('globals.bpf.o');
    expect(() => setGlobal(spec, 'nope', 1)).toThrow(/no global variable nope .*scan_bytes/);
    expect(() => setGlobal(spec, 'drop_byte', 256)).toThrow(/does not fit drop_byte \(1 bytes\)/);
    expect(() => setGlobal(spec, 'scan_bytes', Uint8Array.of(1))).toThrow(/4 bytes; 1 given/);
  });

  it('resizes a map', () => {
    const spec = load('xdp-count.bpf.o');
    resizeMap(spec, 'proto_count', 512);
    const collection = Collection.load(new Runtime(), spec);
    expect(collection.map('proto_count').spec.maxEntries).toBe(512);
    expect(() => resizeMap(spec, 'proto_count', 0)).toThrow(/max_entries 0/);
  });
});
