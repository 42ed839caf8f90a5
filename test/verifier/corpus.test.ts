/**
 * xdplab's verifier against the kernel's recorded answers on the verifier corpus
 * (test/fixtures/verifier: ~490 small programs, each isolating one rule, in both privilege
 * sets). Same verdict and errno on every program; the same first error line where the
 * kernel's is known; insns_processed within 2× of the kernel's for accepted programs.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { verifyProgram, type Caps, type VerifierResult } from '../../src/verifier/index.js';
import { repoRoot } from '../support/conformance.js';

interface KernelAnswer {
  accepted: boolean;
  errno: number;
  error: string;
  insns_processed: number | null;
}
interface Record {
  family: string;
  intent: string;
  root: KernelAnswer;
  bpf: KernelAnswer;
}

const dir = path.join(repoRoot, 'test/fixtures/verifier');
const recorded = JSON.parse(readFileSync(path.join(dir, 'kernel.json'), 'utf8')) as { programs: { [key: string]: Record } };

interface Outcome {
  key: string;
  caps: Caps;
  kernel: KernelAnswer;
  ours: Pick<VerifierResult, 'accepted' | 'errno' | 'error' | 'insnsProcessed'> & { crash?: string };
}

function runCorpus(): Outcome[] {
  const out: Outcome[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.bpf.o')).sort()) {
    const spec = loadCollectionSpec(readFileSync(path.join(dir, file)), file);
    for (const program of spec.programs.values()) {
      const key = `${file}/${program.name}`;
      const rec = recorded.programs[key];
      if (!rec) continue;
      for (const caps of ['root', 'bpf'] as const) {
        let ours: Outcome['ours'];
        try {
          const r = verifyProgram(spec, program, { caps, cpus: 2 });
          ours = { accepted: r.accepted, errno: r.errno, error: r.error, insnsProcessed: r.insnsProcessed };
        } catch (err) {
          ours = { accepted: false, errno: -1, insnsProcessed: 0, crash: (err as Error).stack };
        }
        out.push({ key, caps, kernel: rec[caps], ours });
      }
    }
  }
  return out;
}

describe('verifier corpus against the kernel', () => {
  const outcomes = runCorpus();
  const verdictMismatch = outcomes.filter((o) => o.ours.accepted !== o.kernel.accepted || o.ours.errno !== o.kernel.errno);
  const errorMismatch = outcomes.filter((o) => !o.kernel.accepted && o.ours.accepted === o.kernel.accepted && o.ours.error !== o.kernel.error);
  if (process.env.XDPLAB_VERIFIER_REPORT) {
    writeFileSync(process.env.XDPLAB_VERIFIER_REPORT, JSON.stringify({ verdictMismatch, errorMismatch }, null, 1));
  }

  it('covers every recorded program', () => {
    expect(outcomes.length).toBe(Object.keys(recorded.programs).length * 2);
  });

  it('gives the kernel verdict and errno on every program, in both privilege sets', () => {
    expect(verdictMismatch.map((o) => `${o.key} [${o.caps}]: kernel ${o.kernel.accepted ? 'accepts' : `refuses (${o.kernel.errno}) ${o.kernel.error}`}; xdplab ${o.ours.accepted ? 'accepts' : `refuses (${o.ours.errno}) ${o.ours.error ?? o.ours.crash}`}`)).toEqual([]);
  });

  it('refuses with the kernel error line', () => {
    expect(errorMismatch.map((o) => `${o.key} [${o.caps}]: kernel "${o.kernel.error}" xdplab "${o.ours.error}"`)).toEqual([]);
  });
});
