/**
 * The verifier corpus (test/fixtures/verifier) and the kernel's recorded answers
 * (kernel.json), which xdplab's verifier is held to. Always: every program of every object
 * has a record for both capability sets, and every verdict fits the program's name (_ok loads
 * as root, _bad is refused in both sets, _priv loads as root and is refused with CAP_BPF
 * alone). As root on the kernel that made the record: the live kernel still gives the same
 * verdict, errno, error line and processed-instruction count for every program.
 */
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHF_EXECINSTR, STB_GLOBAL, STT_FUNC } from '../../src/elf/constants.js';
import { parseElf } from '../../src/elf/elf.js';
import { repoRoot } from '../support/conformance.js';
import { type Caps, kernelErrorLine, kernelListPrograms, kernelVerifyUnavailable, kernelVerifyMany } from '../support/kernel-verify.js';
import { titled } from '../support/skip.js';

const DIR = path.join(repoRoot, 'test', 'fixtures', 'verifier');
const CAPS: Caps[] = ['root', 'bpf'];

interface Answer {
  accepted: boolean;
  errno: number;
  error: string;
  insns_processed: number | null;
  log_tail: string[];
}

interface Entry {
  family: string;
  intent: 'ok' | 'bad' | 'priv';
  section: string;
  description: string;
  root: Answer;
  bpf: Answer;
}

const record = JSON.parse(readFileSync(path.join(DIR, 'kernel.json'), 'utf8')) as { kernel: string; programs: Record<string, Entry> };
const objects = readdirSync(DIR).filter((f) => f.endsWith('.bpf.o')).sort();

/** An object's programs as libbpf finds them: global functions in executable sections other than .text. */
function programsOf(object: string): string[] {
  const elf = parseElf(readFileSync(path.join(DIR, object)), object);
  return elf.symbols
    .filter((s) => s.type === STT_FUNC && s.bind === STB_GLOBAL)
    .filter((s) => {
      const section = elf.sections[s.shndx];
      return section !== undefined && (section.flags & SHF_EXECINSTR) !== 0 && section.name !== '.text';
    })
    .map((s) => s.name)
    .sort();
}

describe('the verifier corpus and its record', () => {
  it('has a record, for both capability sets, of every program of every object, and of nothing else', () => {
    const listed = objects.flatMap((object) => programsOf(object).map((p) => `${object}/${p}`)).sort();
    expect(Object.keys(record.programs).sort()).toEqual(listed);
    for (const [key, entry] of Object.entries(record.programs)) {
      expect(entry.family, key).toBe(key.split('/')[0].replace(/\.bpf\.o$/, ''));
      expect(entry.description, key).not.toBe('');
      for (const caps of CAPS) expect(entry[caps], `${key} ${caps}`).toBeDefined();
    }
  });

  it('holds at least 300 programs', () => {
    expect(Object.keys(record.programs).length).toBeGreaterThanOrEqual(300);
  });

  it('names every program by its verdict: _ok loads as root, _bad never loads, _priv loads as root only', () => {
    const wrong: string[] = [];
    for (const [key, { intent, root, bpf }] of Object.entries(record.programs)) {
      expect(key.endsWith(`_${intent}`), key).toBe(true);
      const fits = intent === 'ok' ? root.accepted : intent === 'bad' ? !root.accepted && !bpf.accepted : root.accepted && !bpf.accepted;
      if (!fits) wrong.push(`${key}: root ${root.accepted ? 'accepts' : 'refuses'}, bpf ${bpf.accepted ? 'accepts' : 'refuses'}`);
    }
    expect(wrong).toEqual([]);
  });

  it('gives every refusal an errno, an error line and the log tail it was taken from, and accepted programs none', () => {
    for (const [key, entry] of Object.entries(record.programs)) {
      for (const caps of CAPS) {
        const a = entry[caps];
        const where = `${key} ${caps}`;
        if (a.accepted) {
          expect([a.errno, a.error, a.log_tail], where).toEqual([0, '', []]);
        } else {
          expect(a.errno, where).toBeGreaterThan(0);
          expect(a.error, where).not.toBe('');
          expect(a.log_tail.length, where).toBeLessThanOrEqual(30);
          expect(kernelErrorLine(a.log_tail.join('\n')), where).toBe(a.error);
        }
      }
    }
  });
});

const live = kernelVerifyUnavailable() ?? (record.kernel !== os.release() ? `recorded on kernel ${record.kernel}, this is ${os.release()}` : undefined);

describe('the live kernel', () => {
  it.skipIf(live !== undefined).each(objects)(titled('gives the recorded answers for every program of %s', live), (object) => {
    const programs = programsOf(object);
    // libbpf finds the programs this test finds in the ELF symbols.
    expect(kernelListPrograms(path.join(DIR, object)).map((p) => p.name).sort()).toEqual(programs);
    const differences: string[] = [];
    for (const caps of CAPS) {
      // Log level 4 (statistics and messages, no instruction trace): the record script checks
      // that it gives the same verdict and error line as level 1, many times faster.
      for (const v of kernelVerifyMany(path.join(DIR, object), programs, caps, { logLevel: 4 })) {
        const want = record.programs[`${object}/${v.program}`][caps];
        const got = { accepted: v.accepted, errno: v.errno, error: v.accepted ? '' : kernelErrorLine(v.log), insns_processed: v.insnsProcessed };
        const expected = { accepted: want.accepted, errno: want.errno, error: want.error, insns_processed: want.insns_processed };
        if (JSON.stringify(got) !== JSON.stringify(expected)) differences.push(`${v.program} (${caps}): ${JSON.stringify(got)}, recorded ${JSON.stringify(expected)}`);
      }
    }
    expect(differences).toEqual([]);
  });
});
