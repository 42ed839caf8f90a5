/**
 * A reader for `.BTF.ext`, the section beside `.BTF` that ties instructions to BTF: function
 * info (which FUNC starts at an instruction), line info (file, line, column and the source
 * line's text, all strings of .BTF) and CO-RE relocations (struct bpf_core_relo). Each kind is
 * a list of per-ELF-section groups, keyed here by section name.
 *
 * Instruction offsets are kept as the object stores them: in BYTES from the start of the ELF
 * section (libbpf divides them by 8 when it loads a program). Layout and checks follow
 * libbpf's btf_ext__new: header in range, record sizes at least the known structs and a
 * multiple of 4, every group non-empty and inside its section, section names and strings in
 * .BTF's string section. Failures throw XdplabError('BAD_INPUT') naming the source and offset.
 */
import { XdplabError } from '../errors.js';
import type { Btf } from './btf.js';
import { readString } from './decode.js';
import { BTF_MAGIC } from './types.js';

export interface BtfExtHeader {
  readonly magic: number;
  readonly version: number;
  readonly flags: number;
  readonly hdrLen: number;
  readonly funcInfoOff: number;
  readonly funcInfoLen: number;
  readonly lineInfoOff: number;
  readonly lineInfoLen: number;
  /** 0 when the header is too short to have the CO-RE fields. */
  readonly coreReloOff: number;
  readonly coreReloLen: number;
}

/** struct bpf_func_info: the function (a FUNC type) starting at an instruction. */
export interface BtfFuncInfo {
  /** Byte offset of the function's first instruction in its ELF section. */
  readonly insnOff: number;
  readonly typeId: number;
}

/** The source position of an instruction, as `lineAt` answers it. */
export interface BtfSourceLine {
  readonly file: string;
  /** 1-based line number. */
  readonly line: number;
  /** 1-based column, 0 when unknown. */
  readonly column: number;
  /** The source line's text, as clang recorded it. */
  readonly text: string;
}

/** struct bpf_line_info, its strings looked up. */
export interface BtfLineInfo extends BtfSourceLine {
  /** Byte offset of the first instruction of the line in its ELF section. */
  readonly insnOff: number;
  readonly fileNameOff: number;
  readonly lineOff: number;
}

/** struct bpf_core_relo: a CO-RE relocation. */
export interface BtfCoreRelo {
  /** Byte offset of the instruction to patch in its ELF section. */
  readonly insnOff: number;
  /** The local (this object's BTF) root type. */
  readonly typeId: number;
  readonly accessStrOff: number;
  /** "0:1:2": the access path through typeId (field relos), "0" (type relos) or the enumerator index. */
  readonly accessStr: string;
  /** accessStr split at ':'. */
  readonly access: readonly number[];
  /** BPF_CORE_FIELD_BYTE_OFFSET … BPF_CORE_ENUMVAL_VALUE (types.ts). */
  readonly kind: number;
}

/** The smallest record of each kind (libbpf's min_rec_size). */
const MIN_FUNC_INFO = 8;
const MIN_LINE_INFO = 16;
const MIN_CORE_RELO = 16;
/** The header up to line_info_len, without which nothing can be read. */
const MIN_HEADER = 24;

export class BtfExt {
  constructor(
    readonly source: string,
    readonly header: BtfExtHeader,
    /** Function info by ELF section name. */
    readonly funcInfo: ReadonlyMap<string, readonly BtfFuncInfo[]>,
    /** Line info by ELF section name, in the object's order (by instruction offset). */
    readonly lineInfo: ReadonlyMap<string, readonly BtfLineInfo[]>,
    /** CO-RE relocations by ELF section name. */
    readonly coreRelos: ReadonlyMap<string, readonly BtfCoreRelo[]>,
  ) {}

  /**
   * The source line an instruction belongs to: the last line info at or before `insnOff` (a
   * BYTE offset in the ELF section, as in the records — instruction index × 8), or undefined
   * when the section has no line info that early.
   */
  lineAt(section: string, insnOff: number): BtfSourceLine | undefined {
    const lines = this.lineInfo.get(section);
    if (!lines || lines.length === 0) return undefined;
    let lo = 0;
    let hi = lines.length - 1;
    if (lines[0].insnOff > insnOff) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lines[mid].insnOff <= insnOff) lo = mid;
      else hi = mid - 1;
    }
    const { file, line, column, text } = lines[lo];
    return { file, line, column, text };
  }
}

/**
 * Parse a `.BTF.ext` section against the `.BTF` it belongs to (its strings and types).
 * `source` names the input in errors (default ".BTF.ext").
 */
export function parseBtfExt(input: Uint8Array, btf: Btf, source = '.BTF.ext'): BtfExt {
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (message: string): XdplabError => new XdplabError('BAD_INPUT', `${source}: ${message}`);
  const hex = (n: number): string => `0x${n.toString(16)}`;
  const u32 = (at: number): number => view.getUint32(at, true);

  if (bytes.length < 8) throw fail(`truncated header: ${bytes.length} bytes, the header needs at least ${MIN_HEADER}`);
  const magic = view.getUint16(0, true);
  if (magic !== BTF_MAGIC) throw fail(`bad magic ${hex(magic)} at offset 0x0: not BTF.ext (expected ${hex(BTF_MAGIC)})`);
  const version = bytes[2];
  if (version !== 1) throw fail(`unsupported BTF.ext version ${version} at offset 0x2`);
  const hdrLen = u32(4);
  if (hdrLen < MIN_HEADER || hdrLen > bytes.length) {
    throw fail(`bad header length ${hdrLen} at offset 0x4 (at least ${MIN_HEADER}, at most the ${bytes.length} bytes of input)`);
  }
  const hasCore = hdrLen >= 32;
  const header: BtfExtHeader = {
    magic, version, flags: bytes[3], hdrLen,
    funcInfoOff: u32(8), funcInfoLen: u32(12), lineInfoOff: u32(16), lineInfoLen: u32(20),
    coreReloOff: hasCore ? u32(24) : 0, coreReloLen: hasCore ? u32(28) : 0,
  };

  const string = (off: number, what: string, at: number): string => {
    const s = readString(btf.strings, off);
    if (s === undefined) throw fail(`${what} ${hex(off)} at offset ${hex(at)} is out of range of the .BTF string section (${hex(btf.strings.length)} bytes)`);
    return s;
  };
  const typeId = (id: number, what: string, at: number): number => {
    if (id >= btf.types.length) throw fail(`${what} ${id} at offset ${hex(at)} is out of range (${btf.types.length - 1} types)`);
    return id;
  };

  /** Walk one info section's groups, decoding each record with `read`. */
  function groups<T>(what: string, off: number, len: number, minRecord: number, read: (at: number, where: string) => T): Map<string, T[]> {
    const out = new Map<string, T[]>();
    if (len === 0) return out;
    const start = hdrLen + off;
    if (off > bytes.length - hdrLen || len > bytes.length - start) {
      throw fail(`${what} section (offset ${hex(off)}, length ${hex(len)}) runs past the end of the ${hex(bytes.length - hdrLen)} bytes after the header`);
    }
    const end = start + len;
    if (len < 4) throw fail(`${what} section at offset ${hex(start)} is too short for its record size`);
    const recordSize = u32(start);
    if (recordSize < minRecord || recordSize % 4 !== 0) {
      throw fail(`${what} record size ${recordSize} at offset ${hex(start)} is invalid (at least ${minRecord}, a multiple of 4)`);
    }
    for (let at = start + 4; at < end;) {
      if (end - at < 8) throw fail(`${what} group at offset ${hex(at)} is truncated: ${end - at} bytes left, its header needs 8`);
      const name = string(u32(at), `${what} section name offset`, at);
      const count = u32(at + 4);
      if (count === 0) throw fail(`${what} group for section '${name}' at offset ${hex(at)} has no records`);
      const body = at + 8;
      if (count > (end - body) / recordSize) {
        throw fail(`${what} group for section '${name}' at offset ${hex(at)}: ${count} records of ${recordSize} bytes run past the end of the section`);
      }
      const list = out.get(name) ?? [];
      for (let i = 0; i < count; i++) list.push(read(body + i * recordSize, `${what} record ${i} of section '${name}'`));
      out.set(name, list);
      at = body + count * recordSize;
    }
    return out;
  }

  const funcInfo = groups('func_info', header.funcInfoOff, header.funcInfoLen, MIN_FUNC_INFO, (at, where) => ({
    insnOff: u32(at),
    typeId: typeId(u32(at + 4), `${where}: type id`, at + 4),
  }));
  const lineInfo = groups('line_info', header.lineInfoOff, header.lineInfoLen, MIN_LINE_INFO, (at, where) => {
    const fileNameOff = u32(at + 4);
    const lineOff = u32(at + 8);
    const lineCol = u32(at + 12);
    return {
      insnOff: u32(at),
      fileNameOff, lineOff,
      file: string(fileNameOff, `${where}: file name offset`, at + 4),
      text: string(lineOff, `${where}: line offset`, at + 8),
      line: lineCol >>> 10,
      column: lineCol & 0x3ff,
    };
  });
  const coreRelos = groups('core_relo', header.coreReloOff, header.coreReloLen, MIN_CORE_RELO, (at, where) => {
    const accessStrOff = u32(at + 8);
    const accessStr = string(accessStrOff, `${where}: access string offset`, at + 8);
    if (!/^\d+(:\d+)*$/.test(accessStr)) throw fail(`${where} at offset ${hex(at)}: malformed access string '${accessStr}'`);
    return {
      insnOff: u32(at),
      typeId: typeId(u32(at + 4), `${where}: type id`, at + 4),
      accessStrOff, accessStr,
      access: accessStr.split(':').map(Number),
      kind: u32(at + 12),
    };
  });
  for (const list of lineInfo.values()) list.sort((a, b) => a.insnOff - b.insnOff);
  return new BtfExt(source, header, funcInfo, lineInfo, coreRelos);
}
