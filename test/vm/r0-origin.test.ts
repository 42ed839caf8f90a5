/**
 * Engine.r0Pc: the pc of the instruction that made the value a program returned — through
 * copies, a local call's argument, callee-saved registers kept across a call, helper results —
 * in both engines, which must agree (issue 10: drops pointed at the exit, `}`). The C-level
 * view (the `return` line, tail calls) is in test/topology/verdict-line.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { assemble } from '../../src/isa/asm.js';
import { RawRunner } from '../../src/vm/raw-runner.js';

// [what, program, memory bytes (r2 = its length), the pc that made r0]
const CASES: Array<[string, string, number, number]> = [
  ['a constant', 'mov %r0, 1\nexit', 0, 0],
  ['a copy of a register (the value\'s maker, not the copy)', 'mov %r7, 2\nmov %r1, 5\nmov %r0, %r7\nexit', 0, 0],
  ['a 32-bit copy', 'mov32 %r7, 2\nmov32 %r0, %r7\nexit', 0, 0],
  ['a copy of a copy', 'mov %r3, 1\nmov %r7, %r3\nmov %r0, %r7\nexit', 0, 0],
  ['a computation makes a new value', 'mov %r0, 1\nadd %r0, 1\nexit', 0, 1],
  ['the branch taken', 'jeq %r2, 4, +2\nmov %r0, 1\nexit\nmov %r0, 2\nexit', 4, 3],
  ['the branch not taken', 'jeq %r2, 4, +2\nmov %r0, 1\nexit\nmov %r0, 2\nexit', 3, 1],
  ['an argument of a local call, returned by the callee', 'mov %r1, 1\ncall local +1\nexit\nmov %r0, %r1\nexit', 0, 0],
  ['a callee-saved register across a call that uses it', 'mov %r6, 1\ncall local +2\nmov %r0, %r6\nexit\nmov %r6, 7\nmov %r0, 0\nexit', 0, 0],
  ['the callee\'s own return', 'mov %r6, 1\ncall local +1\nexit\nmov %r6, 7\nmov %r0, %r6\nexit', 0, 3],
  ['a reload from the stack (a new origin)', 'mov %r1, 3\nstxdw [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit', 0, 2],
  ['a helper\'s result', 'mov %r1, 4\ncall 5\nexit', 0, 1],
  ['a 64-bit immediate', 'lddw %r0, 0x100000000\nexit', 0, 0],
  ['a value made before a loop and kept through it', 'mov %r0, 9\nmov %r1, 0\nadd %r1, 1\njlt %r1, 5, -2\nexit', 0, 0],
];

describe('r0Pc: where the returned value was made', () => {
  it.each(CASES)('%s', (_what, source, memLength, pc) => {
    const program = assemble(source);
    const pcs = (['interp', 'jit'] as const).map((engine) => {
      const runner = new RawRunner(undefined, engine);
      runner.run(program, new Uint8Array(memLength));
      return runner.engine.r0Pc;
    });
    expect(pcs).toEqual([pc, pc]);
  });
});
