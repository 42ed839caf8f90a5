/**
 * BTF's constants under their kernel names (include/uapi/linux/btf.h, libbpf's
 * bpf_core_relo kinds) and the shapes of decoded types. Inert data only.
 */

export const BTF_MAGIC = 0xeb9f;
export const BTF_VERSION = 1;
/** Size of struct btf_header, the smallest hdr_len the format allows. */
export const BTF_HEADER_SIZE = 24;
/** The longest chain of modifiers and typedefs followed before declaring a loop (libbpf's MAX_RESOLVE_DEPTH). */
export const BTF_MAX_RESOLVE_DEPTH = 32;

export const BTF_KIND_UNKN = 0;
export const BTF_KIND_INT = 1;
export const BTF_KIND_PTR = 2;
export const BTF_KIND_ARRAY = 3;
export const BTF_KIND_STRUCT = 4;
export const BTF_KIND_UNION = 5;
export const BTF_KIND_ENUM = 6;
export const BTF_KIND_FWD = 7;
export const BTF_KIND_TYPEDEF = 8;
export const BTF_KIND_VOLATILE = 9;
export const BTF_KIND_CONST = 10;
export const BTF_KIND_RESTRICT = 11;
export const BTF_KIND_FUNC = 12;
export const BTF_KIND_FUNC_PROTO = 13;
export const BTF_KIND_VAR = 14;
export const BTF_KIND_DATASEC = 15;
export const BTF_KIND_FLOAT = 16;
export const BTF_KIND_DECL_TAG = 17;
export const BTF_KIND_TYPE_TAG = 18;
export const BTF_KIND_ENUM64 = 19;
export const BTF_KIND_MAX = BTF_KIND_ENUM64;

/** The kinds' names as the kernel, libbpf and bpftool print them, indexed by kind. */
export const BTF_KIND_NAMES = [
  'UNKNOWN', 'INT', 'PTR', 'ARRAY', 'STRUCT', 'UNION', 'ENUM', 'FWD', 'TYPEDEF', 'VOLATILE', 'CONST', 'RESTRICT',
  'FUNC', 'FUNC_PROTO', 'VAR', 'DATASEC', 'FLOAT', 'DECL_TAG', 'TYPE_TAG', 'ENUM64',
] as const;

/** BTF_INT_ENCODING bits of an INT. */
export const BTF_INT_SIGNED = 1 << 0;
export const BTF_INT_CHAR = 1 << 1;
export const BTF_INT_BOOL = 1 << 2;

/** Linkage of a FUNC (in its vlen). */
export const BTF_FUNC_STATIC = 0;
export const BTF_FUNC_GLOBAL = 1;
export const BTF_FUNC_EXTERN = 2;

/** Linkage of a VAR. */
export const BTF_VAR_STATIC = 0;
export const BTF_VAR_GLOBAL_ALLOCATED = 1;
export const BTF_VAR_GLOBAL_EXTERN = 2;

/** enum bpf_core_relo_kind (libbpf, include/uapi/linux/bpf.h). */
export const BPF_CORE_FIELD_BYTE_OFFSET = 0;
export const BPF_CORE_FIELD_BYTE_SIZE = 1;
export const BPF_CORE_FIELD_EXISTS = 2;
export const BPF_CORE_FIELD_SIGNED = 3;
export const BPF_CORE_FIELD_LSHIFT_U64 = 4;
export const BPF_CORE_FIELD_RSHIFT_U64 = 5;
export const BPF_CORE_TYPE_ID_LOCAL = 6;
export const BPF_CORE_TYPE_ID_TARGET = 7;
export const BPF_CORE_TYPE_EXISTS = 8;
export const BPF_CORE_TYPE_SIZE = 9;
export const BPF_CORE_ENUMVAL_EXISTS = 10;
export const BPF_CORE_ENUMVAL_VALUE = 11;

/** Names libbpf uses for the relocation kinds in its logs, indexed by kind. */
export const BPF_CORE_RELO_KIND_NAMES = [
  'byte_off', 'byte_sz', 'field_exists', 'signed', 'lshift_u64', 'rshift_u64',
  'local_type_id', 'target_type_id', 'type_exists', 'type_size', 'enumval_exists', 'enumval_value',
] as const;

export type BtfKind = typeof BTF_KIND_UNKN | typeof BTF_KIND_INT | typeof BTF_KIND_PTR | typeof BTF_KIND_ARRAY
  | typeof BTF_KIND_STRUCT | typeof BTF_KIND_UNION | typeof BTF_KIND_ENUM | typeof BTF_KIND_FWD
  | typeof BTF_KIND_TYPEDEF | typeof BTF_KIND_VOLATILE | typeof BTF_KIND_CONST | typeof BTF_KIND_RESTRICT
  | typeof BTF_KIND_FUNC | typeof BTF_KIND_FUNC_PROTO | typeof BTF_KIND_VAR | typeof BTF_KIND_DATASEC
  | typeof BTF_KIND_FLOAT | typeof BTF_KIND_DECL_TAG | typeof BTF_KIND_TYPE_TAG | typeof BTF_KIND_ENUM64;

/** What every type has: where it was read and the raw btf_type header fields. */
interface BtfTypeCommon {
  /** The type id; 0 is void. */
  readonly id: number;
  /** name_off resolved in the string section; '' for anonymous types. */
  readonly name: string;
  /** name_off itself (bpftool prints '(anon)' for 0, the string otherwise, even when empty). */
  readonly nameOff: number;
  /** Byte offset of the btf_type record in the .BTF bytes (-1 for void). */
  readonly offset: number;
  /** The kind_flag bit of `info`. */
  readonly kindFlag: boolean;
  /** The vlen bits of `info`. */
  readonly vlen: number;
}

export interface BtfVoid extends BtfTypeCommon { readonly kind: typeof BTF_KIND_UNKN }

export interface BtfInt extends BtfTypeCommon {
  readonly kind: typeof BTF_KIND_INT;
  /** Size in bytes. */
  readonly size: number;
  /** BTF_INT_SIGNED | BTF_INT_CHAR | BTF_INT_BOOL bits. */
  readonly encoding: number;
  /** BTF_INT_OFFSET: bit offset of the value within the storage. */
  readonly bitOffset: number;
  /** BTF_INT_BITS: number of value bits. */
  readonly bits: number;
}

/** PTR, TYPEDEF, VOLATILE, CONST, RESTRICT, TYPE_TAG: a reference to another type. */
export interface BtfRef extends BtfTypeCommon {
  readonly kind: typeof BTF_KIND_PTR | typeof BTF_KIND_TYPEDEF | typeof BTF_KIND_VOLATILE | typeof BTF_KIND_CONST
    | typeof BTF_KIND_RESTRICT | typeof BTF_KIND_TYPE_TAG;
  readonly type: number;
}

export interface BtfArray extends BtfTypeCommon {
  readonly kind: typeof BTF_KIND_ARRAY;
  /** Element type. */
  readonly type: number;
  readonly indexType: number;
  readonly nelems: number;
}

export interface BtfMember {
  readonly name: string;
  readonly nameOff: number;
  readonly type: number;
  /** Offset of the member from the start of the struct, in bits. */
  readonly bitOffset: number;
  /** Bitfield width when the struct's kind_flag is set and the member is a bitfield; else 0. */
  readonly bitfieldSize: number;
}

export interface BtfComposite extends BtfTypeCommon {
  readonly kind: typeof BTF_KIND_STRUCT | typeof BTF_KIND_UNION;
  readonly size: number;
  readonly members: readonly BtfMember[];
}

export interface BtfEnumValue {
  readonly name: string;
  readonly nameOff: number;
  /** The value, read as signed when the enum's kind_flag says so, else unsigned. */
  readonly value: number;
}

export interface BtfEnum extends BtfTypeCommon {
  readonly kind: typeof BTF_KIND_ENUM;
  readonly size: number;
  /** kind_flag: the values are signed. */
  readonly signed: boolean;
  readonly values: readonly BtfEnumValue[];
}

export interface BtfEnum64Value {
  readonly name: string;
  readonly nameOff: number;
  readonly value: bigint;
}

export interface BtfEnum64 extends BtfTypeCommon {
  readonly kind: typeof BTF_KIND_ENUM64;
  readonly size: number;
  readonly signed: boolean;
  readonly values: readonly BtfEnum64Value[];
}

export interface BtfFwd extends BtfTypeCommon {
  readonly kind: typeof BTF_KIND_FWD;
  /** kind_flag: a forward-declared union, else a struct. */
  readonly union: boolean;
}

export interface BtfFunc extends BtfTypeCommon {
  readonly kind: typeof BTF_KIND_FUNC;
  /** The FUNC_PROTO. */
  readonly type: number;
  /** BTF_FUNC_STATIC, BTF_FUNC_GLOBAL or BTF_FUNC_EXTERN (the vlen). */
  readonly linkage: number;
}

export interface BtfParam {
  readonly name: string;
  readonly nameOff: number;
  /** 0 (with name_off 0) in a last parameter marks a variadic function. */
  readonly type: number;
}

export interface BtfFuncProto extends BtfTypeCommon {
  readonly kind: typeof BTF_KIND_FUNC_PROTO;
  /** Return type; 0 for void. */
  readonly returnType: number;
  readonly params: readonly BtfParam[];
}

export interface BtfVar extends BtfTypeCommon {
  readonly kind: typeof BTF_KIND_VAR;
  readonly type: number;
  /** BTF_VAR_STATIC, BTF_VAR_GLOBAL_ALLOCATED or BTF_VAR_GLOBAL_EXTERN. */
  readonly linkage: number;
}

export interface BtfVarSecinfo {
  /** The VAR (or, for externs, FUNC) type id. */
  readonly type: number;
  /** Offset of the variable in the section, in bytes (0 in clang's output until a loader fixes it up). */
  readonly offset: number;
  readonly size: number;
}

export interface BtfDatasec extends BtfTypeCommon {
  readonly kind: typeof BTF_KIND_DATASEC;
  /** Section size (0 in clang's output until a loader fixes it up). */
  readonly size: number;
  readonly vars: readonly BtfVarSecinfo[];
}

export interface BtfFloat extends BtfTypeCommon {
  readonly kind: typeof BTF_KIND_FLOAT;
  readonly size: number;
}

export interface BtfDeclTag extends BtfTypeCommon {
  readonly kind: typeof BTF_KIND_DECL_TAG;
  /** The tagged type (struct, union, var, func or typedef). */
  readonly type: number;
  /** -1 for the type itself, else the member or parameter index. */
  readonly componentIdx: number;
}

export type BtfType = BtfVoid | BtfInt | BtfRef | BtfArray | BtfComposite | BtfEnum | BtfEnum64 | BtfFwd | BtfFunc
  | BtfFuncProto | BtfVar | BtfDatasec | BtfFloat | BtfDeclTag;

/** The .BTF header, as read. */
export interface BtfHeader {
  readonly magic: number;
  readonly version: number;
  readonly flags: number;
  readonly hdrLen: number;
  readonly typeOff: number;
  readonly typeLen: number;
  readonly strOff: number;
  readonly strLen: number;
}
