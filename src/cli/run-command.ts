/**
 * `xdplab run TOPOLOGY.yaml`: build the network a topology file describes, feed it its
 * captures, write what every interface sent, delivered and dropped, and print a table per
 * interface and hook (or JSON lines). With --expect, each packet's network expectation is
 * checked (cli/expect-network.ts). Exit 0, or 1 when a program faulted or a packet did not
 * meet its expectation, 2 on bad input. A topology with live interfaces (`live: IFACE`) runs
 * until --duration or Ctrl-C, then prints each live interface's counts (captured, dropped by
 * the kernel, sent out) too.
 */
import { Command } from 'commander';
import { engineOf, engineOption } from './engine-option.js';
import { capsOption, loadOptionsOf, noVerifyOption, refusedSiblingNotes, type VerifyCliOptions } from './verify-option.js';
import Table from 'cli-table3';
import { SingleBar } from 'cli-progress';
import { XdplabError } from '../errors.js';
import { loadTopology, type Topology } from '../topology/load.js';
import { BEFORE_AFTER_FILE, OutputFiles } from '../topology/outputs.js';
import { runTraffic, type RunStats } from '../topology/run.js';
import { EXIT_FAULT, type Io } from './main.js';
import { coverageOption, startCoverage } from './coverage-option.js';
import { collectionsByName, mapsTable } from './run-maps.js';
import { NetworkCheck } from './expect-network.js';
import { OutcomeRecorder } from '../net/outcomes.js';
import { ReportSink } from '../report/network-sink.js';
import { checkReportFile, reportOption, writeRunReport } from './report-option.js';

interface RunCliOptions extends VerifyCliOptions {
  out?: string;
  json?: boolean;
  seed?: string;
  cpus?: string;
  skipBad?: boolean;
  beforeAfter?: boolean;
  expect?: boolean;
  duration?: string;
  report?: string;
}

function durationOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const seconds = Number(text);
  if (!(seconds > 0 && seconds <= 1e7)) throw new XdplabError('USAGE', `--duration ${text}: expected seconds, a number > 0`);
  return seconds;
}

/** What each live interface took and sent, a line each. */
function liveLines(stats: RunStats): string {
  return stats.live.map((l) => `live ${l.nic} on ${l.host}: captured ${l.captured}, dropped by kernel ${l.droppedByKernel}, sent out ${l.sent}\n`).join('');
}

const HOOK_ORDER = ['wire', 'xdp', 'xdp-cpumap', 'tc-ingress', 'stack', 'xdp-devmap', 'tc-egress'];

function count(text: string | undefined, what: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new XdplabError('USAGE', `${what} ${text}: expected an integer ${min}..${max}`);
  return n;
}

export function summaryOf(topology: Topology, stats: RunStats): Record<string, unknown> {
  const network = topology.network;
  return {
    topology: topology.name,
    packets: stats.packets,
    skipped: stats.skipped,
    faults: network.faults,
    elapsed_ms: Math.round(stats.elapsedMs),
    interfaces: network.counters.toJSON(),
    trace: network.trace,
    ...(stats.live.length ? { live: stats.live } : {}),
  };
}

/**
 * "XDP_REDIRECT 208 (→ eth2 168, → eth3 40), XDP_PASS 77": each verdict and its count, the
 * details of XDP_REDIRECT (where the packets went) in parentheses after it, not beside it.
 */
export function verdictsText(verdicts: ReadonlyMap<string, number>, isDetail: (name: string) => boolean): string {
  const details = [...verdicts].filter(([name]) => isDetail(name)).map(([name, n]) => `${name.replace(/^redirect /, '')} ${n}`);
  const parts = [...verdicts].filter(([name]) => !isDetail(name)).map(([name, n]) => {
    const own = name === 'XDP_REDIRECT' && details.length > 0 ? ` (${details.splice(0).join(', ')})` : '';
    return `${name} ${n}${own}`;
  });
  return [...parts, ...details].join(', ');
}

function printTable(topology: Topology, stats: RunStats, io: Io): void {
  const table = new Table({ head: ['interface', 'hook', 'packets', 'pps', 'verdicts'], style: { head: [], border: [] } });
  const seconds = Math.max(stats.elapsedMs / 1000, 1e-9);
  for (const [nic, hooks] of topology.network.counters.byNic) {
    const names = [...hooks.keys()].sort((a, b) => HOOK_ORDER.indexOf(a) - HOOK_ORDER.indexOf(b));
    for (const hook of names) {
      const verdicts = hooks.get(hook)!;
      // Details of a verdict (where XDP_REDIRECT sent the packets) are not more packets.
      const total = hook === 'wire' ? undefined : topology.network.counters.packets(nic, hook);
      const detail = verdictsText(verdicts, (name) => topology.network.counters.isDetail(name));
      const pps = total === undefined ? '' : Math.round(total / seconds).toLocaleString('en-US');
      table.push([nic, hook, total === undefined ? '' : String(total), pps, detail]);
    }
  }
  io.out(`${topology.name}: ${stats.packets} packets in ${(stats.elapsedMs / 1000).toFixed(2)} s (${Math.round(stats.packets / seconds).toLocaleString('en-US')} packets/s)\n`);
  io.out(table.toString() + '\n');
  const maps = mapsTable(topology.collections, topology.file);
  if (maps) io.out(`maps after the run (entries not all zero; every map in summary.json):\n${maps}`);
  if (stats.skipped.length > 0) io.out(`skipped ${stats.skipped.length} malformed packets (--skip-bad)\n`);
  if (topology.network.faults > 0) io.out(`${topology.network.faults} program faults (see the dropped captures' comments)\n`);
}

function printJson(topology: Topology, stats: RunStats, io: Io): void {
  for (const [nic, hooks] of topology.network.counters.byNic) {
    for (const [hook, verdicts] of hooks) {
      const packets = hook === 'wire' ? {} : { packets: topology.network.counters.packets(nic, hook) };
      io.out(JSON.stringify({ interface: nic, hook, ...packets, verdicts: Object.fromEntries(verdicts) }) + '\n');
    }
  }
  io.out(JSON.stringify({ summary: summaryOf(topology, stats) }) + '\n');
}

export function registerRunCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('run')
    .description('run a topology: its captures through its networks of programs; write what came out, what was dropped and why')
    .argument('<topology.yaml>', 'the topology file (docs/topology.md)')
    .option('--out <dir>', 'where to write the outputs (default: the topology\'s outputs.dir, or out/<name>)')
    .option('--json', 'JSON lines instead of the table')
    .option('--seed <n>', 'bpf_get_prandom_u32\'s seed')
    .option('--cpus <n>', 'emulated CPUs')
    .option('--skip-bad', 'go on past malformed capture records, counting them')
    .option('--expect', 'check what the network did with each packet against its expectation (capture comment `expect: dropped edge/wan0 xdp`, or the traffic\'s expect: entries); exit 1 when one differs')
    .option('--duration <seconds>', 'with live interfaces (live: IFACE): stop after this many seconds (else at Ctrl-C)')
    .option('--before-after', `also write ${BEFORE_AFTER_FILE}: for every program run, the frame before and after it`)
    .addOption(coverageOption())
    .addOption(reportOption())
    .addOption(engineOption())
    .addOption(capsOption())
    .addOption(noVerifyOption())
    .action(async (file: string, opts: RunCliOptions & { engine?: string; coverage?: string }) => {
      const engine = engineOf(opts.engine);
      const seconds = durationOf(opts.duration);
      const outputs = new OutputFiles(opts.beforeAfter ?? false);
      const recorder = opts.expect ? new OutcomeRecorder(outputs) : undefined;
      checkReportFile(opts.report);
      const report = opts.report !== undefined ? new ReportSink(recorder ?? outputs) : undefined;
      const topology = loadTopology(file, report ?? recorder ?? outputs, {
        seed: count(opts.seed, '--seed', 0, 2 ** 32 - 1),
        cpus: count(opts.cpus, '--cpus', 1, 256),
        outputDir: opts.out,
        engine,
        load: loadOptionsOf(opts),
      });
      for (const collection of topology.collections.values()) {
        for (const note of refusedSiblingNotes(collection, [...topology.programs.values()].map((p) => p.name))) io.err(`xdplab: ${note}\n`);
      }
      const coverage = startCoverage(opts.coverage, topology.network.runtime, topology.collections, topology.name);
      report?.attach(topology.network);
      const check = recorder ? await NetworkCheck.of(topology, recorder, opts.skipBad ?? false) : undefined;
      outputs.setDirectory(topology.outputDir);
      const bar = process.stderr.isTTY && !opts.json ? new SingleBar({ format: 'replaying {value} packets | {rate} packets/s', hideCursor: true }) : undefined;
      let stats: RunStats;
      const abort = new AbortController();
      const onSigint = (): void => abort.abort();
      process.once('SIGINT', onSigint);
      try {
        bar?.start(0, 0, { rate: 0 });
        const started = performance.now();
        stats = await runTraffic(topology, {
          skipBad: opts.skipBad,
          seconds,
          signal: abort.signal,
          onProgress: (n) => bar?.update(n, { rate: Math.round(n / ((performance.now() - started) / 1000)) }),
          afterPacket: check?.afterPacket,
        });
        bar?.stop();
        await outputs.close('summary.json', summaryOf(topology, stats), collectionsByName(topology.collections, topology.file));
      } catch (err) {
        bar?.stop();
        await outputs.abort();
        throw err;
      } finally {
        process.removeListener('SIGINT', onSigint);
      }
      coverage.write();
      if (report) writeRunReport(opts.report!, report, topology, stats, coverage.lcov());
      for (const note of stats.notes) io.err(`xdplab: ${note}\n`);
      if (opts.json) printJson(topology, stats, io);
      else {
        printTable(topology, stats, io);
        io.out(liveLines(stats));
        io.out(`outputs: ${topology.outputDir}\n`);
      }
      check?.report.print(io, opts.json ?? false);
      if (topology.network.faults > 0 || check?.report.failed) setExit(EXIT_FAULT);
    });
}
