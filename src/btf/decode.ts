/**
 * The byte-level half of the BTF reader: the header, the string section and the type records,
 * checked as libbpf's btf__new checks them (see btf.ts). Every failure is an
 * XdplabError('BAD_INPUT') naming the source, and the type id and byte offset when a type
 * record is at fault.
 */
import { XdplabError } from '../errors.js';
import {
  BTF_HEADER_SIZE, BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM,
  BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_FWD, BTF_KIND_INT, BTF_KIND_MAX,
  BTF_KIND_NAMES, BTF_KIND_PTR, BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG,
  BTF_KIND_UNION, BTF_KIND_UNKN, BTF_KIND_VAR, BTF_KIND_VOLATILE, BTF_MAGIC, BTF_VERSION,
  type BtfHeader, type BtfMember, type BtfType,
} from './types.js';

const utf8 = new TextDecoder('utf-8');
const hex = (n: number): string => `0x${n.toString(16)}`;

/** What decodeBtf reads: the header, the types by id (0 is void) and the string section. */
export interface DecodedBtf {
  readonly header: BtfHeader;
  readonly types: readonly BtfType[];
  readonly strings: Uint8Array;
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

/** Decode and check a BTF blob; `source` names it in errors. */
export function decodeBtf(input: Uint8Array, source: string): DecodedBtf {
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

  for (const t of types) checkReferences(r, types, t);
  return { header, types, strings };
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
function checkReferences(r: Reader, types: readonly BtfType[], t: BtfType): void {
  const count = types.length;
  const where = `type [${t.id}] at offset ${hex(t.offset)}: ${BTF_KIND_NAMES[t.kind]} '${t.name}'`;
  const ref = (id: number, what: string): void => {
    if (id >= count) throw r.fail(`${where}: ${what} type id ${id} is out of range (${count - 1} types)`);
  };
  switch (t.kind) {
    case BTF_KIND_PTR: case BTF_KIND_TYPEDEF: case BTF_KIND_VOLATILE: case BTF_KIND_CONST: case BTF_KIND_RESTRICT:
    case BTF_KIND_TYPE_TAG: case BTF_KIND_VAR: case BTF_KIND_DECL_TAG:
      ref(t.type, 'referenced');
      break;
    case BTF_KIND_FUNC:
      ref(t.type, 'prototype');
      if (types[t.type].kind !== BTF_KIND_FUNC_PROTO) throw r.fail(`${where}: type id ${t.type} is a ${BTF_KIND_NAMES[types[t.type].kind]}, not a FUNC_PROTO`);
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

/** The NUL-terminated string at `offset` of a string table, or undefined if it runs off it. */
export function readString(table: Uint8Array, offset: number): string | undefined {
  if (offset >= table.length) return offset === 0 ? '' : undefined;
  const end = table.indexOf(0, offset);
  if (end < 0) return undefined;
  return utf8.decode(table.subarray(offset, end));
}
