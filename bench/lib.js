// Shared pieces of the benchmarks: Benchmark.js runs, machine details, and the kernel's own
// figures through `bpftool prog run … repeat N` (BPF_PROG_TEST_RUN) when privileged.
import Benchmark from 'benchmark';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Run one function under Benchmark.js; resolves to { hz, rme, samples } (hz = calls per second). */
export function measure(name, fn, { minSamples = 20, maxTime = 3 } = {}) {
  return new Promise((resolve) => {
    const bench = new Benchmark(name, fn, { minSamples, maxTime });
    bench.on('complete', () => {
      const { stats } = bench;
      resolve({ name, hz: bench.hz, rme: stats.rme, samples: stats.sample.length, meanNs: stats.mean * 1e9 });
    });
    bench.run({ async: false });
  });
}

export function machineDetails() {
  const cpus = os.cpus();
  let kernel = os.release();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: (os.totalmem() / 1024 ** 3).toFixed(1),
    node: process.version,
    v8: process.versions.v8,
    kernel,
    date: new Date().toISOString().slice(0, 10),
  };
}

const which = (cmd) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
};

/** Why the kernel cannot be asked here, or undefined when it can. */
export function kernelUnavailableReason() {
  if (process.getuid?.() !== 0) return 'not root: BPF_PROG_TEST_RUN needs CAP_BPF and CAP_NET_ADMIN';
  if (!which('bpftool')) return 'bpftool is not installed (apt-get install bpftool)';
  if (!existsSync('/sys/fs/bpf')) return 'no /sys/fs/bpf';
  try {
    execFileSync('sh', ['-c', 'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf'], { stdio: 'pipe' });
  } catch {
    return 'cannot mount the BPF filesystem at /sys/fs/bpf';
  }
  return undefined;
}

/**
 * Load `object` into the kernel and run its first program `repeat` times on `packet` with
 * BPF_PROG_TEST_RUN; returns { retval, ns } (ns: the kernel's average per run).
 */
export function kernelRun(object, packet, repeat) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-bench-'));
  const pin = `/sys/fs/bpf/xdplab_bench_${process.pid}`;
  try {
    const input = path.join(dir, 'packet');
    writeFileSync(input, packet);
    execFileSync('bpftool', ['prog', 'load', object, pin], { stdio: 'pipe' });
    return bpftoolRun(pin, input, repeat);
  } finally {
    rmSync(pin, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `bpftool prog run pinned PIN data_in FILE repeat N` (BPF_PROG_TEST_RUN): { retval, ns }, ns
 * being the average bpftool prints (its `duration` line, with or without "(average)").
 */
export function bpftoolRun(pin, dataFile, repeat) {
  const out = execFileSync('bpftool', ['prog', 'run', 'pinned', pin, 'data_in', dataFile, 'repeat', String(repeat)], { encoding: 'utf8' });
  const m = /Return value: (\d+), duration(?: \(average\))?: (\d+)ns/.exec(out);
  if (!m) throw new Error(`unexpected bpftool output: ${out}`);
  return { retval: Number(m[1]), ns: Number(m[2]) };
}

/** xorshift32: the same sequence on every machine. */
export function prng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
}

export const fmt = (n, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export const readBytes = (file) => new Uint8Array(readFileSync(file));
