/**
 * Assertions on a program run, as matchers any `expect.extend` takes (vitest's, jest's): each
 * gets the RunOutcome of TestObject.run and returns { pass, message }. Every failure message
 * says what was expected and what came, where the verdict was decided (program, pc, C line),
 * and the packet before and after the run. `toEqualPacket` shows the differences field by field.
 * testing/vitest.ts registers them with vitest.
 */
import { buildPacket, type Layer } from '../packet/index.js';
import type { RunOutcome } from './object.js';
import { describePacket, diffPackets } from './packet-diff.js';

export interface MatcherResult {
  pass: boolean;
  message: () => string;
}

/** What vitest and jest hand a matcher as `this`: only `isNot` is read. */
interface MatcherContext {
  isNot?: boolean;
}

function isOutcome(v: unknown): v is RunOutcome {
  return typeof v === 'object' && v !== null && 'verdict' in v && 'decided' in v && 'before' in v;
}

/** The lines every failure shows under its first: where the verdict came from, the packet before and after. */
export function context(run: RunOutcome): string {
  const { decided } = run;
  const tail = decided.program === run.program ? '' : ` (tail call into ${decided.program})`;
  return [
    `  decided at: ${decided.line ?? 'no line info'}, pc ${decided.pc}${tail}`,
    `  before: ${describePacket(run.before)}`,
    `  after:  ${describePacket(run.after)}`,
    ...(run.trace.length ? [`  bpf_trace_printk: ${run.trace.join(' / ')}`] : []),
  ].join('\n');
}

const notAnOutcome = (received: unknown): MatcherResult => ({
  pass: false,
  message: () => `expected the result of TestObject.run (a RunOutcome), got ${typeof received}`,
});

function verdictIs(ctx: MatcherContext, received: unknown, want: readonly string[], label: string, target?: number): MatcherResult {
  if (!isOutcome(received)) return notAnOutcome(received);
  const verdictOk = want.includes(received.verdict);
  const where = received.redirect ? `${received.redirect.kind} ${received.redirect.target}` : undefined;
  const targetOk = target === undefined || received.redirect?.target === target;
  const pass = verdictOk && targetOk;
  const wanted = target === undefined ? label : `${label} to ${target}`;
  const got = received.verdict + (where && received.verdict.endsWith('REDIRECT') ? ` to ${where}` : '');
  return {
    pass,
    message: () => `${ctx.isNot ? `expected ${received.program} not to return ${wanted}, but it did` : `expected ${received.program} to return ${wanted}, got ${got}`}\n${context(received)}`,
  };
}

export const matchers = {
  /** XDP_DROP. */
  toDrop(this: MatcherContext, received: unknown): MatcherResult {
    return verdictIs(this, received, ['XDP_DROP'], 'XDP_DROP');
  },
  /** XDP_PASS. */
  toPass(this: MatcherContext, received: unknown): MatcherResult {
    return verdictIs(this, received, ['XDP_PASS'], 'XDP_PASS');
  },
  /** XDP_TX: sent back out of the interface it came in on. */
  toTx(this: MatcherContext, received: unknown): MatcherResult {
    return verdictIs(this, received, ['XDP_TX'], 'XDP_TX');
  },
  /** XDP_ABORTED. */
  toAbort(this: MatcherContext, received: unknown): MatcherResult {
    return verdictIs(this, received, ['XDP_ABORTED'], 'XDP_ABORTED');
  },
  /** XDP_REDIRECT or TC_ACT_REDIRECT, to `target` (an ifindex or CPU) when given. */
  toRedirect(this: MatcherContext, received: unknown, target?: number): MatcherResult {
    return verdictIs(this, received, ['XDP_REDIRECT', 'TC_ACT_REDIRECT'], 'a redirect', target);
  },
  /** TC_ACT_OK: the packet goes on. */
  toBeOk(this: MatcherContext, received: unknown): MatcherResult {
    return verdictIs(this, received, ['TC_ACT_OK'], 'TC_ACT_OK');
  },
  /** TC_ACT_SHOT: the packet is dropped. */
  toBeShot(this: MatcherContext, received: unknown): MatcherResult {
    return verdictIs(this, received, ['TC_ACT_SHOT'], 'TC_ACT_SHOT');
  },
  /** Any verdict by name (TC_ACT_PIPE, XDP_PASS …). */
  toHaveVerdict(this: MatcherContext, received: unknown, verdict: string): MatcherResult {
    return verdictIs(this, received, [verdict], verdict);
  },
  /** The packet after the run (or the bytes given) equals `expected` (bytes, or layers to build). */
  toEqualPacket(this: MatcherContext, received: unknown, expected: Uint8Array | Layer[]): MatcherResult {
    const actual = isOutcome(received) ? received.after : received instanceof Uint8Array ? received : undefined;
    if (!actual) return notAnOutcome(received);
    const want = expected instanceof Uint8Array ? expected : buildPacket(expected);
    const diff = diffPackets(want, actual);
    const extra = isOutcome(received) ? `\n${context(received)}` : '';
    return {
      pass: diff.length === 0,
      message: () => (this.isNot
        ? `expected the packet not to equal ${describePacket(want)}, but it did${extra}`
        : `expected the packet to equal ${describePacket(want)}; it differs:\n${diff.map((l) => `  ${l}`).join('\n')}${extra}`),
    };
  },
};

/** The matchers' types, for `declare module 'vitest'` (testing/vitest.ts) and jest's own. */
export interface RunMatchers<R = unknown> {
  toDrop(): R;
  toPass(): R;
  toTx(): R;
  toAbort(): R;
  toRedirect(target?: number): R;
  toBeOk(): R;
  toBeShot(): R;
  toHaveVerdict(verdict: string): R;
  toEqualPacket(expected: Uint8Array | Layer[]): R;
}
