/**
 * The small C programs the kernel tests talk to the kernel through (kernel-verify.c,
 * kernel-load-insns.c, kernel-batch.c), each built with gcc once per version of its source:
 * into a folder of the OS's temporary directory named by the source's hash, written under a
 * temporary name and renamed, so concurrent test workers share one build and never run half a
 * binary.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The binary built from `source` (gcc -O2 -Wall, then `libs`); throws with gcc's first error line. */
export function buildCTool(source: string, libs: readonly string[] = []): string {
  const name = path.basename(source, '.c');
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `xdplab-${name}-${hash}`);
  const out = path.join(dir, name);
  if (existsSync(out)) return out;
  mkdirSync(dir, { recursive: true });
  const partial = `${out}.${process.pid}`;
  const r = spawnSync('gcc', ['-O2', '-Wall', '-o', partial, source, ...libs], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot build ${name}.c: ${(r.error?.message ?? r.stderr).trim().split('\n')[0]}`);
  renameSync(partial, out);
  return out;
}

/** Why gcc cannot build the tools here, or undefined when it can. */
export function gccUnavailable(source: string): string | undefined {
  return spawnSync('sh', ['-c', 'command -v gcc'], { stdio: 'pipe' }).status === 0
    ? undefined : `gcc is not installed (it builds test/support/${path.basename(source)})`;
}
