/**
 * C spellings of BTF types, built the way C declarators nest: the type of `int (*cb)(void)`
 * is rendered by wrapping the declarator ("cb" → "*cb" → "(*cb)(void)") while walking from
 * the outside type inwards, and putting the base type in front at the end.
 */
import { XdplabError } from '../errors.js';
import type { Btf } from './btf.js';
import {
  BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM, BTF_KIND_ENUM64,
  BTF_KIND_FLOAT, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_FWD, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_RESTRICT,
  BTF_KIND_STRUCT, BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG, BTF_KIND_UNION, BTF_KIND_UNKN, BTF_KIND_VAR,
  BTF_KIND_VOLATILE, type BtfFuncProto,
} from './types.js';

/** Deeper than any sane declarator; stops loops in malformed BTF. */
const MAX_DEPTH = 64;

/** The C spelling of a type; a VAR or FUNC is spelled as its declaration. */
export function typeToString(btf: Btf, id: number): string {
  const t = btf.typeById(id);
  switch (t.kind) {
    case BTF_KIND_VAR:
      return declare(btf, t.type, t.name, 0, id);
    case BTF_KIND_FUNC:
      return declare(btf, t.type, t.name, 0, id, true);
    case BTF_KIND_DATASEC:
      return `SEC("${t.name}")`;
    case BTF_KIND_DECL_TAG:
      return `__attribute__((btf_decl_tag("${t.name}")))`;
    default:
      return declare(btf, id, '', 0, id);
  }
}

/** Join a base type and a declarator: "int" + "*p" → "int *p", "int" + "[4]" → "int[4]". */
function join(base: string, declarator: string): string {
  if (declarator === '' || declarator.startsWith('[')) return base + declarator;
  return `${base} ${declarator}`;
}

function declare(btf: Btf, id: number, declarator: string, depth: number, root: number, paramNames = false): string {
  if (depth > MAX_DEPTH) throw btf.fail(root, `type nests more than ${MAX_DEPTH} deep (a loop?)`);
  const t = btf.typeById(id);
  const next = (inner: number, d: string): string => declare(btf, inner, d, depth + 1, root);
  switch (t.kind) {
    case BTF_KIND_UNKN:
      return join('void', declarator);
    case BTF_KIND_INT: case BTF_KIND_FLOAT: case BTF_KIND_TYPEDEF:
      return join(t.name || '(anon)', declarator);
    case BTF_KIND_STRUCT: case BTF_KIND_UNION: case BTF_KIND_ENUM: case BTF_KIND_ENUM64: case BTF_KIND_FWD: {
      const keyword = t.kind === BTF_KIND_STRUCT || (t.kind === BTF_KIND_FWD && !t.union) ? 'struct'
        : t.kind === BTF_KIND_UNION || t.kind === BTF_KIND_FWD ? 'union' : 'enum';
      return join(`${keyword} ${t.name || '(anon)'}`, declarator);
    }
    case BTF_KIND_PTR: {
      const target = btf.typeById(t.type).kind;
      const wrap = target === BTF_KIND_ARRAY || target === BTF_KIND_FUNC_PROTO;
      return next(t.type, wrap ? `(*${declarator})` : `*${declarator}`);
    }
    case BTF_KIND_ARRAY:
      return next(t.type, `${declarator}[${t.nelems}]`);
    case BTF_KIND_CONST: case BTF_KIND_VOLATILE: case BTF_KIND_RESTRICT: case BTF_KIND_TYPE_TAG: {
      const word = t.kind === BTF_KIND_CONST ? 'const' : t.kind === BTF_KIND_VOLATILE ? 'volatile'
        : t.kind === BTF_KIND_RESTRICT ? 'restrict' : `__attribute__((btf_type_tag("${t.name}")))`;
      // A qualified pointer is spelled after the star ("int *const p"); anything else before.
      if (btf.typeById(t.type).kind === BTF_KIND_PTR) return next(t.type, declarator ? `${word} ${declarator}` : word);
      return `${word} ${next(t.type, declarator)}`;
    }
    case BTF_KIND_FUNC_PROTO:
      return next(t.returnType, `${declarator}(${params(btf, t, depth, root, paramNames)})`);
    case BTF_KIND_FUNC:
      return declare(btf, t.type, declarator || t.name, depth + 1, root, true);
    case BTF_KIND_VAR:
      return next(t.type, declarator || t.name);
    case BTF_KIND_DATASEC: case BTF_KIND_DECL_TAG:
      return join(typeToString(btf, id), declarator);
    default:
      throw new XdplabError('BAD_INPUT', `${btf.source}: type [${id}]: unknown kind`);
  }
}

function params(btf: Btf, proto: BtfFuncProto, depth: number, root: number, names: boolean): string {
  if (proto.params.length === 0) return 'void';
  return proto.params.map((p, i) => {
    if (p.type === 0 && i === proto.params.length - 1) return '...';
    return declare(btf, p.type, names ? p.name : '', depth + 1, root);
  }).join(', ');
}
