/**
 * RawRunner: runs a bare program on a block of memory, with the execution model of the
 * eBPF conformance suite and of `xdplab exec`: r1 points to a private copy of the memory
 * (0 when there is none), r2 holds its length, r10 the top of a 512-byte stack frame, and
 * the result is all 64 bits of r0. Helper 5 is the suite's "unwind" helper: it returns its
 * argument and, when that is 0, ends the program.
 */
import { decodeProgram } from '../isa/instruction.js';
import { Arena } from './arena.js';
import { HELPER_CONTINUE, HELPER_STOP, type HelperCall, type HelperFn, type HelperTable } from './helper-table.js';
import { ProgramImage } from './image.js';
import { createEngine, type Engine, type EngineKind, type EngineOptions } from './engine.js';

export const UNWIND_HELPER_ID = 5;

const unwind: HelperFn = (call: HelperCall) => {
  call.regs[0] = call.regs[2];
  call.regs[1] = call.regs[3];
  return call.regs[2] === 0 && call.regs[3] === 0 ? HELPER_STOP : HELPER_CONTINUE;
};

export const CONFORMANCE_HELPERS: HelperTable = {
  lookup: (id) => (id === UNWIND_HELPER_ID ? unwind : undefined),
  nameOf: (id) => (id === UNWIND_HELPER_ID ? 'unwind' : undefined),
};

export interface RawRunResult {
  r0: bigint;
  /** The memory block after the run. */
  mem: Uint8Array;
  /** Instructions executed. */
  executed: number;
}

export class RawRunner {
  readonly arena = new Arena();
  readonly engine: Engine;

  /** `options`: the engine's budget, and the logger its notices go to (by default nowhere). */
  constructor(helpers: HelperTable = CONFORMANCE_HELPERS, kind: EngineKind = 'interp', options: EngineOptions = {}) {
    this.engine = createEngine(kind, this.arena, helpers, options);
  }

  /** The engine (kept under its old name for callers that predate the JIT). */
  get interpreter(): Engine {
    return this.engine;
  }

  /** Decode, check and run `program` (bytes) on a copy of `mem`. Throws XdplabError on bad code or a fault. */
  run(program: Uint8Array, mem: Uint8Array = new Uint8Array(0), name = 'program'): RawRunResult {
    const image = new ProgramImage(name, decodeProgram(program));
    const region = mem.length > 0 ? this.arena.alloc(mem.length, 'memory', 'mem') : undefined;
    try {
      if (region) this.arena.u8.set(mem, region.start);
      this.engine.run(image, { r1: region?.start ?? 0, r2: mem.length });
      const after = region ? this.arena.u8.slice(region.start, region.end) : new Uint8Array(0);
      return { r0: this.engine.r0, mem: after, executed: this.engine.executed };
    } finally {
      if (region) this.arena.free(region);
    }
  }
}
