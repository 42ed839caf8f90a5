/**
 * `llvm-objdump -d --no-show-raw-insn OBJ` for a BPF object, byte for byte as LLVM 14 prints
 * it — the header line included, with `elf.fileName` where llvm-objdump prints the path it was
 * given. What it reproduces, from llvm-objdump's disassembleObject():
 *
 * - Executable (SHF_EXECINSTR), non-empty, non-SHT_NOBITS sections, in section order, each
 *   opened by "\nDisassembly of section NAME:\n".
 * - Every named symbol of the section that is not STT_SECTION opens a block — clang 14 keeps
 *   its LBB labels (STT_NOTYPE) in the symbol table, so they get blocks as functions do —
 *   printed as "\n%016x <name>:\n". Symbols are ordered by (address, name, type); of several
 *   at one address only the last prints; a section with no symbol at address 0 gets one named
 *   after the section.
 * - A block runs to the next symbol or the section end. Its instructions are decoded from the
 *   block start with the bytes up to the SECTION end, so an lddw at the end of a block reads
 *   the next block's first slot. Lines are "%8d:\t<text>", the number being the byte address
 *   divided by 8. Bytes that do not decode print "<unknown>" and skip 8 bytes (or 1, when
 *   fewer than 8 — or, for lddw, 16 — bytes are left in the section).
 * - Jumps get " <sym>" or " <sym+0xHEX>": the last symbol at or below the target address, in
 *   the same section; a target before the section start wraps around as a 64-bit unsigned
 *   address. Calls get no annotation (llvm-objdump 14 does not follow them).
 * - STT_OBJECT / STT_COMMON symbols in an executable section are dumped as data, 8 bytes a
 *   line: "%8x:" (byte address, hex), " %02x" each, padding, 9 spaces, printable ASCII or '.'.
 *
 * Options, as llvm-objdump's: `rawBytes` (its default, `--show-raw-insn`) prints each
 * instruction's bytes, "xx xx …\t", before its text; `source` (`-S`) prints the source line
 * "; <text>" before an instruction whose line differs from the previous one's, as SourcePrinter
 * does — lines from the DWARF line table and the source files it names, as llvm-objdump reads
 * them (BTF line info and its recorded text when the object has no DWARF or a file is missing).
 *
 * The one deliberate difference: an instruction LLVM 14 does not know (cpu v4: sign-extending
 * loads and moves, bswap, gotol, …) or misreads (sdiv/smod, movsx, 32-bit fetch-add, callx)
 * prints as Instruction.toString() prints it — LLVM 18's syntax — not as "<unknown>" or the
 * misreading. clang 14 emits none of them, so its objects come out identical.
 */
import { decodeInstructions, INSN_SIZE, type Instruction } from '../isa/instruction.js';
import { OPCODE, OPCODES } from '../isa/opcodes.js';
import type { Syntax } from '../isa/disasm.js';
import {
  ET_REL, SHF_EXECINSTR, SHN_LORESERVE, SHN_UNDEF, SHT_NOBITS, STT_COMMON, STT_FUNC, STT_OBJECT, STT_SECTION,
} from '../elf/constants.js';
import type { ElfFile, ElfSection } from '../elf/elf.js';
import { readFileSync } from 'node:fs';
import { readDwarfLines, type DwarfLineRow } from '../elf/dwarf-line.js';
import { loadBtfSections } from './btf-maps.js';


interface SymbolInfo {
  readonly addr: number;
  readonly name: string;
  readonly type: number;
}

const compareSymbols = (a: SymbolInfo, b: SymbolInfo): number =>
  a.addr - b.addr || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || a.type - b.type;

/** The symbols llvm-objdump lists for each section, sorted, keyed by section index. */
function symbolsBySection(elf: ElfFile): Map<number, SymbolInfo[]> {
  const bySection = new Map<number, SymbolInfo[]>();
  for (const sym of elf.symbols) {
    if (sym.name === '' || sym.type === STT_SECTION) continue;
    // Undefined, absolute and common symbols belong to no section.
    if (sym.shndx === SHN_UNDEF || sym.shndx >= SHN_LORESERVE) continue;
    const section = elf.sections[sym.shndx];
    // In a relocatable object a symbol's value is an offset into its section.
    const addr = sym.value + (elf.type === ET_REL ? section.addr : 0);
    const list = bySection.get(sym.shndx) ?? [];
    list.push({ addr, name: sym.name, type: sym.type });
    bySection.set(sym.shndx, list);
  }
  for (const list of bySection.values()) list.sort(compareSymbols);
  return bySection;
}

export interface ObjdumpOptions {
  /** 'asm' prints the assembler's syntax instead of LLVM's. */
  syntax?: Syntax;
  /** Each instruction's bytes before its text (llvm-objdump's default; --show-raw-insn). */
  rawBytes?: boolean;
  /** The source line before the instructions it made (-S), from BTF line info. */
  source?: boolean;
}

/** The listing of every executable section (a Syntax alone, as before: the options' `syntax`). */
export function disassembleObject(elf: ElfFile, options: Syntax | ObjdumpOptions = {}): string {
  const opts = typeof options === 'string' ? { syntax: options } : options;
  let out = `\n${elf.fileName}:\tfile format elf64-bpf\n`;
  const bySection = symbolsBySection(elf);
  const sources = opts.source ? sourceMap(elf) : undefined;
  for (const section of elf.sections) {
    if (!(section.flags & SHF_EXECINSTR) || section.type === SHT_NOBITS || section.size === 0) continue;
    out += disassembleSection(section, bySection.get(section.index) ?? [], opts, sources && new SourcePrinter(sources, section.index));
  }
  return out;
}

/** Where each instruction came from: file and line by byte offset, per section index. */
interface SourceMap {
  rowAt(section: number, offset: number): { file: string; line: number } | undefined;
  text(file: string, line: number): string | undefined;
}

/**
 * The object's DWARF line table when it has one (what llvm-objdump reads, the source text read
 * from the files it names, relative to the working directory as llvm-objdump reads them), else
 * its BTF line info; a source file that cannot be read gives the text BTF recorded for the line.
 */
function sourceMap(elf: ElfFile): SourceMap {
  const btfText = new Map<string, string>();
  const btfRows = new Map<number, Map<number, { file: string; line: number }>>();
  let ext;
  try {
    ext = loadBtfSections(elf)?.ext;
  } catch {
    ext = undefined; // no usable BTF: DWARF alone
  }
  for (const [name, records] of ext?.lineInfo ?? []) {
    const index = elf.sectionByName(name)?.index ?? -1;
    const rows = new Map<number, { file: string; line: number }>();
    for (const r of records) {
      rows.set(r.insnOff, { file: r.file, line: r.line });
      btfText.set(`${baseName(r.file)}:${r.line}`, r.text);
    }
    btfRows.set(index, rows);
  }
  const dwarf = readDwarfLines(elf);
  const bySection = new Map<number, DwarfLineRow[]>();
  for (const row of dwarf) {
    const list = bySection.get(row.section) ?? [];
    list.push(row);
    bySection.set(row.section, list);
  }
  // By address; an end of sequence before a row starting at the same address.
  for (const list of bySection.values()) list.sort((a, b) => a.address - b.address || Number(b.endSequence) - Number(a.endSequence));
  const files = new Map<string, string[] | undefined>();
  return {
    rowAt(section, offset) {
      if (dwarf.length === 0) return btfRows.get(section)?.get(offset);
      const list = bySection.get(section) ?? [];
      let found: DwarfLineRow | undefined;
      for (const row of list) {
        if (row.address > offset) break;
        found = row;
      }
      return found === undefined || found.endSequence ? undefined : found;
    },
    text(file, line) {
      if (!files.has(file)) files.set(file, readLines(file));
      return files.get(file)?.[line - 1] ?? btfText.get(`${baseName(file)}:${line}`);
    },
  };
}

const baseName = (file: string): string => file.split('/').pop() ?? file;

function readLines(file: string): string[] | undefined {
  try {
    return readFileSync(file, 'utf8').split('\n');
  } catch {
    return undefined;
  }
}

/**
 * llvm-objdump's SourcePrinter: before an instruction, the text of its line when that differs
 * from the previous instruction's (line 0, code of no line, prints nothing but counts as a line).
 */
class SourcePrinter {
  private last: { file: string; line: number } | undefined;
  constructor(private readonly map: SourceMap, private readonly section: number) {}

  at(offset: number): string {
    const row = this.map.rowAt(this.section, offset) ?? { file: '', line: 0 };
    const same = this.last !== undefined && this.last.line === row.line && this.last.file === row.file;
    this.last = row;
    if (row.line === 0 || same) return '';
    const text = this.map.text(row.file, row.line);
    return text === undefined ? '' : `; ${text}\n`;
  }
}

const rawBytesOf = (data: Uint8Array, index: number, size: number): string =>
  Array.from(data.subarray(index, index + size), (b) => b.toString(16).padStart(2, '0')).join(' ') + '\t';

function disassembleSection(section: ElfSection, sectionSymbols: readonly SymbolInfo[], opts: ObjdumpOptions, source?: SourcePrinter): string {
  const syntax = opts.syntax ?? 'llvm';
  const symbols = [...sectionSymbols];
  if (symbols.length === 0 || symbols[0].addr !== 0) {
    symbols.unshift({ addr: section.addr, name: section.name, type: STT_FUNC });
  }
  const base = section.addr;
  let out = '';
  let printedSection = false;
  for (let i = 0; i < symbols.length; i++) {
    const sym = symbols[i];
    if (sym.addr < base) continue;
    let end = base + section.size;
    if (i + 1 < symbols.length) end = Math.min(end, symbols[i + 1].addr);
    if (sym.addr >= end) continue;
    const start = sym.addr - base;
    end -= base;

    if (!printedSection) {
      printedSection = true;
      out += `\nDisassembly of section ${section.name}:\n`;
    }
    out += `\n${(base + start).toString(16).padStart(16, '0')} <${sym.name}>:\n`;

    if (sym.type === STT_OBJECT || sym.type === STT_COMMON) {
      out += dumpData(section.data, base, start, end);
      continue;
    }
    for (let index = start; index < end; ) {
      const { insn, size } = decodeAt(section.data, index);
      const address = base + index;
      if (source) out += source.at(index);
      out += `${String(Math.floor(address / INSN_SIZE)).padStart(8)}:\t`;
      if (opts.rawBytes) out += rawBytesOf(section.data, index, size);
      out += insn ? insn.toString(syntax) + jumpAnnotation(insn, address, symbols) : '<unknown>';
      out += '\n';
      index += size;
    }
  }
  return out;
}

/** Decode the instruction at byte `index`, with the rest of the section available to it. */
function decodeAt(data: Uint8Array, index: number): { insn: Instruction | undefined; size: number } {
  const left = data.length - index;
  if (left < INSN_SIZE) return { insn: undefined, size: 1 };
  const code = data[index];
  if (code === OPCODE.LDDW) {
    if (left < 2 * INSN_SIZE) return { insn: undefined, size: 1 };
    // LLVM reads only the immediate of an lddw's second slot; so do we.
    const bytes = Uint8Array.from(data.subarray(index, index + 2 * INSN_SIZE)); // a copy, even of a Buffer
    bytes.fill(0, INSN_SIZE, INSN_SIZE + 4);
    return { insn: decodeInstructions(bytes).insns[0], size: 2 * INSN_SIZE };
  }
  if (!OPCODES[code]) return { insn: undefined, size: INSN_SIZE };
  return { insn: decodeInstructions(data.subarray(index, index + INSN_SIZE)).insns[0], size: INSN_SIZE };
}

/** " <sym+0x..>" for a jump, as llvm-objdump resolves its target; "" for anything else. */
function jumpAnnotation(insn: Instruction, address: number, symbols: readonly SymbolInfo[]): string {
  const kind = insn.info.kind;
  if (kind !== 'jcond' && kind !== 'ja') return '';
  const target = address + INSN_SIZE * insn.branchTarget(0)!;
  // A target below address 0 wraps around to the top of the 64-bit address space, where the
  // section's last symbol is the nearest one below it.
  let sym: SymbolInfo | undefined;
  for (const s of symbols) {
    if (target >= 0 && s.addr > target) break;
    sym = s;
  }
  if (!sym) return '';
  const disp = target >= 0 ? (target - sym.addr).toString(16) : ((1n << 64n) + BigInt(target) - BigInt(sym.addr)).toString(16);
  return disp === '0' ? ` <${sym.name}>` : ` <${sym.name}+0x${disp}>`;
}

/** llvm-objdump's dumpELFData: a data symbol inside an executable section. */
function dumpData(data: Uint8Array, base: number, start: number, end: number): string {
  let out = '';
  for (let line = start; line < end; line += 8) {
    const bytes = data.subarray(line, Math.min(line + 8, end));
    out += `${(base + line).toString(16).padStart(8)}:`;
    for (const b of bytes) out += ` ${b.toString(16).padStart(2, '0')}`;
    out += ' '.repeat(3 * (8 - bytes.length) + 9);
    for (const b of bytes) out += b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : '.';
    out += '\n';
  }
  return out;
}
