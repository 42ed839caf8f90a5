/**
 * File input and output for commands: reads that name the file when they fail, and writes
 * that never leave a half-written file under the final name (write a temporary, then rename).
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { XdplabError } from '../errors.js';

export function readInput(file: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(file));
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new XdplabError('BAD_INPUT', `${file}: ${reason}`, { cause: err });
  }
}

export const readText = (file: string): string => Buffer.from(readInput(file)).toString('utf8');

/** Write `data` to `file` atomically: complete under the final name, or not there at all. */
export function writeOutput(file: string, data: Uint8Array | string): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, data);
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new XdplabError('BAD_INPUT', `${file}: cannot write: ${(err as Error).message}`, { cause: err });
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
