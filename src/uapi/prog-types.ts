/**
 * Program types as data: for XDP and TC (SCHED_CLS / SCHED_ACT), the context a program gets
 * (struct xdp_md, struct __sk_buff: each field's offset and size, who may read or write it,
 * what a read of it yields) and the helpers the type may call.
 *
 * The access rules follow net/core/filter.c (xdp_is_valid_access, tc_cls_act_is_valid_access,
 * bpf_skb_is_valid_access, bpf_sock_is_valid_access, bpf_tcp_sock_is_valid_access) of Linux
 * 6.18. The helper lists are what that kernel's func_proto answers (xdp_func_proto,
 * tc_cls_act_func_proto, bpf_sk_base_func_proto, bpf_base_func_proto), read off the kernel
 * by test/uapi/prog-types.test.ts, which asks it again when it can.
 */
import { BPF_ATTACH_TYPE, BPF_PROG_TYPE } from './bpf.js';
import { HELPER_PROTOS, RET_INTEGER, type HelperProto } from './helper-protos.js';

/** What a context field read gives the program (info->reg_type), when it is not a scalar. */
export type CtxPointerKind = 'pkt' | 'pkt_end' | 'pkt_meta' | 'sock_common_or_null';

/** The kernel's answer to one context access. */
export interface CtxAccess {
  readonly ok: boolean;
  /** The type a read yields, when it is a pointer. */
  readonly pointer?: CtxPointerKind;
}

const DENY: CtxAccess = { ok: false };
const ALLOW: CtxAccess = { ok: true };

/** bpf_ctx_narrow_access_ok: a power-of-two read no wider than the field. */
const narrowOk = (size: number, fieldSize: number): boolean => size <= fieldSize && (size & (size - 1)) === 0;

/** struct xdp_md. */
export const XDP_MD_FIELDS = {
  data: 0, data_end: 4, data_meta: 8, ingress_ifindex: 12, rx_queue_index: 16, egress_ifindex: 20,
} as const;
export const XDP_MD_SIZE = 24;

/** xdp_is_valid_access: every field is a read-only u32; egress_ifindex only in devmap programs. */
function xdpCtxAccess(off: number, size: number, write: boolean, attachType: number): CtxAccess {
  if (attachType !== BPF_ATTACH_TYPE.BPF_XDP_DEVMAP && off === XDP_MD_FIELDS.egress_ifindex) return DENY;
  if (write) return DENY;
  if (off < 0 || off >= XDP_MD_SIZE || off % size !== 0 || size !== 4) return DENY;
  if (off === XDP_MD_FIELDS.data) return { ok: true, pointer: 'pkt' };
  if (off === XDP_MD_FIELDS.data_meta) return { ok: true, pointer: 'pkt_meta' };
  if (off === XDP_MD_FIELDS.data_end) return { ok: true, pointer: 'pkt_end' };
  return ALLOW;
}

/** struct __sk_buff (offsets of include/uapi/linux/bpf.h). */
export const SK_BUFF_FIELDS = {
  len: 0, pkt_type: 4, mark: 8, queue_mapping: 12, protocol: 16, vlan_present: 20, vlan_tci: 24, vlan_proto: 28,
  priority: 32, ingress_ifindex: 36, ifindex: 40, tc_index: 44, cb: 48, hash: 68, tc_classid: 72, data: 76,
  data_end: 80, napi_id: 84, family: 88, remote_ip4: 92, local_ip4: 96, remote_ip6: 100, local_ip6: 116,
  remote_port: 132, local_port: 136, data_meta: 140, flow_keys: 144, tstamp: 152, wire_len: 160, gso_segs: 164,
  sk: 168, gso_size: 176, tstamp_type: 180, hwtstamp: 184,
} as const;
export const SK_BUFF_SIZE = 192;
const F = SK_BUFF_FIELDS;
/** `bpf_ctx_range(struct __sk_buff, field)`: the bytes of a field. */
const inField = (off: number, start: number, size: number): boolean => off >= start && off < start + size;

/** Fields a TC program may write (tc_cls_act_is_valid_access). */
function tcWritable(off: number): boolean {
  return inField(off, F.mark, 4) || inField(off, F.tc_index, 4) || inField(off, F.priority, 4)
    || inField(off, F.tc_classid, 4) || inField(off, F.cb, 20) || inField(off, F.tstamp, 8) || inField(off, F.queue_mapping, 4);
}

/** tc_cls_act_is_valid_access, then bpf_skb_is_valid_access. */
function tcCtxAccess(off: number, size: number, write: boolean): CtxAccess {
  if (write && !tcWritable(off)) return DENY;
  let pointer: CtxPointerKind | undefined;
  if (inField(off, F.data, 4)) pointer = 'pkt';
  else if (inField(off, F.data_meta, 4)) pointer = 'pkt_meta';
  else if (inField(off, F.data_end, 4)) pointer = 'pkt_end';
  else if (off >= F.family && off < F.local_port + 4) return DENY;
  else if (off === F.tstamp_type) return size === 1 ? ALLOW : DENY;
  return skbCtxAccess(off, size, write, pointer);
}

/** bpf_skb_is_valid_access. */
function skbCtxAccess(off: number, size: number, write: boolean, pointer: CtxPointerKind | undefined): CtxAccess {
  if (off < 0 || off >= SK_BUFF_SIZE || off % size !== 0) return DENY;
  if (inField(off, F.cb, 20)) return off + size > F.cb + 20 ? DENY : ALLOW;
  if (inField(off, F.data, 4) || inField(off, F.data_meta, 4) || inField(off, F.data_end, 4)) {
    return size === 4 ? { ok: true, pointer } : DENY;
  }
  if (inField(off, F.remote_ip6, 16) || inField(off, F.local_ip6, 16) || inField(off, F.remote_ip4, 4) || inField(off, F.local_ip4, 4)) {
    return size === 4 ? ALLOW : DENY;
  }
  if (inField(off, F.flow_keys, 8)) return DENY;
  if (inField(off, F.hwtstamp, 8)) return !write && size === 8 ? ALLOW : DENY;
  if (inField(off, F.tstamp, 8)) return size === 8 ? ALLOW : DENY;
  if (off === F.sk) return !write && size === 8 ? { ok: true, pointer: 'sock_common_or_null' } : DENY;
  if (inField(off, F.sk, 8)) return DENY; // the pointer's upper half
  if (off >= F.tstamp_type && off < F.hwtstamp) return DENY; // tstamp_type (handled by the caller) and padding
  if (write) return size === 4 ? ALLOW : DENY;
  return narrowOk(size, 4) ? ALLOW : DENY;
}

/** struct bpf_sock, what PTR_TO_SOCKET / PTR_TO_SOCK_COMMON point to. */
export const BPF_SOCK_FIELDS = {
  bound_dev_if: 0, family: 4, type: 8, protocol: 12, mark: 16, priority: 20, src_ip4: 24, src_ip6: 28, src_port: 44,
  dst_port: 48, dst_ip4: 52, dst_ip6: 56, state: 72, rx_queue_mapping: 76,
} as const;
export const BPF_SOCK_SIZE = 80;

/** bpf_sock_is_valid_access (full sockets); sock_common lacks type..priority (bpf_sock_common_is_valid_access). */
export function sockAccess(off: number, size: number, common: boolean): boolean {
  const S = BPF_SOCK_FIELDS;
  if (common && off >= S.type && off < S.priority + 4) return false;
  if (off < 0 || off >= BPF_SOCK_SIZE || off % size !== 0) return false;
  if (off === S.state || off === S.family || off === S.type || off === S.protocol || off === S.src_port || off === S.rx_queue_mapping
    || inField(off, S.src_ip4, 4) || inField(off, S.src_ip6, 16) || inField(off, S.dst_ip4, 4) || inField(off, S.dst_ip6, 16)) {
    return narrowOk(size, 4);
  }
  if (inField(off, S.dst_port, 2)) return size === 4 || narrowOk(size, 2);
  if (off >= S.dst_port + 2 && off < S.dst_ip4) return false;
  return size === 4;
}

/** struct bpf_tcp_sock: u32 fields, then the u64 counters from bytes_received. */
export const BPF_TCP_SOCK_SIZE = 112;
const BPF_TCP_SOCK_U64_FROM = 80;

/** bpf_tcp_sock_is_valid_access: whole fields only. */
export function tcpSockAccess(off: number, size: number): boolean {
  if (off < 0 || off >= BPF_TCP_SOCK_SIZE || off % size !== 0) return false;
  return size === (off >= BPF_TCP_SOCK_U64_FROM ? 8 : 4);
}

/**
 * Helpers each program type may call with CAP_BPF (bpf_capable), by id, as the kernel's
 * func_proto answers; PERFMON_HELPERS need CAP_PERFMON (or CAP_SYS_ADMIN) on top.
 */
const COMMON_HELPERS = [
  1, 2, 3, 5, 6, 7, 8, 12, 14, 15, 16, 17, 22, 23, 25, 28, 35, 37, 42, 55, 69, 80, 84, 85, 86, 87, 88, 89, 93, 94, 99,
  100, 105, 106, 109, 110, 112, 113, 114, 115, 117, 118, 120, 123, 125, 130, 131, 132, 133, 134, 136, 137, 138, 139,
  140, 141, 148, 149, 153, 154, 156, 157, 158, 160, 163, 164, 165, 169, 170, 171, 172, 175, 176, 177, 178, 180, 181,
  182, 191, 194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211,
];
const XDP_ONLY_HELPERS = [44, 51, 54, 65, 188, 189, 190];
const TC_ONLY_HELPERS = [
  9, 10, 11, 13, 18, 19, 20, 21, 24, 26, 29, 30, 31, 32, 33, 34, 38, 39, 40, 41, 43, 46, 47, 48, 50, 66, 68, 79, 83,
  95, 96, 97, 98, 107, 108, 122, 124, 135, 151, 152, 155, 192,
];
/** Helpers bpf_base_func_proto / bpf_sk_base_func_proto give only with CAP_PERFMON. */
export const PERFMON_HELPERS: ReadonlySet<number> = new Set([
  6, 16, 22, 35, 55, 109, 112, 113, 114, 115, 117, 136, 137, 138, 139, 140, 141, 148, 149, 153, 154, 158, 165, 175,
  176, 177, 178, 180, 191, 196,
]);

/** What the verifier and the hooks know of a program type. */
export interface ProgTypeInfo {
  readonly type: number;
  readonly name: string;
  /** Bytes of the context struct. */
  readonly ctxSize: number;
  ctxAccess(off: number, size: number, write: boolean, attachType: number): CtxAccess;
  /** Helper ids the type may call (given CAP_BPF; PERFMON_HELPERS need CAP_PERFMON too). */
  readonly helpers: ReadonlySet<number>;
  /** The signature this type's func_proto gives for a helper. */
  proto(id: number): HelperProto | undefined;
  /** Direct packet writes allowed (may_access_direct_pkt_data for BPF_WRITE). */
  readonly packetWrites: boolean;
}

/** XDP's bpf_get_cgroup_classid is the current task's (bpf_get_cgroup_classid_curr_proto): no context. */
const XDP_PROTO_OVERRIDES: ReadonlyMap<number, HelperProto> = new Map([
  [17, { ...HELPER_PROTOS.get(17)!, ret: RET_INTEGER, args: [] }],
]);

const XDP: ProgTypeInfo = {
  type: BPF_PROG_TYPE.BPF_PROG_TYPE_XDP,
  name: 'xdp',
  ctxSize: XDP_MD_SIZE,
  ctxAccess: xdpCtxAccess,
  helpers: new Set([...COMMON_HELPERS, ...XDP_ONLY_HELPERS]),
  proto: (id) => XDP_PROTO_OVERRIDES.get(id) ?? HELPER_PROTOS.get(id),
  packetWrites: true,
};

const TC_HELPERS = new Set([...COMMON_HELPERS, ...TC_ONLY_HELPERS]);
const tcInfo = (type: number, name: string): ProgTypeInfo => ({
  type,
  name,
  ctxSize: SK_BUFF_SIZE,
  ctxAccess: (off, size, write) => tcCtxAccess(off, size, write),
  helpers: TC_HELPERS,
  proto: (id) => HELPER_PROTOS.get(id),
  packetWrites: true,
});

const PROG_TYPES: ReadonlyMap<number, ProgTypeInfo> = new Map([
  [XDP.type, XDP],
  [BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_CLS, tcInfo(BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_CLS, 'sched_cls')],
  [BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_ACT, tcInfo(BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_ACT, 'sched_act')],
]);

/** The description of a program type xdplab runs, or undefined for any other. */
export const progTypeInfo = (type: number): ProgTypeInfo | undefined => PROG_TYPES.get(type);
