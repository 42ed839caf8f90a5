import { describe, expect, it } from 'vitest';
import { RawRunner } from '../../src/vm/raw-runner.js';
import { haveConformance, hex, loadVectors, missingConformance } from '../support/conformance.js';
import { titled } from '../support/skip.js';

describe.skipIf(!haveConformance)(titled('conformance suite (../shared/conformance) in the interpreter', missingConformance), () => {
  const runner = new RawRunner();
  const vectors = loadVectors();
  it('has the whole suite', () => {
    expect(vectors.length).toBe(313);
  });
  it.each(vectors.map((v) => [v.test, v] as const))('%s', (_name, v) => {
    if (v.error !== null) {
      expect(() => runner.run(hex(v.program), hex(v.mem))).toThrow(v.error);
      return;
    }
    const { r0 } = runner.run(hex(v.program), hex(v.mem), v.test);
    expect(`0x${r0.toString(16)}`).toBe(`0x${BigInt(v.result!).toString(16)}`);
  });
});
