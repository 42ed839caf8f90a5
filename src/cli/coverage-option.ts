/**
 * `--coverage FILE` for the commands that run programs (prog run, replay, run): every instruction
 * and branch side the run executes is counted (vm/coverage.ts; the JIT engine then runs through
 * its interpreter, so counts are exact in both) and written, after the run, as an lcov
 * tracefile (runtime/lcov.ts) that genhtml and CI coverage tools read. Source paths are those
 * of the object's line info, found beside the object when they are relative.
 */
import { Option } from 'commander';
import { XdplabError } from '../errors.js';
import { checkOutputFile, writeFileAtomic } from '../files.js';
import type { Collection } from '../runtime/collection.js';
import { formatLcov, sourcePathBeside } from '../runtime/lcov.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ProgramSpec } from '../spec/types.js';
import { Coverage } from '../vm/coverage.js';

export const coverageOption = (): Option =>
  new Option('--coverage <file.info>', 'write the C lines, functions and branches the run executed, with counts, as an lcov tracefile (genhtml reads it)');

export const coverageByOption = (): Option =>
  new Option('--coverage-by <what>', 'with --coverage: one lcov test (TN) per packet verdict, besides the whole').choices(['verdict']);

/** What a command does with coverage: tell it each packet's verdict (for --coverage-by), write it. */
export interface CoverageRun {
  packetDone(verdict: string): void;
  write(): void;
  /** The tracefile's text (what `write` writes; undefined without --coverage), for --report. */
  lcov(): string | undefined;
}

const NO_COVERAGE: CoverageRun = { packetDone: () => {}, write: () => {}, lcov: () => undefined };

/**
 * Start counting (when `file` is given): every program of the collections (object path →
 * collection) is in the report, run or not. `by: 'verdict'` splits the counts by each packet's
 * verdict, one lcov test (TN:XDP_DROP …) each — genhtml and CI tools add tests up into the whole.
 */
export function startCoverage(file: string | undefined, runtime: Runtime, collections: ReadonlyMap<string, Collection>, testName: string, by?: string): CoverageRun {
  if (file === undefined) {
    if (by !== undefined) throw new XdplabError('USAGE', '--coverage-by needs --coverage FILE');
    return NO_COVERAGE;
  }
  checkOutputFile(file);
  const coverage = new Coverage();
  const objectOf = new Map<ProgramSpec, string>();
  for (const [objectPath, collection] of collections) {
    for (const program of collection.programs.values()) {
      coverage.of(program.image);
      objectOf.set(program.spec, objectPath);
    }
  }
  runtime.engine.coverage = coverage;
  const sourcePath = (source: string, program: ProgramSpec): string => sourcePathBeside(objectOf.get(program) ?? '.')(source);
  if (by === undefined) {
    const lcov = (): string => formatLcov(coverage, { sourcePath, testName });
    return { packetDone: () => {}, write: () => writeFileAtomic(file, lcov()), lcov };
  }
  const byVerdict = new Map<string, Coverage>();
  return {
    packetDone(verdict: string): void {
      let into = byVerdict.get(verdict);
      if (!into) {
        into = new Coverage();
        for (const cover of coverage.all) into.of(cover.image);
        byVerdict.set(verdict, into);
      }
      coverage.moveInto(into);
    },
    write(): void {
      writeFileAtomic(file, this.lcov()!);
    },
    lcov(): string {
      return [...byVerdict.keys()].sort().map((verdict) => formatLcov(byVerdict.get(verdict)!, { sourcePath, testName: verdict })).join('');
    },
  };
}
