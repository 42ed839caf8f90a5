/**
 * The test API's object: a clang-built object loaded into a fresh emulated machine, its maps
 * read and written as typed values through the object's BTF (numbers, IP addresses, CIDRs for
 * LPM keys, structs by field name: the topology file's value syntax, docs/topology.md), and its
 * programs run on packets with everything a test wants to see afterwards — the verdict, the
 * packet before and after, where the verdict was decided. Cilium's bpf/tests phases map onto
 * it: PKTGEN is `buildPacket`, SETUP is `globals`/`maps` and `map(…).set`, CHECK is `run` and
 * the matchers (testing/matchers.ts).
 */
import type { Btf } from '../btf/btf.js';
import { formatValue } from '../btf/format.js';
import { XdplabError } from '../errors.js';
import { testRun, type TestRunResult } from '../hooks/test-run.js';
import type { BpfMap } from '../maps/map.js';
import { buildPacket, type Layer } from '../packet/index.js';
import { Collection } from '../runtime/collection.js';
import type { Program } from '../runtime/program.js';
import { verdictSource, type VerdictSource } from '../runtime/program.js';
import { formatLcov, sourcePathBeside } from '../runtime/lcov.js';
import { Runtime } from '../runtime/runtime.js';
import { setGlobal } from '../spec/edit.js';
import { readObjectFile } from '../spec/compile-c.js';
import { loadCollectionSpec } from '../spec/loader.js';
import type { CollectionSpec } from '../spec/types.js';
import { entryBytes, perCpuValue, type ValueSource } from '../topology/map-values.js';
import { BPF_MAP_TYPE } from '../uapi/bpf.js';
import type { Caps } from '../verifier/index.js';
import { Coverage } from '../vm/coverage.js';
import type { EngineKind } from '../vm/engine.js';

export interface LoadObjectOptions {
  /** Emulated CPUs (per-CPU maps hold one value each). Default 1. */
  cpus?: number;
  /** The engine: 'jit' (default) or 'interp'. */
  engine?: EngineKind;
  /** The PRNG seed (bpf_get_prandom_u32). */
  seed?: number;
  /** `const volatile` knobs and other globals, set before the load: name → integer. */
  globals?: Record<string, number | bigint>;
  /** Map entries loaded after the load: map name → entries in the topology's value syntax. */
  maps?: Record<string, ReadonlyArray<{ key: unknown; value: unknown }>>;
  /** The verifier at load: `{ caps: 'bpf' }` for CAP_BPF alone; false skips it. Default as root. */
  verify?: false | { caps: Caps };
  /** For a `.c` file (compiled with clang on the fly, cached by content): more clang flags. */
  cflags?: string[];
  /** Count the lines and branches every run executes, for `lcov()` (runs then go through the interpreter). */
  coverage?: boolean;
}

/** What one run of a program on one packet gave, with what a failing test wants to show. */
export interface RunOutcome extends TestRunResult {
  /** The program asked for. */
  program: string;
  /** The packet handed to the program. */
  before: Uint8Array;
  /** The packet after the run (dataOut). */
  after: Uint8Array;
  /** Where the verdict was decided: the program that ran last (after tail calls), pc, C line. */
  decided: VerdictSource;
}

export interface RunOptions {
  /** The CPU the program runs on (bpf_get_smp_processor_id, per-CPU maps). Default 0. */
  cpu?: number;
  /** ctx_in: the context's bytes (xdp_md or __sk_buff), as BPF_PROG_TEST_RUN takes them. */
  ctx?: Uint8Array;
}

/** Load an object (a path — a .c file is compiled first — or its bytes) for a test: globals set, verified, maps seeded. */
export function loadObject(file: string | Uint8Array, options: LoadObjectOptions = {}): TestObject {
  const name = typeof file === 'string' ? file : 'object';
  const bytes = typeof file === 'string' ? readObjectFile(file, { cflags: options.cflags }) : file;
  const spec = loadCollectionSpec(bytes, name);
  for (const [global, value] of Object.entries(options.globals ?? {})) setGlobal(spec, global, value);
  const runtime = new Runtime({ cpus: options.cpus, engine: options.engine, seed: options.seed });
  const collection = Collection.load(runtime, spec, { verify: options.verify });
  const object = new TestObject(runtime, spec, collection);
  if (options.coverage) {
    const coverage = new Coverage();
    for (const program of collection.programs.values()) coverage.of(program.image);
    runtime.engine.coverage = coverage;
  }
  for (const [map, entries] of Object.entries(options.maps ?? {})) {
    for (const { key, value } of entries) object.map(map).set(key, value);
  }
  return object;
}

export class TestObject {
  constructor(
    readonly runtime: Runtime,
    readonly spec: CollectionSpec,
    readonly collection: Collection,
  ) {}

  /** A map, read and written as typed values. */
  map(name: string): TypedMap {
    return new TypedMap(this.collection.map(name), this.spec.btf?.btf);
  }

  /**
   * The coverage of every run so far as an lcov tracefile (loadObject's `coverage: true`);
   * `sourcePath` maps the file names of the object's line info to paths (default: found beside the object).
   */
  lcov(sourcePath?: (file: string) => string): string {
    const coverage = this.runtime.engine.coverage;
    if (!coverage) throw new XdplabError('USAGE', `${this.spec.source}: coverage was not asked for (loadObject(…, { coverage: true }))`);
    return formatLcov(coverage, { sourcePath: sourcePath ?? sourcePathBeside(this.spec.source), testName: this.spec.source });
  }

  /** A program, for the lower-level API (testRun). */
  program(name: string): Program {
    return this.collection.program(name);
  }

  /** Run `program` on a packet (bytes, or layers to build) as BPF_PROG_TEST_RUN does. */
  run(program: string, packet: Uint8Array | Layer[], options: RunOptions = {}): RunOutcome {
    const prog = this.collection.program(program);
    const before = packet instanceof Uint8Array ? packet.slice() : buildPacket(packet);
    const result = testRun(this.runtime, prog, { data: before.slice(), cpu: options.cpu, ctx: options.ctx });
    return { ...result, program, before, after: result.dataOut, decided: verdictSource(this.runtime.engine) };
  }
}

/** One map of a test object: keys and values in the topology's value syntax, read back decoded. */
export class TypedMap {
  constructor(
    readonly map: BpfMap,
    private readonly btf: Btf | undefined,
  ) {}

  get name(): string {
    return this.map.name;
  }

  /** Write one entry (BPF_ANY). A per-CPU map's value goes to every CPU. */
  set(key: unknown, value: unknown): void {
    const one = this.bytes(value, 'value');
    const valueBytes = this.map.perCpu ? perCpuValue(one, this.map.spec.valueSize, this.map.cpus) : one;
    this.map.update(this.bytes(key, 'key'), valueBytes);
  }

  /** The value under `key`, decoded through BTF (per-CPU: one per CPU); undefined when absent. */
  get(key: unknown): unknown {
    const value = this.map.lookup(this.bytes(key, 'key'));
    return value === undefined ? undefined : this.decodeValue(value);
  }

  /** A per-CPU value summed over the CPUs, field by field for structs of integers. */
  sum(key: unknown): unknown {
    const values = this.get(key);
    if (!Array.isArray(values)) return values;
    return values.reduce((acc: unknown, v: unknown) => addValues(acc, v));
  }

  delete(key: unknown): void {
    this.map.delete(this.bytes(key, 'key'));
  }

  /** Every entry, decoded. */
  entries(): Array<{ key: unknown; value: unknown }> {
    return [...this.map.entries()].map(([key, value]) => ({ key: this.decode(key, this.map.spec.keyTypeId, 'key'), value: this.decodeValue(value) }));
  }

  private bytes(data: unknown, field: 'key' | 'value'): Uint8Array {
    const { keySize, valueSize, keyTypeId, valueTypeId, type } = this.map.spec;
    const at: ValueSource = {
      path: `map ${this.name} ${field}`,
      toJS: () => data,
      fail: (message) => new XdplabError('BAD_INPUT', message.startsWith(`map ${this.name}`) ? message : `map ${this.name} ${field}: ${message}`),
    };
    const lpm = field === 'key' && type === BPF_MAP_TYPE.BPF_MAP_TYPE_LPM_TRIE;
    return field === 'key' ? entryBytes(at, keySize, keyTypeId, this.btf, lpm) : entryBytes(at, valueSize, valueTypeId, this.btf, false);
  }

  private decodeValue(bytes: Uint8Array): unknown {
    const { valueSize, valueTypeId } = this.map.spec;
    if (!this.map.perCpu) return this.decode(bytes, valueTypeId, 'value');
    const stride = (valueSize + 7) & ~7;
    return Array.from({ length: this.map.cpus }, (_, cpu) => this.decode(bytes.subarray(cpu * stride, cpu * stride + valueSize), valueTypeId, 'value'));
  }

  private decode(bytes: Uint8Array, typeId: number, root: string): unknown {
    if (this.btf && typeId) return formatValue(this.btf, typeId, bytes, root);
    return Buffer.from(bytes).toString('hex');
  }
}

function addValues(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') return a + b;
  // formatValue gives a 64-bit integer beyond 2^53 as a decimal string: add exactly, as it would print.
  const integer = (v: unknown): boolean => typeof v === 'number' || typeof v === 'bigint' || (typeof v === 'string' && /^-?\d+$/.test(v));
  if (integer(a) && integer(b)) {
    const sum = BigInt(a as string) + BigInt(b as string);
    return sum >= BigInt(Number.MIN_SAFE_INTEGER) && sum <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(sum) : sum.toString();
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, addValues(v, (b as Record<string, unknown>)[k])]));
  }
  return a;
}
