import { describe, expect, it } from 'vitest';
import { RawRunner } from '../../src/vm/raw-runner.js';
import { VmFault } from '../../src/vm/fault.js';
import { haveConformance, hex, loadVectors, missingConformance } from '../support/conformance.js';
import { titled } from '../support/skip.js';

/** Run a vector; its outcome as comparable data (r0, memory, executed, or the fault). */
function outcome(runner: RawRunner, program: string, mem: string, name: string): unknown {
  try {
    const r = runner.run(hex(program), hex(mem), name);
    return { r0: r.r0.toString(16), mem: Buffer.from(r.mem).toString('hex'), executed: r.executed };
  } catch (err) {
    if (err instanceof VmFault) return { reason: err.reason, pc: err.pc, message: err.message };
    return { error: (err as Error).message };
  }
}

describe.skipIf(!haveConformance)(titled('conformance suite (../shared/conformance) in the JIT', missingConformance), () => {
  const jit = new RawRunner(undefined, 'jit');
  const interp = new RawRunner(undefined, 'interp');
  const vectors = loadVectors();
  it.each(vectors.map((v) => [v.test, v] as const))('%s', (_name, v) => {
    if (v.error !== null) {
      expect(() => jit.run(hex(v.program), hex(v.mem))).toThrow(v.error);
    } else {
      const { r0 } = jit.run(hex(v.program), hex(v.mem), v.test);
      expect(`0x${r0.toString(16)}`).toBe(`0x${BigInt(v.result!).toString(16)}`);
    }
    expect(outcome(jit, v.program, v.mem, v.test)).toEqual(outcome(interp, v.program, v.mem, v.test));
  });
});
