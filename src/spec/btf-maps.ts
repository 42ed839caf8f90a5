/**
 * What the loader reads from the object's BTF: BTF-defined maps in `.maps` (libbpf's
 * bpf_object__init_user_btf_maps), the type of each global-data section, and line info.
 *
 * A BTF map definition is a struct whose members encode the map's attributes in their types:
 * `__uint(name, N)` is `int (*name)[N]` (a pointer to an array of N), `__type(name, T)` is
 * `T *name`, and `__array(values, T)` is a flexible array of pointers whose initial elements
 * come from relocations in `.maps` (prog arrays and maps of maps).
 */
import { XdplabError } from '../errors.js';
import { Btf, parseBtf } from '../btf/btf.js';
import { BtfExt, parseBtfExt } from '../btf/ext.js';
import {
  BTF_KIND_ARRAY, BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_VAR, type BtfComposite, type BtfMember,
} from '../btf/types.js';
import { STT_SECTION } from '../elf/constants.js';
import type { ElfFile } from '../elf/elf.js';
import { INSN_SIZE } from '../isa/instruction.js';
import type { FunctionCode } from './loader.js';
import { BPF_MAP_TYPE } from '../uapi/bpf.js';
import { LIBBPF_PIN_NONE, type MapSpec } from './types.js';

/** The object's BTF with the loader's questions about it. */
export class BtfSections {
  constructor(
    public btf: Btf,
    readonly ext: BtfExt | undefined,
  ) {}

  /** libbpf's datasec fixup: the section's size and each variable's offset, from the ELF. */
  layOutDatasec(section: string, size: number, offsets: ReadonlyMap<string, number>): void {
    if (this.btf.datasec(section)) this.btf = this.btf.withDatasecLayout(section, size, offsets);
  }

  /** The BTF type of a global variable (its VAR's type), or 0. */
  variableTypeId(section: string, name: string): number {
    const sec = this.btf.datasec(section);
    const info = sec?.vars.find((v) => this.btf.name(v.type) === name);
    if (!info) return 0;
    const v = this.btf.typeById(info.type);
    return v.kind === BTF_KIND_VAR ? v.type : 0;
  }

  datasecTypeId(section: string): number {
    return this.btf.datasec(section)?.id ?? 0;
  }

  /** pc → "file:line: source" for every instruction of a linked program that has line info. */
  lineInfoFor(entry: FunctionCode, order: readonly FunctionCode[], placed: ReadonlyMap<FunctionCode, number>): Map<number, string> {
    void entry;
    const out = new Map<number, string>();
    if (!this.ext) return out;
    for (const fn of order) {
      const lines = this.ext.lineInfo.get(fn.section.name) ?? [];
      const base = placed.get(fn)!;
      const end = fn.start + fn.pcs.at(-1)! + 1;
      for (const line of lines) {
        const slot = line.insnOff / INSN_SIZE;
        if (slot < fn.start || slot >= end) continue;
        out.set(base + slot - fn.start, `${line.file.split('/').pop()}:${line.line}: ${line.text.trim()}`);
      }
    }
    return out;
  }
}

export function loadBtfSections(elf: ElfFile): BtfSections | undefined {
  const section = elf.sectionByName('.BTF');
  if (!section) return undefined;
  const btf = parseBtf(section.data, `${elf.fileName} .BTF`);
  const extSection = elf.sectionByName('.BTF.ext');
  const ext = extSection ? parseBtfExt(extSection.data, btf, `${elf.fileName} .BTF.ext`) : undefined;
  return new BtfSections(btf, ext);
}

/** `__uint(name, N)`: the N of `int (*name)[N]`. */
function uintMember(btf: Btf, member: BtfMember, map: string): number {
  const ptr = btf.typeById(member.type);
  const array = ptr.kind === BTF_KIND_PTR ? btf.resolve(ptr.type) : undefined;
  if (!array || array.kind !== BTF_KIND_ARRAY) {
    throw new XdplabError('BAD_INPUT', `map ${map}: member ${member.name} is not __uint(${member.name}, N)`);
  }
  return array.nelems;
}

/** `__type(name, T)`: T of `T *name`. */
function typeMember(btf: Btf, member: BtfMember, map: string): number {
  const ptr = btf.typeById(member.type);
  if (ptr.kind !== BTF_KIND_PTR) throw new XdplabError('BAD_INPUT', `map ${map}: member ${member.name} is not __type(${member.name}, T)`);
  return ptr.type;
}

/** Read one map definition struct into a MapSpec (without its name-dependent parts). */
function mapFromStruct(btf: Btf, def: BtfComposite, name: string, origin: string): { spec: MapSpec; valuesBitOffset?: number } {
  const spec: MapSpec = {
    name, type: BPF_MAP_TYPE.BPF_MAP_TYPE_UNSPEC, keySize: 0, valueSize: 0, maxEntries: 0, flags: 0,
    pinning: LIBBPF_PIN_NONE, keyTypeId: 0, valueTypeId: 0, origin,
  };
  let valuesBitOffset: number | undefined;
  for (const member of def.members) {
    switch (member.name) {
      case 'type': spec.type = uintMember(btf, member, name); break;
      case 'max_entries': spec.maxEntries = uintMember(btf, member, name); break;
      case 'map_flags': spec.flags = uintMember(btf, member, name); break;
      case 'key_size': spec.keySize = uintMember(btf, member, name); break;
      case 'value_size': spec.valueSize = uintMember(btf, member, name); break;
      case 'pinning': spec.pinning = uintMember(btf, member, name); break;
      case 'map_extra': spec.mapExtra = uintMember(btf, member, name); break;
      case 'numa_node': uintMember(btf, member, name); break;
      case 'key':
        spec.keyTypeId = typeMember(btf, member, name);
        spec.keySize = btf.sizeOf(spec.keyTypeId);
        break;
      case 'value':
        spec.valueTypeId = typeMember(btf, member, name);
        spec.valueSize = btf.sizeOf(spec.valueTypeId);
        break;
      case 'values': {
        valuesBitOffset = member.bitOffset;
        const inner = innerMapDefinition(btf, member);
        if (inner) spec.innerMap = mapFromStruct(btf, inner, `${name}.inner`, `${origin}, inner map`).spec;
        break;
      }
      default:
        throw new XdplabError('BAD_INPUT', `map ${name}: unknown attribute ${member.name}`);
    }
  }
  // libbpf: a map with `values` holds 4-byte ids (programs or inner maps) unless it says otherwise.
  if (valuesBitOffset !== undefined && spec.valueSize === 0) spec.valueSize = 4;
  return { spec, valuesBitOffset };
}

/** For a map of maps, `__array(values, struct { … })` names the inner map's definition. */
function innerMapDefinition(btf: Btf, member: BtfMember): BtfComposite | undefined {
  const array = btf.resolve(member.type);
  if (array.kind !== BTF_KIND_ARRAY) return undefined;
  const ptr = btf.resolve(array.type);
  if (ptr.kind !== BTF_KIND_PTR) return undefined;
  const target = btf.resolve(ptr.type);
  return target.kind === BTF_KIND_STRUCT ? target : undefined;
}

const isMapOfMaps = (type: number): boolean =>
  type === BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY_OF_MAPS || type === BPF_MAP_TYPE.BPF_MAP_TYPE_HASH_OF_MAPS;

export function loadBtfMaps(
  elf: ElfFile, btf: BtfSections | undefined, maps: Map<string, MapSpec>, mapOfSymbol: Map<number, string>,
): void {
  const section = elf.sectionByName('.maps');
  if (!section) return;
  if (!btf) throw new XdplabError('BAD_INPUT', 'section .maps: BTF-defined maps need the object\'s .BTF (compile with -g)');
  const datasec = btf.btf.datasec('.maps');
  if (!datasec) throw new XdplabError('BAD_INPUT', 'section .maps: no DATASEC .maps in the BTF');
  const valuesAt = new Map<string, { start: number; bitOffset: number }>();
  for (const info of datasec.vars) {
    const v = btf.btf.typeById(info.type);
    if (v.kind !== BTF_KIND_VAR) throw new XdplabError('BAD_INPUT', `section .maps: entry ${info.type} is not a variable`);
    const def = btf.btf.resolve(v.type);
    if (def.kind !== BTF_KIND_STRUCT) throw new XdplabError('BAD_INPUT', `map ${v.name}: its definition is not a struct`);
    const symbolIndex = elf.symbols.findIndex((s) => s.shndx === section.index && s.name === v.name && s.type !== STT_SECTION);
    if (symbolIndex < 0) throw new XdplabError('BAD_INPUT', `map ${v.name}: no symbol in section .maps`);
    const { spec, valuesBitOffset } = mapFromStruct(btf.btf, def, v.name, `section .maps, symbol ${v.name}`);
    if (isMapOfMaps(spec.type) && !spec.innerMap) {
      throw new XdplabError('BAD_INPUT', `map ${v.name}: a map of maps needs __array(values, struct { … }) to describe its inner map`);
    }
    if (maps.has(spec.name)) throw new XdplabError('BAD_INPUT', `map ${spec.name} is defined twice`);
    maps.set(spec.name, spec);
    mapOfSymbol.set(symbolIndex, spec.name);
    if (valuesBitOffset !== undefined) valuesAt.set(spec.name, { start: elf.symbols[symbolIndex].value, bitOffset: valuesBitOffset });
  }
  loadInitialSlots(elf, section.index, maps, mapOfSymbol, valuesAt);
}

/** Relocations inside a map definition's `values` array name its initial programs or maps. */
function loadInitialSlots(
  elf: ElfFile, mapsSection: number, maps: Map<string, MapSpec>, mapOfSymbol: Map<number, string>,
  valuesAt: Map<string, { start: number; bitOffset: number }>,
): void {
  const section = elf.sections[mapsSection];
  for (const reloc of elf.relocationsFor(section)) {
    // The owner is the map definition with the highest start at or before the relocation.
    const [mapName, at] = [...valuesAt]
      .filter(([, a]) => reloc.offset >= a.start + a.bitOffset / 8)
      .sort((a, b) => b[1].start - a[1].start)[0] ?? [];
    if (!mapName || !at) throw new XdplabError('BAD_INPUT', `section .maps: relocation at offset ${reloc.offset} outside any values array`);
    const slot = (reloc.offset - at.start - at.bitOffset / 8) / 8;
    const target = elf.symbols[reloc.symbol];
    const targetName = mapOfSymbol.get(reloc.symbol) ?? target.name;
    const spec = maps.get(mapName)!;
    spec.initialSlots ??= new Map();
    spec.initialSlots.set(slot, targetName);
  }
}
