/**
 * A reference evaluator of rule sets, written from the rules' documentation alone (README.md,
 * "Intent rules") and sharing nothing with src/firewall/ but the parsed RuleSet: it reads the
 * frame's bytes itself and tries the rules one by one, first match wins. The semantic and
 * property tests hold the compiled program to it packet by packet.
 */
import type { Rule, RuleSet } from '../../src/firewall/schema.js';

export type RefDecision = { by: 'rule'; index: number } | { by: 'default' | 'non-ip' | 'malformed' };

interface Headers {
  family: 4 | 6;
  protocol: number;
  src: Uint8Array;
  dst: Uint8Array;
  ports?: { src: number; dst: number };
}

const PORTED = [6, 17, 132];

/** The frame's IP headers, 'non-ip', or 'malformed' (a header cut short or inconsistent). */
export function readHeaders(f: Uint8Array): Headers | 'non-ip' | 'malformed' {
  if (f.length < 14) return 'malformed';
  let type = (f[12] << 8) | f[13];
  let at = 14;
  if (type === 0x8100 || type === 0x88a8) {
    if (f.length < 18) return 'malformed';
    type = (f[16] << 8) | f[17];
    at = 18;
  }
  let h: Headers;
  let l4: number | undefined;
  if (type === 0x0800) {
    if (f.length < at + 20 || f[at] >> 4 !== 4 || (f[at] & 15) < 5 || f.length < at + (f[at] & 15) * 4) return 'malformed';
    h = { family: 4, protocol: f[at + 9], src: f.slice(at + 12, at + 16), dst: f.slice(at + 16, at + 20) };
    const fragment = (((f[at + 6] & 0x1f) << 8) | f[at + 7]) !== 0;
    if (!fragment) l4 = at + (f[at] & 15) * 4;
  } else if (type === 0x86dd) {
    if (f.length < at + 40 || f[at] >> 4 !== 6) return 'malformed';
    h = { family: 6, protocol: f[at + 6], src: f.slice(at + 8, at + 24), dst: f.slice(at + 24, at + 40) };
    l4 = at + 40;
  } else {
    return 'non-ip';
  }
  if (l4 !== undefined && PORTED.includes(h.protocol)) {
    if (f.length < l4 + 4) return 'malformed';
    h.ports = { src: (f[l4] << 8) | f[l4 + 1], dst: (f[l4 + 2] << 8) | f[l4 + 3] };
  }
  return h;
}

function inCidr(addr: Uint8Array, net: { addr: Uint8Array; prefix: number }): boolean {
  if (addr.length !== net.addr.length) return false;
  for (let bit = 0; bit < net.prefix; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((addr[bit >> 3] & mask) !== (net.addr[bit >> 3] & mask)) return false;
  }
  return true;
}

const inRanges = (port: number, ranges: Rule['ports']): boolean => ranges.length === 0 || ranges.some((r) => r.lo <= port && port <= r.hi);

export function ruleMatches(r: Rule, h: Headers, direction: 'ingress' | 'egress'): boolean {
  if (r.direction !== 'any' && r.direction !== direction) return false;
  if (r.protocols && !r.protocols.some((p) => p === h.protocol && !(p === 1 && h.family !== 4) && !(p === 58 && h.family !== 6))) return false;
  if (r.from.length && !r.from.some((c) => inCidr(h.src, c))) return false;
  if (r.to.length && !r.to.some((c) => inCidr(h.dst, c))) return false;
  if (r.ports.length || r.sourcePorts.length) {
    if (!h.ports || !inRanges(h.ports.dst, r.ports) || !inRanges(h.ports.src, r.sourcePorts)) return false;
  }
  return true;
}

/** What the rules decide for the frame, and the action. */
export function referenceDecide(set: RuleSet, frame: Uint8Array, direction: 'ingress' | 'egress'): { decision: RefDecision; action: 'allow' | 'deny' } {
  const h = readHeaders(frame);
  if (h === 'malformed') return { decision: { by: 'malformed' }, action: 'deny' };
  if (h === 'non-ip') return { decision: { by: 'non-ip' }, action: set.nonIp };
  const ordered = set.rules.map((r, i) => ({ r, i })).sort((a, b) => (a.r.priority ?? 0) - (b.r.priority ?? 0) || a.i - b.i);
  for (const { r } of ordered) if (ruleMatches(r, h, direction)) return { decision: { by: 'rule', index: r.index }, action: r.action };
  return { decision: { by: 'default' }, action: set.default };
}
