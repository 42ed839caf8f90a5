/**
 * Map dumps stream (issue 10): --maps-out on katran's 33.5M-entry ch_rings ran out of heap and
 * lost the run's result. The dump is written an entry at a time, in bounded memory, its text
 * exactly JSON.stringify of the whole; a failure while dumping leaves no file and never the
 * run's result unsaid.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeMapsFile } from '../../src/cli/maps-json.js';
import { Collection } from '../../src/runtime/collection.js';
import { mapEntryJson, writeMapsJson } from '../../src/runtime/map-dump.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { spawnCli } from '../support/cli.js';
import { repoRoot } from '../support/conformance.js';
import { restrictedSkipReason, tinyDir } from '../support/restricted-dirs.js';
import { titled } from '../support/skip.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-map-dump-'));
// Not in fixtures/bpf: the suites that load every object there would each make its 268 MB map.
const BIG = path.join(repoRoot, 'test', 'fixtures', 'large', 'big-map.bpf.o');
const objects = [
  path.join(repoRoot, 'topologies', 'edge-firewall', 'firewall.bpf.o'), // LPM tries, hash, per-CPU array, .rodata
  path.join(repoRoot, 'test', 'fixtures', 'bpf', 'replay.bpf.o'), // array, per-CPU array
  path.join(repoRoot, 'topologies', 'l4-lb', 'lb.bpf.o'), // prog array
];

function load(file: string, edit?: (spec: ReturnType<typeof loadCollectionSpec>) => void, cpus = 2): Collection {
  const spec = loadCollectionSpec(new Uint8Array(readFileSync(file)), file);
  edit?.(spec);
  const collection = Collection.load(new Runtime({ cpus }), spec);
  for (const map of collection.maps.values()) {
    // A few entries in every map that takes them, so the dump has something to show.
    for (let i = 0; i < 3; i++) {
      const key = new Uint8Array(map.spec.keySize).fill(i + 1);
      const value = new Uint8Array(map.perCpu ? Math.ceil(map.spec.valueSize / 8) * 8 * cpus : map.spec.valueSize).fill(i + 7);
      try {
        map.update(key, value);
      } catch {
        // an array index out of range, a prog array slot: left as it is
      }
    }
  }
  return collection;
}

describe('map dumps, streamed', () => {
  it.each(objects)('%s: the streamed text is JSON.stringify of the whole dump', (file) => {
    const collection = load(file);
    let text = '';
    writeMapsJson(collection, (t) => { text += t; });
    const btf = collection.spec.btf?.btf;
    const whole = Object.fromEntries([...collection.maps.values()].map((m) => [m.name, [...m.entries()].map(([k, v]) => mapEntryJson(btf, m, k, v))]));
    expect(text).toBe(JSON.stringify(whole, null, 2));
  });

  it('dumps a map of 200,000 entries in bounded memory (the whole dump would take ~130 MB of heap)', () => {
    const collection = load(BIG, (spec) => { spec.maps.get('ch_rings')!.maxEntries = 200_000; });
    const start = process.memoryUsage().heapUsed;
    let peak = start;
    let chunks = 0;
    let chars = 0;
    writeMapsJson(collection, (t) => {
      chars += t.length;
      if (++chunks % 4096 === 0) peak = Math.max(peak, process.memoryUsage().heapUsed);
    });
    expect(chunks).toBeGreaterThan(200_000);
    expect(chars).toBeGreaterThan(20_000_000);
    expect(peak - start).toBeLessThan(32 << 20);
  });

  it('a sink that fails part way: the error goes up, and the file is not left behind', () => {
    const collection = load(BIG, (spec) => { spec.maps.get('ch_rings')!.maxEntries = 100_000; });
    let n = 0;
    expect(() => writeMapsJson(collection, () => { if (++n === 5000) throw new Error('sink failed'); })).toThrow('sink failed');
    const file = path.join(dir, 'maps.json');
    writeFileSync(path.join(dir, 'keep'), '');
    expect(() => writeMapsFile(collection, path.join(dir, 'none', 'maps.json'))).toThrow(/cannot write: no directory/);
    writeMapsFile(collection, file);
    expect(JSON.parse(readFileSync(file, 'utf8')).ch_rings).toHaveLength(100_000);
    expect(readdirSync(dir).sort()).toEqual(['keep', 'maps.json']);
  });
});

const skipReason = restrictedSkipReason();
describe.skipIf(skipReason !== undefined)(titled('prog run --maps-out on katran\'s ring size (33.5M entries), as root', skipReason), () => {
  it('a dump that fills the disk: the result is printed first, then one line, exit 2, no file left', () => {
    const tiny = tinyDir(256 * 1024);
    try {
      const packet = path.join(dir, 'p.bin');
      writeFileSync(packet, new Uint8Array(64).fill(5));
      const out = path.join(tiny.dir, 'maps.json');
      const r = spawnCli(['prog', 'run', BIG, 'xdp_ring', 'data_in', packet, '--maps-out', out], '', 120_000);
      expect(r.stdout).toMatch(/^Return value: 2, duration: \d+ns\n$/);
      expect(r.stderr).toBe(`xdplab: ${out}: cannot write: no space left on device\n`);
      expect(r.code).toBe(2);
      expect(readdirSync(tiny.dir)).toEqual([]);
    } finally {
      tiny.release();
    }
  }, 150_000);

  it('writes into a device in place, never renaming over it (a /dev/null of its own)', () => {
    const devnull = path.join(dir, 'null');
    expect(spawnSync('mknod', ['-m', '666', devnull, 'c', '1', '3']).status).toBe(0);
    const packet = path.join(dir, 'p2.bin');
    writeFileSync(packet, new Uint8Array(64));
    const r = spawnCli(['prog', 'run', path.join(repoRoot, 'test', 'fixtures', 'bpf', 'xdp-count.bpf.o'), 'xdp_count', 'data_in', packet, 'data_out', devnull, '--maps-out', devnull]);
    expect(r.code).toBe(0);
    expect(existsSync(devnull)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(spawnSync('stat', ['-c', '%F', devnull], { encoding: 'utf8' }).stdout.trim()).toBe('character special file');
  });
});
