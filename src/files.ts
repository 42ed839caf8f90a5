/**
 * Files in and out, for every layer that reads or writes them (cli/, topology/, pcap/): reads
 * whose errors name the file once and say what is wrong in words; output directories made one
 * level at a time (never Node's recursive mkdir, which loops for ever where mkdir answers
 * ENOENT under an existing directory, as in /proc); output paths checked before a command does
 * its work; and files written under a temporary name beside their target, renamed into place
 * only when complete, so a failure leaves nothing half-written. A leaf: imports only errors.ts.
 */
import {
  accessSync, closeSync, constants, mkdirSync, openSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync,
  writeSync, type Stats,
} from 'node:fs';
import path from 'node:path';
import { XdplabError, fileError } from './errors.js';

const codeOf = (err: unknown): string | undefined => (err as { code?: string } | undefined)?.code;

/** The one wording of an input that cannot be read: missing, a directory, or the reason. */
export function inputError(file: string, err: unknown): XdplabError {
  const code = codeOf(err);
  if (code === 'ENOENT' || code === 'ENOTDIR') return new XdplabError('BAD_INPUT', `${file}: no such file`, { cause: err });
  if (code === 'EISDIR') return new XdplabError('BAD_INPUT', `${file}: is a directory, not a file`, { cause: err });
  return fileError(file, 'read', err);
}

/** An input file's bytes; errors as inputError words them. */
export function readInputFile(file: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (err) {
    throw inputError(file, err);
  }
}

/** An input's stat, refusing what is not a regular file (a directory, a device, a FIFO). */
export function regularInput(file: string, st: Stats): void {
  if (st.isDirectory()) throw new XdplabError('BAD_INPUT', `${file}: is a directory, not a file`);
  if (!st.isFile()) throw new XdplabError('BAD_INPUT', `${file}: not a regular file`);
}

/** The stat of `file`, or undefined when it does not exist; other failures name `what` and the reason. */
function statOrUndefined(file: string, what: string, action: string): Stats | undefined {
  try {
    return statSync(file);
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return undefined;
    if (codeOf(err) === 'ENOTDIR') {
      const blocker = fileInTheWay(file);
      if (blocker) throw new XdplabError('BAD_INPUT', `${what}: cannot ${action}: ${blocker} is a file, not a directory`, { cause: err });
    }
    throw fileError(what, action, err);
  }
}

/** ENOTDIR: the nearest existing ancestor of `file`, when it is not a directory. */
function fileInTheWay(file: string): string | undefined {
  for (let at = path.dirname(path.resolve(file)); ; at = path.dirname(at)) {
    try {
      return statSync(at).isDirectory() ? undefined : at;
    } catch {
      if (path.dirname(at) === at) return undefined;
    }
  }
}

function checkWritableDirectory(dir: string, what: string, action: string): void {
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw fileError(what, action, err);
  }
}

/**
 * Make `dir` (and its missing parents) an output directory: each missing level created on its
 * own, the directory checked to be writable. Returns the directories it created, outermost
 * first, for `removeDirectories` to take back after a failure. Errors name `dir` and the reason.
 */
export function makeOutputDirectory(dir: string): string[] {
  const action = 'create the output directory';
  const missing: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    const st = statOrUndefined(at, dir, action);
    if (st?.isDirectory()) break;
    if (st) {
      const what = at === path.resolve(dir) ? 'a file of that name exists' : `${at} is a file, not a directory`;
      throw new XdplabError('BAD_INPUT', `${dir}: cannot ${action}: ${what}`);
    }
    missing.unshift(at);
    at = path.dirname(at);
  }
  const created: string[] = [];
  try {
    for (const d of missing) {
      try {
        mkdirSync(d);
      } catch (err) {
        // ENOENT under an existing directory: a file system that takes no new entries (/proc).
        if (codeOf(err) === 'ENOENT') throw new XdplabError('BAD_INPUT', `${dir}: cannot ${action}: ${path.dirname(d)} takes no new directories`, { cause: err });
        throw fileError(dir, action, err);
      }
      created.push(d);
    }
    checkWritableDirectory(dir, dir, 'write into the output directory');
  } catch (err) {
    removeDirectories(created);
    throw err;
  }
  return created;
}

/** Remove directories makeOutputDirectory created, innermost first, where they are empty. */
export function removeDirectories(created: readonly string[]): void {
  for (const d of [...created].reverse()) {
    try {
      rmdirSync(d);
    } catch {
      return; // not empty, or gone: leave it and its parents
    }
  }
}

/**
 * Check, before any work, that `file` can be written: not a directory, in an existing,
 * writable directory. The error names the file and what is in the way.
 */
export function checkOutputFile(file: string): void {
  const st = statOrUndefined(file, file, 'write');
  if (st?.isDirectory()) throw new XdplabError('BAD_INPUT', `${file}: cannot write: is a directory`);
  if (st && !st.isFile()) return; // a device or pipe, written in place
  const dir = path.dirname(path.resolve(file));
  const parent = statOrUndefined(dir, file, 'write');
  if (!parent) throw new XdplabError('BAD_INPUT', `${file}: cannot write: no directory ${dir}`);
  if (!parent.isDirectory()) throw new XdplabError('BAD_INPUT', `${file}: cannot write: ${dir} is not a directory`);
  checkWritableDirectory(dir, file, 'write');
}

/** Why `file` could not be created, with what is in the way when the directory is the trouble. */
export function outputError(file: string, err: unknown): XdplabError {
  const code = codeOf(err);
  const dir = path.dirname(path.resolve(file));
  if (code === 'ENOTDIR') {
    const blocker = fileInTheWay(file);
    if (blocker) return new XdplabError('BAD_INPUT', `${file}: cannot write: ${blocker} is a file, not a directory`, { cause: err });
  }
  if (code === 'ENOENT') return new XdplabError('BAD_INPUT', `${file}: cannot write: no directory ${dir}`, { cause: err });
  return fileError(file, 'write', err);
}

const BUFFER = 1 << 20;
let tempCounter = 0;

/** The temporary name a file is written under: hidden, beside it, unique to the process. */
export const temporaryName = (file: string): string =>
  path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${++tempCounter}.tmp`);

/**
 * Whether `file` is a device, FIFO or socket (/dev/null, /dev/stdout, a named pipe): written
 * in place, never replaced by a rename.
 */
function isSpecialFile(file: string): boolean {
  try {
    const st = statSync(file);
    return !st.isFile() && !st.isDirectory();
  } catch {
    return false;
  }
}

/**
 * A file written in pieces with bounded memory (a 1 MiB buffer), under a temporary name:
 * `commit` renames it into place (or `finish`, then `publish`, for callers that complete
 * several files before renaming any), `abort` (or any failure) removes it. A device or pipe
 * (/dev/null, /dev/stdout) is written in place instead: there is nothing to rename.
 */
export class OutputFile {
  /** The temporary file; undefined when writing in place to a device or pipe. */
  readonly temp: string | undefined;
  private fd: number | undefined;
  private readonly buf = Buffer.allocUnsafe(BUFFER);
  private len = 0;
  private finished = false;
  /** Bytes written so far (flushed or not). */
  size = 0;

  constructor(readonly file: string) {
    this.temp = isSpecialFile(file) ? undefined : temporaryName(file);
    try {
      this.fd = this.temp === undefined ? openSync(file, 'w') : openSync(this.temp, 'wx');
    } catch (err) {
      throw outputError(file, err);
    }
  }

  write(data: string | Uint8Array): void {
    if (this.fd === undefined) throw new XdplabError('USAGE', `${this.file}: write after the file was closed`);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    this.size += bytes.length;
    if (this.len + bytes.length > this.buf.length) this.flush();
    if (bytes.length > this.buf.length) this.writeOut(bytes);
    else {
      this.buf.set(bytes, this.len);
      this.len += bytes.length;
    }
  }

  private writeOut(bytes: Uint8Array): void {
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(this.fd!, bytes, off, bytes.length - off);
    } catch (err) {
      this.abort();
      throw fileError(this.file, 'write', err);
    }
  }

  private flush(): void {
    if (this.len === 0) return;
    const n = this.len;
    this.len = 0;
    this.writeOut(this.buf.subarray(0, n));
  }

  /** Write out what is buffered and close the file, not yet renamed into place. */
  finish(): void {
    if (this.finished) return;
    if (this.fd === undefined) throw new XdplabError('USAGE', `${this.file}: already closed`);
    this.flush();
    try {
      closeSync(this.fd);
      this.fd = undefined;
      this.finished = true;
    } catch (err) {
      this.abort();
      throw fileError(this.file, 'write', err);
    }
  }

  /** Rename the finished file into place. */
  publish(): void {
    this.finish();
    if (this.temp === undefined) return;
    try {
      renameSync(this.temp, this.file);
    } catch (err) {
      this.abort();
      throw fileError(this.file, 'write', err);
    }
  }

  /** Flush, close and rename into place. */
  commit(): void {
    this.publish();
  }

  /** Give up: close and remove the temporary file. */
  abort(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        // failing already: the file goes anyway
      }
      this.fd = undefined;
    }
    if (this.temp === undefined) return;
    try {
      unlinkSync(this.temp);
    } catch {
      // never created, or gone
    }
  }
}

/** Write `data` to `file` atomically: complete under the final name, or not there at all. */
export function writeFileAtomic(file: string, data: Uint8Array | string): void {
  const out = new OutputFile(file);
  out.write(data);
  out.commit();
}
