// Hash map updates and lookups per second: bench/programs/hash.bpf.o inserts 1M pseudo-random
// u32 keys with bpf_loop, then looks up 1M keys (half present) — the same object, the same
// work, in xdplab (each engine) and in the kernel (one BPF_PROG_TEST_RUN each), in the same run.
// The figure is the program's time over the operation count: the loop, the helper call and the
// map together, as a program pays them.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection, Runtime, loadCollectionSpec, testRun } from '../dist/index.js';
import { bpftoolRun, fmt, kernelUnavailableReason, readBytes } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const OBJECT = path.join(here, 'programs', 'hash.bpf.o');
const OPS = 1_000_000;
const ROUNDS = 3;

function xdplab(engine) {
  const spec = loadCollectionSpec(readBytes(OBJECT), OBJECT);
  const runtime = new Runtime({ engine, perfReaders: false });
  const c = Collection.load(runtime, spec);
  const data = new Uint8Array(64);
  const run = (name) => {
    const t0 = process.hrtime.bigint();
    const r = testRun(runtime, c.program(name), { data });
    return { retval: r.retval, ns: Number(process.hrtime.bigint() - t0) / OPS };
  };
  const update = run('hash_update');
  const lookup = run('hash_lookup');
  return { update, lookup };
}

function kernel() {
  const dir = path.join('/sys/fs/bpf', `xdplab_hash_bench_${process.pid}`);
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'xdplab-hash-'));
  try {
    mkdirSync(dir);
    execFileSync('bpftool', ['prog', 'loadall', OBJECT, dir, 'pinmaps', `${dir}_maps`], { stdio: 'pipe' });
    const packet = path.join(tmp, 'packet');
    writeFileSync(packet, new Uint8Array(64));
    const run = (prog) => {
      const r = bpftoolRun(path.join(dir, prog), packet, 1);
      return { retval: r.retval, ns: r.ns / OPS };
    };
    return { update: run('hash_update'), lookup: run('hash_lookup') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}_maps`, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The best (lowest ns) of `rounds` measurements of both operations, the retvals of the last. */
function best(measure, rounds) {
  let out;
  for (let i = 0; i < rounds; i++) {
    const r = measure();
    out = out === undefined ? r : {
      update: r.update.ns < out.update.ns ? r.update : out.update,
      lookup: r.lookup.ns < out.lookup.ns ? r.lookup : out.lookup,
    };
  }
  return out;
}

export async function benchHash() {
  const why = kernelUnavailableReason();
  // The minimum of a few runs each: on a shared machine one run can take twice another.
  const engines = ['interp', 'jit'].map((e) => ({ engine: e, ...best(() => xdplab(e), ROUNDS) }));
  const k = why === undefined ? best(kernel, ROUNDS) : undefined;
  const cell = (r) => `${fmt(r.ns, 1)} ns (${fmt(1e3 / r.ns, 2)}M/s)`;
  const rows = ['update', 'lookup'].map((op) => [
    op === 'update' ? `updates, ${OPS / 1e6}M new u32 keys (BPF_ANY)` : `lookups, ${OPS / 1e6}M keys (half present)`,
    ...engines.map((e) => cell(e[op])),
    k ? cell(k[op]) : '–',
    k ? `${fmt(engines[1][op].ns / k[op].ns, 2)}×` : '–',
  ]);
  const counts = engines.map((e) => `${e.engine}: ${e.update.retval} stored, ${e.lookup.retval} found`);
  const notes = [
    `Per operation: the program's run time (one testRun / BPF_PROG_TEST_RUN with bpf_loop over ${OPS.toLocaleString('en-US')} steps) over the step count, the best of ${ROUNDS} runs, xorshift32 keys, values u64. ${counts.join('; ')}` +
      (k ? `; kernel: ${k.update.retval} stored, ${k.lookup.retval} found.` : '.'),
  ];
  if (k && (k.update.retval !== engines[1].update.retval || k.lookup.retval !== engines[1].lookup.retval)) throw new Error('hash bench: xdplab and the kernel disagree');
  if (why !== undefined) notes.push(`Kernel figures skipped: ${why}.`);
  return { title: 'Hash map: updates and lookups from a program', header: ['operation', 'interpreter', 'JIT', 'kernel', 'JIT / kernel'], rows, notes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchHash();
  console.log(result.title);
  for (const row of result.rows) console.log('  ' + row.join('  '));
  for (const note of result.notes) console.log('  ' + note);
}
