/**
 * Shared pieces of the BTF tests: the fixture objects' .BTF and .BTF.ext bytes (read with the
 * ELF reader), a small writer for hand-made BTF blobs, and bpftool, when it is on PATH.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseElf, type ElfFile } from '../../src/elf/elf.js';

export const root = fileURLToPath(new URL('../..', import.meta.url));
export const fixtureDir = 'test/fixtures/bpf';

/** Fixture objects that carry BTF (objdump-edges is hand-assembled and has none). */
export const BTF_FIXTURES = ['btf-kinds.bpf.o', 'globals.bpf.o', 'subprog.bpf.o', 'xdp-count.bpf.o'];

export function fixtureElf(name: string): ElfFile {
  return parseElf(readFileSync(`${root}/${fixtureDir}/${name}`), `${fixtureDir}/${name}`);
}

export function sectionBytes(elf: ElfFile, name: string): Uint8Array {
  const s = elf.sectionByName(name);
  if (!s) throw new Error(`${elf.fileName} has no ${name} section`);
  return s.data;
}

/** Why bpftool cannot be used here, or undefined when it can. */
export function bpftoolMissing(): string | undefined {
  try {
    execFileSync('bpftool', ['version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return undefined;
  } catch (e) {
    return `bpftool is not on PATH or does not run (${(e as Error).message.split('\n')[0]})`;
  }
}

export function bpftool(args: string[]): string {
  return execFileSync('bpftool', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Writes BTF blobs type by type, for kinds clang 14 does not emit and for broken inputs. */
export class BtfWriter {
  private strings: number[] = [0];
  private readonly offsets = new Map<string, number>();
  private words: number[] = [];
  private count = 0;

  /** The offset of a string in the string section, adding it if new ('' is 0). */
  str(s: string): number {
    if (s === '') return 0;
    let off = this.offsets.get(s);
    if (off === undefined) {
      off = this.strings.length;
      this.strings.push(...Buffer.from(s, 'utf8'), 0);
      this.offsets.set(s, off);
    }
    return off;
  }

  /** Append a type record: btf_type then `extra` u32 words. Returns its id. */
  type(kind: number, name: string | number, sizeOrType: number, extra: number[] = [], opts: { vlen?: number; kflag?: boolean } = {}): number {
    const nameOff = typeof name === 'number' ? name : this.str(name);
    const info = ((opts.kflag ? 1 : 0) << 31 | (kind & 0x1f) << 24 | ((opts.vlen ?? 0) & 0xffff)) >>> 0;
    this.words.push(nameOff, info, sizeOrType >>> 0, ...extra.map((w) => w >>> 0));
    return ++this.count;
  }

  build(header: Partial<{ magic: number; version: number; flags: number; hdrLen: number }> = {}): Uint8Array {
    const hdrLen = header.hdrLen ?? 24;
    const typeLen = this.words.length * 4;
    const out = new Uint8Array(hdrLen + typeLen + this.strings.length);
    const v = new DataView(out.buffer);
    v.setUint16(0, header.magic ?? 0xeb9f, true);
    v.setUint8(2, header.version ?? 1);
    v.setUint8(3, header.flags ?? 0);
    v.setUint32(4, hdrLen, true);
    v.setUint32(8, 0, true);
    v.setUint32(12, typeLen, true);
    v.setUint32(16, typeLen, true);
    v.setUint32(20, this.strings.length, true);
    this.words.forEach((w, i) => v.setUint32(hdrLen + i * 4, w, true));
    out.set(this.strings, hdrLen + typeLen);
    return out;
  }
}
