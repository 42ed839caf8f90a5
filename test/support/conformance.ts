/**
 * Access to the public eBPF conformance suite, which lives beside the repository in
 * ../shared/conformance (CI has it; a user's clone may not). Suites that use it skip, saying
 * why in their titles (`missingConformance`), when it is absent; global-setup.ts says so once
 * a run.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths.js';

export { repoRoot };
export const conformanceDir = path.resolve(repoRoot, '..', 'shared', 'conformance');
export const haveConformance = existsSync(path.join(conformanceDir, 'vectors.json'));
/** Why the conformance suite's tests are skipped, for their titles; undefined when it is here. */
export const missingConformance = haveConformance ? undefined : `the conformance suite is not at ${conformanceDir}`;

export interface ConformanceVector {
  test: string;
  program: string;
  mem: string;
  result: string | null;
  error: string | null;
}

export function loadVectors(): ConformanceVector[] {
  if (!haveConformance) return [];
  return (JSON.parse(readFileSync(path.join(conformanceDir, 'vectors.json'), 'utf8')) as { tests: ConformanceVector[] }).tests;
}

export const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text.replace(/\s+/g, ''), 'hex'));
