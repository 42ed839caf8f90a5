/**
 * The report of `--expect` (replay and run alike): how many packets were checked, and each
 * one that did not get what it was expected to get — its number (from 1, as Wireshark counts),
 * what was expected, what it got, and where that was decided.
 *
 *   expect: 593 packets checked (0 without an expectation), 1 differs:
 *     packet 12: expected XDP_DROP, got XDP_PASS (at pc 40: firewall.bpf.c:120: return XDP_PASS;)
 */
import type { Io } from './main.js';

export interface ExpectDifference {
  /** The packet's number, from 1. */
  packet: number;
  /** The capture it came from, when a run has several. */
  capture?: string;
  expected: string;
  got: string;
  /** Where the outcome was decided (the pc and C line of the verdict, a drop's reason). */
  decided?: string;
}

export class ExpectReport {
  checked = 0;
  unchecked = 0;
  readonly differences: ExpectDifference[] = [];

  /** One checked packet: `ok`, or its difference. */
  check(ok: boolean, difference: () => ExpectDifference): void {
    this.checked++;
    if (!ok) this.differences.push(difference());
  }

  get failed(): boolean {
    return this.differences.length > 0;
  }

  lines(): string[] {
    const n = this.differences.length;
    const head = `expect: ${this.checked} packet${this.checked === 1 ? '' : 's'} checked (${this.unchecked} without an expectation), ` +
      (n === 0 ? 'all as expected' : `${n} differ${n === 1 ? 's' : ''}:`);
    return [head, ...this.differences.map(differenceLine)];
  }

  print(io: Io, toStderr: boolean): void {
    const text = this.lines().join('\n') + '\n';
    if (toStderr) io.err(text);
    else io.out(text);
  }
}

export function differenceLine(d: ExpectDifference): string {
  return `  packet ${d.packet}${d.capture ? ` of ${d.capture}` : ''}: expected ${d.expected}, got ${d.got}${d.decided ? ` (${d.decided})` : ''}`;
}
