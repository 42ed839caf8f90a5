/**
 * The `.data` test format of ubpf and the eBPF conformance suite: one file holds a program
 * (`-- asm` text or `-- raw` words), its input memory (`-- mem`), and the expected r0
 * (`-- result`) or error (`-- error`). One format drives the assembler, the round trip and
 * every engine alike.
 */
import { XdplabError, withContext } from '../errors.js';
import { assemble } from './asm.js';

export interface DataFile {
  /** The program's bytes (from `-- raw` when present, else assembled from `-- asm`). */
  program: Uint8Array;
  /** The `-- asm` text, if any. */
  asm: string | undefined;
  mem: Uint8Array;
  /** Expected r0 as uint64, when the file gives one. */
  result: bigint | undefined;
  /** Expected error text, when the file gives one. */
  error: string | undefined;
}

type Section = 'asm' | 'raw' | 'mem' | 'result' | 'error' | 'ignored';
const SECTIONS: readonly string[] = ['asm', 'raw', 'mem', 'result', 'error'];

export function parseDataFile(text: string, fileName = '<data>'): DataFile {
  const lines: Record<Section, string[]> = { asm: [], raw: [], mem: [], result: [], error: [], ignored: [] };
  let section: Section = 'ignored';
  let sawRaw = false;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/\r/g, '').replace(/#.*/, '').trim();
    if (line.includes('--')) {
      const name = line.replace('--', '').trim();
      section = SECTIONS.includes(name) ? (name as Section) : 'ignored';
      if (section === 'raw') sawRaw = true;
      // Keep asm line numbers meaningful: an asm section's text starts after its header.
      continue;
    }
    if (section === 'asm') lines.asm.push(rawLine.replace(/\r/g, ''));
    else if (line) lines[section].push(line);
  }
  const fail = (message: string): XdplabError => new XdplabError('BAD_INPUT', `${fileName}: ${message}`);

  let program: Uint8Array;
  if (sawRaw) {
    const words = lines.raw.map((w) => {
      try {
        return BigInt.asUintN(64, BigInt(w));
      } catch {
        throw fail(`-- raw: "${w}" is not a 64-bit number`);
      }
    });
    program = new Uint8Array(words.length * 8);
    const view = new DataView(program.buffer);
    words.forEach((w, i) => view.setBigUint64(i * 8, w, true));
  } else if (lines.asm.length > 0) {
    try {
      program = assemble(lines.asm.join('\n'));
    } catch (err) {
      throw err instanceof XdplabError ? withContext(err, `${fileName}: -- asm`) : err;
    }
  } else {
    throw fail('no -- asm or -- raw section');
  }

  const memHex = lines.mem.join(' ').split(/\s+/).filter(Boolean);
  const mem = Uint8Array.from(memHex, (b) => {
    if (!/^[0-9a-fA-F]{1,2}$/.test(b)) throw fail(`-- mem: "${b}" is not a hex byte`);
    return parseInt(b, 16);
  });

  const resultLine = lines.result.at(-1);
  let result: bigint | undefined;
  if (resultLine !== undefined) {
    try {
      result = BigInt.asUintN(64, resultLine.includes('0x') ? BigInt(resultLine) : BigInt(resultLine));
    } catch {
      throw fail(`-- result: "${resultLine}" is not a number`);
    }
  }
  return { program, asm: sawRaw ? undefined : lines.asm.join('\n'), mem, result, error: lines.error.join('\n') || undefined };
}
