/**
 * A reader for ELF64 little-endian BPF objects: the header, sections, the symbol table and
 * SHT_REL relocations — what `clang -target bpf -c` writes.
 *
 * Hand-written on purpose. The npm ELF packages (checked: `elfy` 1.0.0 and `elf-tools` 1.1.2)
 * read the header and section headers only: neither decodes symbol tables or relocation
 * entries, neither bounds-checks what it slices, and both throw untyped `Error`s on bad bytes.
 * A BPF loader needs exactly the relocatable-object parts they skip, with errors that say
 * which section, symbol or offset is broken.
 *
 * Everything is checked before it is used: any byte input either parses or throws
 * XdplabError('BAD_INPUT') naming the file and the part at fault. Nothing is copied: section
 * data are views into the input bytes. This module knows nothing of BPF programs or maps.
 * Not decoded: program headers (a relocatable object has none) and SHT_RELA sections (clang's
 * BPF backend writes SHT_REL only).
 */
import { XdplabError } from '../errors.js';
import {
  BPF_RELOCATION_WIDTH, EI_CLASS, EI_DATA, EI_OSABI, ELF64_EHDR_SIZE,
  ELF64_REL_SIZE, ELF64_SHDR_SIZE, ELF64_SYM_SIZE, ELFCLASS64, ELFDATA2LSB, ELFMAG, EM_BPF, SHN_LORESERVE,
  SHN_UNDEF, SHN_XINDEX, STT_SECTION, SHT_NOBITS, SHT_REL, SHT_STRTAB, SHT_SYMTAB, SHT_SYMTAB_SHNDX,
} from './constants.js';

export interface ElfSection {
  /** Index in the section header table. */
  readonly index: number;
  readonly name: string;
  /** sh_type: SHT_PROGBITS, SHT_SYMTAB, SHT_REL, … */
  readonly type: number;
  /** sh_flags: SHF_ALLOC | SHF_EXECINSTR | … */
  readonly flags: number;
  readonly addr: number;
  /** Offset of the section's bytes in the file. */
  readonly offset: number;
  /** sh_size; for SHT_NOBITS the size in memory, though `data` is empty. */
  readonly size: number;
  readonly link: number;
  readonly info: number;
  readonly addralign: number;
  readonly entsize: number;
  /** The section's bytes: a view into the input, empty for SHT_NOBITS. */
  readonly data: Uint8Array;
}

export interface ElfSymbol {
  /** Index in the symbol table; relocations refer to symbols by it. Index 0 is the null symbol. */
  readonly index: number;
  /** The name from the string table; empty for STT_SECTION symbols (see `symbolName`). */
  readonly name: string;
  readonly value: number;
  readonly size: number;
  /** STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION, … */
  readonly type: number;
  /** STB_LOCAL, STB_GLOBAL, STB_WEAK */
  readonly bind: number;
  /** STV_DEFAULT, STV_HIDDEN, … */
  readonly visibility: number;
  /** The section the symbol is defined in, or SHN_UNDEF / SHN_ABS / SHN_COMMON. */
  readonly shndx: number;
}

export interface ElfRelocation {
  /** r_offset: where in `section` the patched field starts. */
  readonly offset: number;
  /** Index into ElfFile.symbols. */
  readonly symbol: number;
  /** R_BPF_64_64, R_BPF_64_ABS64, R_BPF_64_ABS32, R_BPF_64_NODYLD32, R_BPF_64_32 */
  readonly type: number;
  /** The section the relocation applies to (the SHT_REL section's sh_info). */
  readonly section: ElfSection;
}

/** The header fields of an ELF file, as parseElf found them. */
/** The ELF header's fields (e_ident's and the Elf64_Ehdr's) an ElfFile carries. */
export type ElfHeader = Pick<ElfFile, 'class' | 'data' | 'osabi' | 'type' | 'machine' | 'flags' | 'entry'>;

export class ElfFile {
  /** EI_CLASS: ELFCLASS64. */
  readonly class!: number;
  /** EI_DATA: ELFDATA2LSB. */
  readonly data!: number;
  /** EI_OSABI */
  readonly osabi!: number;
  /** e_type: ET_REL for a clang-built object. */
  readonly type!: number;
  /** e_machine: EM_BPF. */
  readonly machine!: number;
  /** e_flags */
  readonly flags!: number;
  /** e_entry */
  readonly entry!: number;

  constructor(
    /** The name errors and disassembly use for the file. */
    readonly fileName: string,
    header: ElfHeader,
    readonly sections: readonly ElfSection[],
    /** The symbol table, entry 0 (the null symbol) included; empty if the file has none. */
    readonly symbols: readonly ElfSymbol[],
    private readonly relocationsBySection: ReadonlyMap<number, readonly ElfRelocation[]>,
  ) {
    Object.assign(this, header);
  }

  /** The first section of that name. */
  sectionByName(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** The entries of an SHT_REL section (each names the section it applies to); [] for any other section. */
  relocations(relSection: ElfSection): readonly ElfRelocation[] {
    return this.relocationsBySection.get(relSection.index) ?? [];
  }

  /** Every relocation that applies to `target`, from all SHT_REL sections whose sh_info is it. */
  relocationsFor(target: ElfSection): ElfRelocation[] {
    const out: ElfRelocation[] = [];
    for (const relocations of this.relocationsBySection.values()) {
      for (const r of relocations) if (r.section.index === target.index) out.push(r);
    }
    return out;
  }

  /** A symbol's name, or for an STT_SECTION symbol (which has none) its section's name. */
  symbolName(symbol: ElfSymbol): string {
    if (symbol.name !== '' || symbol.type !== STT_SECTION) return symbol.name;
    return this.sections[symbol.shndx]?.name ?? '';
  }
}

const utf8 = new TextDecoder('utf-8');
const hex = (n: number): string => `0x${n.toString(16)}`;

/** Reads fields of the input, each checked; every failure names the file. */
class Reader {
  readonly view: DataView;

  constructor(readonly bytes: Uint8Array, readonly fileName: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(message: string): XdplabError {
    return new XdplabError('BAD_INPUT', `${this.fileName}: ${message}`);
  }

  u8(at: number): number {
    return this.view.getUint8(at);
  }

  u16(at: number): number {
    return this.view.getUint16(at, true);
  }

  u32(at: number): number {
    return this.view.getUint32(at, true);
  }

  /** A 64-bit field as a number; values past 2^53 are refused rather than rounded. */
  u64(at: number, what: string): number {
    const lo = this.view.getUint32(at, true);
    const hi = this.view.getUint32(at + 4, true);
    if (hi > 0x1fffff) throw this.fail(`${what} 0x${hi.toString(16)}${lo.toString(16).padStart(8, '0')} is too large`);
    return hi * 0x1_0000_0000 + lo;
  }

  /** Check that [offset, offset + size) lies inside the file. */
  inFile(offset: number, size: number): boolean {
    return offset <= this.bytes.length && size <= this.bytes.length - offset;
  }
}

interface RawSection {
  nameOffset: number;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

/**
 * Parse an ELF64 little-endian EM_BPF object. `fileName` is used in error messages only.
 * Throws XdplabError('BAD_INPUT') for anything malformed.
 */
export function parseElf(input: Uint8Array, fileName = '<memory>'): ElfFile {
  // A plain Uint8Array over the same memory, so the section views are never Node Buffers
  // (whose slice() shares memory where Uint8Array's copies).
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const r = new Reader(bytes, fileName);

  // ---- identification and header --------------------------------------------------------
  if (bytes.length < ELFMAG.length || ELFMAG.some((b, i) => bytes[i] !== b)) {
    const start = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw r.fail(`bad magic: not an ELF file (starts with ${start || 'nothing'})`);
  }
  if (bytes.length > EI_CLASS && bytes[EI_CLASS] !== ELFCLASS64) {
    throw r.fail(`not ELF64: EI_CLASS is ${bytes[EI_CLASS]}${bytes[EI_CLASS] === 1 ? ' (ELF32)' : ''}, BPF objects are ELFCLASS64`);
  }
  if (bytes.length > EI_DATA && bytes[EI_DATA] !== ELFDATA2LSB) {
    throw r.fail(`not little-endian: EI_DATA is ${bytes[EI_DATA]}${bytes[EI_DATA] === 2 ? ' (big-endian, bpfeb)' : ''}, only ELFDATA2LSB (bpfel) is supported`);
  }
  if (bytes.length < ELF64_EHDR_SIZE) {
    throw r.fail(`truncated ELF header: ${bytes.length} bytes, an ELF64 header needs ${ELF64_EHDR_SIZE}`);
  }
  const type = r.u16(16);
  const machine = r.u16(18);
  if (machine !== EM_BPF) throw r.fail(`machine ${machine} is not EM_BPF (${EM_BPF}): not a BPF object`);
  const entry = r.u64(24, 'e_entry');
  const shoff = r.u64(40, 'e_shoff');
  const flags = r.u32(48);
  const shentsize = r.u16(58);
  let shnum = r.u16(60);
  let shstrndx = r.u16(62);

  // ---- section headers -------------------------------------------------------------------
  const raw: RawSection[] = [];
  if (shoff !== 0) {
    if (shentsize !== ELF64_SHDR_SIZE) throw r.fail(`section header entry size ${shentsize} is not ${ELF64_SHDR_SIZE}`);
    if (!r.inFile(shoff, ELF64_SHDR_SIZE)) {
      throw r.fail(`section header table at offset ${hex(shoff)} is out of the file (${hex(bytes.length)} bytes)`);
    }
    // Extended numbering: with 0xff00 sections or more, the count and the name table's
    // index live in section 0's sh_size and sh_link.
    if (shnum === 0) shnum = r.u64(shoff + 32, 'section count (sh_size of section 0)');
    if (shstrndx === SHN_XINDEX) shstrndx = r.u32(shoff + 40);
    if (!r.inFile(shoff, shnum * ELF64_SHDR_SIZE)) {
      throw r.fail(`section header table (offset ${hex(shoff)}, ${shnum} entries of ${ELF64_SHDR_SIZE} bytes) is out of the file (${hex(bytes.length)} bytes)`);
    }
    for (let i = 0; i < shnum; i++) {
      const at = shoff + i * ELF64_SHDR_SIZE;
      const field = (name: string): string => `section ${i}: ${name}`;
      raw.push({
        nameOffset: r.u32(at),
        type: r.u32(at + 4),
        flags: r.u64(at + 8, field('sh_flags')),
        addr: r.u64(at + 16, field('sh_addr')),
        offset: r.u64(at + 24, field('sh_offset')),
        size: r.u64(at + 32, field('sh_size')),
        link: r.u32(at + 40),
        info: r.u32(at + 44),
        addralign: r.u64(at + 48, field('sh_addralign')),
        entsize: r.u64(at + 56, field('sh_entsize')),
      });
    }
  }

  // ---- section names ---------------------------------------------------------------------
  let names: Uint8Array | undefined;
  if (shstrndx !== SHN_UNDEF) {
    if (shstrndx >= raw.length) {
      throw r.fail(`bad string table index: e_shstrndx ${shstrndx} is out of range (${raw.length} sections)`);
    }
    const strtab = raw[shstrndx];
    if (strtab.type !== SHT_STRTAB) {
      throw r.fail(`bad string table index: e_shstrndx ${shstrndx} names a section of type ${strtab.type}, not SHT_STRTAB`);
    }
    if (!r.inFile(strtab.offset, strtab.size)) {
      throw r.fail(`section ${shstrndx} (the section name table): data (offset ${hex(strtab.offset)}, size ${hex(strtab.size)}) is out of the file (${hex(bytes.length)} bytes)`);
    }
    names = bytes.subarray(strtab.offset, strtab.offset + strtab.size);
  }

  const sections: ElfSection[] = raw.map((s, index) => {
    let name = '';
    if (names) {
      const found = readString(names, s.nameOffset);
      if (found === undefined) {
        throw r.fail(`section ${index}: name offset ${hex(s.nameOffset)} is out of range of the section name table (${hex(names.length)} bytes)`);
      }
      name = found;
    }
    let data = bytes.subarray(0, 0);
    if (s.type !== SHT_NOBITS && index !== 0) {
      if (!r.inFile(s.offset, s.size)) {
        throw r.fail(`section ${index} '${name}': data (offset ${hex(s.offset)}, size ${hex(s.size)}) is out of the file (${hex(bytes.length)} bytes)`);
      }
      data = bytes.subarray(s.offset, s.offset + s.size);
    }
    return { index, name, type: s.type, flags: s.flags, addr: s.addr, offset: s.offset, size: s.size, link: s.link, info: s.info, addralign: s.addralign, entsize: s.entsize, data };
  });
  const describe = (s: ElfSection): string => `section ${s.index} '${s.name}'`;

  // ---- symbols ---------------------------------------------------------------------------
  const symtabs = sections.filter((s) => s.type === SHT_SYMTAB);
  if (symtabs.length > 1) throw r.fail(`${symtabs.length} symbol tables (${symtabs.map(describe).join(', ')}); an object has at most one`);
  const symtab = symtabs[0];
  const symbols: ElfSymbol[] = symtab ? readSymbols(r, sections, symtab, describe) : [];

  // ---- relocations -----------------------------------------------------------------------
  const relocationsBySection = new Map<number, readonly ElfRelocation[]>();
  for (const rel of sections) {
    if (rel.type !== SHT_REL) continue;
    relocationsBySection.set(rel.index, readRelocations(r, sections, symbols, symtab, rel, describe));
  }

  const header = { class: bytes[EI_CLASS], data: bytes[EI_DATA], osabi: bytes[EI_OSABI], type, machine, flags, entry };
  return new ElfFile(fileName, header, sections, symbols, relocationsBySection);
}

function readSymbols(r: Reader, sections: readonly ElfSection[], symtab: ElfSection, describe: (s: ElfSection) => string): ElfSymbol[] {
  const where = describe(symtab);
  if (symtab.entsize !== ELF64_SYM_SIZE) throw r.fail(`${where}: entry size ${symtab.entsize} is not ${ELF64_SYM_SIZE}`);
  if (symtab.size % ELF64_SYM_SIZE !== 0) throw r.fail(`${where}: size ${hex(symtab.size)} is not a multiple of ${ELF64_SYM_SIZE}`);
  const strtab = sections[symtab.link];
  if (symtab.link === SHN_UNDEF || !strtab || strtab.type !== SHT_STRTAB) {
    throw r.fail(`${where}: bad string table index ${symtab.link} (sh_link must name an SHT_STRTAB section)`);
  }
  const shndxTable = sections.find((s) => s.type === SHT_SYMTAB_SHNDX && s.link === symtab.index);
  const count = symtab.size / ELF64_SYM_SIZE;
  const symbols: ElfSymbol[] = [];
  for (let index = 0; index < count; index++) {
    const at = symtab.offset + index * ELF64_SYM_SIZE;
    const nameOffset = r.u32(at);
    const name = readString(strtab.data, nameOffset);
    if (name === undefined) {
      throw r.fail(`${where}: symbol ${index}: name offset ${hex(nameOffset)} is out of range of string table ${describe(strtab)} (${hex(strtab.data.length)} bytes)`);
    }
    const info = r.u8(at + 4);
    let shndx = r.u16(at + 6);
    const label = `${where}: symbol ${index} '${name}'`;
    if (shndx === SHN_XINDEX) {
      const slot = index * 4;
      if (!shndxTable || slot + 4 > shndxTable.data.length) {
        throw r.fail(`${label}: section index is SHN_XINDEX but no SHT_SYMTAB_SHNDX entry holds it`);
      }
      shndx = new DataView(shndxTable.data.buffer, shndxTable.data.byteOffset, shndxTable.data.byteLength).getUint32(slot, true);
      if (shndx >= sections.length) throw r.fail(`${label}: section index ${shndx} is out of range (${sections.length} sections)`);
    } else if (shndx < SHN_LORESERVE && shndx >= sections.length) {
      throw r.fail(`${label}: section index ${shndx} is out of range (${sections.length} sections)`);
    }
    symbols.push({
      index,
      name,
      value: r.u64(at + 8, `${label}: st_value`),
      size: r.u64(at + 16, `${label}: st_size`),
      type: info & 0xf,
      bind: info >> 4,
      visibility: r.u8(at + 5) & 0x3,
      shndx,
    });
  }
  return symbols;
}

function readRelocations(
  r: Reader, sections: readonly ElfSection[], symbols: readonly ElfSymbol[], symtab: ElfSection | undefined,
  rel: ElfSection, describe: (s: ElfSection) => string,
): ElfRelocation[] {
  const where = describe(rel);
  if (rel.entsize !== ELF64_REL_SIZE) throw r.fail(`${where}: entry size ${rel.entsize} is not ${ELF64_REL_SIZE}`);
  if (rel.size % ELF64_REL_SIZE !== 0) throw r.fail(`${where}: size ${hex(rel.size)} is not a multiple of ${ELF64_REL_SIZE}`);
  const count = rel.size / ELF64_REL_SIZE;
  if (count === 0) return [];
  if (!symtab || rel.link !== symtab.index) {
    throw r.fail(`${where}: bad symbol table index ${rel.link} (sh_link must name the SHT_SYMTAB section${symtab ? `, ${symtab.index}` : ', and there is none'})`);
  }
  const target = sections[rel.info];
  if (rel.info === SHN_UNDEF || !target) {
    throw r.fail(`${where}: applies to section ${rel.info} (sh_info), which is out of range (${sections.length} sections)`);
  }
  const relocations: ElfRelocation[] = [];
  for (let i = 0; i < count; i++) {
    const at = rel.offset + i * ELF64_REL_SIZE;
    const offset = r.u64(at, `${where}: relocation ${i}: r_offset`);
    const type = r.u32(at + 8);
    const symbol = r.u32(at + 12);
    if (symbol >= symbols.length) {
      throw r.fail(`${where}: relocation ${i} at offset ${hex(offset)}: symbol index ${symbol} is out of range (${symbols.length} symbols)`);
    }
    // The bytes the relocation patches must lie in the section; an unknown type must at
    // least start inside it.
    const width = BPF_RELOCATION_WIDTH[type] ?? 1;
    if (offset > target.size || width > target.size - offset) {
      throw r.fail(`${where}: relocation ${i} (type ${type}) at offset ${hex(offset)} is out of its ${describe(target)} (${hex(target.size)} bytes)`);
    }
    relocations.push({ offset, symbol, type, section: target });
  }
  return relocations;
}

/** The NUL-terminated string at `offset` of a string table, or undefined if it runs off it. */
function readString(table: Uint8Array, offset: number): string | undefined {
  if (offset >= table.length) return offset === 0 ? '' : undefined;
  const end = table.indexOf(0, offset);
  if (end < 0) return undefined;
  return utf8.decode(table.subarray(offset, end));
}
