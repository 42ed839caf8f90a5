/**
 * `xdplab replay`: one program, one capture, no topology — every packet of the capture runs
 * through the program at its hook as the kernel's own path would run it (hooks/replay.ts),
 * with maps carried over from packet to packet.
 *
 *   xdplab replay OBJ PROG --pcap IN [--hook xdp|tc-ingress|tc-egress] [--out OUT.pcap] [--json]
 *                 [--seed N] [--cpus N] [--skip-bad] [--maps-in F] [--maps-out F] [--path [--dev-mac MAC]]
 *                 [--expect [F.json]]
 *   xdplab replay OBJ PROG --live IFACE [--count N] [--duration S] [--filter EXPR] [same options]
 *
 * --live runs the frames arriving on a host interface (live/: libpcap, inbound only) through
 * the same loop, until N frames have arrived, S seconds or Ctrl-C; frames that leave by the
 * device they came in on (XDP_TX, a redirect to it: PacketReplayer.leavesBack) are injected
 * back out of IFACE. bpf_ktime_get_ns is the host's monotonic clock, timestamps the capture's;
 * the summary adds the interface's counts (captured, dropped by the kernel's ring: exact).
 *
 * Each packet reaches the program as BPF_PROG_TEST_RUN would hand it over (so every answer
 * can be checked against the kernel's test run), or with --path as the kernel's own receive or
 * transmit path would on a device eth0 (hooks/replay.ts, ReplayContext).
 *
 * Output: a summary (packets, by verdict, faults, skipped records, packets/s) or, with --json,
 * one object a packet: {"index", "cpu", "retval", "verdict", "out"} (+ "trace" when the program
 * printed, "redirect" when it redirected, "fault" when it faulted), or {"index", "refused"} for
 * a packet the hook cannot take (one a test run refuses too, e.g. too short for the IP header
 * its EtherType announces): counted, reported, and the replay goes on. --out writes the packets
 * that go on (see PacketReplayer.passed) as a pcap, atomically.
 * --expect checks every packet that carries a verdict expectation (its comment's `expect:
 * XDP_DROP` line, or the JSON file's entry; cli/expect-verdicts.ts) and reports each that got
 * something else, with where the verdict was decided (cli/expect-report.ts); exit 1 then.
 * Exit codes: 0; 1 when the program faulted on some packet (the rest still ran); 2 for bad
 * input (a malformed capture names file, packet — counted from 1, as Wireshark does — and
 * offset; with --skip-bad such records are counted and skipped).
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import { engineOf, engineOption } from './engine-option.js';
import { capsOption, loadOptionsOf, noVerifyOption, refusedSiblingNotes, type VerifyCliOptions } from './verify-option.js';
import { XdplabError } from '../errors.js';
import { PacketReplayer, REPLAY_HOOKS, ReplayInputError, replayDevice, type ReplayHookName } from '../hooks/replay.js';
import { createCaptureWriter } from '../pcap/writer.js';
import { openCapture } from '../pcap/reader.js';
import { packetName } from '../pcap/parser.js';
import { LINKTYPE_ETHERNET, type CaptureReaderOptions, type CaptureRecord, type CaptureWriter, type SkippedRecord } from '../pcap/types.js';
import { LiveSource } from '../live/source.js';
import { Collection } from '../runtime/collection.js';
import { coverageByOption, coverageOption, startCoverage } from './coverage-option.js';
import { verdictSource } from '../runtime/program.js';
import { Runtime } from '../runtime/runtime.js';
import { loadCollectionSpec } from '../spec/loader.js';
import { BPF_PROG_TYPE } from '../uapi/bpf.js';
import { checkOutputFile } from '../files.js';
import { EXIT_FAULT, EXIT_OK, type Io } from './main.js';
import { loadMapsIn, writeMapsFile } from './maps-json.js';
import { readObjectFile } from '../spec/compile-c.js';
import { ExpectReport } from './expect-report.js';
import { checkPacket, expectationsFromCapture, expectationsFromFile, type VerdictExpectations } from './expect-verdicts.js';
import { ReplayReport } from '../report/replay.js';
import { replayPicture } from '../report/picture.js';
import { writeReport } from '../report/html.js';
import { reportCoverage, reportOption } from './report-option.js';

export interface ReplayOptions extends VerifyCliOptions {
  pcap?: string;
  live?: string;
  count?: string;
  duration?: string;
  filter?: string;
  hook?: ReplayHookName;
  engine?: string;
  out?: string;
  json?: boolean;
  seed: string;
  cpus: string;
  skipBad?: boolean;
  mapsIn?: string;
  mapsOut?: string;
  coverage?: string;
  coverageBy?: string;
  devMac?: string;
  path?: boolean;
  /** --expect: true (the capture's comments) or a JSON file of packet numbers to verdicts. */
  expect?: string | boolean;
  report?: string;
}

/** What a replay counted; `byVerdict` by verdict name, in order of first appearance. */
export interface ReplaySummary {
  packets: number;
  byVerdict: Map<string, number>;
  byCpu: number[];
  faults: number;
  /** Malformed records the reader skipped (--skip-bad). */
  skipped: number;
  /** Packets the hook could not take (too short for a test run, …): reported, not run. */
  refused: number;
  written: number;
  seconds: number;
  /** A live run's interface counts. */
  live?: LiveCounts;
}

/** What a live run adds to the summary: the interface's counts (pcap_stats) and the frames sent back out. */
export interface LiveCounts {
  captured: number;
  droppedByKernel: number;
  interfaceRxDropped: number;
  injected: number;
}

/** Where a replay's packets come from: a capture file's reader, or a live interface. */
interface PacketSource {
  forEach(visit: (record: CaptureRecord) => void): Promise<number>;
  readonly skipped: readonly SkippedRecord[];
  readonly notes: readonly string[];
  close(): Promise<void>;
}

/** Verdicts counted by retval without allocating: small values in an array, the rest in a map. */
const SMALL_VERDICTS = 16;
/** Output is handed to Io in pieces of about this many characters. */
const FLUSH_AT = 1 << 16;

const positiveInt = (text: string, what: string, min: number, max: number): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) throw new XdplabError('USAGE', `${what} ${text}: expected an integer ${min}..${max}`);
  return n;
};

function parseMac(text: string): Uint8Array {
  const m = /^([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})$/i.exec(text);
  if (!m) throw new XdplabError('USAGE', `--dev-mac ${text}: expected a MAC address like 02:00:00:00:00:01`);
  return Uint8Array.from(m.slice(1).map((h) => parseInt(h, 16)));
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');

/** The hook a program runs at when --hook is not given: its type's. */
function defaultHook(type: number): ReplayHookName {
  return type === BPF_PROG_TYPE.BPF_PROG_TYPE_XDP ? 'xdp' : 'tc-ingress';
}

/** The source options, checked: exactly one of --pcap and --live; the live-only ones only with --live. */
function checkSource(opts: ReplayOptions): { count?: number; seconds?: number } {
  if ((opts.pcap === undefined) === (opts.live === undefined)) throw new XdplabError('USAGE', 'replay: give either --pcap FILE or --live IFACE');
  if (opts.live !== undefined && opts.expect !== undefined) throw new XdplabError('USAGE', '--expect checks the packets of a capture (--pcap), not live traffic');
  if (opts.pcap !== undefined) {
    const liveOnly = (['count', 'duration', 'filter'] as const).find((o) => opts[o] !== undefined);
    if (liveOnly) throw new XdplabError('USAGE', `--${liveOnly} is for --live runs (a capture replay runs every packet of the file)`);
    return {};
  }
  const count = opts.count === undefined ? undefined : positiveInt(opts.count, '--count', 0, Number.MAX_SAFE_INTEGER);
  const seconds = opts.duration === undefined ? undefined : Number(opts.duration);
  if (seconds !== undefined && !(seconds > 0 && seconds <= 1e7)) throw new XdplabError('USAGE', `--duration ${opts.duration}: expected seconds, a number > 0`);
  return { count, seconds };
}

/**
 * What a command built on replay adds (`xdplab firewall`): its own maps' contents, fields in
 * each packet's JSON object, lines after the summary.
 */
export interface ReplayExtension {
  /** After the load, before --maps-in and the first packet. */
  loaded?(collection: Collection): void;
  /** With --out F.pcapng, for each packet written: a comment added after the input's. */
  packetComment?(replayer: PacketReplayer): string;
  /** With --json, after each packet that ran: fields added to its object. */
  packetJson?(replayer: PacketReplayer): Record<string, unknown>;
  /** After the summary. */
  finished?(io: Io, json: boolean): void;
  /** Why the packet that just ran got its verdict, in words, for an --expect difference (instead of the pc and C line). */
  decidedBy?(replayer: PacketReplayer): string;
  /** The object's bytes when they are not in the file `obj` (a filter compiled in memory; `obj` then names it). */
  object?: Uint8Array;
}

export async function runReplay(obj: string, progName: string, opts: ReplayOptions, io: Io, extension: ReplayExtension = {}): Promise<{ code: number; summary: ReplaySummary }> {
  const cpus = positiveInt(opts.cpus, '--cpus', 1, 1024);
  const seed = positiveInt(opts.seed, '--seed', 0, 0xffffffff);
  const limits = checkSource(opts);
  // Every output path is checked before the replay: a bad one ends the command at once.
  for (const file of [opts.out, opts.mapsOut, opts.report]) if (file !== undefined) checkOutputFile(file);
  const runtime = new Runtime({ cpus, seed, engine: engineOf(opts.engine) });
  const collection = Collection.load(runtime, loadCollectionSpec(extension.object ?? readObjectFile(obj), obj), loadOptionsOf(opts));
  const program = collection.program(progName);
  for (const note of refusedSiblingNotes(collection, [program.name])) io.err(`xdplab: ${note}\n`);
  extension.loaded?.(collection);
  if (opts.mapsIn) loadMapsIn(collection, opts.mapsIn);
  const coverage = startCoverage(opts.coverage, runtime, new Map([[obj, collection]]), path.basename(obj), opts.coverageBy);
  const device = replayDevice(opts.devMac ? parseMac(opts.devMac) : undefined);
  const context = opts.path ? 'path' : 'test-run';
  // Live: the host's clock, as the kernel's bpf_ktime_get_ns; a capture: its own time (deterministic).
  const clock = opts.live !== undefined ? 'host' : 'capture';
  const replayer = new PacketReplayer(runtime, program, { hook: opts.hook ?? defaultHook(program.type), context, device, clock });
  const decidedBy = extension.decidedBy?.bind(extension);
  const htmlReport = opts.report !== undefined ? new ReplayReport(runtime, opts.live ?? device.name, decidedBy) : undefined;

  const skipBad = opts.skipBad ?? false;
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  const live = opts.live !== undefined ? new LiveSource(opts.live, { filter: opts.filter }, { ...limits, signal: abort.signal }) : undefined;
  // Linux cooked and raw IP captures come in as the Ethernet frames device eth0 would have received.
  const readerOptions: CaptureReaderOptions = { skipBad, linkTypes: [LINKTYPE_ETHERNET], ethernet: { destination: device.mac } };
  const expectations = opts.expect === undefined ? undefined : await readExpectations(opts.pcap!, opts.expect, readerOptions);
  const report = new ExpectReport();
  const reader: PacketSource = live ?? await openCapture(opts.pcap!, readerOptions);
  const inputName = live ? `live ${live.name}` : opts.pcap!;
  let writer: CaptureWriter | undefined;
  try {
    // A .pcapng keeps the input's packet comments and names its interface; anything else is a pcap.
    writer = opts.out ? createCaptureWriter(opts.out, {
      format: opts.out.endsWith('.pcapng') ? 'pcapng' : 'pcap',
      interfaceName: live ? live.name : 'eth0',
      interfaceDescription: `the packets ${program.name} passed on (xdplab replay of ${inputName})`,
    }) : undefined;
  } catch (err) {
    await reader.close();
    throw err;
  }

  const json = opts.json ?? false;
  const small = new Float64Array(SMALL_VERDICTS);
  const large = new Map<number, number>();
  const byCpu = new Array<number>(cpus).fill(0);
  let packets = 0;
  let faults = 0;
  let refused = 0;
  let written = 0;
  let injected = 0;
  let pending = '';
  const faultLines: string[] = [];
  const refusedLines: string[] = [];

  const expectPacket = (packet: number): void => {
    const wanted = expectations!.get(packet);
    if (!wanted) report.unchecked++;
    else if (replayer.fault) checkPacket(report, packet, wanted, { failed: `a fault: ${collection.explainFault(replayer.fault).message}` });
    else {
      const by = (): string => (extension.decidedBy ? extension.decidedBy(replayer) : decidedAt(runtime));
      checkPacket(report, packet, wanted, { verdict: replayer.verdictName(), redirect: replayer.redirect }, by);
    }
  };

  const visit = (rec: CaptureRecord): void => {
    try {
      replayer.runRecord(rec);
    } catch (err) {
      // A packet the hook cannot take (the kernel's test run of it fails too): reported on
      // its own line and counted; the replay goes on.
      if (!(err instanceof ReplayInputError)) throw err;
      refused++;
      if (refusedLines.length < 5) refusedLines.push(`${packetName(rec.index)}: ${err.message}`);
      const wanted = expectations?.get(rec.index + 1);
      if (wanted) checkPacket(report, rec.index + 1, wanted, { failed: `refused: ${err.message}` });
      else if (expectations) report.unchecked++;
      if (json) pending += JSON.stringify({ index: rec.index, refused: err.message }) + '\n';
      return;
    }
    packets++;
    htmlReport?.packet(replayer, rec.tsSec, rec.tsNsec);
    byCpu[replayer.cpu]++;
    const retval = replayer.retval;
    coverage.packetDone(replayer.fault ? 'fault' : replayer.verdictName(retval));
    if (replayer.fault) {
      faults++;
      if (faultLines.length < 5) faultLines.push(`${packetName(rec.index)}: ${collection.explainFault(replayer.fault).message}`);
    } else if (retval < SMALL_VERDICTS) {
      small[retval]++;
    } else {
      large.set(retval, (large.get(retval) ?? 0) + 1);
    }
    if (expectations) expectPacket(rec.index + 1);
    if (live && replayer.leavesBack) {
      live.inject(replayer.output());
      injected++;
    }
    if (writer && replayer.passed) {
      const out = replayer.output();
      const comment = extension.packetComment ? [rec.comment ?? '', extension.packetComment(replayer)] : rec.comment;
      writer.write(out, rec.tsSec, rec.tsNsec, comment, out.length + Math.max(0, rec.origLen - rec.capLen));
      written++;
    }
    if (json) {
      pending += packetJson(rec.index, replayer, replayer.fault ? undefined : extension.packetJson?.(replayer)) + '\n';
      if (pending.length >= FLUSH_AT) {
        io.out(pending);
        pending = '';
      }
    }
  };

  const started = performance.now();
  if (live) {
    process.once('SIGINT', onSigint);
    io.err(`xdplab: capturing on ${live.name}${opts.filter ? ` (${opts.filter})` : ''}, inbound frames; Ctrl-C ends the run\n`);
  }
  try {
    await reader.forEach(visit);
  } catch (err) {
    if (pending) io.out(pending);
    await writer?.abort();
    throw err;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  const seconds = (performance.now() - started) / 1000;
  if (pending) io.out(pending);
  await writer?.close();

  const byVerdict = new Map<string, number>();
  small.forEach((n, retval) => { if (n) byVerdict.set(replayer.verdictName(retval), n); });
  for (const [retval, n] of [...large].sort((a, b) => a[0] - b[0])) byVerdict.set(replayer.verdictName(retval), n);
  const summary: ReplaySummary = {
    packets, byVerdict, byCpu, faults, skipped: reader.skipped.length, refused, written, seconds,
    live: live ? { ...live.stats, injected } : undefined,
  };
  if (json) io.err(`replay: ${oneLine(summary)}\n`);
  else io.out(formatSummary(summary, opts.out !== undefined, cpus > 1));
  extension.finished?.(io, json);
  for (const line of faultLines) io.err(`xdplab: ${line}\n`);
  for (const line of refusedLines) io.err(`xdplab: refused ${inputName}: ${line}\n`);
  if (refused > refusedLines.length) io.err(`xdplab: … and ${refused - refusedLines.length} more refused\n`);
  if (faults > faultLines.length) io.err(`xdplab: … and ${faults - faultLines.length} more faults\n`);
  for (const s of reader.skipped.slice(0, 5)) io.err(`xdplab: skipped ${inputName}: ${packetName(s.index)} at byte offset ${s.offset}: ${s.reason}\n`);
  for (const note of reader.notes) io.err(`xdplab: ${note}\n`);
  coverage.write();
  if (htmlReport) {
    const picture = replayPicture(obj, program.name, replayer.hook, opts.live ?? device.name, inputName);
    writeReport(opts.report!, htmlReport.finish({ title: `${program.name} on ${inputName}`, inputs: [obj, inputName], topology: picture, coverage: reportCoverage(coverage.lcov()) }));
  }
  if (expectations) report.print(io, json);
  // The dump comes last, streamed: whatever happens to it, the replay's result is out.
  if (opts.mapsOut) writeMapsFile(collection, opts.mapsOut);
  return { code: faults > 0 || report.failed ? EXIT_FAULT : EXIT_OK, summary };
}

/** The capture's verdict expectations, or the file's; none at all is an error, not a silent pass. */
async function readExpectations(pcap: string, expect: string | boolean, options: CaptureReaderOptions): Promise<VerdictExpectations> {
  const { expectations, packets } = await expectationsFromCapture(pcap, options);
  const chosen = typeof expect === 'string' ? expectationsFromFile(expect, packets) : expectations;
  if (chosen.size === 0) {
    throw new XdplabError('BAD_INPUT', typeof expect === 'string'
      ? `${expect}: no expectation in it (expected {"1": "XDP_DROP", …})`
      : `${pcap}: --expect: no packet comment says \`expect: <verdict>\` (give the expectations in a file: --expect FILE.json)`);
  }
  return chosen;
}

/** Where the last run's verdict was decided: the pc that made r0 and its C line. */
function decidedAt(runtime: Runtime): string {
  const d = verdictSource(runtime.engine);
  return `decided at pc ${d.pc} of ${d.program}${d.line ? `: ${d.line}` : ''}`;
}

function packetJson(index: number, r: PacketReplayer, extra?: Record<string, unknown>): string {
  const o: Record<string, unknown> = { index, cpu: r.cpu };
  if (r.fault) {
    o.fault = r.fault.message;
  } else {
    o.retval = r.retval;
    o.verdict = r.verdictName();
    o.out = hex(r.output());
    const redirect = r.redirect;
    if (redirect) o.redirect = { kind: redirect.kind, target: redirect.target, flags: redirect.flags };
  }
  if (r.trace.length) o.trace = [...r.trace];
  return JSON.stringify(extra ? { ...o, ...extra } : o);
}

const rate = (s: ReplaySummary): number => (s.seconds > 0 ? s.packets / s.seconds : 0);

function oneLine(s: ReplaySummary): string {
  const verdicts = [...s.byVerdict].map(([v, n]) => `${v} ${n}`).join(', ');
  const live = s.live ? `, ${s.live.captured} captured, ${s.live.droppedByKernel} dropped by the kernel, ${s.live.injected} sent back out` : '';
  return `${s.packets} packets${verdicts ? ` (${verdicts})` : ''}, ${s.faults} faults, ${s.skipped} skipped, ${s.refused} refused${live}, ${Math.round(rate(s))} packets/s`;
}

/** The human summary: two aligned columns (and a share for each verdict). */
export function formatSummary(s: ReplaySummary, withWritten: boolean, withCpus: boolean): string {
  const rows: Array<[string, string, string]> = [['packets', count(s.packets), '']];
  const share = (n: number): string => (s.packets ? `${((n / s.packets) * 100).toFixed(1)}%` : '');
  for (const [verdict, n] of s.byVerdict) rows.push([verdict, count(n), share(n)]);
  rows.push(['faults', count(s.faults), s.faults ? share(s.faults) : '']);
  rows.push(['skipped', count(s.skipped), '']);
  if (s.refused) rows.push(['refused', count(s.refused), '']);
  if (withWritten) rows.push(['written', count(s.written), '']);
  if (s.live) rows.push(...liveRows(s.live));
  if (withCpus) s.byCpu.forEach((n, cpu) => rows.push([`cpu ${cpu}`, count(n), share(n)]));
  rows.push(['seconds', s.seconds.toFixed(3), '']);
  rows.push(['packets/s', count(Math.round(rate(s))), '']);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  return rows.map(([a, b, c]) => `${a.padEnd(w0)}  ${b.padStart(w1)}${c ? `  ${c.padStart(6)}` : ''}`.trimEnd()).join('\n') + '\n';
}

const count = (n: number): string => String(n);

/** A live run's rows: what the kernel queued and dropped (pcap_stats, exactly), what went back out. */
function liveRows(l: LiveCounts): Array<[string, string, string]> {
  const rows: Array<[string, string, string]> = [['captured', count(l.captured), ''], ['dropped by kernel', count(l.droppedByKernel), '']];
  if (l.interfaceRxDropped) rows.push(['interface rx_dropped', count(l.interfaceRxDropped), '']);
  rows.push(['sent back out', count(l.injected), '']);
  return rows;
}

export function registerReplayCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  const command = program
    .command('replay')
    .description('run one program on every packet of a capture or a live interface, at its hook, as the kernel would (maps carry over)')
    .argument('<obj>', 'the clang-built object (.o)')
    .argument('<prog>', 'program name, or section/name');
  addReplayOptions(command)
    .action(async (obj: string, progName: string, opts: ReplayOptions) => {
      const { code } = await runReplay(obj, progName, opts, io);
      setExit(code);
    });
}

/**
 * The options of `replay` (sources, hook, outputs, maps, expectations, engine), for the commands
 * built on it; `hook`: a command's own --hook (`filter` names program types), else replay's.
 */
export function addReplayOptions(command: Command, hook?: Option): Command {
  return command
    .option('--pcap <file>', 'the capture to replay (pcap or pcapng: Ethernet, or Linux cooked and raw IP, given Ethernet headers)')
    .option('--live <iface>', 'run on the frames arriving on a host interface (libpcap, inbound only; root or CAP_NET_RAW); XDP_TX and redirects back to it go out of it')
    .option('--count <n>', 'with --live: stop once n frames have arrived (run, or dropped by the kernel)')
    .option('--duration <seconds>', 'with --live: stop after this many seconds (else at --count or Ctrl-C)')
    .option('--filter <expr>', 'with --live: capture only frames matching this BPF filter expression (pcap-filter(7))')
    .addOption(hook ?? new Option('--hook <hook>', 'where the program runs (default: xdp for XDP programs, tc-ingress for TC)').choices(REPLAY_HOOKS))
    .option('--out <file.pcap>', 'write the packets that go on (after the program) to this capture (pcapng, with the input\'s packet comments, when it ends in .pcapng)')
    .option('--json', 'one JSON object a packet instead of the summary')
    .option('--seed <n>', 'seed of bpf_get_prandom_u32', '1')
    .option('--cpus <n>', 'emulated CPUs: packets spread over them by RSS flow hash', '1')
    .option('--skip-bad', 'skip (and count) malformed records instead of stopping')
    .option('--maps-in <file.json>', 'map entries to load first: {"map": [{"key": HEX, "value": HEX}]}')
    .option('--maps-out <file.json>', 'write every map after the replay, in the same format')
    .addOption(coverageOption())
    .addOption(coverageByOption())
    .addOption(reportOption())
    .option('--path', 'hand each packet over as the kernel\'s receive (or transmit) path does on a device eth0 (RX queue by RSS; TC: its skb, a VLAN tag out of band), not as BPF_PROG_TEST_RUN does')
    .option('--expect [file.json]', 'check each packet\'s verdict against its capture comment `expect: XDP_DROP` (or a JSON file {"1": "XDP_DROP", "2-9": "XDP_PASS"}); exit 1 when one differs')
    .option('--dev-mac <mac>', 'with --path: MAC address of the device (eth0, ifindex 2)', '02:00:00:00:00:01')
    .addOption(engineOption())
    .addOption(capsOption())
    .addOption(noVerifyOption());
}
