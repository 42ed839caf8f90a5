// Nanoseconds per program run for the reference programs, in each of xdplab's engines and in
// the kernel's own JIT, measured in the same run. xdplab: testRun (BPF_PROG_TEST_RUN's
// semantics) with repeat R, the best of ROUNDS timed calls, divided by R; the kernel: `bpftool
// prog run … repeat N`, the best of KERNEL_ROUNDS averages it prints. Minima on both sides: on a
// shared machine a mean measures the neighbours. Both sides load the same object and map entries.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Collection, Runtime, loadCollectionSpec, testRun } from '../dist/index.js';
import { bpftoolRun, fmt, kernelUnavailableReason, prng, readBytes } from './lib.js';
import { makeRules, ruleKey, ruleValue } from './replay.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPEAT = 1000;
const KERNEL_REPEAT = 1_000_000;
const ROUNDS = 200;
const KERNEL_ROUNDS = 3;

/** The best of ROUNDS timed calls of `fn` (after a few untimed ones), in ns. */
function bestOf(fn) {
  for (let i = 0; i < 5; i++) fn();
  let best = Infinity;
  for (let i = 0; i < ROUNDS; i++) {
    const t = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t));
  }
  return best;
}

/** An IPv4 TCP frame (64 bytes) from `src` to 198.51.100.10:443. */
function tcpFrame(src) {
  const f = Buffer.alloc(64);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  f.set([0x45, 0, 0, 50, 0, 0, 0x40, 0, 64, 6, 0, 0], 14);
  f.writeUInt32BE(src >>> 0, 26);
  f.set([198, 51, 100, 10], 30);
  f.writeUInt16BE(40000, 34);
  f.writeUInt16BE(443, 36);
  f[46] = 0x50;
  return new Uint8Array(f);
}

/** The firewall's rules (as bench/replay.js makes them) and a frame whose source one of them drops. */
function firewallSetup() {
  const rules = makeRules(prng(0x0dd5eed));
  const dropping = rules.find((r) => r.action === 1 && r.port === 0);
  return {
    entries: { rules: rules.map((r) => [ruleKey(r), ruleValue(r)]) },
    frame: tcpFrame(dropping.addr | 1),
  };
}

/** A flow table of 4096 random TCP flows plus the frame's own (bench/programs/flow.bpf.c). */
function flowSetup() {
  const next = prng(0xf10f);
  const frame = tcpFrame(0xc0000201);
  const keyOf = (f) => Uint8Array.from([...f.subarray(26, 38), 6, 0, 0, 0]);
  const flows = [[keyOf(frame), new Uint8Array(16)]];
  for (let i = 0; i < 4096; i++) flows.push([keyOf(tcpFrame(next())), new Uint8Array(16)]);
  return { entries: { flows }, frame };
}

const PROGRAMS = [
  { name: 'XDP_DROP', object: 'drop.bpf.o', program: 'xdp_drop', frame: () => tcpFrame(0xc0000201), kernelTarget: 27, stateless: true },
  { name: '64 straight ALU ops', object: 'alu.bpf.o', program: 'xdp_alu', frame: () => tcpFrame(0xc0000201), stateless: true },
  { name: 'parse Eth/IPv4/TCP + port checks', object: 'parse.bpf.o', program: 'xdp_parse', frame: () => tcpFrame(0xc0000201), stateless: true },
  { name: 'firewall: parse + LPM (4096 rules) + per-CPU counter', object: 'fw.bpf.o', program: 'xdp_fw', setup: firewallSetup, kernelTarget: 34 },
  { name: 'flow table: parse + hash lookup (4097 flows)', object: 'flow.bpf.o', program: 'flow_lookup', setup: flowSetup },
  { name: 'MAC swap, XDP_TX', object: 'macswap.bpf.o', program: 'xdp_macswap', frame: () => tcpFrame(0xc0000201), stateless: true },
  { name: 'tail-call chain of 4 programs', object: 'tailcall.bpf.o', program: 'xdp_chain', frame: () => tcpFrame(0xc0000201) },
  { name: 'parse + hash lookup + hash update', object: 'flows.bpf.o', program: 'xdp_flow', frame: () => tcpFrame(0xc0000201) },
  { name: 'tail-call chain of 2 programs + hash ops', object: 'flows.bpf.o', program: 'xdp_flow_chain', frame: () => tcpFrame(0xc0000201) },
  { name: 'loop-heavy (loop.bpf.o)', object: 'loop.bpf.o', program: 'loop', frame: () => new Uint8Array(64), kernelTarget: 506, stateless: true },
];

/** The engines this build has: always the interpreter; the JIT when the runtime knows it. */
function engines() {
  const out = ['interp'];
  try {
    const rt = new Runtime({ engine: 'jit' });
    if (rt.engineName === 'jit') out.push('jit');
  } catch {
    // no JIT in this build
  }
  return out;
}

function loadXdplab(ref, engine, entries) {
  const file = path.join(here, 'programs', ref.object);
  const spec = loadCollectionSpec(readBytes(file), file);
  const runtime = new Runtime({ engine, perfReaders: false });
  const collection = Collection.load(runtime, spec);
  for (const [map, list] of Object.entries(entries ?? {})) for (const [k, v] of list) collection.map(map).update(k, v);
  return { runtime, program: collection.program(ref.program) };
}

/** The kernel: load every program with its maps pinned, fill the maps, run with repeat N. */
function kernelRun(ref, frame, entries) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-bench-'));
  const pins = `/sys/fs/bpf/xdplab_bench_${process.pid}`;
  try {
    mkdirSync(pins);
    execFileSync('bpftool', ['prog', 'loadall', path.join(here, 'programs', ref.object), `${pins}/progs`, 'pinmaps', `${pins}/maps`], { stdio: 'pipe' });
    const lines = [];
    const bytes = (b) => [...b].map((x) => `0x${x.toString(16)}`).join(' ');
    for (const [map, list] of Object.entries(entries ?? {})) {
      for (const [k, v] of list) lines.push(`map update pinned ${pins}/maps/${map} key ${bytes(k)} value ${bytes(v)}`);
    }
    if (lines.length) {
      writeFileSync(path.join(dir, 'batch'), lines.join('\n') + '\n');
      execFileSync('bpftool', ['batch', 'file', path.join(dir, 'batch')], { stdio: 'pipe' });
    }
    writeFileSync(path.join(dir, 'packet'), frame);
    const runs = Array.from({ length: KERNEL_ROUNDS }, () => bpftoolRun(`${pins}/progs/${ref.program}`, path.join(dir, 'packet'), KERNEL_REPEAT));
    return runs.reduce((a, b) => (b.ns < a.ns ? b : a));
  } finally {
    rmSync(pins, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchPrograms() {
  const why = kernelUnavailableReason();
  const names = engines();
  const rows = [];
  const notes = [];
  const raw = [];
  for (const ref of PROGRAMS) {
    const { entries, frame } = ref.setup ? ref.setup() : { entries: undefined, frame: ref.frame() };
    const row = [ref.name];
    let retval;
    const perEngine = {};
    for (const engine of names) {
      const { runtime, program } = loadXdplab(ref, engine, entries);
      const first = testRun(runtime, program, { data: frame });
      if (retval !== undefined && first.retval !== retval) throw new Error(`${ref.name}: engines disagree (${retval} vs ${first.retval})`);
      retval = first.retval;
      const repeat = engine === 'interp' ? REPEAT / 10 : REPEAT;
      perEngine[engine] = bestOf(() => testRun(runtime, program, { data: frame, repeat })) / repeat;
    }
    for (const engine of ['interp', 'jit']) row.push(perEngine[engine] === undefined ? '–' : `${fmt(perEngine[engine])} ns`);
    if (why === undefined) {
      const kernel = kernelRun(ref, frame, entries);
      if (kernel.retval !== retval) throw new Error(`${ref.name}: the kernel returned ${kernel.retval}, xdplab ${retval}`);
      const best = perEngine.jit ?? perEngine.interp;
      row.push(`${kernel.ns} ns`, `${fmt(best / Math.max(kernel.ns, 1), 2)}×`);
      raw.push({ name: ref.name, jit: perEngine.jit, kernel: kernel.ns, stateless: ref.stateless === true });
    } else {
      row.push('–', '–');
    }
    row.push(ref.kernelTarget ? `${ref.kernelTarget} ns` : '');
    rows.push(row);
  }
  notes.push(`xdplab: testRun (BPF_PROG_TEST_RUN's semantics: the frame laid out once, the program run ${REPEAT} times, ${REPEAT / 10} in the interpreter), the best of ${ROUNDS} calls, per run; ` +
    `the kernel: the best of ${KERNEL_ROUNDS} \`bpftool prog run … repeat ${KERNEL_REPEAT.toLocaleString('en-US')}\` on the same object with the same map entries and frame; every return value agreed.`);
  notes.push(`"× kernel" is the faster xdplab engine's time over the kernel JIT's (lower is better; issue 14's target: within 2×, at or under 1× for the stateless programs — no map: drop, ALU, parse, MAC swap, loop). ` +
    `"issue figure" is the kernel time quoted in issue 5 for a program of that kind on this machine type.`);
  if (!names.includes('jit')) notes.push('The JIT column is empty: this build has no JIT engine.');
  if (why !== undefined) notes.push(`Kernel figures skipped: ${why}.`);
  return { title: 'Per-program run time', header: ['program', 'interpreter', 'JIT', 'kernel JIT', '× kernel', 'issue figure'], rows, notes, raw };
}

// Run alone: node bench/programs.js (after npm run build).
if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchPrograms();
  console.log(result.title);
  for (const row of result.rows) console.log('  ' + row.join('  '));
  for (const note of result.notes) console.log('  ' + note);
}
