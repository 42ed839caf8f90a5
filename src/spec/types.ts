/**
 * Inert specs: what parsing an object yields, before anything is loaded (cilium/ebpf's
 * CollectionSpec / MapSpec / ProgramSpec). Plain data a user may inspect and change — resize
 * a map, rewrite a .rodata constant, replace a map — before `Collection.load` makes live
 * objects from it. Nothing here touches runtime memory.
 */
import type { Instruction } from '../isa/instruction.js';
import type { BtfSections } from './btf-maps.js';

/** LIBBPF_PIN_BY_NAME: the map is shared by name with other collections of the runtime. */
export const LIBBPF_PIN_NONE = 0;
export const LIBBPF_PIN_BY_NAME = 1;

/** What a global-data map holds, when the map stands for an ELF section. */
export type GlobalSection = '.data' | '.rodata' | '.bss' | '.kconfig' | string;

export interface GlobalVariable {
  offset: number;
  size: number;
  /** BTF type id of the variable's type (0 without BTF). */
  typeId: number;
}

export interface MapSpec {
  name: string;
  type: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  pinning: number;
  /** map_extra: the bloom filter's number of hash functions (its low 4 bits). */
  mapExtra?: number;
  /** BTF type ids of key and value (0 when unknown); `btf` is the CollectionSpec's. */
  keyTypeId: number;
  valueTypeId: number;
  /** For map-in-map types: the inner map's shape. */
  innerMap?: MapSpec;
  /** Initial contents: slot → program name (prog arrays) or map name (maps of maps). */
  initialSlots?: Map<number, string>;
  /** For global-data maps: the section's initial bytes (one value of valueSize bytes). */
  initialValue?: Uint8Array;
  /** Set for maps made from .data / .rodata / .bss sections. */
  globalSection?: GlobalSection;
  /** For global-data maps: each variable's place in the value (from the section's symbols). */
  variables?: Map<string, GlobalVariable>;
  /** ELF symbol and section it came from, for messages. */
  origin: string;
}

/** A map reference left in a program for loading to resolve (an lddw with a map relocation). */
export interface MapReference {
  /** Slot (pc) of the lddw. */
  pc: number;
  map: string;
  /** BPF_PSEUDO_MAP_FD (the map itself) or BPF_PSEUDO_MAP_VALUE (an address in its value). */
  kind: 'map' | 'value';
  /** For 'value': the byte offset inside the map's (first) value. */
  offset: number;
}

export interface ProgramSpec {
  /** The function's symbol name. */
  name: string;
  /** The ELF section, e.g. `xdp`, `tc`, `xdp.frags`, `tcx/ingress`. */
  sectionName: string;
  type: number;
  attachType: number;
  /** True for `xdp.frags` programs (multi-buffer aware). */
  fragments: boolean;
  /** The program and every subprogram it calls, linked into one instruction list. */
  instructions: Instruction[];
  /** Map references still to resolve; their lddw's imm is a placeholder until load. */
  mapReferences: MapReference[];
  license: string;
  kernelVersion: number;
  /** Start pc → name of each function in `instructions` (the program's own at 0). */
  functions: Map<number, string>;
  /** pc → "file:line: source text", from BTF line info, when the object has it. */
  lineInfo: Map<number, string>;
  /** pc → name of the kernel function (kfunc) a call there names, for the refusal. */
  kfuncs?: Map<number, string>;
  /** pc → why an instruction is invalid (the kernel's verifier refuses the program if it reaches it). */
  invalidInstructions?: Map<number, string>;
  /** pc → name of the kernel symbol (`extern … __ksym`) whose address an lddw there loads. */
  ksyms?: Map<number, string>;
}

export interface CollectionSpec {
  /** Where it came from (a file name), for messages. */
  source: string;
  maps: Map<string, MapSpec>;
  programs: Map<string, ProgramSpec>;
  license: string;
  kernelVersion: number;
  /** The object's BTF (types, line info), when it has one. */
  btf: BtfSections | undefined;
  /** Functions in sections of program types xdplab does not know (kprobe/…, tracepoint/…): name → section. */
  otherPrograms?: Map<string, string>;
}
