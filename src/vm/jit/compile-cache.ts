/**
 * The JIT's compiled images and what compiling them cost. Every JitEngine has one (its own, or
 * one its creator shares between engines): an image is compiled once per cache, then
 * instantiated per engine. Nothing here is process-wide: two engines with caches of their own
 * compile, count and report independently, and a notice (an image the JIT cannot compile runs
 * in the interpreter) goes to the logger the cache was given.
 */
import type { Arena } from '../arena.js';
import type { ProgramImage } from '../image.js';
import { compileImage, type CompiledImage } from './compiler.js';
import type { MapLayoutResolver } from './lower-map.js';
import type { ProgArrayLayout } from '../prog-array-layout.js';

/** Where an engine's diagnostics go: one line each, without a trailing newline. */
export type Logger = (line: string) => void;

export interface CompileStats {
  /** Images compiled. */
  images: number;
  /** Total milliseconds spent compiling them. */
  ms: number;
  /** Images the JIT could not compile (they run in the interpreter). */
  fallbacks: number;
}

/** The arena and array-map and prog-array resolvers of the engine asking for code (lower-map.ts, tail-call.ts). */
export interface InlineMaps {
  arena: Arena;
  mapLayout: MapLayoutResolver | undefined;
  progArrays?: ((addr: number) => ProgArrayLayout | undefined) | undefined;
}

export class CompileCache {
  readonly stats: CompileStats = { images: 0, ms: 0, fallbacks: 0 };
  /** Bumped by every recompile: an engine's instance made before may be out of date. */
  recompiles = 0;
  /** Compiled images; `null` when the JIT cannot compile the image. */
  private readonly compiled = new WeakMap<ProgramImage, CompiledImage | null>();
  /**
   * The arena whose array maps an image's compiled code has inlined lookups of (an image's map
   * addresses belong to one arena); another arena's engine compiles the image again without.
   */
  private readonly inlinedFor = new WeakMap<ProgramImage, Arena>();
  /** Images another arena's engine compiled with its maps inlined: plain code, cached apart. */
  private readonly plain = new WeakMap<ProgramImage, CompiledImage | null>();

  constructor(private readonly log: Logger = () => {}) {}

  /**
   * The compiled form of an image (compiling it on first use), or null when it cannot be
   * compiled. `extraLeaders`: pcs that must start a block (a recompile). `inline`: the asking
   * engine's arena and resolver; none for plain code.
   */
  compiledImage(image: ProgramImage, extraLeaders?: readonly number[], inline?: InlineMaps): CompiledImage | null {
    const owner = this.inlinedFor.get(image);
    if (owner !== undefined && inline !== undefined && owner !== inline.arena) return this.compiledElsewhere(image, extraLeaders);
    let entry = extraLeaders ? undefined : this.compiled.get(image);
    if (entry === undefined) {
      try {
        entry = compileImage(image, extraLeaders, inline?.mapLayout, inline?.progArrays);
        if (inline?.mapLayout || inline?.progArrays) this.inlinedFor.set(image, inline.arena);
        this.stats.images++;
        this.stats.ms += entry.compileMs;
      } catch (err) {
        if (extraLeaders) return null; // keep the code compiled before
        entry = null;
        this.stats.fallbacks++;
        const why = err instanceof Error ? err.message : String(err);
        this.log(`jit: ${image.name} runs in the interpreter (${why})`);
      }
      this.compiled.set(image, entry);
      if (extraLeaders) this.recompiles++;
    }
    return entry;
  }

  private compiledElsewhere(image: ProgramImage, extraLeaders?: readonly number[]): CompiledImage | null {
    let entry = extraLeaders ? undefined : this.plain.get(image);
    if (entry === undefined) {
      try {
        entry = compileImage(image, extraLeaders);
      } catch {
        entry = null;
      }
      this.plain.set(image, entry);
      if (extraLeaders) this.recompiles++;
    }
    return entry;
  }
}
