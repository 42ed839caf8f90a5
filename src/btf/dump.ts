/**
 * `bpftool btf dump file X` (raw format), reproduced: one `[id] KIND 'name' …` line a type,
 * members, values, parameters and variables on tab-indented lines below it. Matched against
 * bpftool v7.1 (libbpf 1.1) byte for byte on the fixtures; its quirks, kept:
 * - a name offset of 0 prints '(anon)', any other offset its string, even an empty one;
 * - VAR has a comma before its linkage (`type_id=3, linkage=global`), FUNC has none;
 * - VAR linkage 1 prints "global" and 2 "extern"; FUNC linkage is in vlen, same words;
 *   anything else "(unknown)";
 * - ENUM values print signed (`%d`) only when the kind_flag is set, else unsigned; ENUM64
 *   values carry a C suffix, `LL` when signed and `ULL` when not;
 * - struct members with a kind_flag show `bitfield_size=N` only when N is not 0;
 * - DATASEC entries are followed by the kind and name of the variable they point to.
 * Each type's text ends with a newline, so the dump of an empty BTF is the empty string.
 */
import type { Btf } from './btf.js';
import {
  BTF_FUNC_EXTERN, BTF_FUNC_GLOBAL, BTF_FUNC_STATIC, BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, BTF_KIND_ARRAY,
  BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT,
  BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_FWD, BTF_KIND_INT, BTF_KIND_NAMES, BTF_KIND_PTR,
  BTF_KIND_RESTRICT, BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG, BTF_KIND_UNION, BTF_KIND_VAR,
  BTF_KIND_VOLATILE, BTF_VAR_GLOBAL_ALLOCATED, BTF_VAR_GLOBAL_EXTERN, BTF_VAR_STATIC, type BtfType,
} from './types.js';

/** The text `bpftool btf dump file X` prints for this BTF. */
export function dumpBtf(btf: Btf): string {
  let out = '';
  for (let id = 1; id < btf.types.length; id++) out += `${dumpType(btf, btf.types[id])}\n`;
  return out;
}

/** One type as bpftool prints it, without the final newline. */
export function dumpType(btf: Btf, t: BtfType): string {
  let s = `[${t.id}] ${BTF_KIND_NAMES[t.kind]} ${quoted(t.nameOff, t.name)}`;
  switch (t.kind) {
    case BTF_KIND_INT:
      s += ` size=${t.size} bits_offset=${t.bitOffset} nr_bits=${t.bits} encoding=${intEncoding(t.encoding)}`;
      break;
    case BTF_KIND_PTR: case BTF_KIND_CONST: case BTF_KIND_VOLATILE: case BTF_KIND_RESTRICT: case BTF_KIND_TYPEDEF:
    case BTF_KIND_TYPE_TAG:
      s += ` type_id=${t.type}`;
      break;
    case BTF_KIND_ARRAY:
      s += ` type_id=${t.type} index_type_id=${t.indexType} nr_elems=${t.nelems}`;
      break;
    case BTF_KIND_STRUCT: case BTF_KIND_UNION:
      s += ` size=${t.size} vlen=${t.vlen}`;
      for (const m of t.members) {
        s += `\n\t${quoted(m.nameOff, m.name)} type_id=${m.type} bits_offset=${m.bitOffset}`;
        if (m.bitfieldSize) s += ` bitfield_size=${m.bitfieldSize}`;
      }
      break;
    case BTF_KIND_ENUM:
      s += ` encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.vlen}`;
      for (const v of t.values) s += `\n\t${quoted(v.nameOff, v.name)} val=${v.value}`;
      break;
    case BTF_KIND_ENUM64:
      s += ` encoding=${t.signed ? 'SIGNED' : 'UNSIGNED'} size=${t.size} vlen=${t.vlen}`;
      for (const v of t.values) s += `\n\t${quoted(v.nameOff, v.name)} val=${v.value}${t.signed ? 'LL' : 'ULL'}`;
      break;
    case BTF_KIND_FWD:
      s += ` fwd_kind=${t.union ? 'union' : 'struct'}`;
      break;
    case BTF_KIND_FUNC:
      s += ` type_id=${t.type} linkage=${funcLinkage(t.linkage)}`;
      break;
    case BTF_KIND_FUNC_PROTO:
      s += ` ret_type_id=${t.returnType} vlen=${t.vlen}`;
      for (const p of t.params) s += `\n\t${quoted(p.nameOff, p.name)} type_id=${p.type}`;
      break;
    case BTF_KIND_VAR:
      s += ` type_id=${t.type}, linkage=${varLinkage(t.linkage)}`;
      break;
    case BTF_KIND_DATASEC:
      s += ` size=${t.size} vlen=${t.vlen}`;
      for (const v of t.vars) {
        const vt = btf.types[v.type];
        s += `\n\ttype_id=${v.type} offset=${v.offset} size=${v.size} (${BTF_KIND_NAMES[vt.kind]} ${quoted(vt.nameOff, vt.name)})`;
      }
      break;
    case BTF_KIND_FLOAT:
      s += ` size=${t.size}`;
      break;
    case BTF_KIND_DECL_TAG:
      s += ` type_id=${t.type} component_idx=${t.componentIdx}`;
      break;
    default:
      break;
  }
  return s;
}

const quoted = (nameOff: number, name: string): string => `'${nameOff === 0 ? '(anon)' : name}'`;

function intEncoding(encoding: number): string {
  switch (encoding) {
    case 0: return '(none)';
    case BTF_INT_SIGNED: return 'SIGNED';
    case BTF_INT_CHAR: return 'CHAR';
    case BTF_INT_BOOL: return 'BOOL';
    default: return 'UNKN';
  }
}

function funcLinkage(linkage: number): string {
  switch (linkage) {
    case BTF_FUNC_STATIC: return 'static';
    case BTF_FUNC_GLOBAL: return 'global';
    case BTF_FUNC_EXTERN: return 'extern';
    default: return '(unknown)';
  }
}

function varLinkage(linkage: number): string {
  switch (linkage) {
    case BTF_VAR_STATIC: return 'static';
    case BTF_VAR_GLOBAL_ALLOCATED: return 'global';
    case BTF_VAR_GLOBAL_EXTERN: return 'extern';
    default: return '(unknown)';
  }
}
