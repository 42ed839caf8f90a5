/**
 * `import 'xdplab/testing/vitest'` in a test file (or in vitest's setupFiles) registers the
 * run matchers (testing/matchers.ts) with vitest's expect: `expect(fw.run('xdp_fw', pkt)).toDrop()`.
 */
import { expect } from 'vitest';
import { matchers, type RunMatchers } from './matchers.js';

expect.extend(matchers);

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-explicit-any
  interface Assertion<T = any> extends RunMatchers<T> {}
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface AsymmetricMatchersContaining extends RunMatchers {}
}
