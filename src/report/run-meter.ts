/**
 * RunMeter: what each program run cost — the instructions it executed (Engine.executed,
 * deterministic) and, when asked, its wall time (process.hrtime.bigint around Engine.run).
 *
 * It instruments one engine instance while installed: an own `run` that calls the class's
 * and notes the run, removed again by `uninstall`. Without a meter the engine is untouched, so
 * a run without --report pays nothing for it.
 */
import type { Engine } from '../vm/engine.js';

export class RunMeter {
  /** Whether a run happened since `take` last cleared it. */
  pending = false;
  /** The last run's instruction count. */
  instructions = 0;
  /** The last run's wall time in nanoseconds (0 unless timed). */
  nanoseconds = 0;
  /** Whether the last run ended in a fault (its exception went on to the caller). */
  faulted = false;
  /** What the last run threw, when it faulted. */
  error: unknown;
  private installed: Engine | undefined;
  private depth = 0;

  constructor(readonly timed = true) {}

  /** Start measuring every run of `engine`. */
  install(engine: Engine): this {
    this.uninstall();
    const run = engine.run;
    const timed = this.timed;
    engine.run = (...args: Parameters<Engine['run']>): number => {
      // A run inside a run (none today) belongs to the outer one.
      if (this.depth > 0) return run.apply(engine, args);
      this.depth++;
      const started = timed ? process.hrtime.bigint() : 0n;
      let faulted = true;
      this.error = undefined;
      try {
        const retval = run.apply(engine, args);
        faulted = false;
        return retval;
      } catch (err) {
        this.error = err;
        throw err;
      } finally {
        this.nanoseconds = timed ? Number(process.hrtime.bigint() - started) : 0;
        this.depth--;
        this.instructions = engine.executed;
        this.faulted = faulted;
        this.pending = true;
      }
    };
    this.installed = engine;
    return this;
  }

  /** Leave the engine as it was. */
  uninstall(): void {
    if (!this.installed) return;
    delete (this.installed as { run?: unknown }).run;
    this.installed = undefined;
  }

  /** Whether a run is waiting to be recorded; clears it. */
  take(): boolean {
    const was = this.pending;
    this.pending = false;
    return was;
  }
}
