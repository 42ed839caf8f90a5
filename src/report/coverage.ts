/**
 * The coverage section's data: the lcov tracefile that --coverage writes (runtime/lcov.ts),
 * read back into per-file line counts — tests (TN, one per verdict with --coverage-by) added
 * up — with each source file's text when it can be read, for a line-by-line table.
 */
import { readFileSync, statSync } from 'node:fs';
import type { CoverageFile } from './types.js';

/** Source files larger than this are listed by line number alone. */
const MAX_SOURCE_BYTES = 1 << 20;

/** Per source file (sorted by name), [line, hits] for every line with code. */
export function coverageFromLcov(lcov: string, readSources = true): CoverageFile[] {
  const files = new Map<string, Map<number, number>>();
  let lines: Map<number, number> | undefined;
  for (const record of lcov.split('\n')) {
    if (record.startsWith('SF:')) {
      const file = record.slice(3);
      lines = files.get(file) ?? new Map<number, number>();
      files.set(file, lines);
    } else if (record.startsWith('DA:') && lines) {
      const [line, hits] = record.slice(3).split(',').map(Number);
      if (Number.isFinite(line) && Number.isFinite(hits)) lines.set(line, (lines.get(line) ?? 0) + hits);
    } else if (record === 'end_of_record') {
      lines = undefined;
    }
  }
  return [...files.keys()].sort().map((file) => {
    const entry: CoverageFile = { file, lines: [...files.get(file)!].sort((a, b) => a[0] - b[0]) };
    const source = readSources ? sourceOf(file) : undefined;
    if (source) entry.source = source;
    return entry;
  });
}

/** A source file's lines, or undefined when it cannot be read (or is too large to show). */
function sourceOf(file: string): string[] | undefined {
  try {
    if (statSync(file).size > MAX_SOURCE_BYTES) return undefined;
    return readFileSync(file, 'utf8').split(/\r?\n/);
  } catch {
    return undefined;
  }
}
