/**
 * Run once per `vitest run`, before any test file (vitest.config.ts's globalSetup): says once
 * what the whole run lacks — the conformance suite beside the clone, the running kernel —
 * instead of once per test file that would have used it.
 */
import os from 'node:os';
import { conformanceDir, haveConformance } from './conformance.js';
import { kernelUnavailable } from './kernel.js';
import { RECORDING } from './kernel-record.js';

export default function setup(): void {
  if (!haveConformance) {
    console.log(`conformance suite not found at ${conformanceDir}: its tests are skipped (CI has it beside the clone)`);
  }
  const why = kernelUnavailable();
  if (why) console.log(`the running kernel is not asked (${why}): kernel-parity tests compare with its answers recorded in test/fixtures/kernel`);
  else if (RECORDING) console.log(`XDPLAB_RECORD_KERNEL=1: the answers of Linux ${os.release()} are written into test/fixtures/kernel`);
}
