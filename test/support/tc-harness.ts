/**
 * Running a clang-built TC fixture in xdplab and in the kernel, with the results in one
 * comparable shape: the return value, data_out and ctx_out as hex, or the errno of a refused
 * run. The kernel's view of the host's network devices (/sys/class/net) is given to xdplab as
 * its device table, so ctx_in's ifindex and the helpers name the same devices.
 *
 * The kernel is asked through the test file's KernelRecord (kernel-record.ts): live as root,
 * its answers held to the record; elsewhere the recorded answers, with the device table and
 * cgroup id of the machine that recorded them, are the oracle, and a case without one fails.
 * Record with `XDPLAB_RECORD_KERNEL=1 npx vitest run test/hooks/tc.test.ts` (any of the TC
 * test files) as root.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll } from 'vitest';
import { ethernetDevice, LOOPBACK, type DeviceTable, type NetDevice } from '../../src/netcore/net-device.js';
import { TcHook, TestRunError, type TcRunInput, type TcRunResult } from '../../src/hooks/tc.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { repoRoot } from './conformance.js';
import { KernelObject } from './kernel-object.js';
import { digest, KernelRecord, packBytes } from './kernel-record.js';

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

/** The recording machine: its device table and the cgroup id of the test process. */
interface Machine {
  devices: Array<{ ifindex: number; name: string; mtu: number; mac: string; up: boolean; macHeaderXmit: boolean }>;
  cgroupId: number;
}

function caseKey(object: string, program: string, input: RunInput): string {
  const sizes = `data ${input.data.length}B${input.ctx ? `, ctx ${input.ctx.length}B` : ''}${input.ctxOut ? ', ctx_out' : ''}${input.repeat ? `, repeat ${input.repeat}` : ''}`;
  return `${object} ${program} (${sizes}) ${digest(input.data, input.ctx, String(input.ctxOut ?? false), input.repeat ?? 1)}`;
}

/** An outcome as it is compared and kept: output bytes packed against the input's (kernel-record.ts). */
function packed(input: RunInput, o: Outcome): unknown {
  if (!o.ok) return o;
  const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
  return { ok: true, retval: o.retval, data: packBytes(input.data, bytes(o.data)), ctx: packBytes(input.ctx ?? new Uint8Array(0), bytes(o.ctx)) };
}

function toTable(devices: Machine['devices']): DeviceTable {
  return new Map(devices.map((d) => {
    const mac = Uint8Array.from(Buffer.from(d.mac, 'hex'));
    const dev: NetDevice = d.ifindex === 1 ? { ...LOOPBACK, mtu: d.mtu } : { ...ethernetDevice(d.ifindex, d.name, mac, d.mtu, d.up), macHeaderXmit: d.macHeaderXmit };
    return [d.ifindex, dev];
  }));
}

const fromTable = (table: DeviceTable): Machine['devices'] =>
  [...table.values()].sort((a, b) => a.ifindex - b.ifindex)
    .map((d) => ({ ifindex: d.ifindex, name: d.name, mtu: d.mtu, mac: hex(d.mac), up: d.up, macHeaderXmit: d.macHeaderXmit }));

/** One object in xdplab and in the kernel (live, or as recorded for the test file). */
export class TcFixture {
  readonly runtime = new Runtime();
  readonly collection: Collection;
  readonly hook: TcHook;
  /** The object in the running kernel, where it can be asked (elsewhere the record answers). */
  readonly kernel: KernelObject | undefined;
  readonly record: KernelRecord;
  readonly devices: DeviceTable;
  readonly cgroupId: number;

  /** `testFileUrl`: the test file's import.meta.url, whose record keeps the kernel's answers. */
  constructor(testFileUrl: string, readonly object: string) {
    const file = fixture(object);
    this.collection = Collection.load(this.runtime, loadCollectionSpec(new Uint8Array(readFileSync(file)), file));
    this.hook = new TcHook(this.runtime);
    this.record = KernelRecord.for(testFileUrl);
    this.kernel = this.record.live ? new KernelObject(file) : undefined;
    const machine = this.record.machine<Machine>(() => ({ devices: fromTable(hostDevices()), cgroupId: ownCgroupId() }));
    this.devices = toTable(machine.devices);
    this.cgroupId = machine.cgroupId;
    afterAll(() => this.kernel?.close());
  }

  /** Run in xdplab, check the kernel agrees (now or as recorded), return xdplab's outcome. */
  agree(program: string, input: RunInput): Outcome {
    const got = this.xdplab(program, input);
    this.record.check(caseKey(this.object, program, input), packed(input, got), () => packed(input, this.kernelRun(program, input)!),
      `${this.object} ${program}: xdplab differs from the kernel`);
    return got;
  }

  /** The same for another hook's run (an XDP program of the object): any comparable JSON value. */
  agreeWith<T>(program: string, input: RunInput, got: T, kernel: () => T): void {
    this.record.check(caseKey(this.object, program, input), got, kernel, `${this.object} ${program}: xdplab differs from the kernel`);
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
    const r = this.kernel.run(program, input);
    if (!r.ok) return { ok: false, errno: r.errno };
    return { ok: true, retval: r.retval >>> 0, data: hex(r.dataOut), ctx: hex(r.ctxOut) };
  }
}
