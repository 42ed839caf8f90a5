/**
 * The one answer to "can the running kernel be asked here?" — `kernelUnavailable()`, the
 * reason it cannot (XDPLAB_NO_KERNEL set, not Linux, not root, no bpftool, no BPF
 * filesystem, bpftool unable to create a map), or undefined when it can. Every kernel-parity
 * helper (kernel-object.ts, kernel-record.ts, kernel-verify.ts, kernel-insns.ts) asks it.
 *
 * Also the kernel as a reference for map tests, through bpftool on pinned maps: every map
 * made here is pinned under /sys/fs/bpf with a name of this process and removed by close();
 * removeAllPins() is the safety net for afterAll.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const BPFFS = '/sys/fs/bpf';
const PIN_PREFIX = `xdplab_t${process.pid}_`;
let cached: string | null | undefined;

/** Why the running kernel cannot be asked here, or undefined when it can. */
export function kernelUnavailable(): string | undefined {
  if (cached === undefined) cached = probe() ?? null;
  return cached ?? undefined;
}

function probe(): string | undefined {
  if (process.env.XDPLAB_NO_KERNEL) return 'XDPLAB_NO_KERNEL is set';
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return 'not root (BPF_PROG_TEST_RUN and BPF maps need CAP_BPF and CAP_NET_ADMIN)';
  if (spawnSync('sh', ['-c', 'command -v bpftool'], { stdio: 'pipe' }).status !== 0) return 'bpftool is not installed';
  if (!existsSync(BPFFS)) return `no ${BPFFS}`;
  if (spawnSync('sh', ['-c', `mountpoint -q ${BPFFS} || mount -t bpf bpf ${BPFFS}`], { stdio: 'pipe' }).status !== 0) {
    return `cannot mount the BPF filesystem at ${BPFFS}`;
  }
  const pin = path.join(BPFFS, `${PIN_PREFIX}probe`);
  const r = spawnSync('bpftool', ['map', 'create', pin, 'type', 'array', 'key', '4', 'value', '4', 'entries', '1', 'name', 'xdplab_probe'], { stdio: 'pipe' });
  rmSync(pin, { force: true });
  if (r.status !== 0) return `bpftool cannot create maps: ${r.stderr.toString().trim()}`;
  return undefined;
}

/** strerror text bpftool prints → errno name. */
const ERRNO_TEXT: Record<string, string> = {
  'Operation not permitted': 'EPERM',
  'No such file or directory': 'ENOENT',
  'Argument list too long': 'E2BIG',
  'Bad file descriptor': 'EBADF',
  'Resource temporarily unavailable': 'EAGAIN',
  'Cannot allocate memory': 'ENOMEM',
  'Device or resource busy': 'EBUSY',
  'File exists': 'EEXIST',
  'No such device': 'ENODEV',
  'Invalid argument': 'EINVAL',
  'No space left on device': 'ENOSPC',
  'Value too large for defined data type': 'EOVERFLOW',
  'Operation not supported': 'EOPNOTSUPP',
  'Unknown error 524': 'ENOTSUPP',
};

/** The errno name in a bpftool error message ("update failed: File exists"), or the message. */
function errnoName(message: string): string {
  for (const [text, name] of Object.entries(ERRNO_TEXT)) if (message.includes(text)) return name;
  return message.trim();
}

const bytesArg = (b: Uint8Array): string[] => [...b].map(String);
const parseBytes = (list: string[]): Uint8Array => Uint8Array.from(list.map((x) => Number(x)));

let pins = 0;

/** A map in the kernel, pinned under /sys/fs/bpf, driven through bpftool. */
export class KernelMap {
  readonly pin: string;

  constructor(type: string, keySize: number, valueSize: number, maxEntries: number, flags = 0) {
    this.pin = path.join(BPFFS, `${PIN_PREFIX}${pins++}`);
    const args = ['map', 'create', this.pin, 'type', type, 'key', String(keySize), 'value', String(valueSize), 'entries', String(maxEntries), 'name', 'xdplab_t'];
    if (flags) args.push('flags', String(flags));
    const r = spawnSync('bpftool', args, { stdio: 'pipe' });
    if (r.status !== 0) throw new KernelError(errnoName(r.stderr.toString()));
  }

  /** Try to create a map: 'ok' or the errno name the kernel refused it with. */
  static tryCreate(type: string, keySize: number, valueSize: number, maxEntries: number, flags = 0): string {
    try {
      new KernelMap(type, keySize, valueSize, maxEntries, flags).close();
      return 'ok';
    } catch (e) {
      if (e instanceof KernelError) return e.errno;
      throw e;
    }
  }

  private run(args: string[]): { ok: boolean; out: string; err: string } {
    const r = spawnSync('bpftool', ['-j', ...args], { stdio: 'pipe' });
    const out = r.stdout.toString();
    let err = r.stderr.toString();
    const m = /"error":"([^"]*)"/.exec(out);
    if (m) err = m[1];
    // A lookup or pop that finds nothing prints `null` (JSON) or "Not found".
    if (r.status !== 0 && !err.trim() && (out.trim() === 'null' || /Not found/.test(out))) err = 'No such file or directory';
    return { ok: r.status === 0, out, err };
  }

  /** 'ok' or the errno name. `flag`: any, exist, noexist. */
  update(key: Uint8Array, value: Uint8Array, flag: 'any' | 'exist' | 'noexist' = 'any'): string {
    const r = this.run(['map', 'update', 'pinned', this.pin, 'key', ...bytesArg(key), 'value', ...bytesArg(value), flag]);
    return r.ok ? 'ok' : errnoName(r.err);
  }

  /** Many updates that must succeed, in one bpftool process. */
  updateAll(entries: [Uint8Array, Uint8Array][]): void {
    if (entries.length === 0) return;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-batch-'));
    try {
      const file = path.join(dir, 'batch');
      writeFileSync(file, entries.map(([k, v]) => `map update pinned ${this.pin} key ${bytesArg(k).join(' ')} value ${bytesArg(v).join(' ')}\n`).join(''));
      execFileSync('bpftool', ['batch', 'file', file], { stdio: 'pipe' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  delete(key: Uint8Array): string {
    const r = this.run(['map', 'delete', 'pinned', this.pin, 'key', ...bytesArg(key)]);
    return r.ok ? 'ok' : errnoName(r.err);
  }

  /** The value, or the errno name. */
  lookup(key: Uint8Array): Uint8Array | string {
    const r = this.run(['map', 'lookup', 'pinned', this.pin, 'key', ...bytesArg(key)]);
    if (!r.ok) return errnoName(r.err);
    return parseBytes(JSON.parse(r.out).value);
  }

  /** The next key, undefined at the end, or the errno name. */
  nextKey(key?: Uint8Array): Uint8Array | undefined | string {
    const r = this.run(['map', 'getnext', 'pinned', this.pin, ...(key ? ['key', ...bytesArg(key)] : [])]);
    if (!r.ok) return errnoName(r.err) === 'ENOENT' ? undefined : errnoName(r.err);
    return parseBytes(JSON.parse(r.out).next_key);
  }

  /** Every entry in the kernel's get_next_key order. */
  dump(): { key: Uint8Array; value: Uint8Array }[] {
    const r = this.run(['map', 'dump', 'pinned', this.pin]);
    if (!r.ok) throw new KernelError(errnoName(r.err));
    // Per-CPU maps list `values` per CPU instead of one `value`: those dumps give keys only.
    return (JSON.parse(r.out) as { key: string[]; value?: string[] }[]).map((e) => ({ key: parseBytes(e.key), value: parseBytes(e.value ?? []) }));
  }

  /** Queue / stack: push (flags 0), pop. */
  push(value: Uint8Array): string {
    const r = this.run(['map', 'push', 'pinned', this.pin, 'value', ...bytesArg(value)]);
    return r.ok ? 'ok' : errnoName(r.err);
  }

  pop(): Uint8Array | string {
    const r = this.run(['map', 'pop', 'pinned', this.pin]);
    if (!r.ok) return errnoName(r.err);
    return parseBytes(JSON.parse(r.out).value);
  }

  close(): void {
    rmSync(this.pin, { force: true });
  }
}

export class KernelError extends Error {
  constructor(readonly errno: string) {
    super(`kernel: ${errno}`);
  }
}

/** Remove every pin this process made (for afterAll). */
export function removeAllPins(): void {
  if (!existsSync(BPFFS)) return;
  for (const name of readdirSync(BPFFS)) if (name.startsWith(PIN_PREFIX)) rmSync(path.join(BPFFS, name), { force: true });
}
