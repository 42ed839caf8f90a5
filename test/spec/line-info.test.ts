/** sourceLineAt: an instruction's C line is the nearest line record at or before it, inside its function. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceLineAt } from '../../src/spec/line-info.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { repoRoot } from '../support/conformance.js';

const file = path.join(repoRoot, 'topologies', 'edge-firewall', 'firewall.bpf.o');
const spec = loadCollectionSpec(new Uint8Array(readFileSync(file)), file).programs.get('xdp_firewall')!;

describe('sourceLineAt', () => {
  it('is the record itself where an instruction has one', () => {
    expect(spec.lineInfo.size).toBeGreaterThan(100);
    for (const [pc, line] of spec.lineInfo) expect(sourceLineAt(spec, pc)).toBe(line);
  });

  it('is the nearest record before an instruction without one', () => {
    const recorded = [...spec.lineInfo.keys()].sort((a, b) => a - b);
    const gap = recorded.findIndex((pc, i) => i + 1 < recorded.length && recorded[i + 1] > pc + 1);
    expect(gap).toBeGreaterThanOrEqual(0);
    const pc = recorded[gap] + 1;
    expect(spec.lineInfo.has(pc)).toBe(false);
    expect(sourceLineAt(spec, pc)).toBe(spec.lineInfo.get(recorded[gap]));
  });

  it('never reaches back across the start of a function', () => {
    // The program's functions all start with a record: take those records away.
    const starts = [...spec.functions.keys()].filter((pc) => pc > 0);
    expect(starts.length).toBeGreaterThan(0);
    const bare = { ...spec, lineInfo: new Map([...spec.lineInfo].filter(([pc]) => !starts.includes(pc))) };
    for (const pc of starts) {
      expect(spec.lineInfo.has(pc - 1) || sourceLineAt(spec, pc - 1) !== undefined).toBe(true); // there is a line to reach back to
      expect(sourceLineAt(bare, pc)).toBeUndefined();
    }
  });
});
