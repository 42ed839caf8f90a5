/** Program: a loaded program — its spec, its executable image, its id in the runtime. */
import type { ProgramSpec } from '../spec/types.js';
import type { ProgramImage } from '../vm/image.js';

export class Program {
  constructor(
    readonly spec: ProgramSpec,
    readonly image: ProgramImage,
    readonly id: number,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  get type(): number {
    return this.spec.type;
  }
}
