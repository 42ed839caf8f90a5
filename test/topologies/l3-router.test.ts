/**
 * topologies/l3-router: xdp_router.
 *
 * What bpf_fib_lookup answers depends on the machine's routing tables, so the kernel can
 * only be compared where the answer does not: packets the program decides before the lookup
 * (not IP, TTL expiring, truncated headers) — verdicts, bytes and counters — and packets it
 * looks up, whose verdict and bytes are the same whatever the host's FIB says, because the
 * kernel's copy has no tx_ports (no lookup can end in a rewrite and a redirect).
 *
 * The forwarding itself — TTL and checksum, MAC rewrite, XDP_REDIRECT through tx_ports, and
 * each kind of FIB failure — is tested in xdplab with the FIB the emulator builds from the
 * topology (r1's routes and neighbours), over the whole capture.
 */
import { describe, expect, it } from 'vitest';
import { testRun } from '../../src/hooks/test-run.js';
import { KernelRecord } from '../support/kernel-record.js';
import {
  expectSameMaps, expectSameRuns, hex, ipv4HeaderValid, kernelSide, loadObject, loadScenario, macText,
  objectPath, readCapture, scenarioCollection, tableFromCapture, tally, xdplabEntries, xdplabSide,
} from './support.js';
import { XDP_PASS } from '../../src/uapi/bpf.js';

const SCENARIO = 'l3-router';
const OBJECT = 'router.bpf.o';
const PROGRAM = 'xdp_router';
const REASONS = [
  'RT_FORWARD_V4', 'RT_FORWARD_V6', 'RT_PASS_NOT_IP', 'RT_PASS_TTL', 'RT_PASS_LOCAL', 'RT_PASS_NO_NEIGH', 'RT_PASS_FRAG_NEEDED',
  'RT_PASS_NO_TX_PORT', 'RT_PASS_OTHER', 'RT_DROP_UNREACHABLE', 'RT_DROP_MALFORMED',
];
const ACTION: Record<string, number> = { RT_FORWARD_V4: 4, RT_FORWARD_V6: 4, RT_DROP_UNREACHABLE: 1, RT_DROP_MALFORMED: 1 };
/** The capture as the README counts it (XDP on r1/eth1). */
const EXPECTED = {
  RT_FORWARD_V4: 142, RT_FORWARD_V6: 66, RT_PASS_NOT_IP: 9, RT_PASS_TTL: 14, RT_PASS_LOCAL: 25, RT_PASS_NO_NEIGH: 8,
  RT_PASS_FRAG_NEEDED: 6, RT_PASS_NO_TX_PORT: 15, RT_DROP_UNREACHABLE: 18, RT_DROP_MALFORMED: 4,
};
/** Where r1 sends what it forwards: egress MAC (eth2 / eth3) and the next hop's. */
const NEXT_HOP: Record<string, { smac: string; dmac: string }> = {
  '10.2.0.10': { smac: '02:00:00:00:02:01', dmac: '02:00:00:00:02:0a' },
  '192.0.2.1': { smac: '02:00:00:00:03:01', dmac: '02:00:00:00:03:02' },
  '2001:db8:2::10': { smac: '02:00:00:00:02:01', dmac: '02:00:00:00:02:0a' },
  '2001:db8:ffff::1': { smac: '02:00:00:00:03:01', dmac: '02:00:00:00:03:02' },
};

/** xdp_md with ingress_ifindex = r1/eth1 (2), as the NIC would give it. */
function ingressCtx(frameLength: number): Uint8Array {
  const ctx = new Uint8Array(24);
  const v = new DataView(ctx.buffer);
  v.setUint32(4, frameLength, true); // data_end
  v.setUint32(12, 2, true); // ingress_ifindex
  return ctx;
}

function dstText(frame: Uint8Array): string {
  if (frame[12] === 0x08) return [...frame.subarray(30, 34)].join('.');
  const groups: string[] = [];
  for (let i = 38; i < 54; i += 2) groups.push(((frame[i] << 8) | frame[i + 1]).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

const capture = readCapture(SCENARIO);

describe('l3-router: xdp_router over the capture with r1\'s FIB (xdplab)', () => {
  it('the capture holds what the README says it holds', () => {
    expect(capture.length).toBe(307);
    expect(tally(capture)).toEqual(EXPECTED);
  });

  it('forwards, passes and drops each packet as its comment says, rewriting what it forwards', () => {
    const topo = loadScenario(SCENARIO);
    const r1 = topo.network.nodes.find((n) => n.name === 'r1')!;
    const runtime = topo.network.runtime;
    runtime.fib = r1.fib;
    const collection = scenarioCollection(topo, SCENARIO, OBJECT);
    const program = collection.program(PROGRAM);
    const totals = (): number[] => xdplabEntries(collection.map('router_stats')).map((e) => Number(Buffer.from(e.value!, 'hex').readBigUInt64LE(0)));
    let before = totals();
    const wrong: string[] = [];
    for (const p of capture) {
      const r = testRun(runtime, program, { data: p.frame, ctx: ingressCtx(p.frame.length) });
      const after = totals();
      const reason = REASONS[after.findIndex((n, i) => n !== before[i])];
      before = after;
      const want = p.labels[0];
      if (reason !== want || r.retval !== (ACTION[want] ?? XDP_PASS)) wrong.push(`#${p.index} ${p.what}: ${reason} ${r.verdict}, expected ${want}`);
      const out = r.dataOut;
      if (r.retval !== 4) {
        if (hex(out) !== hex(p.frame)) wrong.push(`#${p.index} ${p.what}: changed without being forwarded`);
        continue;
      }
      const v4 = p.frame[12] === 0x08;
      const hop = NEXT_HOP[dstText(p.frame)];
      const problems = [
        macText(out.subarray(0, 6)) !== hop?.dmac && 'destination MAC',
        macText(out.subarray(6, 12)) !== hop?.smac && 'source MAC',
        v4 && out[22] !== p.frame[22] - 1 && 'TTL',
        !v4 && out[21] !== p.frame[21] - 1 && 'hop limit',
        v4 && !ipv4HeaderValid(out, 14) && 'IPv4 checksum',
        // Nothing but the MACs, the TTL / hop limit and the IPv4 checksum may change.
        hex(out.subarray(v4 ? 26 : 22)) !== hex(p.frame.subarray(v4 ? 26 : 22)) && 'other bytes',
      ].filter(Boolean);
      if (problems.length) wrong.push(`#${p.index} ${p.what}: ${problems.join(', ')}`);
    }
    expect(wrong).toEqual([]);
    expect(Object.fromEntries(REASONS.map((r, i) => [r, before[i]]).filter(([, n]) => n))).toEqual(EXPECTED);
  });
});

const record = KernelRecord.for(import.meta.url);

describe('l3-router: xdplab agrees with the kernel (BPF_PROG_TEST_RUN)', () => {
  const kernel = record.object(objectPath(SCENARIO, OBJECT));

  it('xdp_router: what it decides before the FIB, then what it looks up', () => {
    const { runtime, collection } = loadObject(SCENARIO, OBJECT);
    const beforeFib = new Set(['RT_PASS_NOT_IP', 'RT_PASS_TTL', 'RT_DROP_MALFORMED']);
    const table = (fib: boolean): { name: string; data: Uint8Array }[] =>
      tableFromCapture(capture, (p) => beforeFib.has(p.labels[0]) !== fib).map((p) => ({ name: `${p.labels[0]}: ${p.what}`, data: p.frame }));
    expectSameRuns(PROGRAM, table(false), xdplabSide(runtime, collection), kernelSide(kernel));
    expectSameMaps(collection, kernel, [['router_stats', 'entries']]);
    // The counters of these depend on the host's routes (and forwarding on lo): not compared.
    expectSameRuns(PROGRAM, table(true), xdplabSide(runtime, collection), kernelSide(kernel));
  });
});
