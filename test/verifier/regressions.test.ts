/**
 * xdplab's verifier against the kernel's recorded answers on the regression table
 * (test/fixtures/verifier/regressions.json): small programs on which it once disagreed with
 * Linux, found by the differential fuzzer (test/verifier/fuzz) and shrunk. Each must get the
 * recorded verdict, errno, first error line and processed-instruction count, in both
 * privilege sets.
 *
 * As root on the kernel that made the record, the record itself is checked against the live
 * kernel (test/support/kernel-load-insns.c); elsewhere that part is skipped, saying why — not
 * root, no gcc, no BPF, or another kernel (verdicts, messages and counts change between
 * kernels). Re-record with `sudo node scripts/verifier-fuzz.mjs --record`.
 */
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/conformance.js';
import { kernelInsnsUnavailable, kernelLoadInsns } from '../support/kernel-insns.js';
import { xdplabAnswer } from './fuzz/fuzz.js';
import { fromText, toRaw } from './fuzz/program.js';
import type { RecordedAnswer, Regression } from './fuzz/regressions.js';
import { titled } from '../support/skip.js';

const file = JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/verifier/regressions.json'), 'utf8')) as {
  kernel: string;
  programs: Regression[];
};
const CPUS = 2;
const CAPS = ['root', 'bpf'] as const;

const show = (a: RecordedAnswer): string =>
  (a.accepted ? `accepts (${a.insns_processed} insns)` : `refuses (${a.errno}) ${a.error} (${a.insns_processed} insns)`);

function liveKernelSkip(): string | undefined {
  const why = kernelInsnsUnavailable();
  if (why) return why;
  const release = execSync('uname -r', { encoding: 'utf8' }).trim();
  return release === file.kernel ? undefined : `the running kernel is ${release}, the record is of ${file.kernel}`;
}

describe('verifier regressions against the kernel record', () => {
  it('has programs recorded in both privilege sets', () => {
    expect(file.programs.length).toBeGreaterThan(0);
    for (const p of file.programs) for (const caps of CAPS) expect(p[caps], `${p.name} [${caps}]`).toBeDefined();
  });

  it('gives the recorded verdict, errno, error line and processed instructions', () => {
    expect(file.programs.length).toBeGreaterThan(0);
    const wrong: string[] = [];
    for (const p of file.programs) {
      const program = fromText(p.text);
      for (const caps of CAPS) {
        const x = xdplabAnswer(program, caps, CPUS);
        const ours: RecordedAnswer = { accepted: x.accepted, errno: x.errno, error: x.error, insns_processed: x.insnsProcessed };
        const k = p[caps];
        if (x.crash || ours.accepted !== k.accepted || ours.errno !== k.errno || ours.error !== k.error
          || ours.insns_processed !== k.insns_processed) {
          wrong.push(`${p.name} [${caps}] (${p.why}): kernel ${show(k)}; xdplab ${x.crash ? `crashes ${x.crash}` : show(ours)}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  const skip = liveKernelSkip();
  it.skipIf(skip !== undefined)(titled('matches the live kernel', skip), () => {
    expect(file.programs.length).toBeGreaterThan(0);
    const wrong: string[] = [];
    for (const caps of CAPS) {
      const answers = kernelLoadInsns(file.programs.map((p) => toRaw(fromText(p.text))), caps);
      file.programs.forEach((p, i) => {
        const k = answers[i];
        const live: RecordedAnswer = { accepted: k.accepted, errno: k.errno, error: k.error, insns_processed: k.insnsProcessed };
        if (JSON.stringify(live) !== JSON.stringify(p[caps])) wrong.push(`${p.name} [${caps}]: record ${show(p[caps])}; live ${show(live)}`);
      });
    }
    expect(wrong).toEqual([]);
  });
});
