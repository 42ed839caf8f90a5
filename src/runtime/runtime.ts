/**
 * Runtime: one emulated machine — the arena, N CPUs, a clock, a seeded PRNG, the engine —
 * and the registry of its live maps and programs. Live objects are created only here and in
 * Collection.load (DESIGN.md, "Spec and live objects").
 *
 * Determinism: the clock is virtual (set by whoever drives the runtime: replay sets it to each
 * packet's capture time) and bpf_get_prandom_u32 draws from a PRNG seeded at construction.
 */
import type { HelperHost } from '../helpers/env.js';
import type { Fib } from '../netcore/fib.js';
import { HelperRegistry } from '../helpers/registry.js';
import { ALL_HELPERS } from '../helpers/index.js';
import type { BpfMap } from '../maps/map.js';
import { Arena } from '../vm/arena.js';
import { ProgramImage } from '../vm/image.js';
import { Instruction, decodeProgram, encodeProgram } from '../isa/instruction.js';
import { OPCODE } from '../isa/opcodes.js';
import { createEngine, type Engine, type EngineKind } from '../vm/engine.js';
import { XdplabError } from '../errors.js';
import { type Logger } from '../vm/jit/compile-cache.js';

/**
 * The engine a Runtime runs programs in unless its options name one: the JIT, or the one
 * XDPLAB_ENGINE names (jit or interp), read when asked; any other value is an error.
 */
export function getDefaultEngine(env: Readonly<Record<string, string | undefined>> = process.env): EngineKind {
  const value = env.XDPLAB_ENGINE;
  if (value === undefined || value === '') return 'jit';
  if (value === 'jit' || value === 'interp') return value;
  throw new XdplabError('USAGE', `XDPLAB_ENGINE=${value}: unknown engine (jit or interp)`);
}

/** Where a Runtime's notices go unless its options say: a line `xdplab: …` on stderr. */
const toStderr: Logger = (line) => {
  process.stderr.write(`xdplab: ${line}\n`);
};

/** What Runtime.checkpoint() saw: how many maps and programs were registered, which pins there were. */
export interface RuntimeCheckpoint {
  readonly maps: number;
  readonly programs: number;
  readonly pinned: ReadonlySet<string>;
}

export interface RuntimeOptions {
  /** Emulated CPUs (per-CPU maps hold one value each). Default 1. */
  cpus?: number;
  /** PRNG seed for bpf_get_prandom_u32. Default 1. */
  seed?: number;
  /** Instruction budget per run. */
  budget?: number;
  /** The execution engine: the WebAssembly JIT or the reference interpreter. Default getDefaultEngine(). */
  engine?: EngineKind;
  /** Where notices go (a program the JIT cannot compile runs in the interpreter). Default: stderr. */
  log?: Logger;
  /**
   * Attach a perf buffer reader to each CPU's slot of every perf event array (default true).
   * `xdplab prog run` sets false: BPF_PROG_TEST_RUN has no reader, so output fails with -ENOENT.
   */
  perfReaders?: boolean;
}

/** A 32-bit PRNG (xorshift32 seeded through splitmix32): small, fast, and the same everywhere. */
export class Prng {
  private state: number;

  constructor(seed: number) {
    let z = (seed + 0x9e3779b9) | 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    this.state = (z ^ (z >>> 16)) || 1;
  }

  nextU32(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x;
    return x >>> 0;
  }
}

/** `w0 = 0; exit`: the program prepareAll runs to warm an engine. */
const WARM_UP = new ProgramImage('warm_up', decodeProgram(encodeProgram([new Instruction(OPCODE.MOV32_IMM, 0, 0, 0, 0), new Instruction(OPCODE.EXIT, 0, 0, 0, 0)])));

export class Runtime implements HelperHost {
  readonly arena = new Arena();
  readonly cpus: number;
  readonly perfReaders: boolean;
  readonly helpers: HelperRegistry;
  readonly engine: Engine;
  /** Which engine `engine` is. */
  readonly engineName: EngineKind;
  readonly prng: Prng;
  /** CLOCK_MONOTONIC in ns, as programs see it; advanced by the driver. */
  clockNs = 0;
  private captureOrigin: { sec: number; nsec: number } | undefined;
  /** CLOCK_BOOTTIME minus CLOCK_MONOTONIC (time spent suspended: none here). */
  bootOffsetNs = 0;
  /** Routes, neighbours and devices for bpf_fib_lookup; the network sets them per node. */
  fib: Fib | undefined;

  private readonly maps: (BpfMap | undefined)[] = [undefined];
  private readonly programs: (ProgramImage | undefined)[] = [undefined];
  /** Programs prepareAll has got ready (the first `prepared` of `programs`). */
  private prepared = 0;
  /** Maps by the arena region of their header (helpers find a map by that address on every call). */
  private readonly mapByRegion: (BpfMap | undefined)[] = [];
  /** Maps shared by name between collections (LIBBPF_PIN_BY_NAME, or explicitly). */
  readonly pinned = new Map<string, BpfMap>();
  /** The next socket cookie (the kernel's __sock_gen_cookie counter, per machine). */
  private socketCookie = 0x1000;
  /** What own() made, by the function that made it. */
  private readonly owned = new Map<(runtime: Runtime) => unknown, unknown>();

  constructor(options: RuntimeOptions = {}) {
    this.cpus = Math.max(1, options.cpus ?? 1);
    this.perfReaders = options.perfReaders ?? true;
    this.prng = new Prng(options.seed ?? 1);
    this.helpers = new HelperRegistry(ALL_HELPERS);
    this.engineName = options.engine ?? getDefaultEngine();
    this.engine = createEngine(this.engineName, this.arena, this.helpers, { budget: options.budget, log: options.log ?? toStderr });
  }

  /** The id the next registered map will get. */
  get nextMapId(): number {
    return this.maps.length;
  }

  registerMap(map: BpfMap): void {
    if (map.id !== this.maps.length) throw new XdplabError('INTERNAL', `runtime: map id ${map.id} out of order`);
    this.maps.push(map);
    this.mapByRegion[map.header.id] = map;
  }

  registerProgram(image: ProgramImage): number {
    this.programs.push(image);
    this.engine.bindProgram?.(this.programs.length - 1, image);
    return this.programs.length - 1;
  }

  /** What the runtime holds now, for undo(): the maps, programs and pins registered so far. */
  checkpoint(): RuntimeCheckpoint {
    return { maps: this.maps.length, programs: this.programs.length, pinned: new Set(this.pinned.keys()) };
  }

  /**
   * Forget, and close, every map and program registered since `mark`, and every pin made since:
   * a load that fails half-way leaves nothing of itself behind (as cilium/ebpf closes what its
   * collection loader made). Ids are handed out again from where `mark` left them.
   */
  undo(mark: RuntimeCheckpoint): void {
    for (const name of [...this.pinned.keys()]) if (!mark.pinned.has(name)) this.pinned.delete(name);
    while (this.maps.length > mark.maps) {
      const map = this.maps.pop()!;
      this.mapByRegion[map.header.id] = undefined;
      map.close();
    }
    for (let id = Math.max(1, mark.programs); id < this.programs.length; id++) this.engine.bindProgram?.(id, undefined);
    this.programs.length = Math.max(1, mark.programs);
    this.prepared = Math.min(this.prepared, this.programs.length);
  }

  /**
   * Get every loaded program ready to run (the JIT compiles them: a tail call may reach any),
   * so that a timed run times the program alone, as the kernel's test run does.
   */
  prepareAll(): void {
    if (this.prepared === this.programs.length) return; // nothing loaded since the last time
    for (const image of this.programs.slice(this.prepared)) if (image) this.engine.prepare?.(image);
    if (this.prepared === 0) {
      // One run of `w0 = 0; exit` takes the engine's own first-call costs (V8 compiles a JS
      // function on its first call) out of the timed run; it touches no map and no packet.
      const regs = this.engine.regs.slice();
      this.engine.run(WARM_UP);
      this.engine.regs.set(regs);
    }
    this.prepared = this.programs.length;
  }

  /** Replace a program's image under its id (the JIT's compiled form, a reload). */
  setProgram(id: number, image: ProgramImage): void {
    this.programs[id] = image;
    this.engine.bindProgram?.(id, image);
  }

  /**
   * Set the clock from a packet's capture time (DESIGN.md, "Determinism"): nanoseconds since
   * the first packet given, never going back (a capture out of order holds the clock).
   */
  setCaptureTime(tsSec: number, tsNsec: number): void {
    this.captureOrigin ??= { sec: tsSec, nsec: tsNsec };
    const ns = (tsSec - this.captureOrigin.sec) * 1e9 + (tsNsec - this.captureOrigin.nsec);
    if (ns > this.clockNs) this.clockNs = ns;
  }

  // ---- HelperHost ------------------------------------------------------------------------

  mapAt(addr: number): BpfMap | undefined {
    const map = this.mapByRegion[this.arena.pageRegion[addr >>> 12]];
    return map !== undefined && map.header.base === addr ? map : undefined;
  }

  mapById(id: number): BpfMap | undefined {
    return this.maps[id];
  }

  programById(id: number): ProgramImage | undefined {
    return this.programs[id];
  }

  nowNs(): number {
    return this.clockNs;
  }

  bootNs(): number {
    return this.clockNs + this.bootOffsetNs;
  }

  prandomU32(): number {
    return this.prng.nextU32();
  }

  nextSocketCookie(): number {
    return this.socketCookie++;
  }

  /**
   * The object `make` makes for this runtime, made on first use and kept for its life: what a
   * layer above keeps per machine (the test-run hooks' context regions, a helper's scratch
   * buffer) lives in the Runtime, not in a module.
   */
  own<T>(make: (runtime: Runtime) => T): T {
    let value = this.owned.get(make) as T | undefined;
    if (value === undefined) {
      value = make(this);
      this.owned.set(make, value);
    }
    return value;
  }
}
