/**
 * CO-RE candidate search and spec matching, as libbpf's relo_core.c does them against vmlinux
 * BTF (bpf_core_find_cands, bpf_core_spec_match): the target of a local type is a type of the
 * same kind whose name equals the local name up to its flavor suffix ("___old" in
 * `struct __sk_buff___old`); fields are matched by name (through anonymous members), array
 * elements by index, enumerators by name — so a program's partial or flavored definitions get
 * the kernel's offsets, and a field, type or enumerator the kernel lacks does not exist.
 *
 * The kernel's types come from the uapi headers (target-btf/uapi-types.c: contexts, packet
 * headers, helper and map enums — what an XDP or TC program can reach). What the uapi lacks (a
 * type, or a field newer than the headers) is looked for in the object's own unflavored
 * definition of that name (a vmlinux.h type, or the program's own struct): what the object
 * declares under the kernel's name is then taken as the kernel's layout.
 */
import { parseBtf, type Btf } from '../btf/btf.js';
import type { BtfCoreRelo } from '../btf/ext.js';
import {
  BTF_KIND_ARRAY, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FWD, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_STRUCT,
  BTF_KIND_UNION, type BtfComposite, type BtfType,
} from '../btf/types.js';
import { UAPI_BTF_BASE64 } from './target-btf/uapi-btf.js';

/** A type in the BTF that stands for the kernel's. */
export interface CoreTarget {
  readonly btf: Btf;
  readonly id: number;
}

/** A matched field: where it lies in the target root type. */
export interface CoreField {
  readonly btf: Btf;
  readonly bitOffset: number;
  readonly bitSize: number;
  readonly bitfield: boolean;
  readonly type: number;
}

let uapiBtf: Btf | undefined;

/** The uapi types' BTF, decoded once. */
export function kernelBtf(): Btf {
  uapiBtf ??= parseBtf(Buffer.from(UAPI_BTF_BASE64, 'base64'), 'xdplab uapi BTF');
  return uapiBtf;
}

/** bpf_core_essential_name_len: the name without its last "___flavor" suffix. */
export function essentialName(name: string): string {
  for (let i = name.length - 5; i >= 0; i--) {
    if (name[i] !== '_' && name.startsWith('___', i + 1) && name[i + 4] !== '_') return name.slice(0, i + 1);
  }
  return name;
}

function isFlavored(name: string): boolean {
  return essentialName(name) !== name;
}

/** Kinds a candidate may have for a local kind (libbpf: equal, ENUM ~ ENUM64, FWD ~ composite). */
function kindsCompatible(local: number, target: number): boolean {
  if (local === target) return true;
  const enums = [BTF_KIND_ENUM, BTF_KIND_ENUM64];
  return enums.includes(local) && enums.includes(target);
}

/** Type ids by essential name, built once per BTF (objects built against vmlinux.h hold thousands). */
const byEssentialName = new WeakMap<Btf, Map<string, number[]>>();

function essentialIndex(btf: Btf): Map<string, number[]> {
  let index = byEssentialName.get(btf);
  if (!index) {
    index = new Map();
    for (let id = 1; id < btf.types.length; id++) {
      const name = btf.types[id].name;
      if (!name) continue;
      const key = essentialName(name);
      const ids = index.get(key);
      if (ids) ids.push(id);
      else index.set(key, [id]);
    }
    byEssentialName.set(btf, index);
  }
  return index;
}

function candidatesIn(btf: Btf, local: BtfType, name: string, unflavoredOnly: boolean): CoreTarget[] {
  return (essentialIndex(btf).get(name) ?? [])
    .filter((id) => kindsCompatible(local.kind, btf.types[id].kind) && !(unflavoredOnly && isFlavored(btf.types[id].name)))
    .map((id) => ({ btf, id }));
}

/**
 * The kernel types a local type may relocate to, tried in order: the uapi's of the same
 * essential name, then the object's own unflavored ones — a vmlinux.h type describes a kernel
 * newer than the uapi headers (bpf_fib_lookup's `mark`, Linux 6.7), so a field the uapi lacks is
 * looked for there. An anonymous local type is its own target (libbpf refuses relocations
 * against anonymous types; clang does not emit them for named accesses).
 */
export function coreCandidates(local: Btf, typeId: number): CoreTarget[] {
  const t = local.typeById(typeId);
  if (!t.name) return [{ btf: local, id: typeId }];
  const name = essentialName(t.name);
  return [...candidatesIn(kernelBtf(), t, name, false), ...candidatesIn(local, t, name, true)];
}

type Category = 'composite' | 'array' | 'int' | 'enum' | 'ptr' | 'other';

function category(t: BtfType): Category {
  switch (t.kind) {
    case BTF_KIND_STRUCT: case BTF_KIND_UNION: case BTF_KIND_FWD: return 'composite';
    case BTF_KIND_ARRAY: return 'array';
    case BTF_KIND_INT: return 'int';
    case BTF_KIND_ENUM: case BTF_KIND_ENUM64: return 'enum';
    case BTF_KIND_PTR: return 'ptr';
    default: return 'other';
  }
}

/** bpf_core_fields_are_compat, loosely: the same category of type (an int may become an enum). */
function fieldsCompatible(local: Btf, localId: number, target: Btf, targetId: number): boolean {
  const a = category(local.resolve(localId));
  const b = category(target.resolve(targetId));
  if (a === b) return true;
  return (a === 'int' || a === 'enum') && (b === 'int' || b === 'enum');
}

interface Found { bitOffset: number; bitfieldSize: number; type: number }

/** bpf_core_match_member: a member by essential name, searching anonymous members too. */
function findMember(btf: Btf, t: BtfComposite, name: string, depth = 0): Found | undefined {
  if (depth > 32) return undefined;
  for (const m of t.members) {
    if (m.name && essentialName(m.name) === name) return { bitOffset: m.bitOffset, bitfieldSize: m.bitfieldSize, type: m.type };
    if (!m.name) {
      const inner = btf.resolve(m.type);
      if (inner.kind !== BTF_KIND_STRUCT && inner.kind !== BTF_KIND_UNION) continue;
      const found = findMember(btf, inner, name, depth + 1);
      if (found) return { ...found, bitOffset: found.bitOffset + m.bitOffset };
    }
  }
  return undefined;
}

/** Step one local access index into the target, or undefined when the kernel's type has no match. */
function stepInto(local: Btf, localType: number, index: number, target: Btf, field: CoreField): { localType: number; field: CoreField } | undefined {
  const l = local.resolve(localType);
  const t = target.resolve(field.type);
  if (l.kind === BTF_KIND_STRUCT || l.kind === BTF_KIND_UNION) {
    const m = l.members[index];
    if (!m) return undefined;
    if (!m.name) return { localType: m.type, field }; // an anonymous member: not an accessor of its own
    if (t.kind !== BTF_KIND_STRUCT && t.kind !== BTF_KIND_UNION) return undefined;
    const found = findMember(target, t, essentialName(m.name));
    if (!found || !fieldsCompatible(local, m.type, target, found.type)) return undefined;
    const bitfield = found.bitfieldSize > 0;
    return {
      localType: m.type,
      field: { btf: target, bitOffset: field.bitOffset + found.bitOffset, bitfield, type: found.type,
        bitSize: bitfield ? found.bitfieldSize : target.sizeOf(found.type) * 8 },
    };
  }
  if (l.kind === BTF_KIND_ARRAY) {
    if (t.kind !== BTF_KIND_ARRAY) return undefined;
    if (t.nelems > 0 && index >= t.nelems) return undefined;
    const elem = target.sizeOf(t.type);
    return {
      localType: l.type,
      field: { btf: target, bitOffset: field.bitOffset + index * elem * 8, bitSize: elem * 8, bitfield: false, type: t.type },
    };
  }
  return undefined;
}

/** bpf_core_spec_match for a field relocation: the field in the target, or undefined. */
export function matchField(local: Btf, relo: BtfCoreRelo, target: CoreTarget): CoreField | undefined {
  const [first, ...rest] = relo.access;
  const rootSize = target.btf.sizeOf(target.id);
  let field: CoreField = { btf: target.btf, bitOffset: first * rootSize * 8, bitSize: rootSize * 8, bitfield: false, type: target.id };
  let localType = relo.typeId;
  for (const index of rest) {
    const next = stepInto(local, localType, index, target.btf, field);
    if (!next) return undefined;
    ({ localType, field } = next);
  }
  return field;
}

/** The target enumerator of an enumval relocation (matched by essential name), or undefined. */
export function matchEnumerator(local: Btf, relo: BtfCoreRelo, target: CoreTarget): number | bigint | undefined {
  const l = local.resolve(relo.typeId);
  const t = target.btf.resolve(target.id);
  if ((l.kind !== BTF_KIND_ENUM && l.kind !== BTF_KIND_ENUM64) || (t.kind !== BTF_KIND_ENUM && t.kind !== BTF_KIND_ENUM64)) return undefined;
  const name = l.values[relo.access[0]]?.name;
  if (name === undefined) return undefined;
  const want = essentialName(name);
  const found = (t.values as readonly { name: string; value: number | bigint }[]).find((v) => essentialName(v.name) === want);
  return found?.value;
}
