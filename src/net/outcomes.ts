/**
 * What the network did with a packet, and what it was expected to do.
 *
 * An OutcomeRecorder is a PacketSink placed in front of another: it passes every record on
 * and keeps the outcomes of the packet being injected — each interface that put it (or what
 * became of it) on its wire, each node that took it for itself, each hook that dropped it.
 *
 * A network expectation lists outcomes, comma-separated:
 *
 *   delivered NODE/IF           the node's stack took it, received on NODE/IF
 *   dropped NODE/IF [HOOK]      dropped at NODE/IF, by HOOK if named: xdp, tc-ingress,
 *                               tc-egress, xdp-devmap, xdp-cpumap, tc (a failed TC redirect),
 *                               stack (routing, TTL, MTU, neighbours …)
 *   sent NODE/IF                NODE/IF put it on its wire
 *
 * It is met when every listed outcome happened. What else happened (wires crossed on the
 * way, a copy a switch flooded to a port whose host ignored it) is not checked: list it to
 * check it.
 */
import { XdplabError } from '../errors.js';
import { withoutNote } from '../hooks/expect.js';
import type { VirtualNic } from './nic.js';
import type { PacketSink, PacketTime } from './recorder.js';

export type OutcomeKind = 'delivered' | 'dropped' | 'sent';

export interface Outcome {
  kind: OutcomeKind;
  /** The interface, as `node/if`. */
  nic: string;
  /** For a drop: the hook (as the expectation names it, or as the network dropped it). */
  hook?: string;
  /** For a drop that happened: the network's comment on it (program, verdict, pc, C line). */
  reason?: string;
}

export interface NetworkExpectation {
  outcomes: Outcome[];
  /** As written, without its note. */
  text: string;
}

export const DROP_HOOKS = ['xdp', 'tc-ingress', 'tc-egress', 'xdp-devmap', 'xdp-cpumap', 'tc', 'stack'] as const;
const KINDS: readonly string[] = ['delivered', 'dropped', 'sent'];

/** Parse `delivered server/eth0, dropped edge/wan0 xdp`; `known` checks each interface's name. */
export function parseNetworkExpectation(written: string, known: (nic: string) => boolean): NetworkExpectation {
  const text = withoutNote(written);
  if (!text) throw new XdplabError('BAD_INPUT', 'expect: nothing expected (write delivered NODE/IF, dropped NODE/IF [HOOK] or sent NODE/IF)');
  const outcomes = text.split(',').map((part) => parseOutcome(part.trim(), known));
  return { outcomes, text };
}

function parseOutcome(part: string, known: (nic: string) => boolean): Outcome {
  const [kind, nic, hook, ...rest] = part.split(/\s+/);
  if (!KINDS.includes(kind)) {
    throw new XdplabError('BAD_INPUT', `expect: ${JSON.stringify(part)}: expected delivered NODE/IF, dropped NODE/IF [HOOK] or sent NODE/IF (or a verdict such as XDP_DROP)`);
  }
  if (nic === undefined) throw new XdplabError('BAD_INPUT', `expect: ${JSON.stringify(part)}: ${kind} where? (an interface, NODE/IF)`);
  if (!known(nic)) throw new XdplabError('BAD_INPUT', `expect: ${JSON.stringify(part)}: no interface ${nic} in the topology`);
  const extra = kind === 'dropped' ? rest : [hook, ...rest].filter((w) => w !== undefined);
  if (extra.length > 0) throw new XdplabError('BAD_INPUT', `expect: ${JSON.stringify(part)}: unexpected ${JSON.stringify(extra.join(' '))}`);
  if (kind === 'dropped' && hook !== undefined && !(DROP_HOOKS as readonly string[]).includes(hook)) {
    throw new XdplabError('BAD_INPUT', `expect: ${JSON.stringify(part)}: no hook ${hook} (one of ${DROP_HOOKS.join(', ')})`);
  }
  return kind === 'dropped' && hook !== undefined ? { kind, nic, hook } : { kind: kind as OutcomeKind, nic };
}

const matches = (want: Outcome, got: Outcome): boolean =>
  want.kind === got.kind && want.nic === got.nic && (want.hook === undefined || want.hook === got.hook);

/** Whether what happened (`got`) meets the expectation. */
export function meetsOutcomes(expected: NetworkExpectation, got: readonly Outcome[]): boolean {
  return expected.outcomes.every((want) => got.some((g) => matches(want, g)));
}

/** Outcomes in the expectation's words: `sent edge/lan0, delivered server/eth0`. */
export function outcomesText(got: readonly Outcome[]): string {
  if (got.length === 0) return 'nothing (no wire, delivery or drop)';
  return got.map((o) => `${o.kind} ${o.nic}${o.hook ? ` ${o.hook}` : ''}`).join(', ');
}

/** The reasons of the drops among `got` (what decided them): the first, and how many more. */
export function dropReasons(got: readonly Outcome[]): string | undefined {
  const reasons = got.filter((o) => o.reason).map((o) => `${o.nic} ${o.reason}`);
  return reasons.length === 0 ? undefined : reasons.join('; ');
}

/** A sink in front of another, keeping the outcomes of the packet being injected. */
export class OutcomeRecorder implements PacketSink {
  readonly outcomes: Outcome[] = [];
  readonly ran?: PacketSink['ran'];

  constructor(private readonly inner: PacketSink) {
    if (inner.ran) this.ran = inner.ran.bind(inner);
  }

  /** Forget the outcomes kept so far (before the next packet). */
  clear(): void {
    this.outcomes.length = 0;
  }

  tx(nic: VirtualNic, frame: Uint8Array, time: PacketTime): void {
    this.outcomes.push({ kind: 'sent', nic: nic.id });
    this.inner.tx(nic, frame, time);
  }

  delivered(nic: VirtualNic, frame: Uint8Array, time: PacketTime): void {
    this.outcomes.push({ kind: 'delivered', nic: nic.id });
    this.inner.delivered(nic, frame, time);
  }

  dropped(nic: VirtualNic, frame: Uint8Array, time: PacketTime, comment: string): void {
    const colon = comment.indexOf(':');
    this.outcomes.push({ kind: 'dropped', nic: nic.id, hook: colon > 0 ? comment.slice(0, colon) : undefined, reason: comment });
    this.inner.dropped(nic, frame, time, comment);
  }
}
