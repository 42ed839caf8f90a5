/**
 * Expectations as written in packet comments: verdicts (hooks/expect.ts) and network outcomes
 * (net/outcomes.ts) — their syntax, notes, errors, and when an outcome meets one.
 */
import { describe, expect, it } from 'vitest';
import { meetsVerdict, otherExpectLines, outcomeText, parseVerdictExpectation, verdictLines } from '../../src/hooks/expect.js';
import { meetsOutcomes, outcomesText, parseNetworkExpectation, type Outcome } from '../../src/net/outcomes.js';

describe('verdict expectations', () => {
  it('reads a verdict, a redirect\'s target and leaves the note out', () => {
    expect(parseVerdictExpectation('XDP_DROP — blocked port 23')).toEqual({ verdict: 'XDP_DROP', text: 'XDP_DROP' });
    expect(parseVerdictExpectation(' TC_ACT_SHOT # rate limited')).toEqual({ verdict: 'TC_ACT_SHOT', text: 'TC_ACT_SHOT' });
    expect(parseVerdictExpectation('XDP_REDIRECT ifindex 3')).toEqual({ verdict: 'XDP_REDIRECT', redirect: { place: 'ifindex', target: 3 }, text: 'XDP_REDIRECT ifindex 3' });
    expect(parseVerdictExpectation('XDP_REDIRECT cpu 1').redirect).toEqual({ place: 'cpu', target: 1 });
  });

  it.each([
    ['', /nothing expected/],
    ['XDP_DORP', /"XDP_DORP" is not an XDP or TC verdict/],
    ['XDP_PASS ifindex 2', /XDP_PASS takes nothing after it/],
    ['XDP_REDIRECT ifindex', /a redirect names its target/],
    ['XDP_REDIRECT ifindex 3 4', /a redirect names its target/],
  ])('refuses %j', (text, message) => {
    expect(() => parseVerdictExpectation(text)).toThrow(message);
  });

  it('tells a comment\'s verdict lines from its network lines, and leaves its other lines alone', () => {
    const comment = 'FW_DROP_PORT | tcp to 23\nexpect: XDP_DROP\nexpect: dropped edge/wan0 xdp\nnot an expect: line';
    expect(verdictLines(comment)).toEqual(['XDP_DROP']);
    expect(otherExpectLines(comment)).toEqual(['dropped edge/wan0 xdp']);
    expect(verdictLines(undefined)).toEqual([]);
  });

  it('a redirect meets its expectation by where it went: ifindex (bpf_redirect or a devmap entry), cpu, xsk', () => {
    const want = parseVerdictExpectation('XDP_REDIRECT ifindex 3');
    expect(meetsVerdict(want, { verdict: 'XDP_REDIRECT', redirect: { kind: 'devmap', target: 3 } })).toBe(true);
    expect(meetsVerdict(want, { verdict: 'XDP_REDIRECT', redirect: { kind: 'ifindex', target: 4 } })).toBe(false);
    expect(meetsVerdict(want, { verdict: 'XDP_REDIRECT', redirect: { kind: 'cpumap', target: 3 } })).toBe(false);
    expect(meetsVerdict(parseVerdictExpectation('XDP_REDIRECT'), { verdict: 'XDP_REDIRECT', redirect: { kind: 'cpumap', target: 1 } })).toBe(true);
    expect(outcomeText({ verdict: 'XDP_REDIRECT', redirect: { kind: 'cpumap', target: 1 } })).toBe('XDP_REDIRECT cpu 1');
    expect(outcomeText({ verdict: 'XDP_PASS' })).toBe('XDP_PASS');
  });
});

describe('network expectations', () => {
  const known = (nic: string): boolean => ['edge/wan0', 'edge/lan0', 'server/eth0'].includes(nic);

  it('reads comma-separated outcomes, a drop\'s hook optional', () => {
    expect(parseNetworkExpectation('sent edge/lan0, delivered server/eth0 — allowed', known).outcomes).toEqual([
      { kind: 'sent', nic: 'edge/lan0' }, { kind: 'delivered', nic: 'server/eth0' },
    ]);
    expect(parseNetworkExpectation('dropped edge/wan0', known).outcomes).toEqual([{ kind: 'dropped', nic: 'edge/wan0' }]);
  });

  it.each([
    ['delivered', /delivered where\?/],
    ['delivered nowhere/eth0', /no interface nowhere\/eth0 in the topology/],
    ['delivered server/eth0 now', /unexpected "now"/],
    ['dropped edge/wan0 xdp twice', /unexpected "twice"/],
    ['dropped edge/wan0 firewall', /no hook firewall/],
    ['passed edge/wan0', /expected delivered NODE\/IF, dropped NODE\/IF \[HOOK\] or sent NODE\/IF/],
  ])('refuses %j', (text, message) => {
    expect(() => parseNetworkExpectation(text, known)).toThrow(message);
  });

  it('is met when every listed outcome happened; what else happened is not checked', () => {
    const got: Outcome[] = [{ kind: 'sent', nic: 'edge/lan0' }, { kind: 'delivered', nic: 'server/eth0' }, { kind: 'dropped', nic: 'edge/wan0', hook: 'stack', reason: 'stack: x' }];
    expect(meetsOutcomes(parseNetworkExpectation('delivered server/eth0', known), got)).toBe(true);
    expect(meetsOutcomes(parseNetworkExpectation('dropped edge/wan0', known), got)).toBe(true);
    expect(meetsOutcomes(parseNetworkExpectation('dropped edge/wan0 xdp', known), got)).toBe(false);
    expect(meetsOutcomes(parseNetworkExpectation('delivered server/eth0, sent edge/wan0', known), got)).toBe(false);
    expect(outcomesText(got)).toBe('sent edge/lan0, delivered server/eth0, dropped edge/wan0 stack');
    expect(outcomesText([])).toBe('nothing (no wire, delivery or drop)');
  });
});
