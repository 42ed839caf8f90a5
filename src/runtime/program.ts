/** Program: a loaded program — its spec, its executable image, its id in the runtime. */
import { decidingLineAt, sourceLineAt } from '../spec/line-info.js';
import type { ProgramSpec } from '../spec/types.js';
import type { ProgramImage } from '../vm/image.js';

export class Program {
  constructor(
    readonly spec: ProgramSpec,
    readonly image: ProgramImage,
    readonly id: number,
  ) {
    image.loaded = this;
  }

  /**
   * The program whose image this is (a tail call's target, say), when one was loaded: an engine
   * knows the image that ran last, a report wants its source.
   */
  static of(image: ProgramImage): Program | undefined {
    return image.loaded instanceof Program ? image.loaded : undefined;
  }

  get name(): string {
    return this.spec.name;
  }

  get type(): number {
    return this.spec.type;
  }

  /** The C source line of an instruction ("file.c:42: text"), when the object has line info. */
  sourceLine(pc: number): string | undefined {
    return sourceLineAt(this.spec, pc);
  }
}

/**
 * Where a run's verdict was decided: the program that ran last (after tail calls), the pc of
 * the instruction that made the value r0 returned (Engine.r0Pc; the exit's when unknown) and
 * its C source line (decidingLineAt).
 */
export interface VerdictSource {
  program: string;
  pc: number;
  line: string | undefined;
}

export function verdictSource(engine: { image: ProgramImage; r0Pc: number; exitPc: number }): VerdictSource {
  const program = Program.of(engine.image);
  const known = engine.r0Pc >= 0;
  const pc = known ? engine.r0Pc : engine.exitPc;
  const line = program === undefined ? undefined : known ? decidingLineAt(program.spec, pc) : program.sourceLine(pc);
  return { program: program?.name ?? engine.image.name, pc, line };
}
