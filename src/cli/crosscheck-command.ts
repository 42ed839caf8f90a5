/**
 * `xdplab crosscheck OBJ PROG --pcap IN [--hook …] [--maps-in F] [--json]`: every packet of a
 * capture through the program in xdplab and in the running kernel (BPF_PROG_TEST_RUN, through
 * bpftool: kernel/bpftool.ts), maps carried over from packet to packet on both sides and seeded
 * alike (--maps-in is read by xdplab, and the same bytes go to the kernel's maps); then a report
 * of every difference (kernel/crosscheck.ts): verdict, output bytes (the first byte that
 * differs), and map contents after the run. xdplab runs each packet as BPF_PROG_TEST_RUN hands
 * it over (replay's test-run context, one CPU; bpf_ktime_get_ns reads the capture time, as in
 * replay, where the kernel reads its own clock: a program that measures time can differ).
 *
 * Exit 0 all agree; 1 a difference (or the kernel refuses to load what xdplab loads); 2 bad
 * input, or no kernel to ask — saying what is missing (root, bpftool, the BPF file system).
 */
import { release } from 'node:os';
import { Command, Option } from 'commander';
import { XdplabError } from '../errors.js';
import { PacketReplayer, REPLAY_HOOKS, ReplayInputError, type ReplayHookName } from '../hooks/replay.js';
import { KernelObject, kernelMissing } from '../kernel/bpftool.js';
import {
  COMPARABLE_MAPS, compareEntries, comparePacket, hex, normaliseValue, reportLines,
  type CrosscheckResult, type SideAnswer,
} from '../kernel/crosscheck.js';
import type { BpfMap } from '../maps/map.js';
import { openCapture } from '../pcap/reader.js';
import { LINKTYPE_ETHERNET } from '../pcap/types.js';
import { Collection } from '../runtime/collection.js';
import { verdictSource, type Program } from '../runtime/program.js';
import { Runtime } from '../runtime/runtime.js';
import { loadCollectionSpec } from '../spec/loader.js';
import { BPF_PROG_TYPE } from '../uapi/bpf.js';
import { engineOf, engineOption } from './engine-option.js';
import { readInput, readJsonObject } from './files.js';
import { EXIT_FAULT, EXIT_OK, type Io } from './main.js';
import { loadMapsIn } from './maps-json.js';
import { capsOption, loadOptionsOf, noVerifyOption, type VerifyCliOptions } from './verify-option.js';

interface CrosscheckOptions extends VerifyCliOptions {
  pcap: string;
  hook?: ReplayHookName;
  mapsIn?: string;
  json?: boolean;
  engine?: string;
}

/** xdplab's side, loaded and seeded: every input read before the kernel is asked anything. */
function loadXdplab(obj: string, progName: string, opts: CrosscheckOptions): { runtime: Runtime; collection: Collection; program: Program; seeded: string[] } {
  // One CPU and no perf reader: what a test run has.
  const runtime = new Runtime({ cpus: 1, perfReaders: false, engine: engineOf(opts.engine) });
  const collection = Collection.load(runtime, loadCollectionSpec(readInput(obj), obj), loadOptionsOf(opts));
  const program = collection.program(progName);
  if (!opts.mapsIn) return { runtime, collection, program, seeded: [] };
  loadMapsIn(collection, opts.mapsIn);
  return { runtime, collection, program, seeded: Object.keys(readJsonObject(opts.mapsIn, 'an object of map names')) };
}

/** The seeded maps' entries, as xdplab holds them, into the kernel's copy (one CPU's value for a per-CPU map). */
function seedKernel(kernel: KernelObject, collection: Collection, names: string[]): void {
  for (const name of names) {
    const map = collection.map(name);
    const size = map.spec.valueSize;
    for (const [key, value] of map.entries()) kernel.updateMap(name, key, value.subarray(0, size));
  }
}

const xdplabEntries = (map: BpfMap): Map<string, string> => {
  const stride = Math.ceil(map.spec.valueSize / 8) * 8;
  const out = new Map<string, string>();
  for (const [key, value] of map.entries()) {
    const values = map.perCpu ? Array.from({ length: map.cpus }, (_, c) => value.subarray(c * stride, c * stride + stride)) : [value];
    out.set(hex(key), normaliseValue(values, map.spec.valueSize));
  }
  return out;
};

const kernelEntries = (kernel: KernelObject, map: BpfMap): Map<string, string> =>
  new Map(kernel.dumpMap(map.name).map((e) => [hex(e.key), normaliseValue(e.values, map.spec.valueSize)]));

/** Every comparable map, both sides, after the run. */
function compareMaps(kernel: KernelObject, collection: Collection, result: CrosscheckResult): void {
  for (const [name, map] of collection.maps) {
    if (!COMPARABLE_MAPS.has(map.spec.type)) {
      result.mapsNotCompared.push(`${name} (its type holds ids or queues, not contents)`);
    } else if (!kernel.hasMap(name)) {
      result.mapsNotCompared.push(`${name} (bpftool did not pin it)`);
    } else {
      result.mapsCompared.push(name);
      result.mapDifferences.push(...compareEntries(name, xdplabEntries(map), kernelEntries(kernel, map)));
    }
  }
}

/** A packet as read: its bytes (copied) and capture time, xdplab's bpf_ktime_get_ns. */
interface Packet {
  data: Uint8Array;
  tsSec: number;
  tsNsec: number;
}

function xdplabAnswer(replayer: PacketReplayer, collection: Collection, runtime: Runtime, p: Packet): SideAnswer {
  try {
    replayer.run(p.data, p.tsSec, p.tsNsec);
  } catch (err) {
    if (err instanceof ReplayInputError) return { refused: err.message };
    throw err;
  }
  if (replayer.fault) return { fault: collection.explainFault(replayer.fault).message };
  const d = verdictSource(runtime.engine);
  return { verdict: replayer.verdictName(), out: replayer.output().slice(), decided: `decided at pc ${d.pc} of ${d.program}${d.line ? `: ${d.line}` : ''}` };
}

/** Packets go to the kernel this many at a time (one bpftool process each), compared as they come back. */
const CHUNK = 512;

/** One chunk of packets (numbered from `first`, from 1) through both sides, and their differences. */
function compareChunk(ctx: { kernel: KernelObject; replayer: PacketReplayer; collection: Collection; runtime: Runtime }, first: number, packets: Packet[], result: CrosscheckResult): void {
  const name = ctx.replayer.program.name;
  const ours = packets.map((p) => xdplabAnswer(ctx.replayer, ctx.collection, ctx.runtime, p));
  const theirs = ctx.kernel.runMany(name, packets.map((p) => p.data));
  ours.forEach((x, i) => {
    const k = theirs[i];
    const d = comparePacket(first + i, x, 'refused' in k ? k : { verdict: ctx.replayer.verdictName(k.retval), out: k.dataOut });
    if (d) result.packetDifferences.push(d);
  });
}

export async function runCrosscheck(obj: string, progName: string, opts: CrosscheckOptions, io: Io): Promise<number> {
  const { runtime, collection, program, seeded } = loadXdplab(obj, progName, opts);
  const hook = opts.hook ?? (program.type === BPF_PROG_TYPE.BPF_PROG_TYPE_XDP ? 'xdp' : 'tc-ingress');
  const replayer = new PacketReplayer(runtime, program, { hook, context: 'test-run' });
  const missing = kernelMissing();
  if (missing) throw new XdplabError('UNSUPPORTED', `crosscheck: no kernel to ask: ${missing}`);
  const reader = await openCapture(opts.pcap, { linkTypes: [LINKTYPE_ETHERNET] });
  let kernel: KernelObject;
  try {
    kernel = new KernelObject(obj);
  } catch (err) {
    await reader.close();
    if (!(err instanceof XdplabError) || err.code !== 'VERIFIER') throw err;
    io.err(`xdplab: crosscheck: xdplab loads ${program.name}, the kernel does not: ${err.message}\n`);
    return EXIT_FAULT;
  }
  const result: CrosscheckResult = {
    program: program.name, packets: 0, kernel: release(), packetDifferences: [], mapDifferences: [], mapsCompared: [], mapsNotCompared: [],
  };
  try {
    seedKernel(kernel, collection, seeded);
    const ctx = { kernel, replayer, collection, runtime };
    let chunk: Packet[] = [];
    await reader.forEach((rec) => {
      result.packets++;
      chunk.push({ data: rec.data.slice(), tsSec: rec.tsSec, tsNsec: rec.tsNsec });
      if (chunk.length === CHUNK) {
        compareChunk(ctx, result.packets - chunk.length + 1, chunk, result);
        chunk = [];
      }
    });
    if (chunk.length) compareChunk(ctx, result.packets - chunk.length + 1, chunk, result);
    compareMaps(kernel, collection, result);
  } finally {
    kernel.close();
    await reader.close();
  }
  io.out(opts.json ? JSON.stringify(result) + '\n' : reportLines(result).join('\n') + '\n');
  return result.packetDifferences.length + result.mapDifferences.length > 0 ? EXIT_FAULT : EXIT_OK;
}

export function registerCrosscheckCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('crosscheck')
    .description('run every packet of a capture through a program in xdplab and in the running kernel (BPF_PROG_TEST_RUN; root), and report every difference')
    .argument('<obj>', 'the clang-built object (.o)')
    .argument('<prog>', 'program name, or section/name')
    .requiredOption('--pcap <file>', 'the packets (pcap or pcapng, Ethernet)')
    .addOption(new Option('--hook <hook>', 'the hook xdplab runs the program at (default: its type\'s); the kernel\'s test run is the same for both TC hooks').choices(REPLAY_HOOKS))
    .option('--maps-in <file.json>', 'map entries to load first, into xdplab and the kernel alike (prog run\'s --maps-in formats)')
    .option('--json', 'the result as one JSON object')
    .addOption(engineOption())
    .addOption(capsOption())
    .addOption(noVerifyOption())
    .action(async (obj: string, progName: string, opts: CrosscheckOptions) => {
      setExit(await runCrosscheck(obj, progName, opts, io));
    });
}
