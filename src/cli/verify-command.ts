/**
 * `xdplab verify OBJ [PROG]`: the kernel's load-time verdict on each program of an object,
 * offline — what `bpftool prog load` would answer — with the refusal explained: the kernel's
 * message, the C line, the few instructions that led there and what to change. `--witness`
 * looks for a packet on which the refused program, run without verification, faults.
 *
 * Exit: 0 every program accepted, 1 some refused, 3 none refused but some xdplab could not
 * decide (kfuncs, kernel types it lacks), 2 bad input.
 */
import type { Command } from 'commander';
import { XdplabError } from '../errors.js';
import { findWitness, type WitnessSearch } from '../hooks/witness.js';
import { Collection } from '../runtime/collection.js';
import { Runtime } from '../runtime/runtime.js';
import { LINKTYPE_ETHERNET } from '../pcap/types.js';
import { openCapture } from '../pcap/reader.js';
import { loadCollectionSpec } from '../spec/loader.js';
import { resolveProgramName } from '../spec/program-name.js';
import type { CollectionSpec, ProgramSpec } from '../spec/types.js';
import { errnoName } from '../uapi/errno.js';
import { formatExplanation, verifyProgram, type Caps, type VerifierResult } from '../verifier/index.js';
import { EXIT_FAULT, EXIT_OK, type Io } from './main.js';
import { capsOption } from './verify-option.js';
import { readObjectFile } from '../spec/compile-c.js';

/** Exit status when nothing was refused but some program's verdict is not the kernel's to give. */
export const EXIT_UNDECIDED = 3;

/** Frames of a --pcap tried as witnesses: the first of a capture are enough to find a short one. */
const WITNESS_CAPTURE_FRAMES = 1000;

interface VerifyCliOptions {
  caps: string;
  logLevel: string;
  json?: boolean;
  cpus: string;
  witness?: boolean;
  pcap?: string;
}

interface Verdict {
  spec: ProgramSpec;
  result: VerifierResult;
  witness?: WitnessSearch;
}

function level(text: string): number {
  if (!/^[012]$/.test(text)) throw new XdplabError('USAGE', `--log-level ${text}: expected 0, 1 or 2`);
  return Number(text);
}

function cpuCount(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 1024) throw new XdplabError('USAGE', `--cpus ${text}: expected 1..1024`);
  return n;
}

function programsAsked(spec: CollectionSpec, name: string | undefined): ProgramSpec[] {
  if (name === undefined) {
    if (spec.programs.size === 0) throw new XdplabError('BAD_INPUT', `${spec.source}: no XDP or TC program to verify`);
    return [...spec.programs.values()];
  }
  const program = spec.programs.get(resolveProgramName(spec, name));
  if (program) return [program];
  const section = spec.otherPrograms?.get(name);
  if (section !== undefined) throw new XdplabError('UNSUPPORTED', `program ${name} (section ${section}) in ${spec.source}: xdplab verifies XDP and TC programs`);
  throw new XdplabError('BAD_INPUT', `no program ${name} in ${spec.source} (it has: ${[...spec.programs.keys()].join(', ') || 'none'})`);
}

async function captureFrames(file: string | undefined): Promise<Uint8Array[]> {
  if (file === undefined) return [];
  const reader = await openCapture(file, { linkTypes: [LINKTYPE_ETHERNET] });
  const frames: Uint8Array[] = [];
  try {
    await reader.forEach((rec) => {
      if (frames.length < WITNESS_CAPTURE_FRAMES) frames.push(rec.data.slice());
    });
  } finally {
    await reader.close();
  }
  return frames;
}

/** Load the object without verification and look for a frame the refused program faults on. */
function witnessFor(spec: CollectionSpec, program: ProgramSpec, cpus: number, frames: readonly Uint8Array[]): WitnessSearch {
  const runtime = new Runtime({ cpus, perfReaders: false, engine: 'interp' });
  const collection = Collection.load(runtime, spec, { verify: false });
  const search = findWitness(runtime, collection.program(program.name), frames);
  if (search.witness) search.witness.fault = collection.explainFault(search.witness.fault); // with its C line
  return search;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function statsText(r: VerifierResult): string {
  const stack = r.stats.stackDepth.length > 1 ? r.stats.stackDepth.join('+') : String(r.stats.stackDepth[0] ?? 0);
  return `${r.insnsProcessed} insns processed, ${r.stats.totalStates} states, stack ${stack} bytes`;
}

function printText(v: Verdict, io: Io): void {
  const r = v.result;
  if (r.unsupported) {
    io.out(`${r.program}: not decided: ${r.unsupported}\n`);
    return;
  }
  if (r.accepted) {
    io.out(`${r.program}: accepted (${statsText(r)})\n`);
  } else {
    const where = r.line ? `, ${r.line}: ${(r.source ?? '').trim()}` : '';
    io.out(`${r.program}: refused (${errnoName(r.errno)}): ${r.error || 'program too large'} at pc ${r.pc ?? 0}${where}\n`);
    if (r.explanation) io.out(formatExplanation(r.explanation).replace(/^/gm, '  ') + '\n');
    io.out(`  (${statsText(r)})\n`);
  }
  if (v.witness) {
    const w = v.witness.witness;
    io.out(w
      ? `  Witness: ${w.origin} (${w.frame.length} bytes: ${hex(w.frame) || 'empty'}) faults when run unverified: ${w.fault.message}\n`
      : `  Witness: none among ${v.witness.tried} packets tried (the kernel refuses what it cannot prove safe, not only what fails)\n`);
  }
  if (r.log) io.out(r.log.endsWith('\n') ? r.log : `${r.log}\n`);
}

function jsonOf(v: Verdict): object {
  const r = v.result;
  const w = v.witness;
  return {
    program: r.program, section: v.spec.sectionName, accepted: r.accepted, ...(r.unsupported ? { undecided: r.unsupported } : {}),
    errno: r.errno, errno_name: r.errno ? errnoName(r.errno) : undefined,
    error: r.error, pc: r.pc, line: r.line, source: r.source,
    insns_processed: r.insnsProcessed, total_states: r.stats.totalStates, peak_states: r.stats.peakStates,
    max_states_per_insn: r.stats.maxStatesPerInsn, stack_depth: r.stats.stackDepth,
    explanation: r.explanation && {
      category: r.explanation.category, reason: r.explanation.reason, at: r.explanation.at,
      causal_path: r.explanation.causalPath, suggestion: r.explanation.suggestion,
    },
    witness: w ? (w.witness ? { frame: hex(w.witness.frame), origin: w.witness.origin, fault: w.witness.fault.message } : null) : undefined,
    witness_tried: w?.tried,
    log: r.log || undefined,
  };
}

export async function runVerify(obj: string, progName: string | undefined, opts: VerifyCliOptions, io: Io): Promise<number> {
  const logLevel = level(opts.logLevel);
  const cpus = cpuCount(opts.cpus);
  if (opts.pcap !== undefined && !opts.witness) throw new XdplabError('USAGE', '--pcap gives frames to --witness: add --witness');
  const spec = loadCollectionSpec(readObjectFile(obj), obj);
  const frames = await captureFrames(opts.pcap);
  const verdicts: Verdict[] = [];
  for (const program of programsAsked(spec, progName)) {
    const result = verifyProgram(spec, program, { caps: opts.caps as Caps, logLevel, cpus });
    const refused = !result.accepted && !result.unsupported;
    const verdict: Verdict = { spec: program, result, witness: refused && opts.witness ? witnessFor(spec, program, cpus, frames) : undefined };
    verdicts.push(verdict);
    if (opts.json) io.out(JSON.stringify(jsonOf(verdict)) + '\n');
    else printText(verdict, io);
  }
  if (!progName) {
    for (const [name, section] of spec.otherPrograms ?? []) io.err(`xdplab: program ${name} (section ${section}) not verified: xdplab verifies XDP and TC programs\n`);
  }
  if (verdicts.some((v) => !v.result.accepted && !v.result.unsupported)) return EXIT_FAULT;
  if (verdicts.some((v) => v.result.unsupported)) return EXIT_UNDECIDED;
  return EXIT_OK;
}

export function registerVerifyCommand(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command('verify')
    .description('the kernel\'s load-time verdict on each program of an object, offline: accepted, or refused with the kernel\'s message, the C line, why, and what to change')
    .argument('<obj>', 'the clang-built object (.o)')
    .argument('[prog]', 'one program (name, or section/name); default: every XDP and TC program')
    .addOption(capsOption())
    .option('--log-level <n>', 'also print the kernel-format log: 1 the failing path, 2 every instruction of every path', '0')
    .option('--cpus <n>', 'the CPUs the kernel has (bpf_get_smp_processor_id\'s bound)', '1')
    .option('--witness', 'for a refused program, look for a packet it faults on when run unverified')
    .option('--pcap <file>', 'with --witness: try this capture\'s frames first')
    .option('--json', 'one JSON object per program')
    .action(async (obj: string, progName: string | undefined, opts: VerifyCliOptions) => {
      setExit(await runVerify(obj, progName, opts, io));
    });
}
