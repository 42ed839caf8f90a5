/**
 * testRun: BPF_PROG_TEST_RUN for any program type xdplab runs — the hook of the program's type
 * builds the context, runs the program and returns what the kernel's test run returns.
 */
import { XdplabError } from '../errors.js';
import type { Program } from '../runtime/program.js';
import type { Runtime } from '../runtime/runtime.js';
import { PROG_TYPE_NAMES } from '../spec/section-names.js';
import { BPF_PROG_TYPE } from '../uapi/bpf.js';
import type { RedirectTarget } from '../helpers/env.js';
import type { DeviceTable } from '../netcore/net-device.js';
import { TcHook, tcActionName } from './tc.js';
import { XdpHook, xdpActionName } from './xdp.js';

export interface TestRunInput {
  data: Uint8Array;
  ctx?: Uint8Array;
  repeat?: number;
  cpu?: number;
  /** TC: ctx_out was asked for without ctx_in (the kernel then runs with a zeroed __sk_buff). */
  ctxOut?: boolean;
  /** TC: devices ctx_in's ifindex and the helpers may name (default: the loopback only). */
  devices?: DeviceTable;
  /** TC: the cgroup v2 id bpf_skb_cgroup_id reports for the test socket (default 1). */
  cgroupId?: number;
}

export interface TestRunResult {
  retval: number;
  /** The return value's name for the program type (XDP_PASS, TC_ACT_SHOT …). */
  verdict: string;
  dataOut: Uint8Array;
  ctxOut: Uint8Array;
  durationNs: number;
  trace: string[];
  /** Where a bpf_redirect* asked the packet to go (XDP_REDIRECT, TC_ACT_REDIRECT), if it did. */
  redirect: RedirectTarget | undefined;
}

/** The runtime's test-run hooks (their contexts and frames live in its arena), made once each. */
const makeXdpHook = (runtime: Runtime): XdpHook => new XdpHook(runtime);
const makeTcHook = (runtime: Runtime): TcHook => new TcHook(runtime);
const xdpHook = (runtime: Runtime): XdpHook => runtime.own(makeXdpHook);
const tcHook = (runtime: Runtime): TcHook => runtime.own(makeTcHook);

export function testRun(runtime: Runtime, program: Program, input: TestRunInput): TestRunResult {
  switch (program.type) {
    case BPF_PROG_TYPE.BPF_PROG_TYPE_XDP: {
      const r = xdpHook(runtime).testRun(program, input);
      return { retval: r.retval, verdict: xdpActionName(r.retval), dataOut: r.dataOut, ctxOut: r.ctxOut, durationNs: r.durationNs, trace: r.trace, redirect: r.env.redirect };
    }
    case BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_CLS:
    case BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_ACT: {
      const r = tcHook(runtime).testRun(program, input);
      return { retval: r.retval, verdict: tcActionName(r.retval), dataOut: r.dataOut, ctxOut: r.ctxOut, durationNs: r.durationNs, trace: r.trace, redirect: r.env.redirect };
    }
    default:
      throw new XdplabError('UNSUPPORTED', `program ${program.name}: test runs of ${PROG_TYPE_NAMES[program.type] ?? `type ${program.type}`} programs are not supported`);
  }
}
