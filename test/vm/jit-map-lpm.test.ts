/**
 * bpf_map_lookup_elem on LPM tries compiled by the JIT to a wasm function of the program's module
 * (vm/jit/lower-lpm.ts): random prefix sets (with and without /0, after deletes) and random
 * lookup keys (any prefixlen, also past the maximum) give the interpreter's r0 (LpmTrieMap's
 * lookupElem through the JS helper), registers, instruction count and map entries — without
 * calling the helper.
 */
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { assemble } from '../../src/isa/asm.js';
import { decodeProgram } from '../../src/isa/instruction.js';
import { createMap } from '../../src/maps/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { Program } from '../../src/runtime/program.js';
import { testRun } from '../../src/hooks/test-run.js';
import { BPF_F_NO_PREALLOC, BPF_PROG_TYPE } from '../../src/uapi/bpf.js';
import type { ProgramSpec } from '../../src/spec/types.js';
import type { EngineKind } from '../../src/vm/engine.js';
import { ProgramImage } from '../../src/vm/image.js';
import { spec } from '../maps/support.js';

const KEY_AT = 14;

interface Prefix { plen: number; data: number[] }
interface Scenario {
  dataSize: number;
  inserts: readonly Prefix[];
  deletes: readonly Prefix[];
  lookups: readonly Prefix[];
}

const keyBytes = (p: Prefix, dataSize: number): Uint8Array => {
  const key = new Uint8Array(4 + dataSize);
  new DataView(key.buffer).setUint32(0, p.plen, true);
  for (let i = 0; i < dataSize; i++) key[4 + i] = p.data[i % p.data.length] ?? 0;
  return key;
};

const PROGRAM = (map: number): string => `
  ldxw %r2, [%r1+0]
  add %r2, ${KEY_AT}
  lddw %r1, ${map}
  call 1
  jeq %r0, 0, +3
  ldxb %r3, [%r0+0]
  add %r3, 1
  stxb [%r0+0], %r3
  exit`;

function runScenario(engine: EngineKind, s: Scenario): unknown {
  const runtime = new Runtime({ engine, perfReaders: false, cpus: 2 });
  const map = createMap(runtime, spec('lpm_trie', 4 + s.dataSize, 8, 64, BPF_F_NO_PREALLOC), runtime.nextMapId);
  runtime.registerMap(map);
  s.inserts.forEach((p, i) => {
    try {
      map.update(keyBytes(p, s.dataSize), new Uint8Array(8).fill(i + 1));
    } catch {
      // a prefixlen past the maximum, a full map: the same in both engines
    }
  });
  for (const p of s.deletes) {
    try {
      map.delete(keyBytes(p, s.dataSize));
    } catch {
      // absent
    }
  }
  const image = new ProgramImage('p', decodeProgram(assemble(PROGRAM(map.header.start))));
  const program = new Program({ name: 'p', section: 'xdp', type: BPF_PROG_TYPE.BPF_PROG_TYPE_XDP } as unknown as ProgramSpec, image, runtime.registerProgram(image));
  const spy = engine === 'jit' ? vi.spyOn(runtime.engine as unknown as { helperImport: (id: number) => unknown }, 'helperImport') : undefined;
  const runs = s.lookups.map((p) => {
    const frame = new Uint8Array(64 + 4 + s.dataSize);
    frame.set(keyBytes(p, s.dataSize), KEY_AT);
    const r = testRun(runtime, program, { data: frame });
    const e = runtime.engine;
    return { retval: r.retval, r0: e.r0, executed: e.executed, exitPc: e.exitPc, r0Pc: e.r0Pc, regs: Array.from(e.regs.slice(2, 12)) };
  });
  const entries = [...map.entries()].map(([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`);
  return { runs, entries, helperCalls: spy === undefined ? 0 : spy.mock.calls.length };
}

const expectSame = (s: Scenario): void => expect(runScenario('jit', s)).toEqual(runScenario('interp', s));

describe('compiled LPM trie lookups: as the helper, without it', () => {
  const v4 = (plen: number, ...data: number[]): Prefix => ({ plen, data });
  it('IPv4: nested prefixes, /0, /32, past /32, after deletes', () => {
    const inserts = [v4(8, 10), v4(16, 10, 1), v4(24, 10, 1, 2), v4(32, 10, 1, 2, 3), v4(12, 10, 0xf0), v4(0), v4(31, 192, 168, 0, 2)];
    const lookups = [v4(32, 10, 1, 2, 3), v4(32, 10, 1, 2, 4), v4(32, 10, 1, 9, 9), v4(32, 10, 9, 9, 9), v4(32, 11, 0, 0, 0), v4(20, 10, 1, 2, 3),
      v4(33, 10, 1, 2, 3), v4(0, 10), v4(7, 10), v4(9, 10, 0xff), v4(32, 192, 168, 0, 3), v4(32, 10, 0xf3, 0, 0)];
    expectSame({ dataSize: 4, inserts, deletes: [], lookups });
    expectSame({ dataSize: 4, inserts, deletes: [v4(0), v4(24, 10, 1, 2), v4(8, 10)], lookups });
    expectSame({ dataSize: 4, inserts: [], deletes: [], lookups });
  });
});

describe('property: random prefixes and keys, the JIT path == the JS trie', () => {
  it('agrees on r0, registers, counts and entries', () => {
    const scenario = fc.integer({ min: 1, max: 17 }).chain((dataSize) => {
      const prefix = fc.record({
        plen: fc.oneof(fc.integer({ min: 0, max: dataSize * 8 }), fc.integer({ min: 0, max: dataSize * 8 + 9 })),
        // few distinct leading bytes, so that prefixes nest and share nodes
        data: fc.array(fc.oneof(fc.constantFrom(0, 10, 0x80, 0xff), fc.integer({ min: 0, max: 255 })), { minLength: dataSize, maxLength: dataSize }),
      });
      return fc.record({
        dataSize: fc.constant(dataSize),
        inserts: fc.array(prefix, { maxLength: 40 }),
        deletes: fc.array(prefix, { maxLength: 8 }),
        lookups: fc.array(prefix, { minLength: 1, maxLength: 8 }),
      });
    });
    fc.assert(fc.property(scenario, (s) => {
      // deletes of inserted prefixes too
      const withDeletes = { ...s, deletes: [...s.deletes, ...s.inserts.filter((_, i) => i % 3 === 0)] };
      expectSame(withDeletes);
      expectSame({ ...s, lookups: [...s.lookups, ...s.inserts] });
    }), { numRuns: 80 });
  });
});
