/**
 * C on the fly (bcc's door): BPF C source compiled with the system's clang, as users build their
 * objects (`clang -O2 -g -target bpf -c`), with the include paths a Debian machine needs for the
 * kernel's uapi headers (asm/types.h lives under /usr/include/<multiarch>). Objects are cached by
 * content — the source, every header it includes from its own directory, the flags and clang's
 * version — in the user's cache directory, so a test suite pays each compile once. Hand-written:
 * no package drives clang for BPF; it is one spawn and a hash.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { XdplabError } from '../errors.js';
import { makeOutputDirectory, readInputFile } from '../files.js';

export interface CompileOptions {
  /** More clang flags (-D…, -I…). */
  cflags?: readonly string[];
  /** The clang to run (default: $CLANG or `clang`). */
  clang?: string;
  /** Where compiled objects are kept (default: $XDG_CACHE_HOME/xdplab or ~/.cache/xdplab). */
  cacheDir?: string;
}

/** A file name that is C source rather than an object. */
export const isCSource = (file: string): boolean => /\.c$/i.test(file);

/** The Debian multiarch include directory (asm/types.h), when there is one. */
function multiarchInclude(): string[] {
  const arch = ({ x64: 'x86_64', arm64: 'aarch64', arm: 'arm', ppc64: 'powerpc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[process.arch];
  const dirs = arch ? readdirSafe('/usr/include').filter((d) => d.startsWith(`${arch}-linux-`)) : [];
  return dirs.map((d) => `-I/usr/include/${d}`);
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function clangVersion(clang: string): string {
  const r = spawnSync(clang, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new XdplabError('BAD_INPUT', `compiling C needs clang, and ${clang} cannot be run (apt-get install clang libbpf-dev)`);
  }
  return r.stdout.split('\n')[0];
}

/** The local headers a source includes (#include "…"), read for the cache key. */
function localHeaders(source: string, dir: string): string {
  const names = [...source.matchAll(/^\s*#\s*include\s+"([^"]+)"/gm)].map((m) => m[1]);
  return names.map((n) => {
    const file = path.join(dir, n);
    return existsSync(file) ? `${n}\n${readFileSync(file, 'utf8')}` : n;
  }).join('\n');
}

const defaultCacheDir = (): string => path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'xdplab');

/**
 * Compile a BPF C file into an object (its bytes). Errors: the first error clang printed,
 * `file.c:12:5: error: …`, as one line; no clang: what to install.
 */
export function compileCFile(file: string, options: CompileOptions = {}): Uint8Array {
  const source = Buffer.from(readInputFile(file)).toString('utf8');
  const clang = options.clang ?? process.env.CLANG ?? 'clang';
  const flags = ['-O2', '-g', '-target', 'bpf', ...multiarchInclude(), ...(options.cflags ?? [])];
  const key = createHash('sha256')
    .update([clangVersion(clang), flags.join(' '), source, localHeaders(source, path.dirname(file))].join('\0'))
    .digest('hex').slice(0, 32);
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const cached = path.join(cacheDir, `${key}.bpf.o`);
  if (existsSync(cached)) return readFileSync(cached);
  makeCacheDir(cacheDir);
  const partial = `${cached}.${process.pid}.tmp`;
  const r = spawnSync(clang, [...flags, '-c', file, '-o', partial], { encoding: 'utf8' });
  if (r.status !== 0) {
    const first = r.stderr.split('\n').find((l) => /\berror\b/.test(l)) ?? r.stderr.trim().split('\n')[0] ?? `clang exited with ${r.status}`;
    throw new XdplabError('BAD_INPUT', first.trim());
  }
  renameSync(partial, cached);
  return readFileSync(cached);
}

/**
 * The cache directory, made if need be, a level at a time (Node's recursive mkdir loops for
 * ever under /proc); one that cannot be made is said as one line.
 */
function makeCacheDir(dir: string): void {
  makeOutputDirectory(dir);
}

/** Compile C source text (written to a file in the cache first, so clang's messages name it). */
export function compileC(source: string, options: CompileOptions & { name?: string } = {}): Uint8Array {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const dir = path.join(cacheDir, 'src');
  makeCacheDir(dir);
  const file = path.join(dir, `${createHash('sha256').update(source).digest('hex').slice(0, 16)}-${options.name ?? 'prog.bpf.c'}`);
  if (!existsSync(file)) writeFileSync(file, source);
  return compileCFile(file, options);
}

/** An object file's bytes, compiling it first when it is C source. */
export function readObjectFile(file: string, options: CompileOptions = {}): Uint8Array {
  return isCSource(file) ? compileCFile(file, options) : readInputFile(file);
}
