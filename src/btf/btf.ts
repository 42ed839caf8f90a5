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
  BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM, BTF_KIND_ENUM64,
  BTF_KIND_FLOAT, BTF_KIND_INT, BTF_KIND_NAMES, BTF_KIND_PTR, BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF,
  BTF_KIND_TYPE_TAG, BTF_KIND_UNION, BTF_KIND_VAR, BTF_KIND_VOLATILE, BTF_MAX_RESOLVE_DEPTH,
  type BtfComposite, type BtfDatasec, type BtfHeader, type BtfKind, type BtfType,
} from './types.js';
import { decodeBtf, readString } from './decode.js';
import { typeToString } from './names.js';

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
          const unit = 'size' in t ? t.size : 8;
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

/**
 * Parse a `.BTF` section (or a raw BTF file). `source` names the input in errors (default
 * ".BTF"). Throws XdplabError('BAD_INPUT') for anything malformed.
 */
export function parseBtf(input: Uint8Array, source = '.BTF'): Btf {
  const { header, types, strings } = decodeBtf(input, source);
  return new Btf(source, header, types, strings);
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

