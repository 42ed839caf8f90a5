/**
 * File input and output for commands: reads that name the file when they fail, outputs
 * checked before the work and written atomically (a temporary file, renamed when complete;
 * see src/files.ts), and the hex and ELF sniffing several commands share.
 */
import { OutputFile, checkOutputFile, readInputFile, writeFileAtomic } from '../files.js';
import { XdplabError } from '../errors.js';

export const readInput = readInputFile;

export const readText = (file: string): string => Buffer.from(readInput(file)).toString('utf8');

/**
 * A JSON file whose top level must be an object (`shape` says what it holds, for the message
 * when it is not): its entries, or a one-line error naming the file.
 */
export function readJsonObject(file: string, shape: string): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(readText(file));
  } catch (err) {
    if (err instanceof XdplabError) throw err;
    throw new XdplabError('BAD_INPUT', `${file}: not JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new XdplabError('BAD_INPUT', `${file}: expected ${shape}`);
  return json as Record<string, unknown>;
}

/** Write `data` to `file` atomically: complete under the final name, or not there at all. */
export const writeOutput = writeFileAtomic;

/**
 * The output files of one command, written together: each path is checked when the set is
 * made (before the command does its work), each file goes to a temporary name, and `commit`
 * renames them all into place; `abort` (or a failure) removes every temporary file. `-`
 * (standard output) and undefined paths are skipped.
 */
export class OutputSet {
  private readonly pending: OutputFile[] = [];

  constructor(paths: ReadonlyArray<string | undefined>) {
    for (const p of paths) if (p !== undefined && p !== '-') checkOutputFile(p);
  }

  add(file: string, data: Uint8Array | string): void {
    const out = new OutputFile(file);
    this.pending.push(out);
    try {
      out.write(data);
    } catch (err) {
      this.abort();
      throw err;
    }
  }

  commit(): void {
    try {
      for (const out of this.pending) out.commit();
    } catch (err) {
      this.abort();
      throw err;
    }
    this.pending.length = 0;
  }

  abort(): void {
    for (const out of this.pending) out.abort();
    this.pending.length = 0;
  }
}

/** Bytes from hex text; white space between bytes is allowed ("aa bb", "aabb", "aa  bb  "). */
export function parseHex(text: string, what: string): Uint8Array {
  const digits = text.replace(/\s+/g, '');
  if (digits.length % 2 !== 0 || /[^0-9a-fA-F]/.test(digits)) {
    const bad = digits.search(/[^0-9a-fA-F]/);
    const reason = bad >= 0 ? `"${digits[bad]}" at character ${bad + 1} is not a hex digit` : 'odd number of hex digits';
    throw new XdplabError('BAD_INPUT', `${what}: ${reason}`);
  }
  return Uint8Array.from(Buffer.from(digits, 'hex'));
}

export const isElf = (bytes: Uint8Array): boolean =>
  bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
