/**
 * Running a clang-built TC fixture in xdplab and, when privileged, in the kernel, with the
 * results in one comparable shape: the return value, data_out and ctx_out as hex, or the errno
 * of a refused run. The kernel's view of the host's network devices (/sys/class/net) is given
 * to xdplab as its device table, so ctx_in's ifindex and the helpers name the same devices.
 *
 * What the kernel answered is also kept, as digests, next to the object (`<object>.kernel.json`,
 * with the device table and cgroup id of the machine that recorded it): where the kernel cannot
 * be asked, xdplab runs with that machine's devices and is checked against the record. Record
 * with `XDPLAB_RECORD_KERNEL=1 npx vitest run --no-file-parallelism test/hooks test/helpers`
 * as root (delete the files first to drop cases that no longer exist).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect } from 'vitest';
import { ethernetDevice, LOOPBACK, type DeviceTable, type NetDevice } from '../../src/helpers/skb-model.js';
import { TcHook, TestRunError, type TcRunInput, type TcRunResult } from '../../src/hooks/tc.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { repoRoot } from './conformance.js';
import { KernelObject, type KernelRunInput } from './kernel-run.js';

export const fixture = (name: string): string => path.join(repoRoot, 'test', 'fixtures', 'bpf', name);
export const hex = (b: Uint8Array | undefined): string => (b ? Buffer.from(b).toString('hex') : '');

/** What one test run gave, in a form both sides produce. */
export type Outcome =
  | { ok: true; retval: number; data: string; ctx: string }
  | { ok: false; errno: number };

export interface RunInput {
  data: Uint8Array;
  ctx?: Uint8Array;
  ctxOut?: boolean;
  repeat?: number;
}

/** The host's network devices as the kernel sees them (for the device table). */
export function hostDevices(): DeviceTable {
  const table = new Map<number, NetDevice>();
  let names: string[] = [];
  try {
    names = readdirSync('/sys/class/net');
  } catch {
    return table;
  }
  for (const name of names) {
    try {
      const read = (f: string): string => readFileSync(`/sys/class/net/${name}/${f}`, 'utf8').trim();
      const ifindex = Number(read('ifindex'));
      const flags = Number(read('flags'));
      if (ifindex === 1) {
        table.set(1, { ...LOOPBACK, mtu: Number(read('mtu')) });
        continue;
      }
      const macBytes = Uint8Array.from(read('address').split(':').map((h) => parseInt(h, 16)));
      const dev = ethernetDevice(ifindex, name, macBytes, Number(read('mtu')), (flags & 1) !== 0);
      if (read('type') !== '1') dev.macHeaderXmit = false;
      table.set(ifindex, dev);
    } catch {
      // a device that vanished while we looked
    }
  }
  return table;
}

/** The cgroup v2 id of this process (what bpf_skb_cgroup_id reports for the kernel's test socket). */
export function ownCgroupId(): number {
  try {
    const line = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'));
    const rel = line?.slice(3) ?? '/';
    if (rel === '/') return 1; // the root cgroup
    const mount = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[2] === 'cgroup2');
    if (!mount) return 1;
    // A cgroup's id is the inode number of its directory in cgroupfs.
    return Number(statSync(path.join(mount[1], rel), { bigint: true }).ino);
  } catch {
    return 1;
  }
}

interface Recorded {
  /** The recording machine's device table. */
  devices: Array<{ ifindex: number; name: string; mtu: number; mac: string; up: boolean; macHeaderXmit: boolean }>;
  cgroupId: number;
  /** Case key → digest of the kernel's outcome. */
  outcomes: Record<string, string>;
}

const digest = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 24);

function caseKey(program: string, input: RunInput): string {
  return digest([program, hex(input.data), hex(input.ctx), input.ctxOut ?? false, input.repeat ?? 1]);
}

function toTable(devices: Recorded['devices']): DeviceTable {
  return new Map(devices.map((d) => {
    const mac = Uint8Array.from(Buffer.from(d.mac, 'hex'));
    const dev: NetDevice = d.ifindex === 1 ? { ...LOOPBACK, mtu: d.mtu } : { ...ethernetDevice(d.ifindex, d.name, mac, d.mtu, d.up), macHeaderXmit: d.macHeaderXmit };
    return [d.ifindex, dev];
  }));
}

const fromTable = (table: DeviceTable): Recorded['devices'] =>
  [...table.values()].sort((a, b) => a.ifindex - b.ifindex)
    .map((d) => ({ ifindex: d.ifindex, name: d.name, mtu: d.mtu, mac: hex(d.mac), up: d.up, macHeaderXmit: d.macHeaderXmit }));

/** One object in xdplab (and in the kernel when it can be asked). */
export class TcFixture {
  readonly runtime = new Runtime();
  readonly collection: Collection;
  readonly hook: TcHook;
  readonly kernel: KernelObject | undefined;
  readonly devices: DeviceTable;
  readonly cgroupId: number;
  private readonly recordFile: string;
  private readonly record: Recorded | undefined;
  private readonly fresh = new Map<string, string>();

  constructor(readonly object: string, options: { kernel?: boolean } = {}) {
    const file = fixture(object);
    this.collection = Collection.load(this.runtime, loadCollectionSpec(new Uint8Array(readFileSync(file)), file));
    this.hook = new TcHook(this.runtime);
    this.kernel = options.kernel === false ? undefined : KernelObject.load(file);
    this.recordFile = file.replace(/\.o$/, '.kernel.json');
    this.record = existsSync(this.recordFile) ? JSON.parse(readFileSync(this.recordFile, 'utf8')) as Recorded : undefined;
    if (this.kernel || !this.record) {
      this.devices = hostDevices();
      this.cgroupId = this.kernel ? ownCgroupId() : 1;
    } else {
      this.devices = toTable(this.record.devices);
      this.cgroupId = this.record.cgroupId;
    }
    afterAll(() => {
      this.kernel?.close();
      if (this.kernel && process.env.XDPLAB_RECORD_KERNEL) this.save();
    });
  }

  private save(): void {
    const previous = existsSync(this.recordFile) ? (JSON.parse(readFileSync(this.recordFile, 'utf8')) as Recorded).outcomes : {};
    const outcomes = Object.fromEntries(Object.entries({ ...previous, ...Object.fromEntries(this.fresh) }).sort(([a], [b]) => a.localeCompare(b)));
    const record: Recorded = { devices: fromTable(this.devices), cgroupId: this.cgroupId, outcomes };
    writeFileSync(this.recordFile, JSON.stringify(record, null, 1) + '\n');
  }

  /**
   * Compare xdplab's result with the kernel's (asked now, or as recorded): `kernel` is called
   * only when the kernel can be asked.
   */
  check<T>(key: string, got: T, kernel: () => T): void {
    if (this.kernel) {
      const want = kernel();
      expect(got).toEqual(want);
      this.fresh.set(key, digest(want));
    } else {
      const recorded = this.record?.outcomes[key];
      if (recorded) expect(digest(got), `${this.object} ${key}: xdplab differs from what the kernel answered when recorded`).toBe(recorded);
    }
  }

  /** Run in xdplab, check the kernel agrees (now or as recorded), return xdplab's outcome. */
  agree(program: string, input: RunInput): Outcome {
    const got = this.xdplab(program, input);
    this.check(caseKey(program, input), got, () => this.kernelRun(program, input)!);
    return got;
  }

  /** The same for another hook's run (an XDP program of the object): any comparable value. */
  agreeWith<T>(program: string, input: RunInput, got: T, kernel: () => T): void {
    this.check(caseKey(program, input), got, kernel);
  }

  /** The xdplab run, with the hook's full result (or the refusal). */
  xdplabRun(program: string, input: RunInput & Partial<TcRunInput>): TcRunResult | TestRunError {
    try {
      return this.hook.testRun(this.collection.program(program), { devices: this.devices, cgroupId: this.cgroupId, ...input });
    } catch (err) {
      if (err instanceof TestRunError) return err;
      throw err;
    }
  }

  xdplab(program: string, input: RunInput): Outcome {
    const r = this.xdplabRun(program, input);
    if (r instanceof TestRunError) return { ok: false, errno: r.errno };
    return { ok: true, retval: r.retval >>> 0, data: hex(r.dataOut), ctx: hex(r.ctxOut) };
  }

  /** The kernel's run, or undefined when the kernel cannot be asked. */
  kernelRun(program: string, input: RunInput): Outcome | undefined {
    if (!this.kernel) return undefined;
    const r = this.kernel.run(program, input as KernelRunInput);
    if (!r.ok) return { ok: false, errno: r.errno };
    return { ok: true, retval: r.retval >>> 0, data: hex(r.dataOut), ctx: hex(r.ctxOut) };
  }
}
