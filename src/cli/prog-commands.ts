/**
 * `xdplab prog run` and `xdplab prog show`: one object's programs, bpftool-compatible.
 *
 *   xdplab prog run OBJ PROG data_in FILE [data_out FILE] [ctx_in FILE] [ctx_out FILE] [repeat N]
 *
 * takes `bpftool prog run`'s arguments (FILE may be `-` for standard input / output) and prints
 * its line, "Return value: N, duration (average): Tns", so the same command can be run against
 * the kernel and against xdplab. Extras: --maps-in / --maps-out (JSON), --json, --cpu.
 */
import path from 'node:path';
import { Command } from 'commander';
import { coverageOption, startCoverage } from './coverage-option.js';
import { engineOf, engineOption } from './engine-option.js';
import { capsOption, loadOptionsOf, noVerifyOption, refusedSiblingNotes, type VerifyCliOptions } from './verify-option.js';
import { XdplabError } from '../errors.js';
import { VmFault } from '../vm/fault.js';
import { testRun } from '../hooks/test-run.js';
import { Collection } from '../runtime/collection.js';
import { Runtime } from '../runtime/runtime.js';
import { loadCollectionSpec } from '../spec/loader.js';
import { PROG_TYPE_NAMES } from '../spec/section-names.js';
import { MAP_TYPE_NAMES } from '../uapi/bpf.js';
import { OutputSet, readInput } from './files.js';
import { loadMapsIn, writeMapsFile } from './maps-json.js';
import type { Io } from './main.js';
import { readObjectFile } from '../spec/compile-c.js';

interface RunArgs {
  dataIn: string;
  dataOut?: string;
  ctxIn?: string;
  ctxOut?: string;
  /** bpftool's data_size_out / ctx_size_out: the output buffers' sizes, when given. */
  dataSizeOut?: number;
  ctxSizeOut?: number;
  repeat: number;
}

const KEYWORDS = ['data_in', 'data_out', 'data_size_out', 'ctx_in', 'ctx_out', 'ctx_size_out', 'repeat'] as const;

/** Parse bpftool's keyword arguments: `data_in FILE data_out FILE repeat N …`. */
export function parseRunArgs(words: readonly string[]): RunArgs {
  const seen = new Map<string, string>();
  for (let i = 0; i < words.length; i += 2) {
    const key = words[i];
    if (!(KEYWORDS as readonly string[]).includes(key)) {
      throw new XdplabError('USAGE', `prog run: unknown argument "${key}" (expected ${KEYWORDS.join(', ')})`);
    }
    if (i + 1 >= words.length) throw new XdplabError('USAGE', `prog run: ${key} needs a value`);
    if (seen.has(key)) throw new XdplabError('USAGE', `prog run: ${key} given twice`);
    seen.set(key, words[i + 1]);
  }
  const dataIn = seen.get('data_in');
  if (dataIn === undefined) throw new XdplabError('USAGE', 'prog run: data_in FILE is required');
  const repeat = countArg(seen, 'repeat') ?? 1;
  return {
    dataIn, dataOut: seen.get('data_out'), ctxIn: seen.get('ctx_in'), ctxOut: seen.get('ctx_out'),
    dataSizeOut: countArg(seen, 'data_size_out'), ctxSizeOut: countArg(seen, 'ctx_size_out'), repeat: Math.max(1, repeat),
  };
}

function countArg(seen: ReadonlyMap<string, string>, key: string): number | undefined {
  const text = seen.get(key);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) throw new XdplabError('USAGE', `prog run: ${key} ${text} is not a count`);
  return n;
}

/**
 * bpf_test_finish: output larger than the buffer the caller gave (bpftool's data_size_out,
 * ctx_size_out) fails the run with ENOSPC, and bpftool then writes nothing.
 */
function checkOutputFits(what: 'data' | 'ctx', size: number, bufferSize: number | undefined): void {
  if (bufferSize === undefined || size <= bufferSize) return;
  throw new XdplabError('BAD_INPUT', `${what}_out: ${size} bytes do not fit ${what}_size_out ${bufferSize} (the kernel fails the run with ENOSPC)`);
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

async function readArg(file: string, io: Io): Promise<Uint8Array> {
  if (file === '-') return Uint8Array.from(Buffer.from(await io.stdin(), 'latin1'));
  return readInput(file);
}

/** bpftool's hex_print (prog.c) of data written to standard output: offset, byte pairs, ASCII. */
function hexDump(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 16) {
    out += `${i.toString(16).padStart(7, '0')}\t`;
    for (let j = i; j < i + 16; j++) {
      out += (j < bytes.length ? bytes[j].toString(16).padStart(2, '0') : '  ') + (j % 2 ? ' ' : '');
    }
    out += '| ';
    for (let j = i; j < i + 16 && j < bytes.length; j++) {
      const c = bytes[j] >= 0x20 && bytes[j] <= 0x7e ? String.fromCharCode(bytes[j]) : '.';
      out += c + (j === i + 7 ? ' ' : '');
    }
    out += '\n';
  }
  return out;
}

/** data_out / ctx_out: hex-dumped to standard output for `-`, else staged in `outputs`. */
function writeArg(file: string | undefined, bytes: Uint8Array, io: Io, outputs: OutputSet): void {
  if (file === undefined) return;
  if (file === '-') io.out(hexDump(bytes));
  else outputs.add(file, bytes);
}

export function registerProgCommands(program: Command, io: Io): void {
  const prog = program.command('prog').description('programs of one object: show them, run one (bpftool-compatible)');

  prog
    .command('run')
    .description('run one program once (or `repeat N` times) on a packet, as BPF_PROG_TEST_RUN does')
    .argument('<obj>', 'the clang-built object (.o)')
    .argument('<prog>', 'program name, or section/name')
    .argument('<args...>', 'data_in FILE [data_out FILE [data_size_out L]] [ctx_in FILE [ctx_out FILE [ctx_size_out M]]] [repeat N] (FILE - is standard input/output)')
    .option('--maps-in <file.json>', 'map entries to load before the run: {"map": [{"key": HEX, "value": HEX}]}')
    .option('--maps-out <file.json>', 'write every map after the run, in the same format')
    .option('--cpu <n>', 'the CPU the program runs on', '0')
    .option('--cpus <n>', 'emulated CPUs (per-CPU maps hold one value each)', '1')
    .option('--json', 'print one JSON object instead of bpftool\'s line')
    .addOption(coverageOption())
    .addOption(engineOption())
    .addOption(capsOption())
    .addOption(noVerifyOption())
    .action(async (obj: string, progName: string, words: string[], opts: VerifyCliOptions & { mapsIn?: string; mapsOut?: string; coverage?: string; json?: boolean; cpu: string; cpus: string; engine?: string }) => {
      const args = parseRunArgs(words);
      const cpus = Number(opts.cpus);
      const cpu = Number(opts.cpu);
      if (!Number.isInteger(cpus) || cpus < 1) throw new XdplabError('USAGE', `--cpus ${opts.cpus}: expected a positive count`);
      if (!Number.isInteger(cpu) || cpu < 0 || cpu >= cpus) throw new XdplabError('USAGE', `--cpu ${opts.cpu}: expected 0..${cpus - 1}`);
      // Every output path is checked before the run: a bad one ends the command at once.
      const outputs = new OutputSet([args.dataOut, args.ctxOut, opts.mapsOut]);
      // As BPF_PROG_TEST_RUN: no perf buffer reader is attached.
      const runtime = new Runtime({ cpus, perfReaders: false, engine: engineOf(opts.engine) });
      const collection = Collection.load(runtime, loadCollectionSpec(readObjectFile(obj), obj), loadOptionsOf(opts));
      const target = collection.program(progName);
      for (const note of refusedSiblingNotes(collection, [target.name])) io.err(`xdplab: ${note}\n`);
      if (opts.mapsIn) loadMapsIn(collection, opts.mapsIn);
      const coverage = startCoverage(opts.coverage, runtime, new Map([[obj, collection]]), path.basename(obj));
      const data = await readArg(args.dataIn, io);
      const ctx = args.ctxIn !== undefined ? await readArg(args.ctxIn, io) : undefined;
      let result: ReturnType<typeof testRun>;
      try {
        result = testRun(runtime, target, { data, ctx, repeat: args.repeat, cpu });
      } catch (err) {
        throw err instanceof VmFault ? collection.explainFault(err) : err;
      }
      if (args.dataOut !== undefined) checkOutputFits('data', result.dataOut.length, args.dataSizeOut);
      if (args.ctxOut !== undefined && ctx !== undefined) checkOutputFits('ctx', result.ctxOut.length, args.ctxSizeOut);
      if (opts.json) {
        io.out(JSON.stringify({
          retval: result.retval, verdict: result.verdict, duration: Math.round(result.durationNs),
          data_out: hex(result.dataOut), ctx_out: hex(result.ctxOut), trace: result.trace,
        }) + '\n');
      } else {
        writeArg(args.dataOut, result.dataOut, io, outputs);
        if (args.ctxOut !== undefined && ctx !== undefined) writeArg(args.ctxOut, result.ctxOut, io, outputs);
        outputs.commit();
        for (const line of result.trace) io.err(`trace: ${line}\n`);
        io.out(`Return value: ${result.retval}, duration${args.repeat > 1 ? ' (average)' : ''}: ${Math.round(result.durationNs)}ns\n`);
      }
      coverage.write();
      // The dump comes last, streamed: whatever happens to it, the run's result is out.
      if (opts.mapsOut) writeMapsFile(collection, opts.mapsOut);
    });

  prog
    .command('show')
    .description('list the programs and maps of an object, as bpftool prog/map show do')
    .argument('<obj>', 'the clang-built object (.o)')
    .option('--json', 'one JSON object per program and map, a line each')
    .action((obj: string, opts: { json?: boolean }) => {
      const spec = loadCollectionSpec(readObjectFile(obj), obj);
      for (const p of spec.programs.values()) {
        const slots = p.instructions.reduce((n, insn) => n + insn.width, 0);
        const maps = [...new Set(p.mapReferences.map((r) => r.map))];
        const type = PROG_TYPE_NAMES[p.type] ?? `type ${p.type}`;
        if (opts.json) {
          io.out(JSON.stringify({ kind: 'program', name: p.name, type, section: p.sectionName, insns: slots, license: p.license, maps }) + '\n');
        } else {
          io.out(`prog ${type}  name ${p.name}  section ${p.sectionName}  ${p.license === 'GPL' || p.license.includes('GPL') ? 'gpl' : `license ${p.license || 'none'}`}\n`);
          io.out(`\txlated ${slots * 8}B  insns ${slots}${maps.length ? `  maps ${maps.join(',')}` : ''}\n`);
        }
      }
      for (const m of spec.maps.values()) {
        const type = MAP_TYPE_NAMES[m.type] ?? `type ${m.type}`;
        if (opts.json) {
          io.out(JSON.stringify({ kind: 'map', name: m.name, type, key: m.keySize, value: m.valueSize, max_entries: m.maxEntries, flags: m.flags }) + '\n');
        } else {
          io.out(`map ${type}  name ${m.name}  flags 0x${m.flags.toString(16)}\n`);
          io.out(`\tkey ${m.keySize}B  value ${m.valueSize}B  max_entries ${m.maxEntries}\n`);
        }
      }
    });
}
