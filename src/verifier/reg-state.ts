/**
 * Register state (struct bpf_reg_state): what the verifier knows of one register — its type
 * (enum bpf_reg_type with flags), a fixed offset for pointers, the tnum and the signed and
 * unsigned 64- and 32-bit bounds of its variable part, ids that tie copies and references
 * together, and per type the map, packet range, memory size or frame it points into.
 */
import {
  MEM_PERCPU, MEM_RCU, MEM_RDONLY, MEM_RINGBUF, MEM_USER, PTR_MAYBE_NULL, PTR_TRUSTED, PTR_UNTRUSTED, baseType,
} from '../uapi/helper-protos.js';
import { TNUM_UNKNOWN, tnumConst, type Tnum } from './tnum.js';

/** enum bpf_reg_type (include/linux/bpf.h). */
export const NOT_INIT = 0;
export const SCALAR_VALUE = 1;
export const PTR_TO_CTX = 2;
export const CONST_PTR_TO_MAP = 3;
export const PTR_TO_MAP_VALUE = 4;
export const PTR_TO_MAP_KEY = 5;
export const PTR_TO_STACK = 6;
export const PTR_TO_PACKET_META = 7;
export const PTR_TO_PACKET = 8;
export const PTR_TO_PACKET_END = 9;
export const PTR_TO_FLOW_KEYS = 10;
export const PTR_TO_SOCKET = 11;
export const PTR_TO_SOCK_COMMON = 12;
export const PTR_TO_TCP_SOCK = 13;
export const PTR_TO_TP_BUFFER = 14;
export const PTR_TO_XDP_SOCK = 15;
export const PTR_TO_BTF_ID = 16;
export const PTR_TO_MEM = 17;
export const PTR_TO_ARENA = 18;
export const PTR_TO_BUF = 19;
export const PTR_TO_FUNC = 20;
export const CONST_PTR_TO_DYNPTR = 21;

/** reg_type_str's base names. */
const REG_TYPE_NAMES: Record<number, string> = {
  [NOT_INIT]: '?', [SCALAR_VALUE]: 'scalar', [PTR_TO_CTX]: 'ctx', [CONST_PTR_TO_MAP]: 'map_ptr', [PTR_TO_MAP_VALUE]: 'map_value',
  [PTR_TO_STACK]: 'fp', [PTR_TO_PACKET]: 'pkt', [PTR_TO_PACKET_META]: 'pkt_meta', [PTR_TO_PACKET_END]: 'pkt_end',
  [PTR_TO_FLOW_KEYS]: 'flow_keys', [PTR_TO_SOCKET]: 'sock', [PTR_TO_SOCK_COMMON]: 'sock_common', [PTR_TO_TCP_SOCK]: 'tcp_sock',
  [PTR_TO_TP_BUFFER]: 'tp_buffer', [PTR_TO_XDP_SOCK]: 'xdp_sock', [PTR_TO_BTF_ID]: 'ptr_', [PTR_TO_MEM]: 'mem',
  [PTR_TO_ARENA]: 'arena', [PTR_TO_BUF]: 'buf', [PTR_TO_FUNC]: 'func', [PTR_TO_MAP_KEY]: 'map_key',
  [CONST_PTR_TO_DYNPTR]: 'dynptr_ptr',
};

/** The type's name in messages and the log (reg_type_str): `map_value_or_null`, `rdonly_mem`… */
export function regTypeStr(type: number): string {
  const base = baseType(type);
  let postfix = '';
  if (type & PTR_MAYBE_NULL) postfix = base === PTR_TO_BTF_ID ? 'or_null_' : '_or_null';
  const prefix = (type & MEM_RDONLY ? 'rdonly_' : '') + (type & MEM_RINGBUF ? 'ringbuf_' : '') + (type & MEM_USER ? 'user_' : '')
    + (type & MEM_PERCPU ? 'percpu_' : '') + (type & MEM_RCU ? 'rcu_' : '') + (type & PTR_UNTRUSTED ? 'untrusted_' : '')
    + (type & PTR_TRUSTED ? 'trusted_' : '');
  return prefix + (REG_TYPE_NAMES[base] ?? `type${base}`) + postfix;
}

export const S64_MIN = -(1n << 63n);
export const S64_MAX = (1n << 63n) - 1n;
export const U64_MAX = (1n << 64n) - 1n;
export const S32_MIN = -0x80000000;
export const S32_MAX = 0x7fffffff;
export const U32_MAX = 0xffffffff;

/** What the verifier knows of a map a register refers to (struct bpf_map's checked fields). */
export interface MapInfo {
  readonly name: string;
  readonly type: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  /** The map was created with BTF for its key and value (map->btf): special fields need it. */
  readonly hasBtf?: boolean;
  /** Offset of a `struct bpf_spin_lock` in the value, when its BTF has one. */
  readonly spinLockOff?: number;
  /** Offset of a `struct bpf_timer` in the value. */
  readonly timerOff?: number;
  /** A read-only map's contents the loader froze (libbpf's .rodata): reads of it are constants. */
  readonly frozenValue?: Uint8Array;
  /** For maps of maps: the inner map's shape. */
  readonly inner?: MapInfo;
  /** Index of the map in the program's map list (for messages and witnesses). */
  readonly index: number;
}

/**
 * id flags of a scalar known to equal another's plus a constant (`off`), by a 64-bit or a
 * 32-bit add (BPF_ADD_CONST64, BPF_ADD_CONST32; BPF_ADD_CONST is either).
 */
export const BPF_ADD_CONST64 = 1 << 31;
export const BPF_ADD_CONST32 = 1 << 30;
export const BPF_ADD_CONST = BPF_ADD_CONST64 | BPF_ADD_CONST32;

/** Liveness marks (enum bpf_reg_liveness). */
export const REG_LIVE_NONE = 0;
export const REG_LIVE_READ32 = 1;
export const REG_LIVE_READ64 = 2;
export const REG_LIVE_READ = REG_LIVE_READ32 | REG_LIVE_READ64;
export const REG_LIVE_WRITTEN = 4;
export const REG_LIVE_DONE = 8;

export class RegState {
  type = NOT_INIT;
  /** Fixed part of a pointer's offset; for linked scalars (BPF_ADD_CONST) the constant delta. */
  off = 0;
  /** The map of CONST_PTR_TO_MAP, PTR_TO_MAP_VALUE, PTR_TO_MAP_KEY. */
  map: MapInfo | undefined = undefined;
  /** Distinguishes inner maps of one map-in-map (map_uid). */
  mapUid = 0;
  /** Bytes of a packet pointer known to be inside the packet (its `off` space); < 0: AT/BEYOND_PKT_END. */
  range = 0;
  /** Bytes a PTR_TO_MEM may reach. */
  memSize = 0;
  /** The subprogram a PTR_TO_FUNC names. */
  subprogno = 0;
  /** The kernel structure a PTR_TO_BTF_ID points to. */
  btfName = '';
  varOff: Tnum = TNUM_UNKNOWN;
  smin = S64_MIN;
  smax = S64_MAX;
  umin = 0n;
  umax = U64_MAX;
  s32min = S32_MIN;
  s32max = S32_MAX;
  u32min = 0;
  u32max = U32_MAX;
  /** Copies of one value (or pointers from one lookup) share an id; 0 when unshared. */
  id = 0;
  /** The reference this pointer holds (acquired by a helper), 0 when none. */
  refObjId = 0;
  /** The frame a PTR_TO_STACK points into. */
  frameno = 0;
  /** The instruction that last wrote the low 32 bits only (subreg_def); 0 when the whole register was written. */
  subregDef = 0;
  /** The exact value matters to safety: states must agree on it to be equivalent. */
  precise = false;
  live = REG_LIVE_NONE;
  /** The same register in the parent checkpoint state, for read marks. */
  parent: RegState | null = null;

  clone(): RegState {
    const r = new RegState();
    r.copyFrom(this);
    return r;
  }

  /** copy_register_state: everything but the liveness links. */
  copyFrom(src: RegState): void {
    this.type = src.type;
    this.off = src.off;
    this.map = src.map;
    this.mapUid = src.mapUid;
    this.range = src.range;
    this.memSize = src.memSize;
    this.subprogno = src.subprogno;
    this.btfName = src.btfName;
    this.varOff = src.varOff;
    this.smin = src.smin;
    this.smax = src.smax;
    this.umin = src.umin;
    this.umax = src.umax;
    this.s32min = src.s32min;
    this.s32max = src.s32max;
    this.u32min = src.u32min;
    this.u32max = src.u32max;
    this.id = src.id;
    this.refObjId = src.refObjId;
    this.frameno = src.frameno;
    this.subregDef = src.subregDef;
    this.precise = src.precise;
    this.live = src.live;
    this.parent = src.parent;
  }

  /** A copy made by a mov (copy_register_state): the destination keeps its own liveness links. */
  assignFrom(src: RegState): void {
    const { live, parent } = this;
    this.copyFrom(src);
    this.live = live;
    this.parent = parent;
  }

  get isScalar(): boolean {
    return this.type === SCALAR_VALUE;
  }

  /** A pointer of any kind (is_pointer_value without the privilege test). */
  get isPointer(): boolean {
    return this.type !== SCALAR_VALUE && this.type !== NOT_INIT;
  }

  get isConst(): boolean {
    return this.varOff.mask === 0n;
  }

  /** register_is_null: a scalar known to be 0. */
  get isNull(): boolean {
    return this.type === SCALAR_VALUE && this.varOff.mask === 0n && this.varOff.value === 0n;
  }
}

/** ___mark_reg_known: the register holds exactly `imm` (64-bit, unsigned representation). */
export function setKnownBounds(reg: RegState, imm: bigint): void {
  const v = BigInt.asUintN(64, imm);
  reg.varOff = tnumConst(v);
  reg.smin = BigInt.asIntN(64, v);
  reg.smax = reg.smin;
  reg.umin = v;
  reg.umax = v;
  const lo = Number(v & 0xffffffffn);
  reg.s32min = lo | 0;
  reg.s32max = lo | 0;
  reg.u32min = lo;
  reg.u32max = lo;
}

/** __mark_reg_known: a scalar constant, its ids and pointer fields cleared. */
export function markKnown(reg: RegState, imm: bigint): void {
  reg.off = 0;
  reg.map = undefined;
  reg.mapUid = 0;
  reg.range = 0;
  reg.memSize = 0;
  reg.subprogno = 0;
  reg.btfName = '';
  reg.id = 0;
  reg.refObjId = 0;
  setKnownBounds(reg, imm);
}

/** __mark_reg32_known: only the low 32 bits are known. */
export function markKnown32(reg: RegState, imm: number): void {
  const v = imm >>> 0;
  reg.varOff = { value: (reg.varOff.value & ~0xffffffffn) | BigInt(v), mask: reg.varOff.mask & ~0xffffffffn };
  reg.s32min = v | 0;
  reg.s32max = v | 0;
  reg.u32min = v;
  reg.u32max = v;
}

export function markUnbounded64(reg: RegState): void {
  reg.smin = S64_MIN;
  reg.smax = S64_MAX;
  reg.umin = 0n;
  reg.umax = U64_MAX;
}

export function markUnbounded32(reg: RegState): void {
  reg.s32min = S32_MIN;
  reg.s32max = S32_MAX;
  reg.u32min = 0;
  reg.u32max = U32_MAX;
}

export function markUnbounded(reg: RegState): void {
  markUnbounded64(reg);
  markUnbounded32(reg);
}

/** __mark_reg_unknown_imprecise: a scalar that may be anything. */
export function markUnknown(reg: RegState, precise = false): void {
  reg.type = SCALAR_VALUE;
  reg.off = 0;
  reg.map = undefined;
  reg.mapUid = 0;
  reg.range = 0;
  reg.memSize = 0;
  reg.subprogno = 0;
  reg.btfName = '';
  reg.id = 0;
  reg.refObjId = 0;
  reg.varOff = TNUM_UNKNOWN;
  reg.frameno = 0;
  reg.precise = precise;
  markUnbounded(reg);
}

/** __mark_reg_not_init: the register may not be read. */
export function markNotInit(reg: RegState): void {
  markUnknown(reg);
  reg.type = NOT_INIT;
}

/** A pointer with a known (zero) variable part: __mark_reg_known_zero then the type. */
export function markPointer(reg: RegState, type: number): void {
  markKnown(reg, 0n);
  reg.type = type;
}
