/**
 * bpf_map_lookup_elem on array and per-CPU array maps, compiled inline by the JIT
 * (vm/jit/lower-map.ts): the same r0, memory, instruction count and faults as the helper
 * path of the interpreter, and no call out of wasm when the map argument is a constant.
 */
import { describe, expect, it, vi } from 'vitest';
import { assemble } from '../../src/isa/asm.js';
import { decodeProgram } from '../../src/isa/instruction.js';
import { createMap } from '../../src/maps/index.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { Program } from '../../src/runtime/program.js';
import { testRun } from '../../src/hooks/test-run.js';
import { BPF_PROG_TYPE } from '../../src/uapi/bpf.js';
import type { ProgramSpec } from '../../src/spec/types.js';
import type { EngineKind } from '../../src/vm/engine.js';
import { ProgramImage } from '../../src/vm/image.js';
import { spec } from '../maps/support.js';

const FRAME = Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0, ...new Array(50).fill(7)]);

interface Outcome {
  result: unknown;
  helperCalls: number;
}

/** Run `body` (with %MAP for the map's header address) as an XDP program; the map's entries after. */
function run(engine: EngineKind, type: string, body: (map: number) => string, cpu = 0, maxEntries = 4): Outcome {
  const runtime = new Runtime({ engine, perfReaders: false, cpus: 2 });
  const map = createMap(runtime, spec(type, 4, 12, maxEntries), runtime.nextMapId);
  runtime.registerMap(map);
  const insns = decodeProgram(assemble(body(map.header.start)));
  const image = new ProgramImage('p', insns);
  const program = new Program({ name: 'p', section: 'xdp', type: BPF_PROG_TYPE.BPF_PROG_TYPE_XDP } as unknown as ProgramSpec, image, runtime.registerProgram(image));
  const engineAny = runtime.engine as unknown as { helperImport?: (...a: unknown[]) => unknown };
  const spy = engine === 'jit' ? vi.spyOn(engineAny as { helperImport: (...a: unknown[]) => unknown }, 'helperImport') : undefined;
  let result: unknown;
  try {
    const r = testRun(runtime, program, { data: FRAME, repeat: 2, cpu });
    result = { retval: r.retval, r0: runtime.engine.r0, executed: runtime.engine.executed, exitPc: runtime.engine.exitPc };
  } catch (err) {
    result = { error: (err as Error).message, executed: runtime.engine.executed };
  }
  const entries = [...map.entries()].map(([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`);
  return { result: { result, entries, regs: Array.from(runtime.engine.regs.slice(2, 12)) }, helperCalls: spy?.mock.calls.length ?? -1 };
}

/** Look up key `key`, add 1 to the value's first word and return the value's offset from r0 = lookup. */
const counter = (key: number) => (map: number): string => `
  stw [%r10-4], ${key}
  mov %r6, 100
  lddw %r1, ${map}
  mov %r2, %r10
  add %r2, -4
  call 1
  jeq %r0, 0, +4
  ldxw %r3, [%r0+0]
  add %r3, 1
  stxw [%r0+0], %r3
  mov %r0, %r3
  add %r0, %r1
  add %r0, %r2
  add %r0, %r6
  exit`;

describe('inline array lookups: as the helper, without it', () => {
  const cases: [string, string, number, (map: number) => string][] = [
    ['array, first key', 'array', 0, counter(0)],
    ['array, last key', 'array', 0, counter(3)],
    ['array, key = max_entries', 'array', 0, counter(4)],
    ['array, key = 0xffffffff', 'array', 0, counter(-1)],
    ['per-CPU array, CPU 0', 'percpu_array', 0, counter(2)],
    ['per-CPU array, CPU 1', 'percpu_array', 1, counter(2)],
    ['per-CPU array, key past the end', 'percpu_array', 1, counter(9)],
  ];
  it.each(cases)('%s', (_name, type, cpu, body) => {
    const jit = run('jit', type, body, cpu);
    expect(jit.result).toEqual(run('interp', type, body, cpu).result);
    expect(jit.helperCalls).toBe(0);
  });

  it('reads the key as the helper does, also from the context (no access check)', () => {
    const body = (map: number): string => `lddw %r1, ${map}\nmov %r2, %r1\ncall 1\nmov %r0, 0\nexit`;
    const body2 = (map: number): string => `mov %r2, %r1\nlddw %r1, ${map}\ncall 1\nexit`;
    for (const b of [body, body2]) expect(run('jit', 'array', b).result).toEqual(run('interp', 'array', b).result);
  });

  it('a key not wholly inside the memory takes the helper path', () => {
    const body = (map: number): string => `lddw %r1, ${map}\nlddw %r2, 0xfffffffe\ncall 1\nexit`;
    const jit = run('jit', 'array', body);
    expect(jit.result).toEqual(run('interp', 'array', body).result);
    expect(jit.helperCalls).toBe(2);
  });

  it('keeps the helper call when r1 is not a constant of the block', () => {
    const bodies = [
      // r1 changed after the lddw
      (map: number): string => `stw [%r10-4], 1\nlddw %r6, ${map}\nlddw %r1, ${map}\nmov %r1, %r6\nmov %r2, %r10\nadd %r2, -4\ncall 1\nexit`,
      // the lddw in another block
      (map: number): string => `stw [%r10-4], 1\nlddw %r1, ${map}\nja +0\nmov %r2, %r10\nadd %r2, -4\ncall 1\nexit`,
    ];
    for (const body of bodies) {
      const jit = run('jit', 'array', body);
      expect(jit.result).toEqual(run('interp', 'array', body).result);
      expect(jit.helperCalls).toBe(2);
    }
  });

  it('keeps the helper call when a fetching atomic wrote r1 after the lddw (it is the atomic\'s source)', () => {
    // r1 gets the old value, 7, which is no map: the helper refuses it, as the interpreter's does
    const body = (map: number): string => `stdw [%r10-16], 7\nstw [%r10-4], 1\nlddw %r1, ${map}\n`
      + `lock fetch add [%r10-16], %r1\nmov %r2, %r10\nadd %r2, -4\ncall 1\nexit`;
    const jit = run('jit', 'array', body);
    expect(jit.result).toEqual(run('interp', 'array', body).result);
    expect(jit.helperCalls).toBe(1);
  });

  it('faults where the helper path faults: a bad value access after the lookup', () => {
    const body = (map: number): string => `stw [%r10-4], 3\nlddw %r1, ${map}\nmov %r2, %r10\nadd %r2, -4\ncall 1\nldxw %r0, [%r0+16]\nexit`;
    const jit = run('jit', 'array', body);
    expect(jit.result).toEqual(run('interp', 'array', body).result);
    expect((jit.result as { result: object }).result).toHaveProperty('error');
  });
});

describe('BPF_PROG_TEST_RUN repeat in one call into the JIT for programs whose only helper is the map lookup', () => {
  it.each([1, 2, 1001])('repeat %i: the counter, r0 and count as n runs', (repeat) => {
    const outcome = (engine: EngineKind): unknown => {
      const runtime = new Runtime({ engine, perfReaders: false, cpus: 2 });
      const map = createMap(runtime, spec('percpu_array', 4, 8, 2), runtime.nextMapId);
      runtime.registerMap(map);
      const image = new ProgramImage('p', decodeProgram(assemble(counter(1)(map.header.start))));
      const program = new Program({ name: 'p', section: 'xdp', type: BPF_PROG_TYPE.BPF_PROG_TYPE_XDP } as unknown as ProgramSpec, image, runtime.registerProgram(image));
      const r = testRun(runtime, program, { data: FRAME, repeat, cpu: 1 });
      const entries = [...map.entries()].map(([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`);
      return { retval: r.retval, r0: runtime.engine.r0, executed: runtime.engine.executed, entries };
    };
    expect(outcome('jit')).toEqual(outcome('interp'));
  });

  it('is taken for lookups only: another helper runs one by one', () => {
    const runtime = new Runtime({ engine: 'jit', perfReaders: false });
    const map = createMap(runtime, spec('array', 4, 8, 2), runtime.nextMapId);
    runtime.registerMap(map);
    const lookup = new ProgramImage('p', decodeProgram(assemble(counter(1)(map.header.start))));
    const other = new ProgramImage('q', decodeProgram(assemble('call 7\nmov %r0, 2\nexit'))); // bpf_get_prandom_u32
    const engine = runtime.engine;
    expect(typeof engine.runRepeat?.(lookup, 3)).toBe('number');
    expect(engine.runRepeat?.(other, 3)).toBeUndefined();
  });
});

describe('the instance an engine keeps on the image (ProgramImage.jitInstance)', () => {
  it('serves the engine that made it only: two engines run one image alternately', () => {
    const image = new ProgramImage('p', decodeProgram(assemble('mov %r0, %r1\nadd %r0, 5\ncall 8\nexit'))); // bpf_get_smp_processor_id
    const a = new Runtime({ engine: 'jit', perfReaders: false, cpus: 2 });
    const b = new Runtime({ engine: 'jit', perfReaders: false, cpus: 2 });
    for (let i = 0; i < 3; i++) {
      for (const [runtime, cpu] of [[a, 1], [b, 0]] as const) {
        runtime.engine.env = { host: runtime, cpu };
        expect(runtime.engine.run(image, { r1: 10 + i })).toBe(cpu);
        expect(runtime.engine.executed).toBe(4);
      }
    }
  });
});
