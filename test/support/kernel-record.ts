/**
 * The kernel's answers, kept. Every kernel-parity test asks the kernel through a KernelRecord:
 * one JSON file per test file under test/fixtures/kernel/ (test/hooks/xdp-ctx.test.ts keeps
 * test/fixtures/kernel/hooks/xdp-ctx.json), each answer kept as its values — return codes,
 * output bytes in hex, map contents — under a key that names the question.
 *
 * - Where the kernel cannot be asked (kernelUnavailable(): not root, XDPLAB_NO_KERNEL set…),
 *   the recorded answer is the oracle. A question without one fails its test, naming the
 *   command that records it: no test passes for want of an answer.
 * - Where it can, the live kernel is the oracle, and its answer must equal the record too
 *   (a missing record fails there as well), so records cannot go stale unnoticed — unless the
 *   machine is not the recording one (another kernel release, CPU count, or for the TC tests
 *   devices): then, said once, the live answers are held to xdplab's only.
 * - With XDPLAB_RECORD_KERNEL=1 (root), the answers asked are written, replacing the file:
 *   record whole test files (`XDPLAB_RECORD_KERNEL=1 npx vitest run test/hooks/xdp-ctx.test.ts`).
 *
 * Answers of a program's run keep output bytes as `PackedBytes`: the hex of short outputs;
 * for long ones the length and the runs of bytes that differ from the input (aligned at its
 * start or at its end, whichever differs less) — the same values, readable in a diff.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, expect, onTestFinished } from 'vitest';
import { KernelError, KernelMap, kernelUnavailable } from './kernel.js';
import { KernelObject, type KernelMapEntry, type KernelRunInput, type KernelRunResult } from './kernel-object.js';
import { repoRoot } from './paths.js';

/** XDPLAB_RECORD_KERNEL=1: write the live kernel's answers into the records. */
export const RECORDING = process.env.XDPLAB_RECORD_KERNEL === '1';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));
/** A short name for some bytes or text: 16 hex digits of their SHA-256. */
export const digest = (...parts: Array<Uint8Array | string | number | undefined>): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p instanceof Uint8Array ? `b${hex(p)};` : `${typeof p}${String(p)};`);
  return h.digest('hex').slice(0, 16);
};

// ---- output bytes ------------------------------------------------------------------------

/** Output bytes as a record keeps them (see the file's comment). */
export type PackedBytes = string | { length: number; aligned: 'start' | 'end'; runs: Array<[number, string]> };

const SHORT = 128;
/** Differing runs closer than this are kept as one. */
const GAP = 8;

function runsAgainst(input: Uint8Array, output: Uint8Array, shift: number): Array<[number, string]> {
  const runs: Array<[number, string]> = [];
  let start = -1;
  let last = -1;
  for (let i = 0; i < output.length; i++) {
    const j = i + shift;
    if (j >= 0 && j < input.length && input[j] === output[i]) continue;
    if (start >= 0 && i - last <= GAP) {
      last = i;
      continue;
    }
    if (start >= 0) runs.push([start, hex(output.subarray(start, last + 1))]);
    start = last = i;
  }
  if (start >= 0) runs.push([start, hex(output.subarray(start, last + 1))]);
  return runs;
}

export function packBytes(input: Uint8Array, output: Uint8Array): PackedBytes {
  if (output.length <= SHORT) return hex(output);
  const atStart = runsAgainst(input, output, 0);
  const atEnd = runsAgainst(input, output, input.length - output.length);
  const size = (runs: Array<[number, string]>): number => runs.reduce((n, [, h]) => n + h.length, 0);
  const packed: PackedBytes = size(atEnd) < size(atStart)
    ? { length: output.length, aligned: 'end', runs: atEnd }
    : { length: output.length, aligned: 'start', runs: atStart };
  if (!Buffer.from(unpackBytes(input, packed)).equals(Buffer.from(output))) throw new Error('packBytes: the packed form does not give the bytes back');
  return packed;
}

export function unpackBytes(input: Uint8Array, packed: PackedBytes): Uint8Array {
  if (typeof packed === 'string') return fromHex(packed);
  const out = new Uint8Array(packed.length);
  const shift = packed.aligned === 'start' ? 0 : input.length - packed.length;
  for (let i = 0; i < out.length; i++) {
    const j = i + shift;
    if (j >= 0 && j < input.length) out[i] = input[j];
  }
  for (const [at, bytes] of packed.runs) out.set(fromHex(bytes), at);
  return out;
}

// ---- the record --------------------------------------------------------------------------

interface RecordFile {
  /** The kernel that answered (uname -r) and how many CPUs it had: for the reader. */
  kernel: string;
  cpus: number;
  /** What of the recording machine the answers depend on (the TC tests' devices). */
  machine?: unknown;
  answers: Record<string, unknown>;
}

const roundTrip = <T>(value: T): T => (value === undefined ? value : JSON.parse(JSON.stringify(value)) as T);

/** A JSON text with one answer a line (and one element a line in lists of objects). */
function format(file: RecordFile): string {
  const value = (v: unknown, indent: string): string => {
    if (Array.isArray(v) && v.length > 1 && v.some((x) => typeof x === 'object' && x !== null)) {
      return `[\n${v.map((x) => `${indent} ${JSON.stringify(x)}`).join(',\n')}\n${indent}]`;
    }
    return JSON.stringify(v);
  };
  const lines = [`{`, ` "kernel": ${JSON.stringify(file.kernel)},`, ` "cpus": ${file.cpus},`];
  if (file.machine !== undefined) lines.push(` "machine": ${JSON.stringify(file.machine)},`);
  const answers = Object.entries(file.answers).map(([k, v]) => `  ${JSON.stringify(k)}: ${value(v, '  ')}`);
  lines.push(` "answers": {`, answers.join(',\n'), ` }`, `}`);
  return lines.join('\n') + '\n';
}

const records = new Map<string, KernelRecord>();

export class KernelRecord {
  /** The test file (relative to the repository) and its record file. */
  readonly test: string;
  readonly file: string;
  /** Why the live kernel is not asked (the records answer alone), or undefined when it is. */
  readonly offline: string | undefined;
  private readonly stored: RecordFile | undefined;
  private readonly fresh = new Map<string, unknown>();
  private machineNow: unknown;
  /** Set when the live machine differs from the recording one: live answers are not held to the record. */
  private otherMachine: string | undefined;
  private readonly histories = new Map<string, { n: number; hash: string }>();
  private readonly open = new Set<{ close(): void }>();
  private lastSave = 0;

  /** The record of the test file whose `import.meta.url` is given (one per file). */
  static for(testFileUrl: string): KernelRecord {
    const test = path.relative(repoRoot, fileURLToPath(testFileUrl));
    let record = records.get(test);
    if (!record) {
      record = new KernelRecord(test);
      records.set(test, record);
      process.once('exit', () => record!.closeAll());
    }
    const r = record;
    afterAll(() => r.save());
    return r;
  }

  private constructor(test: string) {
    const m = /^test\/(.*)\.test\.ts$/.exec(test.split(path.sep).join('/'));
    if (!m) throw new Error(`KernelRecord: ${test} is not a test file under test/`);
    this.test = test;
    this.file = path.join(repoRoot, 'test', 'fixtures', 'kernel', `${m[1]}.json`);
    this.offline = kernelUnavailable();
    if (RECORDING && this.offline) throw new Error(`XDPLAB_RECORD_KERNEL=1, but the kernel cannot be asked: ${this.offline}`);
    this.stored = existsSync(this.file) ? JSON.parse(readFileSync(this.file, 'utf8')) as RecordFile : undefined;
    if (this.live && !RECORDING && this.stored && (this.stored.kernel !== os.release() || this.stored.cpus !== os.cpus().length)) {
      this.differs(`${this.where} was recorded on Linux ${this.stored.kernel} with ${this.stored.cpus} CPUs, this is ${os.release()} with ${os.cpus().length}`);
    }
  }

  /** The live machine is not the recording one: its answers are held to xdplab's only (said once). */
  private differs(why: string): void {
    if (this.otherMachine !== undefined) return;
    this.otherMachine = why;
    console.log(`${why}: the live kernel's answers are compared with xdplab's, not with the record`);
  }

  /** Whether the live kernel answers (else the records do). */
  get live(): boolean {
    return this.offline === undefined;
  }

  private get where(): string {
    return path.relative(repoRoot, this.file);
  }

  private missing(what: string): Error {
    return new Error(`no recorded kernel answer for ${what} in ${this.where}: record it as root with `
      + `XDPLAB_RECORD_KERNEL=1 npx vitest run ${this.test}`);
  }

  /**
   * What the machine is that the answers depend on: the live one's (`current()`) where the
   * kernel is asked, the recording one's where it is not.
   */
  machine<T>(current: () => T): T {
    if (this.live) {
      const now = roundTrip(current());
      this.machineNow = now;
      if (!RECORDING && this.stored && !isDeepStrictEqual(now, this.stored.machine)) {
        this.differs(`${this.where} was recorded on another machine (its devices or cgroup differ from these)`);
      }
      return now;
    }
    if (this.stored?.machine === undefined) throw this.missing('the recording machine');
    return this.stored.machine as T;
  }

  /**
   * The kernel's answer to the question `key` (a JSON value): `ask()`ed of the live kernel
   * and held to the record, or the record's where the kernel cannot be asked.
   */
  answer<T>(key: string, ask: () => T): T {
    if (!this.live) {
      if (!this.stored || !Object.hasOwn(this.stored.answers, key)) throw this.missing(`"${key}"`);
      return this.stored.answers[key] as T;
    }
    const now = roundTrip(ask());
    if (RECORDING) {
      if (this.fresh.has(key) && !isDeepStrictEqual(this.fresh.get(key), now)) {
        throw new Error(`${this.where}: "${key}" asked twice, answered differently: ${JSON.stringify(this.fresh.get(key))} and ${JSON.stringify(now)}`);
      }
      this.fresh.set(key, now);
      if (Date.now() - this.lastSave > 2000) this.save();
    } else if (this.otherMachine === undefined) {
      if (!this.stored || !Object.hasOwn(this.stored.answers, key)) throw this.missing(`"${key}"`);
      expect(now, `${key}: the live kernel's answer differs from ${this.where} (re-record with XDPLAB_RECORD_KERNEL=1)`).toEqual(this.stored.answers[key]);
    }
    return now;
  }

  /** Expect xdplab's `got` to equal the kernel's answer to `key`. */
  check<T>(key: string, got: T, ask: () => T, message?: string): void {
    expect(roundTrip(got), message ?? `${key}: xdplab differs from the kernel`).toEqual(this.answer(key, ask));
  }

  /**
   * A key for the next question of the running test, in a sequence: the test's name, the
   * question's number, `what` it asks, and a digest of everything the test asked before
   * (`input` included), so that a changed test misses its old answers instead of reading them.
   */
  step(what: string, input = ''): string {
    const test = expect.getState().currentTestName;
    if (!test) throw new Error('KernelRecord.step: a question of the kernel is asked outside a test');
    const h = this.histories.get(test) ?? { n: 0, hash: '' };
    h.n++;
    h.hash = digest(h.hash, what, input);
    this.histories.set(test, h);
    return `${test} #${h.n} ${what} @${h.hash.slice(0, 8)}`;
  }

  /**
   * An object in the kernel (loaded where it can be asked) whose answers are kept here. It is
   * closed after the test that made it, or after the describe block that made it.
   */
  object(file: string): RecordedObject {
    return this.opened(new RecordedObject(this, file));
  }

  /** A map in the kernel (made with bpftool where it can be asked) whose answers are kept here; closed as objects are. */
  map(type: string, keySize: number, valueSize: number, maxEntries: number, flags = 0): RecordedMap {
    return this.opened(new RecordedMap(this, [type, keySize, valueSize, maxEntries, flags]));
  }

  private opened<T extends { close(): void }>(o: T): T {
    this.open.add(o);
    if (expect.getState().currentTestName) onTestFinished(() => o.close());
    else afterAll(() => o.close());
    return o;
  }

  forget(o: { close(): void }): void {
    this.open.delete(o);
  }

  private closeAll(): void {
    for (const o of [...this.open]) o.close();
  }

  private save(): void {
    if (!RECORDING || this.fresh.size === 0) return;
    this.lastSave = Date.now();
    const file: RecordFile = { kernel: os.release(), cpus: os.cpus().length, machine: this.machineNow, answers: Object.fromEntries(this.fresh) };
    mkdirSync(path.dirname(this.file), { recursive: true });
    writeFileSync(this.file, format(file));
  }
}

// ---- objects and maps --------------------------------------------------------------------

type RunAnswer = { ok: true; retval: number; data: PackedBytes; ctx?: PackedBytes } | { ok: false; errno: number };

/**
 * An object's programs and maps in the kernel, asked through a record: the same calls as
 * KernelObject, each answer kept under the running test's next step.
 */
export class RecordedObject {
  private readonly kernel: KernelObject | undefined;
  readonly name: string;

  constructor(private readonly record: KernelRecord, readonly file: string) {
    this.name = path.basename(file);
    this.kernel = record.live ? new KernelObject(file) : undefined;
  }

  private get live(): KernelObject {
    if (!this.kernel) throw new Error(`${this.name}: the kernel is not asked here`);
    return this.kernel;
  }

  /** BPF_PROG_TEST_RUN: the return value, data_out and ctx_out, or the errno of a refusal. */
  run(prog: string, input: KernelRunInput): KernelRunResult {
    const key = this.record.step(`${this.name} run ${prog}`, digest(input.data, input.ctx, String(input.ctxOut ?? false), input.repeat ?? 1));
    const ctxIn = input.ctx ?? new Uint8Array(0);
    const a = this.record.answer<RunAnswer>(key, () => {
      const r = this.live.run(prog, input);
      if (!r.ok) return { ok: false, errno: r.errno };
      return { ok: true, retval: r.retval, data: packBytes(input.data, r.dataOut), ...(r.ctxOut ? { ctx: packBytes(ctxIn, r.ctxOut) } : {}) };
    });
    if (!a.ok) return { ok: false, errno: a.errno, message: `the kernel refused the run: errno ${a.errno}` };
    return { ok: true, retval: a.retval, dataOut: unpackBytes(input.data, a.data), ctxOut: a.ctx === undefined ? undefined : unpackBytes(ctxIn, a.ctx) };
  }

  /** A run the kernel must not refuse. */
  mustRun(prog: string, input: KernelRunInput): { retval: number; dataOut: Uint8Array; ctxOut: Uint8Array | undefined } {
    const r = this.run(prog, input);
    if (!r.ok) throw new Error(`${this.name} ${prog}: ${r.message}`);
    return r;
  }

  /** Each packet in order (state carried from one to the next). */
  runMany(prog: string, packets: readonly Uint8Array[]): { retval: number; dataOut: Uint8Array }[] {
    const key = this.record.step(`${this.name} run ${prog} on ${packets.length} packets`, digest(...packets));
    const answers = this.record.answer<Array<{ retval: number; data: PackedBytes }>>(key, () =>
      this.live.runMany(prog, packets).map((r, i) => ({ retval: r.retval, data: packBytes(packets[i], r.dataOut) })));
    expect(answers, `${key}: one answer a packet`).toHaveLength(packets.length);
    return answers.map((a, i) => ({ retval: a.retval, dataOut: unpackBytes(packets[i], a.data) }));
  }

  /** A map's entries in the kernel's dump order (per-CPU values: every CPU's, in order). */
  dumpMap(name: string): KernelMapEntry[] {
    return this.ask(`dump ${name}`, (k) => k.dumpMap(name));
  }

  /**
   * Any other question of the kernel's copy of the object, answered with a JSON value: put it
   * in the form that is compared (a map's entries sorted, say) so that what varies from run to
   * run in the kernel (hash order, the CPU a run took) is not recorded.
   */
  ask<T>(what: string, question: (kernel: KernelObject) => T): T {
    return this.record.answer(this.record.step(`${this.name} ${what}`), () => question(this.live));
  }

  /** An update that must succeed (the kernel's answer is in what the map gives back later). */
  updateMap(name: string, key: Uint8Array, value: Uint8Array): void {
    this.record.step(`${this.name} update ${name}`, digest(key, value));
    this.kernel?.updateMap(name, key, value);
  }

  /** Updates that must succeed, in one bpftool process. */
  updateMapMany(name: string, entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): void {
    this.record.step(`${this.name} update ${name} ×${entries.length}`, digest(...entries.flat()));
    this.kernel?.updateMapMany(name, entries);
  }

  close(): void {
    this.kernel?.close();
    this.record.forget(this);
  }
}

/** nextKey's answer: the key, null at the end, or the errno name. */
type NextKeyAnswer = { key: string } | { errno: string } | null;

/** A map made in the kernel with bpftool, asked through a record: KernelMap's calls. */
export class RecordedMap {
  private readonly kernel: KernelMap | undefined;
  private readonly what: string;

  constructor(private readonly record: KernelRecord, args: [string, number, number, number, number]) {
    this.what = `${args[0]}(${args.slice(1).join(',')})`;
    let kernel: KernelMap | undefined;
    const created = record.answer(record.step(`create ${this.what}`), () => {
      try {
        kernel = new KernelMap(...args);
        return 'ok';
      } catch (e) {
        if (e instanceof KernelError) return e.errno;
        throw e;
      }
    });
    this.kernel = kernel;
    if (created !== 'ok') {
      kernel?.close();
      throw new Error(`the kernel refused to create ${this.what}: ${created}`);
    }
  }

  /** 'ok' or the errno name the kernel refused a map with. */
  static tryCreate(record: KernelRecord, type: string, keySize: number, valueSize: number, maxEntries: number, flags = 0): string {
    const args = [type, keySize, valueSize, maxEntries, flags] as const;
    return record.answer(record.step(`create ${type}(${args.slice(1).join(',')})`), () => KernelMap.tryCreate(...args));
  }

  private ask<T>(what: string, input: string, call: (k: KernelMap) => T): T {
    return this.record.answer(this.record.step(`${this.what} ${what}`, input), () => call(this.kernel!));
  }

  update(key: Uint8Array, value: Uint8Array, flag: 'any' | 'exist' | 'noexist' = 'any'): string {
    return this.ask(`update ${hex(key)} ${flag}`, hex(value), (k) => k.update(key, value, flag));
  }

  /** Many updates that must succeed (their effect is in what the map answers later). */
  updateAll(entries: [Uint8Array, Uint8Array][]): void {
    this.record.step(`${this.what} update ${entries.length} entries`, digest(...entries.flat()));
    this.kernel?.updateAll(entries);
  }

  delete(key: Uint8Array): string {
    return this.ask(`delete ${hex(key)}`, '', (k) => k.delete(key));
  }

  /** The value, or the errno name. */
  lookup(key: Uint8Array): Uint8Array | string {
    const a = this.ask<{ value: string } | { errno: string }>(`lookup ${hex(key)}`, '', (k) => {
      const v = k.lookup(key);
      return typeof v === 'string' ? { errno: v } : { value: hex(v) };
    });
    return 'value' in a ? fromHex(a.value) : a.errno;
  }

  /** The next key, undefined at the end, or the errno name. */
  nextKey(key?: Uint8Array): Uint8Array | undefined | string {
    const a = this.ask<NextKeyAnswer>(`next_key ${key ? hex(key) : '(none)'}`, '', (k) => {
      const v = k.nextKey(key);
      return v === undefined ? null : typeof v === 'string' ? { errno: v } : { key: hex(v) };
    });
    return a === null ? undefined : 'key' in a ? fromHex(a.key) : a.errno;
  }

  /** Every entry in the kernel's get_next_key order (per-CPU maps: keys only). */
  dump(): { key: Uint8Array; value: Uint8Array }[] {
    const a = this.ask('dump', '', (k) => k.dump().map((e) => ({ key: hex(e.key), value: hex(e.value) })));
    return a.map((e) => ({ key: fromHex(e.key), value: fromHex(e.value) }));
  }

  push(value: Uint8Array): string {
    return this.ask(`push ${hex(value)}`, '', (k) => k.push(value));
  }

  pop(): Uint8Array | string {
    const a = this.ask<{ value: string } | { errno: string }>('pop', '', (k) => {
      const v = k.pop();
      return typeof v === 'string' ? { errno: v } : { value: hex(v) };
    });
    return 'value' in a ? fromHex(a.value) : a.errno;
  }

  close(): void {
    this.kernel?.close();
    this.record.forget(this);
  }
}
