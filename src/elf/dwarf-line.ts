/**
 * The DWARF line table (.debug_line, versions 4 and 5) of a relocatable BPF object: which
 * source file and line each instruction came from, as `llvm-objdump -S` reads it. Each row's
 * address is an offset in the ELF section its sequence's DW_LNE_set_address relocation names
 * (clang -c leaves those addresses to relocations against section symbols); strings of
 * DW_FORM_line_strp come from .debug_line_str. Only what a line table needs is read.
 */
import { XdplabError } from '../errors.js';
import type { ElfFile } from './elf.js';

export interface DwarfLineRow {
  /** Index of the ELF section the address is in. */
  readonly section: number;
  /** Byte offset in that section. */
  readonly address: number;
  /** The source file: its directory joined to its name, as written in the table. */
  readonly file: string;
  /** 1-based; 0 for code of no source line. */
  readonly line: number;
  /** Set on the row that ends a sequence (its address is past the sequence's code). */
  readonly endSequence: boolean;
}

const DW_LNS_copy = 1, DW_LNS_advance_pc = 2, DW_LNS_advance_line = 3, DW_LNS_set_file = 4, DW_LNS_const_add_pc = 8;
const DW_LNS_fixed_advance_pc = 9;
const DW_LNE_end_sequence = 1, DW_LNE_set_address = 2;
const DW_LNCT_path = 1, DW_LNCT_directory_index = 2;
const DW_FORM = { block: 0x09, data1: 0x0b, data2: 0x05, data4: 0x06, data8: 0x07, data16: 0x1e, string: 0x08, strp: 0x0e, line_strp: 0x1f, udata: 0x0f } as const;

class Reader {
  private readonly view: DataView;
  constructor(readonly bytes: Uint8Array, public at = 0) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  u8(): number { return this.bytes[this.at++]; }
  u16(): number { const v = this.view.getUint16(this.at, true); this.at += 2; return v; }
  u32(): number { const v = this.view.getUint32(this.at, true); this.at += 4; return v; }
  i8(): number { return (this.u8() << 24) >> 24; }

  uleb(): number {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = this.u8();
      v += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return v;
    }
  }

  sleb(): number {
    let v = 0;
    let shift = 0;
    let b: number;
    do {
      b = this.u8();
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    return b & 0x40 ? v - 2 ** shift : v;
  }

  cstring(): string {
    const end = this.bytes.indexOf(0, this.at);
    const s = new TextDecoder().decode(this.bytes.subarray(this.at, end));
    this.at = end + 1;
    return s;
  }
}

/** A string of .debug_line_str (or .debug_str) at `offset`. */
function stringAt(section: Uint8Array | undefined, offset: number): string {
  if (!section) return '';
  const end = section.indexOf(0, offset);
  return new TextDecoder().decode(section.subarray(offset, end < 0 ? section.length : end));
}

interface Entry { path: string; dir: number }

/** A v5 directory or file entry list: each entry's fields as its format says. */
function entries(r: Reader, strings: { line?: Uint8Array; str?: Uint8Array }): Entry[] {
  const format: Array<[number, number]> = [];
  for (let n = r.u8(); n > 0; n--) format.push([r.uleb(), r.uleb()]);
  const list: Entry[] = [];
  for (let n = r.uleb(); n > 0; n--) {
    const e: Entry = { path: '', dir: 0 };
    for (const [content, form] of format) {
      let value: string | number = 0;
      switch (form) {
        case DW_FORM.string: value = r.cstring(); break;
        case DW_FORM.line_strp: value = stringAt(strings.line, r.u32()); break;
        case DW_FORM.strp: value = stringAt(strings.str, r.u32()); break;
        case DW_FORM.udata: value = r.uleb(); break;
        case DW_FORM.data1: value = r.u8(); break;
        case DW_FORM.data2: value = r.u16(); break;
        case DW_FORM.data4: value = r.u32(); break;
        case DW_FORM.data8: r.at += 8; break;
        case DW_FORM.data16: r.at += 16; break;
        case DW_FORM.block: r.at += r.uleb(); break;
        default: throw new XdplabError('BAD_INPUT', `.debug_line: form 0x${form.toString(16)} in an entry is not one xdplab reads`);
      }
      if (content === DW_LNCT_path) e.path = String(value);
      else if (content === DW_LNCT_directory_index) e.dir = Number(value);
    }
    list.push(e);
  }
  return list;
}

const isAbsolute = (p: string): boolean => p.startsWith('/');
const join = (dir: string, name: string): string => (isAbsolute(name) || dir === '' ? name : `${dir.replace(/\/$/, '')}/${name}`);

/** The rows of every line table of `elf`; [] when it has no .debug_line. */
export function readDwarfLines(elf: ElfFile): DwarfLineRow[] {
  const section = elf.sectionByName('.debug_line');
  if (!section) return [];
  const strings = { line: elf.sectionByName('.debug_line_str')?.data, str: elf.sectionByName('.debug_str')?.data };
  // DW_LNE_set_address operands by their offset in .debug_line → the section their symbol is in.
  const addressSection = new Map<number, number>();
  for (const rel of elf.relocationsFor(section)) addressSection.set(rel.offset, elf.symbols[rel.symbol]?.shndx ?? 0);
  const rows: DwarfLineRow[] = [];
  const r = new Reader(section.data);
  while (r.at + 4 <= section.data.length) {
    const unitEnd = r.u32() + r.at;
    const version = r.u16();
    if (version < 4 || version > 5) throw new XdplabError('BAD_INPUT', `.debug_line: version ${version} (xdplab reads 4 and 5)`);
    if (version >= 5) r.at += 2; // address_size, segment_selector_size
    const headerEnd = r.u32() + r.at;
    const minInst = r.u8();
    r.u8(); // maximum_operations_per_instruction (1 for BPF)
    r.u8(); // default_is_stmt
    const lineBase = r.i8();
    const lineRange = r.u8();
    const opcodeBase = r.u8();
    const lengths = Array.from({ length: opcodeBase - 1 }, () => r.u8());
    let files: string[];
    if (version >= 5) {
      const dirs = entries(r, strings).map((d) => d.path);
      files = entries(r, strings).map((f) => join(f.dir === 0 ? dirs[0] : join(dirs[0], dirs[f.dir]), f.path));
    } else {
      const dirs = ['.'];
      for (let d = r.cstring(); d !== ''; d = r.cstring()) dirs.push(d);
      files = [''];
      for (let f = r.cstring(); f !== ''; f = r.cstring()) {
        const dir = r.uleb();
        r.uleb();
        r.uleb();
        files.push(join(dirs[dir], f));
      }
    }
    r.at = headerEnd;
    runProgram(r, unitEnd, { minInst, lineBase, lineRange, opcodeBase, lengths, files, addressSection }, rows);
    r.at = unitEnd;
  }
  return rows;
}

interface Program {
  minInst: number;
  lineBase: number;
  lineRange: number;
  opcodeBase: number;
  lengths: number[];
  files: string[];
  addressSection: Map<number, number>;
}

/** The line number program of one unit: its rows appended to `rows`. */
function runProgram(r: Reader, end: number, p: Program, rows: DwarfLineRow[]): void {
  let address = 0, file = 1, line = 1, section = 0;
  const emit = (endSequence: boolean): void => {
    rows.push({ section, address, file: p.files[file] ?? '', line, endSequence });
  };
  while (r.at < end) {
    const op = r.u8();
    if (op >= p.opcodeBase) {
      const adjusted = op - p.opcodeBase;
      address += Math.floor(adjusted / p.lineRange) * p.minInst;
      line += p.lineBase + (adjusted % p.lineRange);
      emit(false);
    } else if (op === 0) {
      const len = r.uleb();
      const next = r.at + len;
      const sub = r.u8();
      if (sub === DW_LNE_end_sequence) {
        emit(true);
        address = 0; file = 1; line = 1; section = 0;
      } else if (sub === DW_LNE_set_address) {
        section = p.addressSection.get(r.at) ?? 0;
        address = new DataView(r.bytes.buffer, r.bytes.byteOffset + r.at, 8).getUint32(0, true);
      }
      r.at = next;
    } else if (op === DW_LNS_copy) emit(false);
    else if (op === DW_LNS_advance_pc) address += r.uleb() * p.minInst;
    else if (op === DW_LNS_advance_line) line += r.sleb();
    else if (op === DW_LNS_set_file) file = r.uleb();
    else if (op === DW_LNS_const_add_pc) address += Math.floor((255 - p.opcodeBase) / p.lineRange) * p.minInst;
    else if (op === DW_LNS_fixed_advance_pc) address += r.u16();
    else for (let n = p.lengths[op - 1]; n > 0; n--) r.uleb(); // set_column, negate_stmt, … : not needed
  }
}
