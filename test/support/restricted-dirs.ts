/**
 * Places a command may not write, made for tests. Root ignores file permissions, so the
 * refusals a root user meets are made by the kernel instead: a read-only bind mount (EROFS), an
 * immutable directory (chattr +i: EPERM even for root), a tiny tmpfs (ENOSPC part way through a
 * write). Each needs root and its tool; without them `skipReason` says why and the tests skip.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const run = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;

export const isRoot = process.getuid?.() === 0;

/** Why the root-only tests cannot run here, or undefined when they can. */
export function restrictedSkipReason(): string | undefined {
  if (!isRoot) return 'not root: read-only mounts, chattr +i and tmpfs need root';
  if (!run('which', ['mount']) || !run('which', ['chattr'])) return 'mount or chattr is missing';
  return undefined;
}

export interface Restricted {
  dir: string;
  release(): void;
}

function scratch(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A directory bind-mounted read-only onto itself: every write is EROFS. */
export function readOnlyDir(): Restricted {
  const dir = scratch('xdplab-ro-');
  if (!run('mount', ['--bind', dir, dir]) || !run('mount', ['-o', 'remount,ro,bind', dir])) throw new Error(`cannot mount ${dir} read-only`);
  return { dir, release: () => { run('umount', [dir]); rmSync(dir, { recursive: true, force: true }); } };
}

/** An immutable directory (chattr +i): creating anything in it is EPERM, for root too. */
export function immutableDir(): Restricted {
  const dir = scratch('xdplab-immutable-');
  if (!run('chattr', ['+i', dir])) throw new Error(`chattr +i ${dir} failed (a file system without attributes?)`);
  return { dir, release: () => { run('chattr', ['-i', dir]); rmSync(dir, { recursive: true, force: true }); } };
}

/** A tmpfs of `bytes` bytes: a write past it is ENOSPC. */
export function tinyDir(bytes: number): Restricted {
  const dir = scratch('xdplab-tiny-');
  if (!run('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir])) throw new Error(`cannot mount a tmpfs on ${dir}`);
  return { dir, release: () => { run('umount', [dir]); rmSync(dir, { recursive: true, force: true }); } };
}
