/**
 * An object loaded into the real kernel with bpftool (programs and maps pinned under
 * /sys/fs/bpf), to ask it what BPF_PROG_TEST_RUN returns and what the maps hold — the
 * reference xdplab is compared with. Root only: `kernelSkipReason()` says why not.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let reason: string | undefined | null = null;

/** Why the kernel cannot be asked here (printed once), or undefined when it can. */
export function kernelSkipReason(): string | undefined {
  if (reason !== null) return reason;
  reason = probe();
  if (reason) console.log(`kernel comparison skipped: ${reason}`);
  return reason;
}

function probe(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root (BPF_PROG_TEST_RUN needs CAP_BPF and CAP_NET_ADMIN)';
  if (spawnSync('sh', ['-c', 'command -v bpftool']).status !== 0) return 'bpftool is not installed';
  if (spawnSync('sh', ['-c', 'mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf']).status !== 0) return 'no BPF filesystem at /sys/fs/bpf';
  return undefined;
}

let batchTool: string | undefined | null = null;

/** test/support/kernel-batch.c built in a temporary folder, or undefined without gcc or libbpf. */
function kernelBatchTool(): string | undefined {
  if (batchTool !== null) return batchTool;
  batchTool = undefined;
  const source = path.join(path.dirname(fileURLToPath(import.meta.url)), 'kernel-batch.c');
  const binary = path.join(mkdtempSync(path.join(os.tmpdir(), 'xdplab-batch-')), 'kernel-batch');
  const r = spawnSync('gcc', ['-O2', '-o', binary, source, '-lbpf'], { encoding: 'utf8' });
  if (r.status === 0) batchTool = binary;
  else console.log(`kernel-batch: not built (${(r.error?.message ?? r.stderr ?? '').split('\n')[0]}); one bpftool run a packet instead`);
  return batchTool;
}

export interface KernelRun {
  retval: number;
  dataOut: Uint8Array;
  ctxOut?: Uint8Array;
}

export interface KernelMapEntry {
  key: string;
  /** Hex of the value; for per-CPU maps, of every CPU's value in order. */
  value: string;
}

const hexBytes = (list: string[]): string => list.map((b) => b.replace(/^0x/, '')).join('');

export class KernelObject {
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-kernel-'));
  private readonly progs: string;
  private readonly maps: string;

  constructor(object: string) {
    const tag = `xdplab_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    this.progs = `/sys/fs/bpf/${tag}`;
    this.maps = `/sys/fs/bpf/${tag}_maps`;
    const r = spawnSync('bpftool', ['prog', 'loadall', object, this.progs, 'pinmaps', this.maps], { encoding: 'utf8' });
    if (r.status !== 0) {
      this.close();
      throw new Error(`the kernel refused ${object}: ${(r.stderr || '').split('\n').slice(-8).join('\n')}`);
    }
  }

  run(prog: string, data: Uint8Array, ctx?: Uint8Array, repeat = 1): KernelRun {
    const dataIn = path.join(this.dir, 'data_in');
    const dataOut = path.join(this.dir, 'data_out');
    const ctxIn = path.join(this.dir, 'ctx_in');
    const ctxOut = path.join(this.dir, 'ctx_out');
    writeFileSync(dataIn, data);
    const args = ['prog', 'run', 'pinned', `${this.progs}/${prog}`, 'data_in', dataIn, 'data_out', dataOut];
    // bpftool's data_out buffer is 32 KiB unless told (a bigger frame fails with ENOSPC);
    // a multi-buffer frame may grow by a page.
    if (data.length > 16384) args.push('data_size_out', String(data.length + 8192));
    if (ctx) {
      writeFileSync(ctxIn, ctx);
      args.push('ctx_in', ctxIn, 'ctx_out', ctxOut);
    }
    if (repeat > 1) args.push('repeat', String(repeat));
    const out = execFileSync('bpftool', args, { encoding: 'utf8' });
    const m = /Return value: (\d+)/.exec(out);
    if (!m) throw new Error(`bpftool prog run: ${out}`);
    return {
      retval: Number(m[1]),
      dataOut: new Uint8Array(readFileSync(dataOut)),
      ctxOut: ctx ? new Uint8Array(readFileSync(ctxOut)) : undefined,
    };
  }

  /**
   * Run `prog` on each packet in order, as many BPF_PROG_TEST_RUN calls in one process
   * (test/support/kernel-batch.c, built once with gcc and libbpf); one bpftool run a packet
   * where that cannot be built.
   */
  runMany(prog: string, packets: readonly Uint8Array[]): KernelRun[] {
    const tool = kernelBatchTool();
    if (tool === undefined) return packets.map((p) => this.run(prog, p));
    const input = path.join(this.dir, 'batch_in');
    const output = path.join(this.dir, 'batch_out');
    const parts: Uint8Array[] = [];
    for (const p of packets) {
      const head = new Uint8Array(4);
      new DataView(head.buffer).setUint32(0, p.length, true);
      parts.push(head, p);
    }
    writeFileSync(input, Buffer.concat(parts));
    execFileSync(tool, [`${this.progs}/${prog}`, input, output], { stdio: 'pipe' });
    const bytes = new Uint8Array(readFileSync(output));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const runs: KernelRun[] = [];
    for (let at = 0; at < bytes.length; ) {
      const length = view.getUint32(at + 4, true);
      runs.push({ retval: view.getUint32(at, true), dataOut: bytes.slice(at + 8, at + 8 + length) });
      at += 8 + length;
    }
    if (runs.length !== packets.length) throw new Error(`kernel-batch: ${runs.length} answers for ${packets.length} packets`);
    return runs;
  }

  /** libbpf pins a map under its name with '.' made '_' (globals.data → globals_data). */
  private pin(name: string): string {
    return `${this.maps}/${name.replace(/\./g, '_')}`;
  }

  dumpMap(name: string): KernelMapEntry[] {
    const out = execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', this.pin(name)], { encoding: 'utf8' });
    const entries = JSON.parse(out) as Array<{ key: string[]; value?: string[]; values?: Array<{ cpu: number; value: string[] }> }>;
    return entries.map((e) => ({
      key: hexBytes(e.key),
      value: e.values ? e.values.map((v) => hexBytes(v.value)).join('') : hexBytes(e.value ?? []),
    }));
  }

  updateMap(name: string, key: Uint8Array, value: Uint8Array): void {
    const hex = (b: Uint8Array): string[] => [...b].map((x) => x.toString(16).padStart(2, '0'));
    execFileSync('bpftool', ['map', 'update', 'pinned', this.pin(name), 'key', 'hex', ...hex(key), 'value', 'hex', ...hex(value)]);
  }

  close(): void {
    rmSync(this.progs, { recursive: true, force: true });
    rmSync(this.maps, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
