/**
 * An object loaded into the running kernel with bpftool (programs and maps pinned under
 * /sys/fs/bpf), to ask it what BPF_PROG_TEST_RUN returns and what the maps hold — the
 * reference xdplab is compared with. Each run writes data_in / ctx_in to files in a temporary
 * directory and reads data_out / ctx_out back; "Return value: N" is parsed from bpftool's
 * output, and a refused run comes back as its errno, so refusals can be compared too.
 *
 * Only where kernelUnavailable() (kernel.ts) says the kernel can be asked; tests reach it
 * through kernel-record.ts, which keeps its answers for machines where it cannot.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCTool } from './c-tool.js';
import { BPFFS, kernelUnavailable } from './kernel.js';

export interface KernelRunInput {
  data: Uint8Array;
  ctx?: Uint8Array;
  /** Ask for ctx_out even without ctx_in. */
  ctxOut?: boolean;
  repeat?: number;
}

export type KernelRunResult =
  | { ok: true; retval: number; dataOut: Uint8Array; ctxOut: Uint8Array | undefined }
  | { ok: false; errno: number; message: string };

export interface KernelMapEntry {
  key: string;
  /** Hex of the value; for per-CPU maps, of every CPU's value in order. */
  value: string;
}

/** strerror texts bpftool prints, back to errno numbers. */
const ERRNO_TEXT: Record<string, number> = {
  'Operation not permitted': 1,
  'No such file or directory': 2,
  'Argument list too long': 7,
  'Bad address': 14,
  'No such device': 19,
  'Invalid argument': 22,
  'No space left on device': 28,
  'Message too long': 90,
  'Operation not supported': 95,
};

const hexBytes = (list: string[]): string => list.map((b) => b.replace(/^0x/, '')).join('');

let batchTool: string | undefined | null = null;

/** test/support/kernel-batch.c built (c-tool.ts), or undefined without gcc or libbpf. */
function kernelBatchTool(): string | undefined {
  if (batchTool !== null) return batchTool;
  batchTool = undefined;
  const source = path.join(path.dirname(fileURLToPath(import.meta.url)), 'kernel-batch.c');
  try {
    batchTool = buildCTool(source, ['-lbpf']);
  } catch (err) {
    console.log(`kernel-batch: not built (${(err as Error).message}); one bpftool run a packet instead`);
  }
  return batchTool;
}

let serial = 0;

export class KernelObject {
  private readonly dir: string;
  private readonly progs: string;
  private readonly maps: string;

  /** Load `object` (a path) into the kernel; throws with the kernel's reason when it is refused or cannot be asked. */
  constructor(readonly object: string) {
    const why = kernelUnavailable();
    if (why) throw new Error(`the kernel cannot be asked: ${why}`);
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-kernel-'));
    const tag = `xdplab_${process.pid}_${serial++}`;
    this.progs = `${BPFFS}/${tag}`;
    this.maps = `${BPFFS}/${tag}_maps`;
    const r = spawnSync('bpftool', ['prog', 'loadall', object, this.progs, 'pinmaps', this.maps], { encoding: 'utf8' });
    if (r.status !== 0) {
      this.close();
      throw new Error(`the kernel refused ${object}:\n${(r.stderr || r.stdout || '').split('\n').slice(-12).join('\n')}`);
    }
  }

  /** One BPF_PROG_TEST_RUN: the return value, data_out and ctx_out, or the errno it was refused with. */
  run(prog: string, input: KernelRunInput): KernelRunResult {
    const file = (name: string): string => path.join(this.dir, name);
    for (const name of ['data_out', 'ctx_out']) rmSync(file(name), { force: true });
    writeFileSync(file('data_in'), input.data);
    const args = ['prog', 'run', 'pinned', `${this.progs}/${prog}`, 'data_in', file('data_in'), 'data_out', file('data_out')];
    // bpftool's data_out buffer is 32 KiB unless told (a bigger frame fails with ENOSPC);
    // a multi-buffer frame may grow by a page.
    if (input.data.length > 16384) args.push('data_size_out', String(input.data.length + 8192));
    if (input.ctx) {
      writeFileSync(file('ctx_in'), input.ctx);
      args.push('ctx_in', file('ctx_in'));
    }
    const wantCtx = input.ctx !== undefined || input.ctxOut === true;
    if (wantCtx) args.push('ctx_out', file('ctx_out'));
    if (input.repeat && input.repeat > 1) args.push('repeat', String(input.repeat));
    const r = spawnSync('bpftool', args, { encoding: 'utf8' });
    const m = /Return value: (\d+)/.exec(r.stdout ?? '');
    if (r.status !== 0 || !m) {
      const message = (r.stderr || r.stdout || '').trim();
      const text = /failed to run program: (.*)$/m.exec(message)?.[1]?.trim() ?? '';
      const errno = ERRNO_TEXT[text];
      if (errno === undefined) throw new Error(`bpftool prog run ${prog}: ${message}`);
      return { ok: false, errno, message };
    }
    return {
      ok: true,
      retval: Number(m[1]),
      dataOut: new Uint8Array(readFileSync(file('data_out'))),
      // bpftool passes ctx_out only together with ctx_in.
      ctxOut: wantCtx && existsSync(file('ctx_out')) ? new Uint8Array(readFileSync(file('ctx_out'))) : undefined,
    };
  }

  /**
   * Run `prog` on each packet in order, as many BPF_PROG_TEST_RUN calls in one process
   * (test/support/kernel-batch.c, built once with gcc and libbpf); one bpftool run a packet
   * where that cannot be built.
   */
  runMany(prog: string, packets: readonly Uint8Array[]): { retval: number; dataOut: Uint8Array }[] {
    const tool = kernelBatchTool();
    if (tool === undefined) {
      return packets.map((data) => {
        const r = this.run(prog, { data });
        if (!r.ok) throw new Error(r.message);
        return r;
      });
    }
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
    const runs: { retval: number; dataOut: Uint8Array }[] = [];
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
    // Big maps (a per-CPU array of thousands of slots) dump tens of megabytes of JSON.
    const out = execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', this.pin(name)], { encoding: 'utf8', maxBuffer: 1 << 30 });
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

  /** Many updates in one `bpftool batch` process (thousands of entries: one process each would take minutes). */
  updateMapMany(name: string, entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): void {
    const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
    const file = path.join(this.dir, 'batch_updates');
    writeFileSync(file, entries.map(([k, v]) => `map update pinned ${this.pin(name)} key hex ${hex(k)} value hex ${hex(v)}\n`).join(''));
    execFileSync('bpftool', ['batch', 'file', file], { stdio: 'pipe' });
  }

  close(): void {
    rmSync(this.progs, { recursive: true, force: true });
    rmSync(this.maps, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
