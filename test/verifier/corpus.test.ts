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
  /** The last lines of the kernel's level-1 log, kernel addresses written `0xffff<address>`. */
  log_tail: string[];
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
  ours: Pick<VerifierResult, 'accepted' | 'errno' | 'error' | 'insnsProcessed' | 'pc' | 'explanation' | 'log'> & { crash?: string };
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
          // The kernel's log of a refusal as root is recorded: ask for ours too (not for the 1M-insn ones: too long to keep).
          const logLevel = caps === 'root' && !rec.root.accepted && (rec.root.insns_processed ?? 0) < 100_000 ? 1 : 0;
          const r = verifyProgram(spec, program, { caps, cpus: 2, logLevel });
          ours = { accepted: r.accepted, errno: r.errno, error: r.error, insnsProcessed: r.insnsProcessed, pc: r.pc, explanation: r.explanation, log: r.log };
        } catch (err) {
          ours = { accepted: false, errno: -1, insnsProcessed: 0, log: '', crash: (err as Error).stack };
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

  it('writes the kernel\'s level-1 log of a refusal, line for line (its tail, as recorded)', () => {
    const lines = (text: string[]): string[] => text.map((l) => l.trimEnd().replace(/0xffff[0-9a-f]{12}/g, '0xffff<address>'));
    const logged = outcomes.filter((o) => o.caps === 'root' && o.ours.log && !o.kernel.accepted);
    expect(logged.length).toBeGreaterThan(200);
    const differ = logged.filter((o) => {
      const kernel = lines(o.kernel.log_tail).filter((l) => !l.startsWith('processed '));
      const ours = lines(o.ours.log.trimEnd().split('\n')).filter((l) => !l.startsWith('processed '));
      return JSON.stringify(ours.slice(-kernel.length)) !== JSON.stringify(kernel);
    });
    expect(differ.map((o) => o.key)).toEqual([]);
  });

  it('explains every refusal: a kind of mistake, at the failing pc, with the instructions before it that led there', () => {
    const refusals = outcomes.filter((o) => !o.ours.accepted && o.ours.error);
    expect(refusals.length).toBeGreaterThan(400);
    const unexplained = refusals.filter((o) => !o.ours.explanation).map((o) => `${o.key} [${o.caps}]: ${o.ours.error}`);
    expect(unexplained).toEqual([]);
    const misplaced = refusals.filter((o) => o.ours.explanation!.at.pc !== o.ours.pc).map((o) => `${o.key} [${o.caps}]`);
    expect(misplaced).toEqual([]);
    // Only refusals of a kind no table entry names may fall back to the generic words.
    const generic = refusals.filter((o) => o.ours.explanation!.category === 'refused').map((o) => `${o.key}: ${o.ours.error}`);
    expect(generic).toEqual([]);
    // An unchecked packet or map value access is explained by the load that made its pointer.
    const accessSlices = refusals.filter((o) => /unchecked packet access|NULL pointer not checked|map value out of bounds/.test(o.ours.explanation!.category));
    expect(accessSlices.length).toBeGreaterThan(40);
    expect(accessSlices.filter((o) => o.ours.explanation!.causalPath.length === 0).map((o) => o.key)).toEqual([]);
  });
});
