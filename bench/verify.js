// Verification time: xdplab's verifier against the kernel's on the same programs, measured in
// the same run. Programs: the shipped object the kernel spends longest on (the edge firewall),
// the l4-lb tail-call chain, a program of 24 subprograms (bench/programs/subprogs.bpf.c), the
// 1000-iteration loop, and two from the verifier corpus that explore 60,006 and 200,003
// instructions. References, both from the kernel on this machine:
// - `load`: the wall time of loading the program as `bpftool prog load` does (libbpf opening the
//   object, creating its maps, BPF_PROG_LOAD: the verifier and the JIT; process start-up
//   included) — test/support/kernel-verify.c at log level 4, best of 3;
// - `verifier`: the kernel's own "verification time N usec" from that load's log statistics.
// xdplab: verifyProgram on every program named, warm (Benchmark.js mean) and cold (the first
// verification in a fresh Node.js process, after the modules are loaded: what one CLI command
// pays).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCollectionSpec, verifyProgram } from '../dist/index.js';
import { fmt, measure } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const KERNEL_VERIFY = path.join(root, 'test', 'support', 'kernel-verify.c');

const CASES = [
  { file: 'topologies/edge-firewall/firewall.bpf.o', programs: ['xdp_firewall'] },
  { file: 'topologies/l4-lb/lb.bpf.o', programs: ['lb_classify', 'lb_encap', 'xdp_lb'], together: true },
  { file: 'bench/programs/subprogs.bpf.o', programs: ['subprogs'] },
  { file: 'bench/programs/loop.bpf.o', programs: ['loop'] },
  { file: 'test/fixtures/verifier/loops.bpf.o', programs: ['loops_for_10000_ok'] },
  { file: 'test/fixtures/verifier/cfg.bpf.o', programs: ['cfg_insn_limit_ok'] },
];

/** Verify every program of a case; the instructions processed, summed. */
function verifyCase(spec, c) {
  let insns = 0;
  for (const name of c.programs) {
    const r = verifyProgram(spec, spec.programs.get(name), { caps: 'root' });
    if (!r.accepted) throw new Error(`${c.file}: ${name} refused by xdplab: ${r.error}`);
    insns += r.insnsProcessed;
  }
  return insns;
}

/** The first verification in a fresh process (modules loaded first, not timed). */
function coldMs(c) {
  const script = `
    import { readFileSync } from 'node:fs';
    import { loadCollectionSpec, verifyProgram } from ${JSON.stringify(path.join(root, 'dist', 'index.js'))};
    const spec = loadCollectionSpec(readFileSync(${JSON.stringify(path.join(root, c.file))}), ${JSON.stringify(c.file)});
    const t0 = performance.now();
    for (const name of ${JSON.stringify(c.programs)}) verifyProgram(spec, spec.programs.get(name), { caps: 'root' });
    console.log(performance.now() - t0);`;
  const runs = [0, 1, 2].map(() => Number(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })));
  return Math.min(...runs);
}

/** Why the kernel cannot be asked, or the built kernel-verify binary. */
function kernelVerifier(dir) {
  if (process.getuid?.() !== 0) return { why: 'not root: BPF_PROG_LOAD needs CAP_BPF' };
  if (spawnSync('sh', ['-c', 'command -v gcc']).status !== 0) return { why: 'gcc is not installed' };
  if (!existsSync('/usr/include/bpf/libbpf.h')) return { why: 'libbpf-dev is not installed (apt-get install libbpf-dev)' };
  const binary = path.join(dir, 'kernel-verify');
  try {
    execFileSync('gcc', ['-O2', '-o', binary, KERNEL_VERIFY, '-lbpf'], { stdio: 'pipe' });
  } catch (err) {
    return { why: `gcc failed: ${String(err.stderr ?? err.message).trim().split('\n')[0]}` };
  }
  return { binary };
}

/** The kernel loading the case's programs: wall ms (best of 3) and its own verification ms, summed. */
function kernelLoad(binary, c) {
  const args = ['--log-level', '4', ...(c.together ? ['--together'] : []), path.join(root, c.file), ...c.programs];
  let best = { wallMs: Infinity, verifierMs: 0 };
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(binary, args, { encoding: 'utf8' });
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`kernel-verify ${c.file}: ${r.stderr.trim()}`);
    const verdicts = [].concat(JSON.parse(r.stdout));
    if (verdicts.some((v) => !v.accepted)) throw new Error(`the kernel refused ${c.file}: ${r.stdout}`);
    const verifierMs = verdicts.reduce((s, v) => s + Number(/verification time (\d+) usec/.exec(v.log)?.[1] ?? NaN) / 1000, 0);
    if (wallMs < best.wallMs) best = { wallMs, verifierMs };
  }
  return best;
}

export async function benchVerify() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-bench-verify-'));
  try {
    const kernel = kernelVerifier(dir);
    const rows = [];
    const raw = [];
    for (const c of CASES) {
      const spec = loadCollectionSpec(readFileSync(path.join(root, c.file)), c.file);
      const insns = verifyCase(spec, c);
      const warm = await measure(`verify ${c.file}`, () => verifyCase(spec, c), { maxTime: 2, minSamples: 5 });
      const warmMs = warm.meanNs / 1e6;
      const cold = coldMs(c);
      const k = kernel.binary ? kernelLoad(kernel.binary, c) : undefined;
      raw.push({ file: c.file, warmMs, coldMs: cold, kernel: k });
      rows.push([
        `${c.file} (${c.programs.join(', ')})`, String(insns),
        `${fmt(warmMs, 2)} ms`, `${fmt(cold, 1)} ms`,
        k ? `${fmt(k.verifierMs, 2)} ms` : '–', k ? `${fmt(k.wallMs, 1)} ms` : '–',
        k ? `${fmt(warmMs / k.wallMs, 2)}× / ${fmt(cold / k.wallMs, 2)}×` : '–',
        k ? `${fmt(warmMs / k.verifierMs, 2)}× / ${fmt(cold / k.verifierMs, 2)}×` : '–',
      ]);
    }
    const notes = [
      'xdplab warm: verifyProgram on each program named, mean under Benchmark.js; cold: the first verification in a fresh Node.js process (modules already loaded), best of 3 processes.',
      'Kernel load: test/support/kernel-verify.c loading the programs with libbpf as `bpftool prog load` does (object opened, maps created, BPF_PROG_LOAD: verifier and JIT), process included, best of 3; kernel verifier: the "verification time" its log statistics print for that load.',
      'Ratios: xdplab warm / cold time over the kernel\'s; below 1× xdplab is faster.',
    ];
    if (kernel.why) notes.push(`Kernel figures skipped: ${kernel.why}.`);
    return {
      title: 'Verification time against the kernel',
      header: ['programs', 'insns processed', 'xdplab warm', 'xdplab cold', 'kernel verifier', 'kernel load', 'vs load (warm / cold)', 'vs verifier (warm / cold)'],
      rows, notes, raw,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchVerify();
  console.log(result.title);
  for (const row of result.rows) console.log('  ' + row.join('  '));
  for (const note of result.notes) console.log('  ' + note);
}
