/**
 * The project's clang-built objects (test/fixtures/bpf, topologies/*) in both engines: every
 * XDP and TC program run as BPF_PROG_TEST_RUN on a set of frames, with identical verdicts,
 * output bytes, trace output, map contents and faults.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BPF_PROG_TYPE } from '../../src/uapi/bpf.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { testRun } from '../../src/hooks/test-run.js';
import type { EngineKind } from '../../src/vm/engine.js';
import { repoRoot } from '../support/conformance.js';
import { assemble } from '../../src/isa/asm.js';
import { decodeProgram } from '../../src/isa/instruction.js';
import { ProgramImage } from '../../src/vm/image.js';
import { Program } from '../../src/runtime/program.js';
import type { ProgramSpec } from '../../src/spec/types.js';

const objects = [
  ...readdirSync(path.join(repoRoot, 'test/fixtures/bpf')).filter((f) => f.endsWith('.bpf.o')).map((f) => path.join('test/fixtures/bpf', f)),
  ...readdirSync(path.join(repoRoot, 'topologies')).flatMap((dir) =>
    readdirSync(path.join(repoRoot, 'topologies', dir)).filter((f) => f.endsWith('.bpf.o')).map((f) => path.join('topologies', dir, f))),
];

/** Frames: IPv4 TCP and UDP, IPv6, ARP, VLAN, short and long. */
function frames(): Uint8Array[] {
  const eth = (type: number, payload: number[]): Uint8Array =>
    Uint8Array.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, type >> 8, type & 0xff, ...payload]);
  const ipv4 = (proto: number, l4: number[]): number[] => {
    const total = 20 + l4.length;
    return [0x45, 0, total >> 8, total & 0xff, 0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 10, 0, 1, 2, ...l4];
  };
  const tcp = [0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0];
  const udp = [0x30, 0x39, 0x00, 0x35, 0, 16, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];
  const ipv6 = [0x60, 0, 0, 0, 0, 20, 6, 64, ...new Array(15).fill(0), 1, ...new Array(15).fill(0), 2, ...tcp];
  return [
    eth(0x0800, ipv4(6, tcp)),
    eth(0x0800, ipv4(17, udp)),
    eth(0x86dd, ipv6),
    eth(0x0806, new Array(28).fill(1)),
    eth(0x8100, [0, 5, 0x08, 0x00, ...ipv4(6, tcp)]),
    eth(0x0800, [...ipv4(17, udp), ...new Array(1200).fill(0xab)]),
  ];
}

function runAll(file: string, engine: EngineKind): unknown[] {
  const bytes = new Uint8Array(readFileSync(path.join(repoRoot, file)));
  const runtime = new Runtime({ engine, perfReaders: false });
  let collection: Collection;
  try {
    collection = Collection.load(runtime, loadCollectionSpec(bytes, file));
  } catch (err) {
    return [`load: ${(err as Error).message}`];
  }
  const results: unknown[] = [];
  for (const [name, program] of collection.programs) {
    const kind = program.type;
    if (kind !== BPF_PROG_TYPE.BPF_PROG_TYPE_XDP && kind !== BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_CLS
      && kind !== BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_ACT) continue;
    for (const data of frames()) {
      try {
        const r = testRun(runtime, program, { data, repeat: 3 });
        results.push({
          name, retval: r.retval, out: Buffer.from(r.dataOut).toString('hex'), trace: r.trace, exitPc: runtime.engine.exitPc,
          executed: runtime.engine.executed,
        });
      } catch (err) {
        results.push({ name, error: (err as Error).message });
      }
    }
  }
  for (const [name, map] of collection.maps) {
    try {
      results.push({ map: name, entries: [...map.entries()].map(([k, v]) => `${Buffer.from(k).toString('hex')}=${Buffer.from(v).toString('hex')}`) });
    } catch (err) {
      results.push({ map: name, error: (err as Error).message });
    }
  }
  return results;
}

describe('clang-built objects give identical results in the JIT and the interpreter', () => {
  let runs = 0;
  it.each(objects)('%s', (file) => {
    const interp = runAll(file, 'interp');
    expect(runAll(file, 'jit')).toEqual(interp);
    runs += interp.filter((r) => typeof r === 'object' && r !== null && 'retval' in r).length;
  });
  it('ran programs to their end', () => {
    expect(runs).toBeGreaterThan(100);
  });
});

describe('BPF_PROG_TEST_RUN repeat: in one call into the JIT for programs without helpers, as N runs', () => {
  const REPEATS = [1, 2, 1001];
  const run = (engine: EngineKind, asm: string, repeat: number): unknown => {
    const runtime = new Runtime({ engine, perfReaders: false });
    const spec: ProgramSpec = {
      name: 'p', section: 'xdp', type: BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, instructions: decodeProgram(assemble(asm)).insns,
    } as unknown as ProgramSpec;
    const image = new ProgramImage('p', decodeProgram(assemble(asm)));
    const program = new Program(spec, image, runtime.registerProgram(image));
    try {
      const r = testRun(runtime, program, { data: frames()[0], repeat });
      return { retval: r.retval, out: Buffer.from(r.dataOut).toString('hex'), executed: runtime.engine.executed, exitPc: runtime.engine.exitPc };
    } catch (err) {
      return { error: (err as Error).message, executed: runtime.engine.executed, regs: Array.from(runtime.engine.regs).join(',') };
    }
  };
  // A counter in the packet's first byte; the run that finds it at 0x40 reads NULL.
  const counting = 'ldxw %r2, [%r1+0]\nldxb %r3, [%r2+0]\nadd %r3, 1\nstxb [%r2+0], %r3\njne %r3, 0x40, +2\nmov %r4, 0\nldxb %r0, [%r4+0]\nmov %r0, 2\nexit';
  it.each(REPEATS)('repeat %i', (repeat) => {
    for (const asm of [counting, 'mov %r0, 1\nexit']) expect(run('jit', asm, repeat)).toEqual(run('interp', asm, repeat));
  });
});
