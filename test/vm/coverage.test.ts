/**
 * Coverage counts (vm/coverage.ts): every instruction executed counted once, each conditional
 * jump's sides apart, the same in both engines; and nothing counted without a Coverage.
 */
import { describe, expect, it } from 'vitest';
import { assemble } from '../../src/isa/asm.js';
import { decodeProgram } from '../../src/isa/instruction.js';
import { Arena } from '../../src/vm/arena.js';
import { Coverage } from '../../src/vm/coverage.js';
import { createEngine, ENGINE_KINDS } from '../../src/vm/engine.js';
import { ProgramImage } from '../../src/vm/image.js';
import { CONFORMANCE_HELPERS } from '../../src/vm/raw-runner.js';

// r0 = 5 + 4 + 3 + 2 + 1: the loop body runs 5 times, its jump goes back 4 times and falls through once.
const LOOP = `
mov %r0, 0
mov %r1, 5
loop:
add %r0, %r1
sub %r1, 1
jne %r1, 0, loop
jeq %r0, 99, never
lddw %r2, 0x1122334455667788
exit
never:
mov %r0, 0
exit
`;

describe('coverage counts', () => {
  for (const kind of ENGINE_KINDS) {
    it(`${kind}: each instruction as often as it ran, each branch side apart, the sum the run's instruction count`, () => {
      const engine = createEngine(kind, new Arena(), CONFORMANCE_HELPERS);
      const image = new ProgramImage('loop', decodeProgram(assemble(LOOP)));
      const coverage = new Coverage();
      engine.coverage = coverage;
      engine.run(image);
      engine.run(image);
      expect(Number(engine.r0)).toBe(15);
      const c = coverage.of(image);
      // pcs: 0 mov, 1 mov, 2 add, 3 sub, 4 jne, 5 jeq, 6-7 lddw, 8 exit, 9 mov, 10 exit — two runs.
      expect([...c.counts]).toEqual([2, 2, 10, 10, 10, 2, 2, 0, 2, 0, 0]);
      expect([c.taken[4], c.notTaken[4]]).toEqual([8, 2]);
      expect([c.taken[5], c.notTaken[5]]).toEqual([0, 2]);
      expect(c.counts.reduce((a, b) => a + b, 0)).toBe(2 * engine.executed);
      expect(coverage.all).toEqual([c]);
    });
  }

  it('without a Coverage nothing is counted', () => {
    const engine = createEngine('interp', new Arena(), CONFORMANCE_HELPERS);
    const image = new ProgramImage('loop', decodeProgram(assemble(LOOP)));
    const coverage = new Coverage();
    engine.run(image);
    expect(coverage.all).toEqual([]);
    expect(Number(engine.r0)).toBe(15);
  });
});
