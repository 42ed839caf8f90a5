/**
 * BPF_PROG_TEST_RUN in the real kernel, through bpftool, as the reference the TC hook and the
 * skb helpers are compared with: an object's programs are pinned under /sys/fs/bpf (`bpftool
 * prog loadall`), each run writes data_in / ctx_in to files in a temporary directory and reads
 * data_out / ctx_out back, and "Return value: N" is parsed from bpftool's output. A refused run
 * comes back as its errno, so refusals can be compared too.
 *
 * `loadKernelObject` returns undefined, printing why once, when the kernel cannot be asked:
 * not root, no bpftool, no BPF filesystem, or XDPLAB_NO_KERNEL set.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BPFFS = '/sys/fs/bpf';

let skipReason: string | null | undefined;

/** Why the kernel cannot be asked here, or undefined when it can (printed once). */
export function kernelRunSkipReason(): string | undefined {
  if (skipReason === undefined) {
    skipReason = probe() ?? null;
    if (skipReason) console.log(`kernel comparison skipped: ${skipReason}`);
  }
  return skipReason ?? undefined;
}

function probe(): string | undefined {
  if (process.env.XDPLAB_NO_KERNEL) return 'XDPLAB_NO_KERNEL is set';
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root (BPF_PROG_TEST_RUN of TC programs needs CAP_BPF and CAP_NET_ADMIN)';
  if (spawnSync('sh', ['-c', 'command -v bpftool'], { stdio: 'pipe' }).status !== 0) return 'bpftool is not installed';
  if (!existsSync(BPFFS)) return `no ${BPFFS}`;
  if (spawnSync('sh', ['-c', `mountpoint -q ${BPFFS} || mount -t bpf bpf ${BPFFS}`], { stdio: 'pipe' }).status !== 0) {
    return `cannot mount the BPF filesystem at ${BPFFS}`;
  }
  return undefined;
}

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

let serial = 0;

export class KernelObject {
  private readonly dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-tc-'));
  private readonly pins: string;
  private readonly mapPins: string;

  private constructor(readonly object: string) {
    const tag = `xdplab_tc_${process.pid}_${serial++}`;
    this.pins = `${BPFFS}/${tag}`;
    this.mapPins = `${BPFFS}/${tag}_maps`;
    const r = spawnSync('bpftool', ['prog', 'loadall', object, this.pins, 'pinmaps', this.mapPins], { encoding: 'utf8' });
    if (r.status !== 0) {
      this.close();
      throw new Error(`the kernel refused ${object}:\n${(r.stderr || r.stdout || '').split('\n').slice(-12).join('\n')}`);
    }
  }

  /** The object's programs pinned in the kernel, or undefined (with the reason printed) when it cannot be asked. */
  static load(object: string): KernelObject | undefined {
    if (kernelRunSkipReason() !== undefined) return undefined;
    return new KernelObject(object);
  }

  run(program: string, input: KernelRunInput): KernelRunResult {
    const file = (name: string): string => path.join(this.dir, name);
    for (const name of ['data_out', 'ctx_out']) rmSync(file(name), { force: true });
    writeFileSync(file('data_in'), input.data);
    const args = ['prog', 'run', 'pinned', `${this.pins}/${program}`, 'data_in', file('data_in'), 'data_out', file('data_out')];
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
      if (errno === undefined) throw new Error(`bpftool prog run ${program}: ${message}`);
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

  close(): void {
    rmSync(this.pins, { recursive: true, force: true });
    rmSync(this.mapPins, { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}
