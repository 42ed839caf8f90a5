/**
 * Inert specs: what parsing an object yields, before anything is loaded (cilium/ebpf's
 * CollectionSpec / MapSpec / ProgramSpec). Plain data a user may inspect and change — resize
 * a map, rewrite a .rodata constant, replace a map — before `Collection.load` makes live
 * objects from it. Nothing here touches runtime memory.
 */
import type { Instruction } from '../isa/instruction.js';
import type { BtfSections } from './btf-maps.js';

/** Map types by their uapi numbers (enum bpf_map_type). */
export const BPF_MAP_TYPE = {
  BPF_MAP_TYPE_UNSPEC: 0,
  BPF_MAP_TYPE_HASH: 1,
  BPF_MAP_TYPE_ARRAY: 2,
  BPF_MAP_TYPE_PROG_ARRAY: 3,
  BPF_MAP_TYPE_PERF_EVENT_ARRAY: 4,
  BPF_MAP_TYPE_PERCPU_HASH: 5,
  BPF_MAP_TYPE_PERCPU_ARRAY: 6,
  BPF_MAP_TYPE_STACK_TRACE: 7,
  BPF_MAP_TYPE_CGROUP_ARRAY: 8,
  BPF_MAP_TYPE_LRU_HASH: 9,
  BPF_MAP_TYPE_LRU_PERCPU_HASH: 10,
  BPF_MAP_TYPE_LPM_TRIE: 11,
  BPF_MAP_TYPE_ARRAY_OF_MAPS: 12,
  BPF_MAP_TYPE_HASH_OF_MAPS: 13,
  BPF_MAP_TYPE_DEVMAP: 14,
  BPF_MAP_TYPE_SOCKMAP: 15,
  BPF_MAP_TYPE_CPUMAP: 16,
  BPF_MAP_TYPE_XSKMAP: 17,
  BPF_MAP_TYPE_SOCKHASH: 18,
  BPF_MAP_TYPE_CGROUP_STORAGE: 19,
  BPF_MAP_TYPE_REUSEPORT_SOCKARRAY: 20,
  BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE: 21,
  BPF_MAP_TYPE_QUEUE: 22,
  BPF_MAP_TYPE_STACK: 23,
  BPF_MAP_TYPE_SK_STORAGE: 24,
  BPF_MAP_TYPE_DEVMAP_HASH: 25,
  BPF_MAP_TYPE_STRUCT_OPS: 26,
  BPF_MAP_TYPE_RINGBUF: 27,
  BPF_MAP_TYPE_INODE_STORAGE: 28,
  BPF_MAP_TYPE_TASK_STORAGE: 29,
  BPF_MAP_TYPE_BLOOM_FILTER: 30,
} as const;

/** Map type names as bpftool prints them (`hash`, `lru_percpu_hash`, `lpm_trie` …), by number. */
export const MAP_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(BPF_MAP_TYPE).map(([name, n]) => [n, name.slice('BPF_MAP_TYPE_'.length).toLowerCase()]),
);

/** Map flags (map_flags), uapi names. */
export const BPF_F_NO_PREALLOC = 1 << 0;
export const BPF_F_NO_COMMON_LRU = 1 << 1;
export const BPF_F_NUMA_NODE = 1 << 2;
export const BPF_F_RDONLY = 1 << 3;
export const BPF_F_WRONLY = 1 << 4;
export const BPF_F_ZERO_SEED = 1 << 6;
export const BPF_F_RDONLY_PROG = 1 << 7;
export const BPF_F_WRONLY_PROG = 1 << 8;
export const BPF_F_MMAPABLE = 1 << 10;
export const BPF_F_INNER_MAP = 1 << 12;

/** Update flags (bpf_map_update_elem's last argument). */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;
export const BPF_F_LOCK = 4;

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

/** Program types by uapi number (enum bpf_prog_type), the ones a section name can give. */
export const BPF_PROG_TYPE = {
  BPF_PROG_TYPE_UNSPEC: 0,
  BPF_PROG_TYPE_SOCKET_FILTER: 1,
  BPF_PROG_TYPE_KPROBE: 2,
  BPF_PROG_TYPE_SCHED_CLS: 3,
  BPF_PROG_TYPE_SCHED_ACT: 4,
  BPF_PROG_TYPE_TRACEPOINT: 5,
  BPF_PROG_TYPE_XDP: 6,
  BPF_PROG_TYPE_PERF_EVENT: 7,
  BPF_PROG_TYPE_CGROUP_SKB: 8,
  BPF_PROG_TYPE_LWT_IN: 10,
  BPF_PROG_TYPE_LWT_OUT: 11,
  BPF_PROG_TYPE_LWT_XMIT: 12,
  BPF_PROG_TYPE_SK_SKB: 14,
  BPF_PROG_TYPE_FLOW_DISSECTOR: 22,
  BPF_PROG_TYPE_RAW_TRACEPOINT: 17,
  BPF_PROG_TYPE_SYSCALL: 31,
} as const;

/** Attach types that matter to how a program runs (enum bpf_attach_type). */
export const BPF_ATTACH_TYPE = {
  NONE: -1,
  BPF_XDP: 37,
  BPF_XDP_DEVMAP: 38,
  BPF_XDP_CPUMAP: 39,
  BPF_TCX_INGRESS: 46,
  BPF_TCX_EGRESS: 47,
} as const;

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
