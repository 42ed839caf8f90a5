/**
 * The running kernel as a second opinion, through bpftool: an object loaded as libbpf loads it
 * (`bpftool prog loadall … pinmaps …`: programs and maps pinned under /sys/fs/bpf), programs
 * run with BPF_PROG_TEST_RUN (`bpftool prog run`), maps seeded and read (`bpftool map update`,
 * `bpftool -j map dump`).
 *
 * Why bpftool and not a C helper built on demand with gcc and libbpf: bpftool is the kernel's
 * own tool, packaged with it on every distribution, and its loader is libbpf's — the object
 * loads here as the user's loader would load it (BTF maps, globals, CO-RE, prog arrays), and
 * nothing is compiled, so a missing compiler or libbpf-dev or a header mismatch cannot stop
 * it. Packets go in batches (`bpftool -j batch file`: one process for many test runs, each
 * packet in its own file); a batch stops at a packet the test run refuses (EINVAL for a frame
 * too short for its EtherType's header), which is answered as refused, and the rest go on in
 * the next batch. The batches run pinned to one CPU (`taskset`, when there is one): a test run
 * runs on the CPU its caller is on, and per-CPU maps then hold what xdplab's one CPU holds
 * (summed over CPUs, a counter is the same either way; a per-CPU scratch value is not).
 *
 * `kernelMissing()` says exactly what is missing when the kernel cannot be asked: root (or
 * CAP_BPF with CAP_NET_ADMIN), bpftool, the BPF file system.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { XdplabError } from '../errors.js';

const BPFFS = '/sys/fs/bpf';
const CAP_NET_ADMIN = 12n;
const CAP_BPF = 39n;

/** What the kernel's answer for one packet was: a return value and data_out, or the test run's refusal. */
export type KernelAnswer = { retval: number; dataOut: Uint8Array } | { refused: string };

export interface KernelMapEntry {
  key: Uint8Array;
  /** Every CPU's value, in order (one for a map that is not per-CPU). */
  values: Uint8Array[];
}

/** Why the kernel cannot be asked here (what is missing), or undefined when it can. */
export function kernelMissing(): string | undefined {
  if (!privileged()) return 'not root, and without CAP_BPF and CAP_NET_ADMIN (BPF_PROG_TEST_RUN needs them): run as root';
  const v = spawnSync('bpftool', ['version'], { encoding: 'utf8' });
  if (v.error || v.status !== 0) return 'bpftool is not installed or does not run (Debian/Ubuntu: apt install bpftool, or linux-tools-$(uname -r))';
  if (!bpffsMounted()) return `no BPF file system at ${BPFFS} (mount -t bpf bpf ${BPFFS})`;
  return undefined;
}

function privileged(): boolean {
  if (process.getuid?.() === 0) return true;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    const caps = m ? BigInt(`0x${m[1]}`) : 0n;
    return ((caps >> CAP_BPF) & 1n) === 1n && ((caps >> CAP_NET_ADMIN) & 1n) === 1n;
  } catch {
    return false;
  }
}

function bpffsMounted(): boolean {
  try {
    return readFileSync('/proc/mounts', 'utf8').split('\n').some((line) => {
      const [, where, type] = line.split(' ');
      return where === BPFFS && type === 'bpf';
    });
  } catch {
    return false;
  }
}

/** `taskset -c N` for the first CPU this process may run on, or nothing without taskset. */
function oneCpu(): string[] {
  try {
    const allowed = /^Cpus_allowed_list:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (allowed === undefined || spawnSync('taskset', ['-c', allowed, 'true']).status !== 0) return [];
    return ['taskset', '-c', allowed];
  } catch {
    return [];
  }
}

const hexWords = (bytes: Uint8Array): string[] => [...bytes].map((b) => b.toString(16).padStart(2, '0'));
const fromHexList = (list: string[]): Uint8Array => Uint8Array.from(list.map((b) => parseInt(b, 16)));
/** Why libbpf did not load an object: its `prog '…': failed to load: -13` line (or bpftool's last). */
function loadError(text: string): string {
  const lines = text.split('\n').map((l) => l.trim());
  return lines.filter((l) => /^libbpf: .*failed/.test(l) && !l.includes('failed to load object')).pop() ?? lastLine(text);
}

/** bpftool's error, in one line: its last non-empty line of output. */
const lastLine = (text: string | undefined): string => (text ?? '').split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? 'failed';

/** An object loaded into the running kernel; `close()` unpins (and so frees) everything. */
export class KernelObject {
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-crosscheck-'));
  private readonly progs: string;
  private readonly maps: string;

  /** Loads `object`; throws an XdplabError (code VERIFIER) with the kernel's last words when it refuses. */
  constructor(object: string) {
    const tag = `xdplab_crosscheck_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    this.progs = path.join(BPFFS, tag);
    this.maps = path.join(BPFFS, `${tag}_maps`);
    const r = spawnSync('bpftool', ['prog', 'loadall', object, this.progs, 'pinmaps', this.maps], { encoding: 'utf8' });
    if (r.status !== 0) {
      this.close();
      throw new XdplabError('VERIFIER', `${object}: the kernel does not load it (bpftool prog loadall: ${loadError(r.stderr || r.stdout)})`);
    }
  }

  /** BPF_PROG_TEST_RUN of `program` on each packet, in order (state carries over, as in one loop). */
  runMany(program: string, packets: readonly Uint8Array[]): KernelAnswer[] {
    const answers: KernelAnswer[] = [];
    while (answers.length < packets.length) answers.push(...this.batch(program, packets, answers.length));
    return answers;
  }

  /** One `bpftool batch` from packet `from` on: its answers, up to and including the first refused one. */
  private batch(program: string, packets: readonly Uint8Array[], from: number): KernelAnswer[] {
    const lines: string[] = [];
    for (let i = from; i < packets.length; i++) {
      writeFileSync(path.join(this.dir, `in${i}`), packets[i]);
      rmSync(path.join(this.dir, `out${i}`), { force: true });
      // bpftool's data_out buffer is 32 KiB unless told; a multi-buffer frame may grow by a page.
      lines.push(`prog run pinned ${path.join(this.progs, program)} data_in ${path.join(this.dir, `in${i}`)} data_out ${path.join(this.dir, `out${i}`)} data_size_out ${packets[i].length + 8192}`);
    }
    const commands = path.join(this.dir, 'commands');
    writeFileSync(commands, lines.join('\n') + '\n');
    const [command, ...args] = [...oneCpu(), 'bpftool', '-j', 'batch', 'file', commands];
    const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
    let results: Array<{ output?: { retval?: number; error?: string } }>;
    try {
      results = JSON.parse(r.stdout) as typeof results;
    } catch {
      throw new XdplabError('BAD_INPUT', `the kernel's test run: bpftool batch: ${lastLine(r.stderr || r.stdout)}`);
    }
    if (results.length === 0) throw new XdplabError('BAD_INPUT', `the kernel's test run: bpftool batch answered nothing: ${lastLine(r.stderr)}`);
    return results.map((res, k) => {
      const out = res.output ?? {};
      if (out.retval === undefined) return { refused: out.error ?? 'no answer' };
      return { retval: out.retval >>> 0, dataOut: new Uint8Array(readFileSync(path.join(this.dir, `out${from + k}`))) };
    });
  }

  /** Whether bpftool pinned a map of this name (libbpf's name, '.' made '_'). */
  hasMap(name: string): boolean {
    return spawnSync('bpftool', ['map', 'show', 'pinned', this.pin(name)], { encoding: 'utf8' }).status === 0;
  }

  dumpMap(name: string): KernelMapEntry[] {
    const r = spawnSync('bpftool', ['-j', 'map', 'dump', 'pinned', this.pin(name)], { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new XdplabError('BAD_INPUT', `the kernel's map ${name}: bpftool map dump: ${lastLine(r.stderr || r.stdout)}`);
    const entries = JSON.parse(r.stdout) as Array<{ key: string[]; value?: string[]; values?: Array<{ cpu: number; value: string[] }> }>;
    return entries.map((e) => ({ key: fromHexList(e.key), values: e.values ? e.values.map((v) => fromHexList(v.value)) : [fromHexList(e.value ?? [])] }));
  }

  /** One entry; a per-CPU map's `value` goes to every CPU (as bpftool fills it). */
  updateMap(name: string, key: Uint8Array, value: Uint8Array): void {
    const r = spawnSync('bpftool', ['map', 'update', 'pinned', this.pin(name), 'key', 'hex', ...hexWords(key), 'value', 'hex', ...hexWords(value)], { encoding: 'utf8' });
    if (r.status !== 0) throw new XdplabError('BAD_INPUT', `the kernel's map ${name} cannot be seeded: bpftool map update: ${lastLine(r.stderr || r.stdout)}`);
  }

  private pin(name: string): string {
    return path.join(this.maps, name.replace(/\./g, '_'));
  }

  close(): void {
    rmSync(this.progs, { recursive: true, force: true });
    rmSync(this.maps, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
