/** Running compiled filters: in xdplab (replay's PacketReplayer), in tcpdump, in the kernel. */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PacketReplayer, ReplayInputError, replayDevice, type ReplayHookName } from '../../src/hooks/replay.js';
import { KernelObject } from '../../src/kernel/bpftool.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import type { CompiledFilter } from '../../src/filter/index.js';

/** What xdplab did with each packet: passed, or not; `refused` those the hook cannot take (a TC test run's EINVAL). */
export interface Passes {
  passed: number[];
  refused: number[];
}

/** Indices of the packets the program passes (XDP_PASS, TC_ACT_OK); a fault fails. */
export function xdplabRun(compiled: CompiledFilter, packets: readonly Uint8Array[], hook: ReplayHookName = 'xdp'): Passes {
  // The interpreter: one short run per packet, no JIT compile per program.
  const runtime = new Runtime({ cpus: 1, seed: 1, engine: 'interp' });
  const collection = Collection.load(runtime, loadCollectionSpec(compiled.object, 'filter'));
  const replayer = new PacketReplayer(runtime, collection.program(compiled.program), { hook, context: 'test-run', device: replayDevice() });
  const out: Passes = { passed: [], refused: [] };
  packets.forEach((p, i) => {
    let retval: number;
    try {
      retval = replayer.run(p, 0, 0);
    } catch (err) {
      if (!(err instanceof ReplayInputError)) throw err;
      out.refused.push(i);
      return;
    }
    if (replayer.fault) throw replayer.fault;
    if (retval === (hook === 'xdp' ? 2 : 0)) out.passed.push(i);
  });
  return out;
}

export const xdplabPasses = (compiled: CompiledFilter, packets: readonly Uint8Array[], hook: ReplayHookName = 'xdp'): number[] =>
  xdplabRun(compiled, packets, hook).passed;

/** Why tcpdump cannot be asked, or undefined. */
export function tcpdumpMissing(): string | undefined {
  const r = spawnSync('tcpdump', ['--version'], { encoding: 'utf8' });
  return r.error || r.status !== 0 ? 'tcpdump is not installed' : undefined;
}

/** Capture times: packet i of a capture is stamped FIRST_SECOND + i seconds (captures.ts writes them). */
export const FIRST_SECOND = 1700000000;

/** The packets `tcpdump -r CAP EXPR` prints (with -O: libpcap's optimizer off), by index from 0 (read back from each line's -tt timestamp). */
export function tcpdumpMatches(capture: string, expr: string, options: { unoptimized?: boolean } = {}): number[] {
  const flags = ['-r', capture, '-nn', '-tt', '-q', ...(options.unoptimized ? ['-O'] : [])];
  const r = spawnSync('tcpdump', [...flags, '--', ...(expr ? [expr] : [])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tcpdump '${expr}': ${r.stderr.trim()}`);
  return r.stdout.split('\n').flatMap((line) => {
    const m = /^(\d+)\.\d+ /.exec(line);
    return m ? [Number(m[1]) - FIRST_SECOND] : [];
  });
}

/** The kernel's answers: the object loaded by bpftool, each packet one BPF_PROG_TEST_RUN (refused: EINVAL, as a TC test run of a short frame). */
export function kernelRun(c: CompiledFilter, list: readonly Uint8Array[]): Passes {
  const file = path.join(os.tmpdir(), `xdplab-filter-${process.pid}-${c.program}.o`);
  writeFileSync(file, c.object);
  const k = new KernelObject(file);
  const pass = c.hook === 'xdp' ? 2 : 0;
  try {
    const answers = k.runMany(c.program, list);
    return {
      passed: answers.flatMap((a, i) => ('retval' in a && a.retval === pass ? [i] : [])),
      refused: answers.flatMap((a, i) => ('refused' in a ? [i] : [])),
    };
  } finally {
    k.close();
  }
}
