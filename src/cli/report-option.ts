/**
 * `--report FILE.html` on run and replay: a self-contained HTML page of the run (report/):
 * the topology, verdicts over capture time, drops by reason and deciding line, instruction
 * counts and run times, and the coverage when --coverage is given too. The path is checked
 * before the run; the page is written atomically after it. Runs are timed only with --report.
 */
import { Option } from 'commander';
import { checkOutputFile } from '../files.js';
import { coverageFromLcov } from '../report/coverage.js';
import { writeReport } from '../report/html.js';
import type { ReportSink } from '../report/network-sink.js';
import { networkPicture } from '../report/picture.js';
import type { Topology } from '../topology/load.js';
import type { RunStats } from '../topology/run.js';

export const reportOption = (): Option =>
  new Option('--report <file.html>', 'write an HTML report (one file, opens offline): topology, verdicts over time, drops by reason and source line, instruction counts and run times, coverage with --coverage');

/** Check --report's path before the run: an unwritable one ends the command (exit 2). */
export function checkReportFile(file: string | undefined): void {
  if (file !== undefined) checkOutputFile(file);
}

/** The coverage section's files, from the --coverage tracefile's text (when there is one). */
export const reportCoverage = (lcov: string | undefined): ReturnType<typeof coverageFromLcov> | undefined =>
  lcov === undefined ? undefined : coverageFromLcov(lcov);

/** A topology run's report, written to `file`. */
export function writeRunReport(file: string, sink: ReportSink, topology: Topology, stats: RunStats, lcov: string | undefined): void {
  sink.detach();
  const data = sink.collector.finish({
    title: topology.name,
    command: 'run',
    inputs: [topology.file, ...topology.traffic.map((t) => t.pcap)],
    packets: stats.packets,
    topology: networkPicture(topology.network, topology.traffic),
    coverage: reportCoverage(lcov),
  });
  // Where XDP_REDIRECT sent the packets: counted by the network beside the verdict (Counters.addDetail).
  const counters = topology.network.counters;
  for (const point of data.points) {
    const details = [...counters.byNic.get(point.nic)?.get(point.hook) ?? []].filter(([name]) => counters.isDetail(name));
    if (details.length) point.details = details;
  }
  writeReport(file, data);
}
