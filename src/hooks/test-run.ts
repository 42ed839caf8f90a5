/**
 * testRun: BPF_PROG_TEST_RUN for any program type xdplab runs — the hook of the program's type
 * builds the context, runs the program and returns what the kernel's test run returns.
 */
import { XdplabError } from '../errors.js';
import type { Program } from '../runtime/program.js';
import type { Runtime } from '../runtime/runtime.js';
import { PROG_TYPE_NAMES } from '../spec/section-names.js';
import { BPF_PROG_TYPE } from '../spec/types.js';
import { XdpHook, xdpActionName } from './xdp.js';

export interface TestRunInput {
  data: Uint8Array;
  ctx?: Uint8Array;
  repeat?: number;
  cpu?: number;
}

export interface TestRunResult {
  retval: number;
  /** The return value's name for the program type (XDP_PASS, TC_ACT_SHOT …). */
  verdict: string;
  dataOut: Uint8Array;
  ctxOut: Uint8Array;
  durationNs: number;
  trace: string[];
}

const xdpHooks = new WeakMap<Runtime, XdpHook>();

function xdpHook(runtime: Runtime): XdpHook {
  let hook = xdpHooks.get(runtime);
  if (!hook) {
    hook = new XdpHook(runtime);
    xdpHooks.set(runtime, hook);
  }
  return hook;
}

export function testRun(runtime: Runtime, program: Program, input: TestRunInput): TestRunResult {
  switch (program.type) {
    case BPF_PROG_TYPE.BPF_PROG_TYPE_XDP: {
      const r = xdpHook(runtime).testRun(program, input);
      return { retval: r.retval, verdict: xdpActionName(r.retval), dataOut: r.dataOut, ctxOut: r.ctxOut, durationNs: r.durationNs, trace: r.trace };
    }
    default:
      throw new XdplabError('UNSUPPORTED', `program ${program.name}: test runs of ${PROG_TYPE_NAMES[program.type] ?? `type ${program.type}`} programs are not supported`);
  }
}
