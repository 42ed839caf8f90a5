/**
 * What `xdplab firewall` prints about decisions: each packet's (JSON fields), and the counter
 * table after the run — a row a rule in file order, then the default, non-IP and malformed —
 * as `iptables -v -L --line-numbers` and `nft list ruleset` counters show them.
 */
import type { Decision, DecisionCount } from './tables.js';

/** A decision as JSON: {"by": "rule", "rule": N (from 1), "name"?, "line"} or {"by": "default"}. */
export function decisionJson(d: Decision): Record<string, unknown> {
  if (d.by !== 'rule') return { by: d.by };
  return { by: 'rule', rule: d.rule.index + 1, ...(d.rule.name !== undefined ? { name: d.rule.name } : {}), line: d.rule.line };
}

/** One JSON object a counter row. */
export function hitsJsonLines(hits: readonly DecisionCount[]): string {
  return hits.map((h) => JSON.stringify({ counter: decisionJson(h.decision), action: h.action, packets: h.packets, bytes: h.bytes }) + '\n').join('');
}

/** The counter table, columns aligned. */
export function formatHits(hits: readonly DecisionCount[]): string {
  const rows = [['rule', 'line', 'name', 'action', 'packets', 'bytes']];
  for (const h of hits) {
    const d = h.decision;
    const [rule, line, name] = d.by === 'rule' ? [String(d.rule.index + 1), String(d.rule.line), d.rule.name ?? ''] : ['', '', d.by];
    rows.push([rule, line, name, h.action, String(h.packets), String(h.bytes)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const right = [true, true, false, false, true, true];
  return rows.map((r) => r.map((cell, i) => (right[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i]))).join('  ').trimEnd()).join('\n') + '\n';
}

/** A decision in words: `rule 2 "web" (line 12)`, `the default`, `not IP`, `malformed`. */
export function decisionText(d: Decision): string {
  if (d.by === 'rule') return `rule ${d.rule.index + 1}${d.rule.name !== undefined ? ` ${JSON.stringify(d.rule.name)}` : ''} (line ${d.rule.line})`;
  return d.by === 'default' ? 'the default' : d.by === 'non-ip' ? 'not IP' : 'malformed';
}
