// Load + JIT time for the largest object the project ships (the l4-lb scenario's lb.bpf.o and
// every other shipped object for scale): parse the ELF and BTF into a spec, load it into a
// fresh runtime (maps, relocations, prog arrays), and compile each program to WebAssembly.
// Reference measured in the same run: the kernel loading the same object (`bpftool prog
// loadall`: libbpf, the verifier and the kernel's JIT; the bpftool process's own start-up
// included, which `node -e 0`'s is not).
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection, Runtime, loadCollectionSpec } from '../dist/index.js';
import { fmt, kernelUnavailableReason, measure, readBytes } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');

function shippedObjects() {
  const dirs = readdirSync(path.join(root, 'topologies')).map((d) => path.join(root, 'topologies', d));
  return dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.bpf.o')).map((f) => path.join(d, f)))
    .sort((a, b) => statSync(b).size - statSync(a).size);
}

/** Load the object and compile every program; returns the number of instructions compiled. */
function loadAndCompile(bytes, file) {
  const spec = loadCollectionSpec(bytes, file);
  const runtime = new Runtime({ perfReaders: false, engine: 'jit' });
  const collection = Collection.load(runtime, spec);
  let insns = 0;
  for (const program of collection.programs.values()) {
    if (runtime.engine.compile(program.image) === null) throw new Error(`${file}: ${program.name} did not compile`);
    insns += program.image.slots;
  }
  return insns;
}

function kernelLoadMs(file) {
  const pin = `/sys/fs/bpf/xdplab_load_${process.pid}`;
  const t0 = process.hrtime.bigint();
  try {
    execFileSync('bpftool', ['prog', 'loadall', file, pin], { stdio: 'pipe' });
    return Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    rmSync(pin, { recursive: true, force: true });
  }
}

export async function benchLoad() {
  const why = kernelUnavailableReason();
  const rows = [];
  for (const file of shippedObjects()) {
    const bytes = readBytes(file);
    const insns = loadAndCompile(bytes, file);
    const t0 = performance.now();
    const spec = loadCollectionSpec(bytes, file);
    const t1 = performance.now();
    const runtime = new Runtime({ perfReaders: false, engine: 'jit' });
    const collection = Collection.load(runtime, spec);
    const t2 = performance.now();
    for (const program of collection.programs.values()) runtime.engine.compile(program.image);
    const { compileStats } = runtime.engine;
    const parts = `spec ${fmt(t1 - t0, 1)} + load ${fmt(t2 - t1, 1)} + JIT ${fmt(compileStats.ms, 1)} ms (${compileStats.images} modules)`;
    const m = await measure(`load + JIT ${path.basename(file)}`, () => loadAndCompile(bytes, file), { maxTime: 2, minSamples: 10 });
    const kernel = why === undefined ? Math.min(...[0, 1, 2].map(() => kernelLoadMs(file))) : undefined;
    rows.push([path.relative(root, file), `${fmt(bytes.length / 1024, 0)} KiB, ${insns} insns`, `${fmt(m.meanNs / 1e6, 2)} ms`, parts,
      kernel === undefined ? '–' : `${fmt(kernel, 1)} ms`, kernel === undefined ? '–' : `${fmt(m.meanNs / 1e6 / kernel, 2)}×`]);
  }
  const notes = [
    'xdplab: loadCollectionSpec + Collection.load into a fresh runtime (which runs the verifier on every program, as BPF_PROG_LOAD does: its time is in load) + compiling every program (and its subprograms) to a WebAssembly module, under Benchmark.js; instantiation happens on first run and is not included.',
    'Kernel: the best of 3 `bpftool prog loadall` runs (libbpf, the verifier, the kernel JIT, bpftool\'s own start-up).',
  ];
  if (why !== undefined) notes.push(`Kernel figures skipped: ${why}.`);
  return { title: 'Load + JIT time of the shipped objects', header: ['object', 'size', 'xdplab load + JIT', 'of which (one warm run)', 'kernel load (bpftool)', 'ratio'], rows, notes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchLoad();
  console.log(result.title);
  for (const row of result.rows) console.log('  ' + row.join('  '));
  for (const note of result.notes) console.log('  ' + note);
}
