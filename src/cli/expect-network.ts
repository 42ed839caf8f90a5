/**
 * `run --expect`: each packet of a topology's traffic that carries a network expectation
 * (topology/expect.ts: its capture comment or the traffic's `expect:` entry) is checked, once
 * it has run to completion, against what the network did with it (net/outcomes.ts, recorded
 * by the OutcomeRecorder the topology's sink goes through).
 */
import path from 'node:path';
import { XdplabError } from '../errors.js';
import { dropReasons, meetsOutcomes, outcomesText, type OutcomeRecorder } from '../net/outcomes.js';
import { LINKTYPE_ETHERNET } from '../pcap/types.js';
import { sourceExpectations, type NetworkExpectations } from '../topology/expect.js';
import type { Topology } from '../topology/load.js';
import { ExpectReport } from './expect-report.js';

export class NetworkCheck {
  readonly report = new ExpectReport();

  private constructor(private readonly recorder: OutcomeRecorder, private readonly bySource: NetworkExpectations[], private readonly names: (string | undefined)[]) {}

  /** Every source's expectations, read before the run; none at all is an error. */
  static async of(topology: Topology, recorder: OutcomeRecorder, skipBad: boolean): Promise<NetworkCheck> {
    const bySource: NetworkExpectations[] = [];
    for (const source of topology.traffic) {
      const options = { skipBad, linkTypes: [LINKTYPE_ETHERNET], ethernet: { destination: source.into.mac } };
      bySource.push(await sourceExpectations(source.pcap, source.expect, topology.network, options));
    }
    if (bySource.every((m) => m.size === 0)) {
      throw new XdplabError('BAD_INPUT', `${topology.file}: --expect: no expectation to check (no packet comment says \`expect: delivered|dropped|sent …\`, and no traffic has an expect: section)`);
    }
    const names = topology.traffic.map((s) => (topology.traffic.length > 1 ? path.basename(s.pcap) : undefined));
    return new NetworkCheck(recorder, bySource, names);
  }

  /** After a packet ran: check it against its expectation, then forget its outcomes. */
  readonly afterPacket = (source: number, index: number): void => {
    const packet = index + 1;
    const want = this.bySource[source].get(packet);
    const got = this.recorder.outcomes;
    if (!want) this.report.unchecked++;
    else {
      this.report.check(meetsOutcomes(want, got), () => ({
        packet, capture: this.names[source], expected: want.text, got: outcomesText(got), decided: dropReasons(got),
      }));
    }
    this.recorder.clear();
  };
}
