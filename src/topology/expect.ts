/**
 * Network expectations of a topology's traffic (`xdplab run --expect`): what the network must
 * do with each packet (net/outcomes.ts), from the capture's packet comments (`expect: dropped
 * edge/wan0 xdp`) or beside the traffic in the topology file:
 *
 *   traffic:
 *     - pcap: capture.pcapng
 *       into: edge/wan0
 *       expect:                          # packet number (from 1) or range → outcomes
 *         1: delivered server/eth0
 *         2-5: dropped edge/wan0 xdp
 *
 * The file's entry wins over a comment on the same packet. Errors name the file's line or the
 * capture's packet.
 */
import { XdplabError } from '../errors.js';
import type { Network } from '../net/network.js';
import { parseNetworkExpectation, type NetworkExpectation } from '../net/outcomes.js';
import { otherExpectLines } from '../hooks/expect.js';
import { openCapture } from '../pcap/reader.js';
import type { CaptureReaderOptions } from '../pcap/types.js';
import type { Cursor } from './cursor.js';

/** One `expect:` entry of a traffic source: packets first..last (from 1), where it is written. */
export interface TrafficExpectation {
  first: number;
  last: number;
  expectation: NetworkExpectation;
  at: Cursor;
}

const knownNic = (network: Network) => (id: string): boolean => network.interfaces.some((n) => n.id === id);

/** A traffic source's `expect:` mapping, validated against the network's interfaces. */
export function readTrafficExpect(at: Cursor, network: Network): TrafficExpectation[] {
  return at.entries().map(([key, value]) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(key.trim());
    const first = m ? Number(m[1]) : NaN;
    const last = m?.[2] !== undefined ? Number(m[2]) : first;
    if (!m || first < 1 || last < first) throw value.fail(`expected a packet number (from 1) or a range like 3-7 as the key, got ${JSON.stringify(key)}`);
    try {
      return { first, last, expectation: parseNetworkExpectation(value.string(), knownNic(network)), at: value };
    } catch (err) {
      if (err instanceof XdplabError && !err.message.startsWith('expect:')) throw err;
      throw value.fail((err as Error).message);
    }
  });
}

/** Packet number (from 1) → expectation, for one source. */
export type NetworkExpectations = Map<number, NetworkExpectation>;

/** A source's expectations: its capture's comments, then its `expect:` entries over them. */
export async function sourceExpectations(
  pcap: string, entries: readonly TrafficExpectation[], network: Network, options: CaptureReaderOptions,
): Promise<NetworkExpectations> {
  const out: NetworkExpectations = new Map();
  const reader = await openCapture(pcap, options);
  let packets = 0;
  try {
    await reader.forEach((rec) => {
      packets = rec.index + 1;
      const lines = otherExpectLines(rec.comment);
      if (lines.length > 1) throw new XdplabError('BAD_INPUT', `${pcap}: packet ${packets}: ${lines.length} network expectations in its comment (one a packet; list outcomes with commas)`);
      if (lines.length === 1) out.set(packets, inPacket(pcap, packets, lines[0], network));
    });
  } finally {
    await reader.close();
  }
  for (const e of entries) {
    if (e.last > packets) throw e.at.fail(`packet ${e.last}: ${pcap} has ${packets} packet${packets === 1 ? '' : 's'}`);
    for (let p = e.first; p <= e.last; p++) out.set(p, e.expectation);
  }
  return out;
}

function inPacket(pcap: string, packet: number, line: string, network: Network): NetworkExpectation {
  try {
    return parseNetworkExpectation(line, knownNic(network));
  } catch (err) {
    throw new XdplabError('BAD_INPUT', `${pcap}: packet ${packet}: ${(err as Error).message}`);
  }
}
