/**
 * An ELF64 little-endian relocatable object writer, for BPF objects xdplab generates (the
 * filter compiler's). Hand-written, as the reader is: no npm package writes BPF ELF objects.
 * Sections are laid out in order after the header, each at its alignment, then the section
 * headers; `.strtab` holds both section and symbol names (as clang's objects do) and `.symtab`
 * its local symbols first (sh_info: the first global).
 */
import {
  EI_CLASS, EI_DATA, EI_VERSION, ELF64_EHDR_SIZE, ELF64_SHDR_SIZE, ELF64_SYM_SIZE, ELFCLASS64, ELFDATA2LSB, ELFMAG, ET_REL,
  SHT_STRTAB, SHT_SYMTAB, STB_LOCAL,
} from './constants.js';

export interface ElfSectionSpec {
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly data: Uint8Array;
  readonly align: number;
}

export interface ElfSymbolSpec {
  readonly name: string;
  /** The section the symbol is in, by name. */
  readonly section: string;
  readonly value: number;
  readonly size: number;
  readonly type: number;
  readonly bind: number;
}

interface Laid {
  name: number;
  type: number;
  flags: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  align: number;
  entsize: number;
}

class StringTable {
  private readonly parts: Buffer[] = [Buffer.from([0])];
  private size = 1;
  private readonly seen = new Map<string, number>();
  add(s: string): number {
    if (s === '') return 0;
    let off = this.seen.get(s);
    if (off === undefined) {
      off = this.size;
      this.seen.set(s, off);
      const bytes = Buffer.from(`${s}\0`);
      this.parts.push(bytes);
      this.size += bytes.length;
    }
    return off;
  }
  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.parts));
  }
}

/** Section indices: 0 is the null section, the given sections from 1, then .symtab and .strtab. */
function symtab(symbols: readonly ElfSymbolSpec[], index: (section: string) => number, strings: StringTable): { data: Uint8Array; firstGlobal: number } {
  const ordered = [...symbols].sort((a, b) => Number(a.bind !== STB_LOCAL) - Number(b.bind !== STB_LOCAL));
  const data = new Uint8Array(ELF64_SYM_SIZE * (ordered.length + 1));
  const v = new DataView(data.buffer);
  ordered.forEach((s, i) => {
    const at = ELF64_SYM_SIZE * (i + 1);
    v.setUint32(at, strings.add(s.name), true);
    v.setUint8(at + 4, (s.bind << 4) | s.type);
    v.setUint8(at + 5, 0);
    v.setUint16(at + 6, index(s.section), true);
    v.setBigUint64(at + 8, BigInt(s.value), true);
    v.setBigUint64(at + 16, BigInt(s.size), true);
  });
  return { data, firstGlobal: 1 + ordered.filter((s) => s.bind === STB_LOCAL).length };
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** The object's bytes, for machine `machine` (EM_BPF). */
export function writeElf(machine: number, sections: readonly ElfSectionSpec[], symbols: readonly ElfSymbolSpec[]): Uint8Array {
  const strings = new StringTable();
  const index = (name: string): number => sections.findIndex((s) => s.name === name) + 1;
  const sym = symtab(symbols, index, strings);
  const strtabIndex = sections.length + 2;
  const all = [...sections.map((s) => ({ ...s, link: 0, info: 0, entsize: 0 })),
    { name: '.symtab', type: SHT_SYMTAB, flags: 0, data: sym.data, align: 8, link: strtabIndex, info: sym.firstGlobal, entsize: ELF64_SYM_SIZE },
    { name: '.strtab', type: SHT_STRTAB, flags: 0, data: new Uint8Array(), align: 1, link: 0, info: 0, entsize: 0 }];
  const names = all.map((s) => strings.add(s.name));
  all[all.length - 1].data = strings.bytes();
  let offset = ELF64_EHDR_SIZE;
  const laid: Laid[] = all.map((s, i) => {
    offset = alignUp(offset, s.align);
    const l = { name: names[i], type: s.type, flags: s.flags, offset, size: s.data.length, link: s.link, info: s.info, align: s.align, entsize: s.entsize };
    offset += s.data.length;
    return l;
  });
  const shoff = alignUp(offset, 8);
  const out = new Uint8Array(shoff + ELF64_SHDR_SIZE * (all.length + 1));
  all.forEach((s, i) => out.set(s.data, laid[i].offset));
  const v = new DataView(out.buffer);
  out.set(ELFMAG, 0);
  out[EI_CLASS] = ELFCLASS64;
  out[EI_DATA] = ELFDATA2LSB;
  out[EI_VERSION] = 1;
  v.setUint16(16, ET_REL, true);
  v.setUint16(18, machine, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(40, BigInt(shoff), true);
  v.setUint16(52, ELF64_EHDR_SIZE, true);
  v.setUint16(58, ELF64_SHDR_SIZE, true);
  v.setUint16(60, all.length + 1, true);
  v.setUint16(62, strtabIndex, true);
  laid.forEach((l, i) => {
    const at = shoff + ELF64_SHDR_SIZE * (i + 1);
    v.setUint32(at, l.name, true);
    v.setUint32(at + 4, l.type, true);
    v.setBigUint64(at + 8, BigInt(l.flags), true);
    v.setBigUint64(at + 24, BigInt(l.offset), true);
    v.setBigUint64(at + 32, BigInt(l.size), true);
    v.setUint32(at + 40, l.link, true);
    v.setUint32(at + 44, l.info, true);
    v.setBigUint64(at + 48, BigInt(l.align), true);
    v.setBigUint64(at + 56, BigInt(l.entsize), true);
  });
  return out;
}
