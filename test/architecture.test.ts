/**
 * The layering of DESIGN.md, kept by a test: a module may import its own layer and layers
 * below it, never above. isa/, packet/, elf/ and btf/ import nothing of ours but errors.ts.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/conformance.js';

/** Rank of each layer: imports must point to a strictly lower rank (or the same layer). */
const RANK: Record<string, number> = {
  isa: 0, packet: 0, elf: 0, btf: 0,
  vm: 1, spec: 1,
  maps: 2, netcore: 2, filter: 2,
  helpers: 3,
  verifier: 4,
  runtime: 5,
  hooks: 6, pcap: 6, live: 6, kernel: 6,
  net: 7,
  topology: 8,
  report: 9,
  firewall: 9,
  cli: 10, testing: 10,
};
/** Leaves every layer may import. */
const SHARED = new Set(['errors.js', 'errors.ts', 'files.js', 'files.ts', 'types', 'uapi']);

const src = path.join(repoRoot, 'src');
function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) yield* sources(p);
    else if (name.endsWith('.ts')) yield p;
  }
}
const layerOf = (file: string): string => path.relative(src, file).split(path.sep)[0];

describe('layers (imports point down only)', () => {
  const violations: string[] = [];
  const unknown = new Set<string>();
  for (const file of sources(src)) {
    const from = layerOf(file);
    if (SHARED.has(from) || from === 'index.ts') continue;
    if (!(from in RANK)) unknown.add(from);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)) {
      const to = layerOf(path.resolve(path.dirname(file), m[1]));
      if (to === from || SHARED.has(to)) continue;
      if (!(to in RANK) || RANK[to] >= RANK[from]) violations.push(`${path.relative(repoRoot, file)} imports ${m[1]} (${from} -> ${to})`);
    }
  }

  it('every directory under src/ is a known layer', () => {
    expect([...unknown]).toEqual([]);
  });

  it('no module imports a layer at or above its own', () => {
    expect(violations).toEqual([]);
  });

  it("uapi/, the kernel's constants, imports nothing of ours but errors.ts", () => {
    const outside: string[] = [];
    for (const file of sources(path.join(src, 'uapi'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'(\.[^']+)'/gm)) {
        const to = path.relative(src, path.resolve(path.dirname(file), m[1]));
        if (layerOf(path.resolve(path.dirname(file), m[1])) !== 'uapi' && to !== 'errors.js') outside.push(`${path.relative(repoRoot, file)} imports ${m[1]}`);
      }
    }
    expect(outside).toEqual([]);
  });
});
