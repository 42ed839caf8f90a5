/**
 * `--coverage FILE` for the commands that run programs (prog run, replay): every instruction
 * and branch side the run executes is counted (vm/coverage.ts; the JIT engine then runs through
 * its interpreter, so counts are exact in both) and written, after the run, as an lcov
 * tracefile (runtime/lcov.ts) that genhtml and CI coverage tools read. Source paths are those
 * of the object's line info, found beside the object when they are relative.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Option } from 'commander';
import { checkOutputFile, writeFileAtomic } from '../files.js';
import type { Collection } from '../runtime/collection.js';
import { formatLcov } from '../runtime/lcov.js';
import type { Runtime } from '../runtime/runtime.js';
import { Coverage } from '../vm/coverage.js';

export const coverageOption = (): Option =>
  new Option('--coverage <file.info>', 'write the C lines, functions and branches the run executed, with counts, as an lcov tracefile (genhtml reads it)');

/** A source file as line info names it, resolved beside the object when it is relative and there. */
export function sourcePathBeside(objectPath: string): (file: string) => string {
  return (file) => {
    if (path.isAbsolute(file)) return file;
    const beside = path.join(path.dirname(objectPath), file);
    return existsSync(beside) ? beside : file;
  };
}

/**
 * Start counting (when `file` is given): every program of the collection is in the report,
 * run or not. Returns what writes the report after the run.
 */
export function startCoverage(file: string | undefined, runtime: Runtime, collection: Collection, objectPath: string): () => void {
  if (file === undefined) return () => {};
  checkOutputFile(file);
  const coverage = new Coverage();
  for (const program of collection.programs.values()) coverage.of(program.image);
  runtime.engine.coverage = coverage;
  return () => writeFileAtomic(file, formatLcov(coverage, { sourcePath: sourcePathBeside(objectPath), testName: path.basename(objectPath) }));
}
