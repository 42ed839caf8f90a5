/**
 * Every object the project ships (topologies, bench programs, test fixtures) through xdplab's
 * verifier and the kernel's: both accept every program, and xdplab processes a number of
 * instructions within 2× of the kernel's (the sign that pruning works as the kernel's does).
 * The kernel's answers are recorded in test/fixtures/verifier/shipped.kernel.json; as root
 * the kernel is asked again (XDPLAB_RECORD_KERNEL=1 re-records).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { verifyProgram } from '../../src/verifier/index.js';
import { repoRoot } from '../support/conformance.js';
import { kernelErrorLine, kernelVerifyUnavailable, kernelVerifyMany, type Caps } from '../support/kernel-verify.js';

interface Answer {
  accepted: boolean;
  errno: number;
  insns_processed: number | null;
  /** The kernel's error line ('' when accepted). */
  error: string;
}
type Record = { [object: string]: { [program: string]: { root: Answer; bpf: Answer } } };

const RECORD = path.join(repoRoot, 'test/fixtures/verifier/shipped.kernel.json');
const recorded = JSON.parse(readFileSync(RECORD, 'utf8')) as Record;
const objects = execFileSync('git', ['ls-files', '*.bpf.o'], { cwd: repoRoot }).toString().trim().split('\n')
  .filter((f) => !f.startsWith('test/fixtures/verifier/') && !f.startsWith('test/fixtures/large/'));
const kernelReason = kernelVerifyUnavailable();
const record = process.env.XDPLAB_RECORD_KERNEL === '1';

describe('shipped objects: accepted by the kernel and by xdplab', () => {
  if (record && !kernelReason) {
    const fresh: Record = {};
    for (const file of objects) {
      const spec = loadCollectionSpec(readFileSync(path.join(repoRoot, file)), file);
      const names = [...spec.programs.keys()];
      const answers = (caps: Caps): Answer[] => kernelVerifyMany(path.join(repoRoot, file), names, caps, { together: true })
        .map((k) => ({ accepted: k.accepted, errno: k.errno, insns_processed: k.insnsProcessed, error: k.accepted ? '' : kernelErrorLine(k.log) }));
      const root = answers('root');
      const bpf = answers('bpf');
      fresh[file] = Object.fromEntries(names.map((n, i) => [n, { root: root[i], bpf: bpf[i] }]));
    }
    writeFileSync(RECORD, JSON.stringify(fresh, null, 2) + '\n');
    Object.assign(recorded, fresh);
  }

  it('finds the shipped objects', () => {
    expect(objects.length).toBeGreaterThan(5);
  });

  for (const file of objects) {
    it(file, () => {
      const spec = loadCollectionSpec(readFileSync(path.join(repoRoot, file)), file);
      const rec = recorded[file];
      expect(rec, `${file} has no recorded kernel answer: re-record as root with XDPLAB_RECORD_KERNEL=1`).toBeDefined();
      // The record answers for the object's programs, no fewer, no more (objdump-edges has none).
      expect(Object.keys(rec).sort()).toEqual([...spec.programs.keys()].sort());
      const live = kernelReason ? undefined : kernelVerifyMany(path.join(repoRoot, file), [...spec.programs.keys()], 'root', { together: true });
      [...spec.programs.values()].forEach((program, i) => {
        const kernel = rec[program.name]?.root;
        expect(kernel, `${program.name}: no recorded answer`).toBeDefined();
        if (live) expect({ accepted: live[i].accepted, insns: live[i].insnsProcessed }).toEqual({ accepted: kernel.accepted, insns: kernel.insns_processed });
        const ours = verifyProgram(spec, program, { caps: 'root', cpus: 2 });
        if (ours.unsupported) {
          // A kfunc: xdplab cannot run it nor check it (it has no kernel BTF); loading refuses it by name.
          expect(ours.unsupported).toMatch(/kfunc/);
          return;
        }
        expect({ program: program.name, accepted: ours.accepted, errno: ours.errno, error: ours.accepted ? '' : ours.error })
          .toEqual({ program: program.name, accepted: kernel.accepted, errno: kernel.errno, error: kernel.error });
        if (!kernel.accepted) return;
        const ratio = ours.insnsProcessed / (kernel.insns_processed ?? 1);
        expect(ratio, `${program.name}: xdplab processed ${ours.insnsProcessed} instructions, the kernel ${kernel.insns_processed}`).toBeLessThanOrEqual(2);
        expect(ratio).toBeGreaterThanOrEqual(0.5);
      });
    });
  }

  if (kernelReason) it.skip(`asks the live kernel again — skipped: ${kernelReason}`, () => {});
});
