/**
 * A reader for BTF, the BPF Type Format: the `.BTF` section clang writes into every BPF object
 * built with -g (and the raw blobs in /sys/kernel/btf). It decodes the header, the string
 * section and every type kind the kernel defines up to BTF_KIND_ENUM64, indexed by type id.
 *
 * Hand-written because no npm package parses BTF (the registry has none that decodes the type
 * section; the BPF loaders that do are C (libbpf), Go (cilium/ebpf) and Rust (aya)). The
 * layout follows include/uapi/linux/btf.h and the checks follow libbpf's btf__new: the header
 * and sections must lie in the input, the string section must start and end with NUL, every
 * type record must fit, every kind must be known, and every name offset and referenced type id
 * must be in range. Anything else throws XdplabError('BAD_INPUT') naming the source, the type
 * id and the byte offset of its record in the input; no other exception escapes on any bytes.
 * Semantic questions that malformed types can make unanswerable (a typedef loop, the size of
 * a function) are errors of the query that asks them, raised the same way.
 *
 * Little-endian BTF only (what bpfel objects carry). This module imports nothing of ours but
 * errors.ts: it reads bytes, never an ELF file.
 */
import { XdplabError } from '../errors.js';
import {
  BTF_HEADER_SIZE, BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM,
  BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_FWD, BTF_KIND_INT, BTF_KIND_MAX,
  BTF_KIND_NAMES, BTF_KIND_PTR, BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG,
  BTF_KIND_UNION, BTF_KIND_UNKN, BTF_KIND_VAR, BTF_KIND_VOLATILE, BTF_MAGIC, BTF_MAX_RESOLVE_DEPTH, BTF_VERSION,
  type BtfComposite, type BtfDatasec, type BtfHeader, type BtfKind, type BtfMember, type BtfType,
} from './types.js';
import { typeToString } from './names.js';

const utf8 = new TextDecoder('utf-8');
const hex = (n: number): string => `0x${n.toString(16)}`;

/** Where a field lies, as `Btf.memberOffset` finds it. */
export interface BtfMemberLocation {
  /** Offset from the start of the outer type, in bits. */
  readonly bitOffset: number;
  /** Bitfield width, or 0 when the field is not a bitfield. */
  readonly bitfieldSize: number;
  /** The field's type id (unresolved: typedefs kept). */
  readonly type: number;
}

/** Decoded BTF: types by id, names, and the queries a loader and a pretty-printer need. */
export class Btf {
  constructor(
    /** The name errors use (file and section, e.g. "prog.bpf.o .BTF"). */
    readonly source: string,
    readonly header: BtfHeader,
    /** Every type, indexed by id; types[0] is void. */
    readonly types: readonly BtfType[],
    /** The string section (a view into the input). */
    readonly strings: Uint8Array,
  ) {}

  /** An error about type `id`, naming the source, the id and the record's byte offset. */
  fail(id: number, message: string): XdplabError {
    const t = this.types[id];
    const at = t && t.offset >= 0 ? ` at offset ${hex(t.offset)}` : '';
    return new XdplabError('BAD_INPUT', `${this.source}: type [${id}]${at}: ${message}`);
  }

  /** The type of that id; throws for an id out of range. */
  typeById(id: number): BtfType {
    const t = Number.isInteger(id) ? this.types[id] : undefined;
    if (!t) throw new XdplabError('BAD_INPUT', `${this.source}: type id ${id} is out of range (${this.types.length - 1} types)`);
    return t;
  }

  /** The type's name; '' for void and anonymous types. */
  name(id: number): string {
    return this.typeById(id).name;
  }

  /** The string at an offset of the string section, or undefined if there is none. */
  stringAt(offset: number): string | undefined {
    return readString(this.strings, offset);
  }

  /** The first type (lowest id) of that name, and of that kind if given. */
  findByName(name: string, kind?: BtfKind): BtfType | undefined {
    for (let id = 1; id < this.types.length; id++) {
      const t = this.types[id];
      if (t.name === name && (kind === undefined || t.kind === kind)) return t;
    }
    return undefined;
  }

  /** The type behind TYPEDEF, VOLATILE, CONST, RESTRICT and TYPE_TAG links. */
  resolve(id: number): BtfType {
    let t = this.typeById(id);
    for (let depth = 0; ; depth++) {
      switch (t.kind) {
        case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_TYPE_TAG:
          if (depth >= BTF_MAX_RESOLVE_DEPTH) throw this.fail(id, `more than ${BTF_MAX_RESOLVE_DEPTH} typedefs and modifiers in a row (a loop?)`);
          t = this.types[t.type];
          break;
        default:
          return t;
      }
    }
  }

  /**
   * The size in bytes of a value of that type, as libbpf's btf__resolve_size: pointers are 8
   * bytes, arrays their element size times their length, typedefs, modifiers and VARs the size
   * of what they name. Void, forward declarations and functions have no size: an error.
   */
  sizeOf(id: number): number {
    let t = this.typeById(id);
    let count = 1;
    for (let depth = 0; ; depth++) {
      if (depth > BTF_MAX_RESOLVE_DEPTH) throw this.fail(id, `more than ${BTF_MAX_RESOLVE_DEPTH} nested types while computing its size (a loop?)`);
      switch (t.kind) {
        case BTF_KIND_INT: case BTF_KIND_STRUCT: case BTF_KIND_UNION: case BTF_KIND_ENUM: case BTF_KIND_ENUM64:
        case BTF_KIND_DATASEC: case BTF_KIND_FLOAT: case BTF_KIND_PTR: {
          const unit = t.kind === BTF_KIND_PTR ? 8 : t.size;
          const size = count * unit;
          if (!(size <= 0xffffffff)) throw this.fail(id, `size ${count} × ${unit} overflows 32 bits`);
          return size;
        }
        case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_TYPE_TAG:
        case BTF_KIND_VAR: case BTF_KIND_DECL_TAG:
          t = this.types[t.type];
          break;
        case BTF_KIND_ARRAY:
          count *= t.nelems;
          t = this.types[t.type];
          break;
        default:
          throw this.fail(id, `${BTF_KIND_NAMES[t.kind]}${t.id === id ? '' : ` [${t.id}]`} has no size`);
      }
    }
  }

  /** The DATASEC of that section name ('.data', '.rodata', '.bss', '.maps', …). */
  datasec(name: string): BtfDatasec | undefined {
    const t = this.findByName(name, BTF_KIND_DATASEC);
    return t?.kind === BTF_KIND_DATASEC ? t : undefined;
  }

  /**
   * A copy with one DATASEC laid out: its size and every variable's offset, as a loader sets
   * them from the ELF section and its symbols (clang writes both as 0; this is libbpf's
   * btf_fixup_datasec). The variables end up sorted by offset, as libbpf sorts them.
   */
  withDatasecLayout(section: string, size: number, offsets: ReadonlyMap<string, number>): Btf {
    const sec = this.datasec(section);
    if (!sec) throw new XdplabError('BAD_INPUT', `${this.source}: no DATASEC '${section}'`);
    const vars = sec.vars.map((v) => {
      const name = this.name(v.type);
      const offset = offsets.get(name);
      if (offset === undefined) throw this.fail(sec.id, `DATASEC '${section}': no offset given for variable '${name}'`);
      if (offset + v.size > size) throw this.fail(sec.id, `DATASEC '${section}': variable '${name}' (${v.size} bytes at ${offset}) lies past the section's ${size} bytes`);
      return { ...v, offset };
    }).sort((a, b) => a.offset - b.offset);
    const types = this.types.slice();
    types[sec.id] = { ...sec, size, vars };
    return new Btf(this.source, this.header, types, this.strings);
  }

  /**
   * Where a field lies in a struct or union: `path` is a C access path ("ends[1].addr.bytes[3]")
   * or its parts (['ends', 1, 'addr']). Typedefs and modifiers are looked through; members of
   * anonymous structs and unions are found by their own names, as in C. Array indexes are
   * checked against the array's length.
   */
  memberOffset(structId: number, path: string | readonly (string | number)[]): BtfMemberLocation {
    const parts = typeof path === 'string' ? parsePath(path, this, structId) : path;
    let type = structId;
    let bitOffset = 0;
    let bitfieldSize = 0;
    let where = this.toString(structId);
    for (const part of parts) {
      if (bitfieldSize) throw this.fail(structId, `${where} is a bitfield: it has no ${typeof part === 'number' ? `[${part}]` : `.${part}`}`);
      const t = this.resolve(type);
      if (typeof part === 'number') {
        if (t.kind !== BTF_KIND_ARRAY) throw this.fail(structId, `${where} is not an array: cannot index it with [${part}]`);
        if (!Number.isInteger(part) || part < 0 || part >= t.nelems) throw this.fail(structId, `${where}[${part}] is out of range (${t.nelems} elements)`);
        bitOffset += part * this.sizeOf(t.type) * 8;
        type = t.type;
        where += `[${part}]`;
      } else {
        if (t.kind !== BTF_KIND_STRUCT && t.kind !== BTF_KIND_UNION) throw this.fail(structId, `${where} is not a struct or union: it has no member '${part}'`);
        const found = this.findMember(t, part, 0);
        if (!found) throw this.fail(structId, `${where} (${this.toString(t.id)}) has no member '${part}'`);
        bitOffset += found.bitOffset;
        bitfieldSize = found.bitfieldSize;
        type = found.type;
        where += `.${part}`;
      }
    }
    return { bitOffset, bitfieldSize, type };
  }

  private findMember(t: BtfComposite, name: string, depth: number): BtfMemberLocation | undefined {
    for (const m of t.members) if (m.name === name) return m;
    if (depth >= BTF_MAX_RESOLVE_DEPTH) throw this.fail(t.id, `anonymous members nested more than ${BTF_MAX_RESOLVE_DEPTH} deep (a loop?)`);
    for (const m of t.members) {
      if (m.name !== '') continue;
      const inner = this.resolve(m.type);
      if (inner.kind !== BTF_KIND_STRUCT && inner.kind !== BTF_KIND_UNION) continue;
      const found = this.findMember(inner, name, depth + 1);
      if (found) return { bitOffset: m.bitOffset + found.bitOffset, bitfieldSize: found.bitfieldSize, type: found.type };
    }
    return undefined;
  }

  /**
   * A C-like spelling of the type: `struct xdp_md`, `__u32`, `unsigned int[4]`,
   * `int (*)(struct xdp_md *, __u32 *)`, `const volatile __u64`; a VAR or FUNC as its
   * declaration (`flow_id_t next_id`, `int xdp_count(struct xdp_md *ctx)`). Without an id, a
   * summary of the whole BTF.
   */
  toString(id?: number): string {
    if (id === undefined) return `Btf(${this.source}: ${this.types.length - 1} types)`;
    return typeToString(this, id);
  }
}

/** Reads the fields of the input, each checked; every failure names the source. */
class Reader {
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array, readonly source: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  fail(message: string): XdplabError {
    return new XdplabError('BAD_INPUT', `${this.source}: ${message}`);
  }
  u32(at: number): number { return this.view.getUint32(at, true); }
  s32(at: number): number { return this.view.getInt32(at, true); }
}

/**
 * Parse a `.BTF` section (or a raw BTF file). `source` names the input in errors (default
 * ".BTF"). Throws XdplabError('BAD_INPUT') for anything malformed.
 */
export function parseBtf(input: Uint8Array, source = '.BTF'): Btf {
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const r = new Reader(bytes, source);

  // ---- header ----------------------------------------------------------------------------
  if (bytes.length < 4) throw r.fail(`truncated BTF header: ${bytes.length} bytes, the header needs ${BTF_HEADER_SIZE}`);
  const magic = r.view.getUint16(0, true);
  if (magic !== BTF_MAGIC) {
    if (magic === 0x9feb) throw r.fail('big-endian BTF (magic 0xeb9f byte-swapped): only little-endian BTF is supported');
    throw r.fail(`bad magic ${hex(magic)} at offset 0x0: not BTF (expected ${hex(BTF_MAGIC)})`);
  }
  if (bytes.length < BTF_HEADER_SIZE) throw r.fail(`truncated BTF header: ${bytes.length} bytes, the header needs ${BTF_HEADER_SIZE}`);
  const header: BtfHeader = {
    magic, version: bytes[2], flags: bytes[3], hdrLen: r.u32(4),
    typeOff: r.u32(8), typeLen: r.u32(12), strOff: r.u32(16), strLen: r.u32(20),
  };
  if (header.version !== BTF_VERSION) throw r.fail(`unsupported BTF version ${header.version} at offset 0x2 (only version ${BTF_VERSION} exists)`);
  if (header.hdrLen < BTF_HEADER_SIZE || header.hdrLen > bytes.length) {
    throw r.fail(`bad header length ${header.hdrLen} at offset 0x4 (at least ${BTF_HEADER_SIZE}, at most the ${bytes.length} bytes of input)`);
  }
  const dataLen = bytes.length - header.hdrLen;
  const section = (what: string, off: number, len: number, field: number): void => {
    if (off > dataLen || len > dataLen - off) {
      throw r.fail(`${what} section (offset ${hex(off)}, length ${hex(len)}, from the header field at offset ${hex(field)}) runs past the end of the ${hex(dataLen)} bytes after the header`);
    }
  };
  section('type', header.typeOff, header.typeLen, 8);
  section('string', header.strOff, header.strLen, 16);
  if (header.typeOff % 4 !== 0) throw r.fail(`type section offset ${hex(header.typeOff)} is not aligned to 4 bytes`);
  if (header.typeOff < header.strOff + header.strLen && header.strOff < header.typeOff + header.typeLen) {
    throw r.fail(`type section (offset ${hex(header.typeOff)}, length ${hex(header.typeLen)}) and string section (offset ${hex(header.strOff)}, length ${hex(header.strLen)}) overlap`);
  }

  // ---- strings ---------------------------------------------------------------------------
  const strStart = header.hdrLen + header.strOff;
  const strings = bytes.subarray(strStart, strStart + header.strLen);
  if (strings.length === 0) throw r.fail('empty string section (it must hold at least the empty string)');
  if (strings[0] !== 0) throw r.fail(`string section at offset ${hex(strStart)} does not start with the empty string`);
  if (strings[strings.length - 1] !== 0) throw r.fail(`string section at offset ${hex(strStart)} does not end with NUL`);

  // ---- types -----------------------------------------------------------------------------
  const typeStart = header.hdrLen + header.typeOff;
  const typeEnd = typeStart + header.typeLen;
  const types: BtfType[] = [{ kind: BTF_KIND_UNKN, id: 0, name: '', nameOff: 0, offset: -1, kindFlag: false, vlen: 0 }];
  const decode = new TypeDecoder(r, strings);
  for (let at = typeStart; at < typeEnd;) {
    const id = types.length;
    const t = decode.type(id, at, typeEnd);
    types.push(t.type);
    at = t.next;
  }

  const btf = new Btf(source, header, types, strings);
  for (const t of types) checkReferences(btf, t);
  return btf;
}

/** Decodes one btf_type record and its trailing data. */
class TypeDecoder {
  constructor(private readonly r: Reader, private readonly strings: Uint8Array) {}

  type(id: number, at: number, end: number): { type: BtfType; next: number } {
    const r = this.r;
    const where = `type [${id}] at offset ${hex(at)}`;
    if (end - at < 12) throw r.fail(`${where}: truncated: ${end - at} bytes left in the type section, a btf_type needs 12`);
    const nameOff = r.u32(at);
    const info = r.u32(at + 4);
    const sizeOrType = r.u32(at + 8);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kindFlag = (info >>> 31) === 1;
    if (kind > BTF_KIND_MAX || kind === BTF_KIND_UNKN) throw r.fail(`${where}: unknown kind ${kind} (info ${hex(info)})`);
    const name = this.string(nameOff, `${where}: name offset`);
    const extra = extraSize(kind, vlen);
    if (end - at - 12 < extra) {
      throw r.fail(`${where}: truncated ${BTF_KIND_NAMES[kind]} '${name}': needs ${12 + extra} bytes (vlen ${vlen}), ${end - at} left in the type section`);
    }
    const base = { id, name, nameOff, offset: at, kindFlag, vlen };
    const p = at + 12;
    const next = p + extra;
    const str = (off: number, what: string): string => this.string(off, `${where}: ${what}`);
    switch (kind) {
      case BTF_KIND_INT: {
        const v = r.u32(p);
        return { type: { ...base, kind, size: sizeOrType, encoding: (v >>> 24) & 0x0f, bitOffset: (v >>> 16) & 0xff, bits: v & 0xff }, next };
      }
      case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT: case BTF_KIND_TYPE_TAG:
        return { type: { ...base, kind, type: sizeOrType }, next };
      case BTF_KIND_ARRAY:
        return { type: { ...base, kind, type: r.u32(p), indexType: r.u32(p + 4), nelems: r.u32(p + 8) }, next };
      case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
        const members: BtfMember[] = [];
        for (let i = 0; i < vlen; i++) {
          const m = p + i * 12;
          const mOff = r.u32(m);
          const offset = r.u32(m + 8);
          members.push({
            name: str(mOff, `member ${i}: name offset`), nameOff: mOff, type: r.u32(m + 4),
            bitOffset: kindFlag ? offset & 0xffffff : offset, bitfieldSize: kindFlag ? offset >>> 24 : 0,
          });
        }
        return { type: { ...base, kind, size: sizeOrType, members }, next };
      }
      case BTF_KIND_ENUM: {
        const values = [];
        for (let i = 0; i < vlen; i++) {
          const e = p + i * 8;
          const vOff = r.u32(e);
          values.push({ name: str(vOff, `value ${i}: name offset`), nameOff: vOff, value: kindFlag ? r.s32(e + 4) : r.u32(e + 4) });
        }
        return { type: { ...base, kind, size: sizeOrType, signed: kindFlag, values }, next };
      }
      case BTF_KIND_ENUM64: {
        const values = [];
        for (let i = 0; i < vlen; i++) {
          const e = p + i * 12;
          const vOff = r.u32(e);
          const raw = (BigInt(r.u32(e + 8)) << 32n) | BigInt(r.u32(e + 4));
          values.push({ name: str(vOff, `value ${i}: name offset`), nameOff: vOff, value: kindFlag ? BigInt.asIntN(64, raw) : raw });
        }
        return { type: { ...base, kind, size: sizeOrType, signed: kindFlag, values }, next };
      }
      case BTF_KIND_FWD:
        return { type: { ...base, kind, union: kindFlag }, next };
      case BTF_KIND_FUNC:
        return { type: { ...base, kind, type: sizeOrType, linkage: vlen }, next };
      case BTF_KIND_FUNC_PROTO: {
        const params = [];
        for (let i = 0; i < vlen; i++) {
          const q = p + i * 8;
          const pOff = r.u32(q);
          params.push({ name: str(pOff, `parameter ${i}: name offset`), nameOff: pOff, type: r.u32(q + 4) });
        }
        return { type: { ...base, kind, returnType: sizeOrType, params }, next };
      }
      case BTF_KIND_VAR:
        return { type: { ...base, kind, type: sizeOrType, linkage: r.u32(p) }, next };
      case BTF_KIND_DATASEC: {
        const vars = [];
        for (let i = 0; i < vlen; i++) {
          const v = p + i * 12;
          vars.push({ type: r.u32(v), offset: r.u32(v + 4), size: r.u32(v + 8) });
        }
        return { type: { ...base, kind, size: sizeOrType, vars }, next };
      }
      case BTF_KIND_FLOAT:
        return { type: { ...base, kind, size: sizeOrType }, next };
      case BTF_KIND_DECL_TAG:
        return { type: { ...base, kind, type: sizeOrType, componentIdx: r.s32(p) }, next };
      default:
        throw r.fail(`${where}: unknown kind ${kind}`);
    }
  }

  private string(offset: number, what: string): string {
    const s = readString(this.strings, offset);
    if (s === undefined) throw this.r.fail(`${what} ${hex(offset)} is out of range of the string section (${hex(this.strings.length)} bytes)`);
    return s;
  }
}

/** Bytes of kind-specific data after the 12-byte btf_type. */
function extraSize(kind: number, vlen: number): number {
  switch (kind) {
    case BTF_KIND_INT: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG: return 4;
    case BTF_KIND_ARRAY: return 12;
    case BTF_KIND_STRUCT: case BTF_KIND_UNION: case BTF_KIND_DATASEC: case BTF_KIND_ENUM64: return 12 * vlen;
    case BTF_KIND_ENUM: case BTF_KIND_FUNC_PROTO: return 8 * vlen;
    default: return 0;
  }
}

/** Every type id a type refers to must exist; a FUNC must name a FUNC_PROTO (as libbpf checks). */
function checkReferences(btf: Btf, t: BtfType): void {
  const count = btf.types.length;
  const ref = (id: number, what: string): void => {
    if (id >= count) throw btf.fail(t.id, `${BTF_KIND_NAMES[t.kind]} '${t.name}': ${what} type id ${id} is out of range (${count - 1} types)`);
  };
  switch (t.kind) {
    case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG:
      ref(t.type, 'referenced');
      break;
    case BTF_KIND_FUNC:
      ref(t.type, 'prototype');
      if (btf.types[t.type].kind !== BTF_KIND_FUNC_PROTO) throw btf.fail(t.id, `FUNC '${t.name}': type id ${t.type} is a ${BTF_KIND_NAMES[btf.types[t.type].kind]}, not a FUNC_PROTO`);
      break;
    case BTF_KIND_ARRAY:
      ref(t.type, 'element');
      ref(t.indexType, 'index');
      break;
    case BTF_KIND_STRUCT: case BTF_KIND_UNION:
      t.members.forEach((m, i) => ref(m.type, `member ${i} '${m.name}'`));
      break;
    case BTF_KIND_FUNC_PROTO:
      ref(t.returnType, 'return');
      t.params.forEach((p, i) => ref(p.type, `parameter ${i} '${p.name}'`));
      break;
    case BTF_KIND_DATASEC:
      t.vars.forEach((v, i) => ref(v.type, `variable ${i}`));
      break;
    default:
      break;
  }
}

/** Split "a.b[2].c" (or "[1].x" for an outer array) into ['a', 'b', 2, 'c']. */
function parsePath(path: string, btf: Btf, structId: number): (string | number)[] {
  const parts: (string | number)[] = [];
  const token = /([A-Za-z_$][\w$]*)|\[\s*(\d+)\s*\]|\.\s*([A-Za-z_$][\w$]*)/y;
  let at = 0;
  const text = path.trim();
  while (at < text.length) {
    token.lastIndex = at;
    const m = token.exec(text);
    // A bare name is allowed only first; after that, members need a dot.
    if (!m || (m[1] !== undefined && at > 0)) throw btf.fail(structId, `bad member path '${path}' at character ${at}`);
    parts.push(m[2] !== undefined ? Number(m[2]) : (m[1] ?? m[3]));
    at = token.lastIndex;
  }
  return parts;
}

/** The NUL-terminated string at `offset` of a string table, or undefined if it runs off it. */
export function readString(table: Uint8Array, offset: number): string | undefined {
  if (offset >= table.length) return offset === 0 ? '' : undefined;
  const end = table.indexOf(0, offset);
  if (end < 0) return undefined;
  return utf8.decode(table.subarray(offset, end));
}
