/**
 * loadCollectionSpec: a clang-built BPF object → an inert CollectionSpec, the way libbpf's
 * bpf_object__open reads it. A straight list of named steps; an error in a step is prefixed
 * with the step's name ("load maps: …") and names the section, symbol or pc.
 *
 *   elf → license/version → btf → maps (.maps, legacy `maps`) → globals (.data, .rodata*, .bss)
 *       → functions (decode every executable section, split it at its function symbols)
 *       → CO-RE relocations (against the object's own BTF: see core.ts)
 *       → relocations (map and global references, calls, function addresses)
 *       → programs (each entry function linked with every subprogram it reaches)
 */
import { XdplabError, withContext } from '../errors.js';
import { SHF_EXECINSTR, SHN_UNDEF, SHT_NOBITS, SHT_PROGBITS, STT_FUNC, STT_SECTION } from '../elf/constants.js';
import { parseElf, type ElfFile, type ElfSection, type ElfSymbol } from '../elf/elf.js';
import { Instruction, checkInstruction, decodeInstructions, INSN_SIZE } from '../isa/instruction.js';
import {
  BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC, BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_VALUE, OPCODES,
} from '../isa/opcodes.js';
import { loadBtfMaps, loadBtfSections, type BtfSections } from './btf-maps.js';
import { coreReloValue, patchCoreInstruction } from './core.js';
import { loadKconfig, type Kconfig } from './kconfig.js';
import { sectionDef } from './section-names.js';
import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, BPF_MAP_TYPE, BPF_OBJ_NAME_LEN } from '../uapi/bpf.js';
import {
  LIBBPF_PIN_NONE, type CollectionSpec, type GlobalVariable, type MapReference, type MapSpec, type ProgramSpec,
} from './types.js';

/** One function of an executable section: its decoded code and what its relocations refer to. */
interface FunctionCode {
  name: string;
  section: ElfSection;
  /** First slot inside the section. */
  start: number;
  insns: Instruction[];
  /** Slot (relative to `start`) of each instruction. */
  pcs: number[];
  /** Relocated references by relative slot. */
  refs: Map<number, Reference>;
  isGlobal: boolean;
  /** Instructions the kernel would refuse (an opcode the ISA lacks, reserved fields set): pc in section → reason. */
  invalid: Map<number, string>;
}

type Reference =
  | { kind: 'map'; map: string }
  | { kind: 'value'; map: string; offset: number }
  | { kind: 'call'; target: FunctionCode }
  | { kind: 'func'; target: FunctionCode }
  | { kind: 'kfunc'; name: string }
  | { kind: 'ksym'; name: string };

interface LoadContext {
  source: string;
  elf: ElfFile;
  license: string;
  kernelVersion: number;
  btf: BtfSections | undefined;
  maps: Map<string, MapSpec>;
  /** ELF section index → map name, for sections that are maps (.data, .bss …). */
  mapOfSection: Map<number, string>;
  /** Symbol index → map name, for map definitions in `.maps` / `maps`. */
  mapOfSymbol: Map<number, string>;
  functions: FunctionCode[];
  /** The `.kconfig` map and each extern's offset in it, when the object declares any. */
  kconfig?: Kconfig;
}

function step<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw withContext(err, name);
  }
}

export function loadCollectionSpec(bytes: Uint8Array, source = '<object>'): CollectionSpec {
  try {
    const elf = parseElf(bytes, source);
    const ctx: LoadContext = {
      source, elf, license: '', kernelVersion: 0, btf: undefined, maps: new Map(), mapOfSection: new Map(),
      mapOfSymbol: new Map(), functions: [],
    };
    step('read license and version', () => readLicense(ctx));
    step('read BTF', () => { ctx.btf = loadBtfSections(elf); });
    step('load maps', () => { loadBtfMaps(ctx.elf, ctx.btf, ctx.maps, ctx.mapOfSymbol); loadLegacyMaps(ctx); });
    step('load global data', () => loadGlobals(ctx));
    step('load kconfig externs', () => loadKconfigMap(ctx));
    step('decode functions', () => decodeFunctions(ctx));
    step('apply CO-RE relocations', () => applyCoreRelocations(ctx));
    step('apply relocations', () => applyRelocations(ctx));
    const programs = step('link programs', () => linkPrograms(ctx));
    const otherPrograms = new Map(ctx.functions.filter((f) => f.section.name !== '.text' && !sectionDef(f.section.name)).map((f) => [f.name, f.section.name]));
    return { source, maps: ctx.maps, programs, license: ctx.license, kernelVersion: ctx.kernelVersion, btf: ctx.btf, otherPrograms };
  } catch (err) {
    throw withContext(err, source);
  }
}

function readLicense(ctx: LoadContext): void {
  const license = ctx.elf.sectionByName('license');
  if (license) ctx.license = new TextDecoder().decode(license.data).replace(/\0[\s\S]*$/, '');
  const version = ctx.elf.sectionByName('version');
  if (version && version.data.length >= 4) {
    ctx.kernelVersion = new DataView(version.data.buffer, version.data.byteOffset, 4).getUint32(0, true);
  }
}

// ---- maps ------------------------------------------------------------------------------

/** Legacy map definitions: struct bpf_map_def { type, key_size, value_size, max_entries, map_flags … }. */
function loadLegacyMaps(ctx: LoadContext): void {
  const section = ctx.elf.sectionByName('maps');
  if (!section) return;
  const view = new DataView(section.data.buffer, section.data.byteOffset, section.data.byteLength);
  ctx.elf.symbols.forEach((sym, index) => {
    if (sym.shndx !== section.index || sym.type === STT_SECTION || sym.name === '') return;
    if (sym.value + 16 > section.data.length) {
      throw new XdplabError('BAD_INPUT', `section maps: map ${sym.name} at offset ${sym.value} is truncated`);
    }
    const u32 = (i: number): number => view.getUint32(sym.value + i * 4, true);
    const flags = sym.size >= 20 && sym.value + 20 <= section.data.length ? u32(4) : 0;
    addMap(ctx, index, {
      name: sym.name, type: u32(0), keySize: u32(1), valueSize: u32(2), maxEntries: u32(3), flags,
      pinning: LIBBPF_PIN_NONE, keyTypeId: 0, valueTypeId: 0, origin: `section maps, symbol ${sym.name}`,
    });
  });
}

function addMap(ctx: LoadContext, symbolIndex: number, spec: MapSpec): void {
  if (ctx.maps.has(spec.name)) throw new XdplabError('BAD_INPUT', `map ${spec.name} is defined twice`);
  ctx.maps.set(spec.name, spec);
  ctx.mapOfSymbol.set(symbolIndex, spec.name);
}

/** Section names that hold global variables: each becomes a one-element array map. */
const isGlobalDataSection = (name: string): boolean =>
  name === '.data' || name === '.bss' || name === '.rodata' || name.startsWith('.data.') || name.startsWith('.rodata.');

/**
 * libbpf's internal map name (internal_map_name): a prefix of the object's name (its file name
 * up to the first '.'), then the section name — `globals.data` for globals.bpf.o, as `bpftool
 * map show` shows it. The section part takes at least 7 characters of the 15; a section name
 * with a second dot (`.rodata.str1.1`, `.data.custom`) is used alone.
 */
function internalMapName(source: string, section: string): string {
  const object = (source.split('/').pop() ?? source).split('.')[0];
  const sfxLen = Math.min(Math.max(7, section.length), BPF_OBJ_NAME_LEN - 1);
  const pfxLen = section.indexOf('.', 1) >= 0 ? 0 : Math.min(BPF_OBJ_NAME_LEN - sfxLen - 1, object.length);
  return (object.slice(0, pfxLen) + section.slice(0, sfxLen)).replace(/[^A-Za-z0-9_.]/g, '_');
}

function loadGlobals(ctx: LoadContext): void {
  for (const section of ctx.elf.sections) {
    if (!isGlobalDataSection(section.name) || section.size === 0) continue;
    if (section.type !== SHT_PROGBITS && section.type !== SHT_NOBITS) continue;
    const name = internalMapName(ctx.source, section.name);
    const readOnly = section.name.startsWith('.rodata');
    const spec: MapSpec = {
      name, type: BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY, keySize: 4, valueSize: section.size, maxEntries: 1,
      flags: BPF_F_MMAPABLE | (readOnly ? BPF_F_RDONLY_PROG : 0), pinning: LIBBPF_PIN_NONE, keyTypeId: 0,
      valueTypeId: ctx.btf?.datasecTypeId(section.name) ?? 0,
      initialValue: section.type === SHT_NOBITS ? new Uint8Array(section.size) : section.data.slice(),
      globalSection: section.name, origin: `section ${section.name}`,
    };
    if (ctx.maps.has(name)) throw new XdplabError('BAD_INPUT', `map ${name} (section ${section.name}) is defined twice`);
    spec.variables = globalVariables(ctx, section);
    const offsets = new Map([...spec.variables].map(([v, at]) => [v, at.offset]));
    step(`BTF of ${section.name}`, () => ctx.btf?.layOutDatasec(section.name, section.size, offsets));
    ctx.maps.set(name, spec);
    ctx.mapOfSection.set(section.index, name);
  }
}

function loadKconfigMap(ctx: LoadContext): void {
  ctx.kconfig = loadKconfig(ctx.btf?.btf, ctx.elf, internalMapName(ctx.source, '.kconfig'));
  if (!ctx.kconfig) return;
  const { spec, offsets } = ctx.kconfig;
  ctx.btf?.layOutDatasec('.kconfig', spec.valueSize, offsets);
  ctx.maps.set(spec.name, spec);
}

/** The named variables of a global-data section, from its OBJECT symbols. */
function globalVariables(ctx: LoadContext, section: ElfSection): Map<string, GlobalVariable> {
  const vars = new Map<string, GlobalVariable>();
  for (const sym of ctx.elf.symbols) {
    if (sym.shndx !== section.index || sym.type === STT_SECTION || sym.name === '') continue;
    if (sym.value + sym.size > section.size) {
      throw new XdplabError('BAD_INPUT', `section ${section.name}: variable ${sym.name} lies past the section's end`);
    }
    vars.set(sym.name, { offset: sym.value, size: sym.size, typeId: ctx.btf?.variableTypeId(section.name, sym.name) ?? 0 });
  }
  return vars;
}

// ---- code ------------------------------------------------------------------------------

function decodeFunctions(ctx: LoadContext): void {
  for (const section of ctx.elf.sections) {
    if (!(section.flags & SHF_EXECINSTR) || section.type === SHT_NOBITS || section.size === 0) continue;
    const malformed = new Map<number, string>();
    const decoded = step(`section ${section.name}`, () => decodeInstructions(section.data, malformed));
    const symbols = ctx.elf.symbols
      .filter((s) => s.shndx === section.index && s.type === STT_FUNC)
      .sort((a, b) => a.value - b.value);
    if (symbols.length === 0) continue;
    symbols.forEach((sym, i) => {
      const start = sym.value / INSN_SIZE;
      const end = i + 1 < symbols.length ? symbols[i + 1].value / INSN_SIZE : decoded.slots;
      const fn: FunctionCode = {
        name: sym.name, section, start, insns: [], pcs: [], refs: new Map(), isGlobal: sym.bind !== 0, invalid: new Map(),
      };
      decoded.insns.forEach((insn, k) => {
        const pc = decoded.pcs[k];
        if (pc < start || pc >= end) return;
        // The kernel refuses such an instruction when it verifies the program, not the object.
        const lddw = malformed.get(pc);
        if (lddw) fn.invalid.set(pc - start, lddw);
        else {
          try {
            checkInstruction(insn, pc);
          } catch (err) {
            fn.invalid.set(pc - start, (err as Error).message);
          }
        }
        fn.insns.push(insn);
        fn.pcs.push(pc - start);
      });
      ctx.functions.push(fn);
    });
  }
}

function applyCoreRelocations(ctx: LoadContext): void {
  const ext = ctx.btf?.ext;
  if (!ext || !ctx.btf) return;
  for (const [sectionName, relos] of ext.coreRelos) {
    const section = ctx.elf.sectionByName(sectionName);
    if (!section) throw new XdplabError('BAD_INPUT', `.BTF.ext: CO-RE relocations for a missing section ${sectionName}`);
    for (const relo of relos) {
      const slot = relo.insnOff / INSN_SIZE;
      const where = `section ${sectionName}, instruction ${slot}`;
      const fn = functionAt(ctx, section, slot);
      const k = fn ? fn.pcs.indexOf(slot - fn.start) : -1;
      if (!fn || k < 0) throw new XdplabError('BAD_INPUT', `${where}: CO-RE relocation outside any instruction`);
      fn.insns[k] = step(where, () => patchCoreInstruction(fn.insns[k], coreReloValue(ctx.btf!.btf, relo), relo));
    }
  }
}

function functionAt(ctx: LoadContext, section: ElfSection, slot: number): FunctionCode | undefined {
  return ctx.functions.find((f) => f.section === section && slot >= f.start && slot < f.start + (f.pcs.at(-1) ?? 0) + f.insns.at(-1)!.width);
}

function functionStartingAt(ctx: LoadContext, section: ElfSection, slot: number, what: string): FunctionCode {
  const fn = ctx.functions.find((f) => f.section === section && f.start === slot);
  if (!fn) throw new XdplabError('BAD_INPUT', `${what}: no function starts at instruction ${slot} of section ${section.name}`);
  return fn;
}

function applyRelocations(ctx: LoadContext): void {
  const { elf } = ctx;
  for (const section of elf.sections) {
    if (!(section.flags & SHF_EXECINSTR)) continue;
    for (const reloc of elf.relocationsFor(section)) {
      const slot = reloc.offset / INSN_SIZE;
      const where = `section ${section.name}, instruction ${slot}`;
      const fn = functionAt(ctx, section, slot);
      if (!fn) throw new XdplabError('BAD_INPUT', `${where}: relocation outside any function`);
      const rel = slot - fn.start;
      const insn = fn.insns[fn.pcs.indexOf(rel)];
      if (!insn) throw new XdplabError('BAD_INPUT', `${where}: relocation in the middle of an instruction`);
      const sym = elf.symbols[reloc.symbol];
      fn.refs.set(rel, step(where, () => resolveReference(ctx, insn, sym, reloc.symbol)));
    }
  }
}

function resolveReference(ctx: LoadContext, insn: Instruction, sym: ElfSymbol, symbolIndex: number): Reference {
  const { elf } = ctx;
  const symName = elf.symbolName(sym);
  const target = elf.sections[sym.shndx];
  const kind = OPCODES[insn.code]?.kind;
  // libbpf: a call to an extern function (`__ksym`) is a kfunc call, resolved in vmlinux BTF.
  if (sym.shndx === SHN_UNDEF && kind === 'call' && symName) return { kind: 'kfunc', name: symName };
  const kconfigOffset = sym.shndx === SHN_UNDEF ? ctx.kconfig?.offsets.get(symName) : undefined;
  if (kind === 'lddw' && kconfigOffset !== undefined) return { kind: 'value', map: ctx.kconfig!.spec.name, offset: kconfigOffset + insn.imm };
  if (kind === 'lddw' && sym.shndx === SHN_UNDEF && symName) return { kind: 'ksym', name: symName };
  if (!target) throw new XdplabError('BAD_INPUT', `symbol ${symName || symbolIndex} is undefined (an extern or a missing function)`);

  if (kind === 'call') {
    if (insn.src !== BPF_PSEUDO_CALL) throw new XdplabError('BAD_INPUT', `relocation on a helper call to ${symName}`);
    // libbpf: the callee is at sym_off / 8 + imm + 1 (imm is -1 for a call to a function symbol).
    return { kind: 'call', target: functionStartingAt(ctx, target, sym.value / INSN_SIZE + insn.imm + 1, `call to ${symName}`) };
  }
  if (kind !== 'lddw') throw new XdplabError('BAD_INPUT', `relocation to ${symName} on ${insn.toString()}`);
  if (target.flags & SHF_EXECINSTR) {
    // A function's address (a callback for bpf_loop …): imm is a byte offset into the section.
    const slot = (sym.value + insn.imm) / INSN_SIZE;
    return { kind: 'func', target: functionStartingAt(ctx, target, slot, `address of ${symName}`) };
  }
  const mapName = ctx.mapOfSymbol.get(symbolIndex);
  if (mapName !== undefined) return { kind: 'map', map: mapName };
  const dataMap = ctx.mapOfSection.get(target.index);
  if (dataMap !== undefined) return { kind: 'value', map: dataMap, offset: sym.value + insn.imm };
  throw new XdplabError('BAD_INPUT', `reference to ${symName} in section ${target.name}, which is neither a map nor global data`);
}

function linkPrograms(ctx: LoadContext): Map<string, ProgramSpec> {
  const programs = new Map<string, ProgramSpec>();
  for (const fn of ctx.functions) {
    if (fn.section.name === '.text') continue; // subprograms
    const def = sectionDef(fn.section.name);
    if (!def) continue; // a section libbpf would not load as a program either
    if (programs.has(fn.name)) throw new XdplabError('BAD_INPUT', `program ${fn.name} is defined twice`);
    programs.set(fn.name, step(`program ${fn.name} (section ${fn.section.name})`, () => linkProgram(ctx, fn, def)));
  }
  return programs;
}

/** The program's code followed by every function it reaches, with calls and references patched. */
function linkProgram(ctx: LoadContext, entry: FunctionCode, def: NonNullable<ReturnType<typeof sectionDef>>): ProgramSpec {
  const placed = new Map<FunctionCode, number>();
  const order: FunctionCode[] = [];
  let slots = 0;
  const place = (fn: FunctionCode): number => {
    let at = placed.get(fn);
    if (at === undefined) {
      at = slots;
      placed.set(fn, at);
      order.push(fn);
      slots += fn.pcs.at(-1)! + fn.insns.at(-1)!.width;
    }
    return at;
  };
  place(entry);
  const instructions: Instruction[] = [];
  const mapReferences: MapReference[] = [];
  const functions = new Map<number, string>();
  const kfuncs = new Map<number, string>();
  const ksyms = new Map<number, string>();
  const invalidInstructions = new Map<number, string>();
  for (let i = 0; i < order.length; i++) {
    const fn = order[i];
    const base = placed.get(fn)!;
    functions.set(base, fn.name);
    for (const [rel, reason] of fn.invalid) invalidInstructions.set(base + rel, reason);
    fn.insns.forEach((insn, k) => {
      const pc = base + fn.pcs[k];
      const ref = fn.refs.get(fn.pcs[k]) ?? localCallReference(ctx, fn, insn, fn.pcs[k]);
      instructions.push(patch(insn, pc, ref, place, mapReferences, kfuncs, ksyms));
    });
  }
  const lineInfo = ctx.btf?.lineInfoFor(entry, order, placed) ?? new Map<number, string>();
  return {
    name: entry.name, sectionName: entry.section.name, type: def.type, attachType: def.attachType,
    fragments: def.fragments ?? false, instructions, mapReferences, license: ctx.license, kernelVersion: ctx.kernelVersion,
    functions, lineInfo, kfuncs, ksyms, ...(invalidInstructions.size ? { invalidInstructions } : {}),
  };
}

/** A pc-relative call to another function of the same section needs no relocation. */
function localCallReference(ctx: LoadContext, fn: FunctionCode, insn: Instruction, rel: number): Reference | undefined {
  if (OPCODES[insn.code]?.kind !== 'call' || insn.src !== BPF_PSEUDO_CALL) return undefined;
  const slot = fn.start + rel + 1 + insn.imm;
  return { kind: 'call', target: functionStartingAt(ctx, fn.section, slot, `call at instruction ${fn.start + rel}`) };
}

function patch(
  insn: Instruction, pc: number, ref: Reference | undefined, place: (fn: FunctionCode) => number, mapReferences: MapReference[],
  kfuncs: Map<number, string>, ksyms: Map<number, string>,
): Instruction {
  if (!ref) return insn;
  const { code, dst } = insn;
  switch (ref.kind) {
    case 'call':
      return new Instruction(code, dst, BPF_PSEUDO_CALL, 0, place(ref.target) - (pc + 1));
    case 'func':
      return new Instruction(code, dst, BPF_PSEUDO_FUNC, 0, place(ref.target) - (pc + 1), 0);
    case 'kfunc':
      kfuncs.set(pc, ref.name);
      return new Instruction(code, dst, BPF_PSEUDO_KFUNC_CALL, 0, 0);
    case 'ksym':
      ksyms.set(pc, ref.name);
      return new Instruction(code, dst, 0, 0, 0, 0);
    case 'map':
      mapReferences.push({ pc, map: ref.map, kind: 'map', offset: 0 });
      return new Instruction(code, dst, BPF_PSEUDO_MAP_FD, 0, mapReferences.length - 1, 0);
    case 'value':
      mapReferences.push({ pc, map: ref.map, kind: 'value', offset: ref.offset });
      return new Instruction(code, dst, BPF_PSEUDO_MAP_VALUE, 0, mapReferences.length - 1, ref.offset);
  }
}

export type { FunctionCode };

/** For tests: libbpf's internal map name of a section. */
export const internalMapNameForTest = internalMapName;
