/**
 * Running the same program in both engines, each over its own arena, and comparing everything
 * observable: r0, the memory block, the instructions executed, the fault (reason, pc, message).
 */
import { decodeProgram } from '../../src/isa/instruction.js';
import { Arena } from '../../src/vm/arena.js';
import { createEngine, type Engine, type EngineKind, type Logger } from '../../src/vm/engine.js';
import { VmFault } from '../../src/vm/fault.js';
import type { HelperTable } from '../../src/vm/helper-table.js';
import { ProgramImage } from '../../src/vm/image.js';

export interface Outcome {
  r0?: string;
  mem?: string;
  executed?: number;
  exitPc?: number;
  /** The register file after the run (or the fault). */
  regs?: string;
  fault?: { reason: string; pc: number; message: string };
  error?: string;
}

export interface EngineBench {
  kind: EngineKind;
  arena: Arena;
  engine: Engine;
  /** Run images (the first is the entry; helpers may reach the others) on a copy of `mem`. */
  run(images: ProgramImage[], mem?: Uint8Array): Outcome;
}

/** An engine over a fresh arena. `helpers(bench)` may refer to the bench (for tail-call targets). */
export function makeBench(
  kind: EngineKind, helpers: (bench: { images: ProgramImage[] }) => HelperTable, budget?: number, log?: Logger,
): EngineBench {
  const arena = new Arena();
  const state = { images: [] as ProgramImage[] };
  const engine = createEngine(kind, arena, helpers(state), { budget, log });
  return {
    kind,
    arena,
    engine,
    run(images, mem = new Uint8Array(0)) {
      state.images = images;
      const region = mem.length > 0 ? arena.alloc(mem.length, 'memory', 'mem') : undefined;
      try {
        if (region) arena.u8.set(mem, region.start);
        const out: Outcome = {};
        try {
          engine.run(images[0], { r1: region?.start ?? 0, r2: mem.length });
          out.r0 = engine.r0.toString(16);
          out.exitPc = engine.exitPc;
        } catch (err) {
          if (err instanceof VmFault) out.fault = { reason: err.reason, pc: err.pc, message: err.message };
          else out.error = (err as Error).message;
        }
        out.executed = engine.executed;
        out.regs = Array.from(engine.regs, (v) => (v >>> 0).toString(16)).join(',');
        // Addresses differ between arenas by nothing: both allocate the same regions in order.
        if (region) out.mem = Buffer.from(arena.u8.subarray(region.start, region.end)).toString('hex');
        return out;
      } finally {
        if (region) arena.free(region);
      }
    },
  };
}

export const imageOf = (bytes: Uint8Array, name = 'p'): ProgramImage => new ProgramImage(name, decodeProgram(bytes));
