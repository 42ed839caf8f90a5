/**
 * Where `replay --expect` finds its expectations: the capture's packet comments (`expect:
 * XDP_DROP`, hooks/expect.ts), or a JSON file mapping packet numbers (from 1, or ranges
 * "13-20") to verdicts for captures without comments. Read before the replay starts, so a
 * malformed expectation stops the command (exit 2) before anything is run or written.
 */
import { XdplabError } from '../errors.js';
import { meetsVerdict, outcomeText, parseVerdictExpectation, verdictLines, type VerdictExpectation, type VerdictOutcome } from '../hooks/expect.js';
import { openCapture } from '../pcap/reader.js';
import type { CaptureReaderOptions } from '../pcap/types.js';
import type { ExpectReport } from './expect-report.js';
import { readJsonObject } from './files.js';

export type VerdictExpectations = Map<number, VerdictExpectation>;

/** Every packet's verdict expectation from the capture's comments, and how many packets it has. */
export async function expectationsFromCapture(pcap: string, options: CaptureReaderOptions): Promise<{ expectations: VerdictExpectations; packets: number }> {
  const reader = await openCapture(pcap, options);
  const expectations: VerdictExpectations = new Map();
  let packets = 0;
  try {
    await reader.forEach((rec) => {
      packets = rec.index + 1;
      const lines = verdictLines(rec.comment);
      if (lines.length > 1) throw new XdplabError('BAD_INPUT', `${pcap}: packet ${rec.index + 1}: ${lines.length} verdict expectations in its comment (one a packet)`);
      if (lines.length === 1) expectations.set(rec.index + 1, inPacket(pcap, rec.index + 1, lines[0]));
    });
  } finally {
    await reader.close();
  }
  return { expectations, packets };
}

function inPacket(pcap: string, packet: number, line: string): VerdictExpectation {
  try {
    return parseVerdictExpectation(line);
  } catch (err) {
    throw new XdplabError('BAD_INPUT', `${pcap}: packet ${packet}: ${(err as Error).message}`);
  }
}

/** `{"12": "XDP_DROP", "13-20": "XDP_PASS"}`: packet numbers (from 1) or ranges to verdicts. */
export function expectationsFromFile(file: string, packets: number): VerdictExpectations {
  const json = readJsonObject(file, 'an object of packet numbers to verdicts, like {"1": "XDP_DROP", "2-5": "XDP_PASS"}');
  const out: VerdictExpectations = new Map();
  for (const [key, value] of Object.entries(json)) {
    const [first, last] = packetRange(file, key, packets);
    if (typeof value !== 'string') throw new XdplabError('BAD_INPUT', `${file}: "${key}": expected a verdict string such as "XDP_DROP", got ${JSON.stringify(value)}`);
    let expectation: VerdictExpectation;
    try {
      expectation = parseVerdictExpectation(value);
    } catch (err) {
      throw new XdplabError('BAD_INPUT', `${file}: "${key}": ${(err as Error).message}`);
    }
    for (let p = first; p <= last; p++) out.set(p, expectation);
  }
  return out;
}

function packetRange(file: string, key: string, packets: number): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(key.trim());
  const first = m ? Number(m[1]) : NaN;
  const last = m?.[2] !== undefined ? Number(m[2]) : first;
  if (!m || first < 1 || last < first) throw new XdplabError('BAD_INPUT', `${file}: "${key}": expected a packet number (from 1) or a range like "3-7"`);
  if (last > packets) throw new XdplabError('BAD_INPUT', `${file}: "${key}": the capture has ${packets} packet${packets === 1 ? '' : 's'}`);
  return [first, last];
}

/** What a packet got in a replay, for the report: its verdict, a fault, or a refusal. */
export function checkPacket(
  report: ExpectReport, packet: number, want: VerdictExpectation, got: VerdictOutcome | { failed: string }, decided: () => string | undefined = () => undefined,
): void {
  if ('failed' in got) {
    report.check(false, () => ({ packet, expected: want.text, got: got.failed }));
    return;
  }
  report.check(meetsVerdict(want, got), () => ({ packet, expected: want.text, got: outcomeText(got), decided: decided() }));
}
