/**
 * The shipped captures as expectation suites: every packet's comment says, in xdplab's words,
 * what its scenario's program returns (`expect: XDP_DROP`, checked by `replay --expect`) and
 * what the network does with it (`expect: dropped edge/wan0 xdp`, checked by `run --expect`).
 * Both are held to the labels the scenario tests count, and both hold in xdplab.
 */
import { describe, expect, it } from 'vitest';
import { meetsVerdict, outcomeText, parseVerdictExpectation } from '../../src/hooks/expect.js';
import { PacketReplayer, replayDevice, type ReplayHookName } from '../../src/hooks/replay.js';
import { NULL_SINK } from '../../src/net/recorder.js';
import { OutcomeRecorder } from '../../src/net/outcomes.js';
import { NetworkCheck } from '../../src/cli/expect-network.js';
import { loadTopology } from '../../src/topology/load.js';
import { runTraffic } from '../../src/topology/run.js';
import path from 'node:path';
import { readCapture, scenarioCollection, scenarioDir, loadScenario, type LabelledPacket } from './support.js';

interface Shipped {
  scenario: string;
  object: string;
  program: string;
  hook: ReplayHookName;
  /** The verdict each label stands for (the first label for TC NAT: what egress does). */
  verdictOf: (p: LabelledPacket) => string | undefined;
}

const SHIPPED: Shipped[] = [
  { scenario: 'edge-firewall', object: 'firewall.bpf.o', program: 'xdp_firewall', hook: 'xdp', verdictOf: (p) => (p.labels[0].startsWith('FW_DROP') ? 'XDP_DROP' : 'XDP_PASS') },
  {
    scenario: 'l3-router', object: 'router.bpf.o', program: 'xdp_router', hook: 'xdp',
    verdictOf: (p) => (p.labels[0].startsWith('RT_FORWARD') ? 'XDP_REDIRECT' : p.labels[0].startsWith('RT_DROP') ? 'XDP_DROP' : 'XDP_PASS'),
  },
  { scenario: 'l4-lb', object: 'lb.bpf.o', program: 'xdp_lb', hook: 'xdp', verdictOf: (p) => ({ LB_TX: 'XDP_TX', LB_PA: 'XDP_PASS', LB_DR: 'XDP_DROP' })[p.labels[0].slice(0, 5)] },
  {
    scenario: 'tc-nat-vlan', object: 'nat.bpf.o', program: 'tc_wan_egress', hook: 'tc-egress',
    verdictOf: (p) => (p.labels[0].startsWith('STACK') ? undefined : p.labels[0].startsWith('EG_DROP') ? 'TC_ACT_SHOT' : 'TC_ACT_OK'),
  },
];

/** Each packet's verdict expectation against what the scenario's program returns for it, as `replay --expect` runs it. */
function verdictDifferences(s: Shipped, capture: LabelledPacket[]): string[] {
  const topology = loadScenario(s.scenario);
  const program = scenarioCollection(topology, s.scenario, s.object).program(s.program);
  const runtime = topology.network.runtime;
  let device;
  if (s.scenario === 'l3-router') {
    // The router asks the FIB: r1's, with the packets arriving on r1/eth1 (ifindex 2).
    const r1 = topology.network.nodes.find((n) => n.name === 'r1')!;
    runtime.fib = r1.fib;
    device = replayDevice(r1.nics[0].mac);
  }
  const replayer = new PacketReplayer(runtime, program, { hook: s.hook, context: device ? 'path' : 'test-run', device });
  const wrong: string[] = [];
  for (const p of capture) {
    if (!p.verdict) continue;
    replayer.run(p.frame, 0, p.ns);
    const got = { verdict: replayer.verdictName(), redirect: replayer.redirect };
    if (!meetsVerdict(parseVerdictExpectation(p.verdict), got)) wrong.push(`packet ${p.index + 1}: expected ${p.verdict}, got ${outcomeText(got)}`);
  }
  return wrong;
}

describe.each(SHIPPED)('$scenario: the capture is an expectation suite', (s) => {
  const capture = readCapture(s.scenario);

  it('every packet states its expectations, in the words of its label', () => {
    const disagree = capture.filter((p) => (p.verdict?.split(' ')[0]) !== s.verdictOf(p)).map((p) => `packet ${p.index + 1}: ${p.labels.join(',')} but ${p.verdict}`);
    expect(disagree).toEqual([]);
    expect(capture.filter((p) => p.network === undefined)).toEqual([]);
  });

  it(`${s.program} returns what every packet's expect: line says (replay --expect)`, () => {
    expect(verdictDifferences(s, capture)).toEqual([]);
  });

  it('the network does with every packet what its expect: line says (run --expect)', async () => {
    const recorder = new OutcomeRecorder(NULL_SINK);
    const topology = loadTopology(path.join(scenarioDir(s.scenario), 'topology.yaml'), recorder);
    const check = await NetworkCheck.of(topology, recorder, false);
    await runTraffic(topology, { afterPacket: check.afterPacket });
    expect(check.report.differences).toEqual([]);
    expect(check.report.checked).toBe(capture.length);
  });
});
