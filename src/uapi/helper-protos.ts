/**
 * The kernel's helper signatures (struct bpf_func_proto) as data: for each helper its return
 * type, the type of each argument, and the facts the verifier needs (GPL only, packet access,
 * fixed argument sizes, BTF ids). The runtime's helper registry and the verifier both read
 * these; nothing else keeps a signature.
 *
 * The argument and return kinds, and their flags, are the kernel's (include/linux/bpf.h:
 * enum bpf_arg_type, enum bpf_return_type, enum bpf_type_flag); each helper's entry follows
 * its bpf_func_proto in net/core/filter.c, kernel/bpf/helpers.c or kernel/trace/bpf_trace.c
 * of Linux 6.18. Which helpers a program type may call is in prog-types.ts.
 */
import { HELPER_IDS } from './helper-ids.js';
import { XdplabError } from '../errors.js';

/** enum bpf_type_flag: bits above the base type (BPF_BASE_TYPE_BITS = 8). */
export const PTR_MAYBE_NULL = 1 << 8;
export const MEM_RDONLY = 1 << 9;
export const MEM_RINGBUF = 1 << 10;
export const MEM_USER = 1 << 11;
export const MEM_PERCPU = 1 << 12;
export const OBJ_RELEASE = 1 << 13;
export const PTR_UNTRUSTED = 1 << 14;
export const MEM_UNINIT = 1 << 15;
export const DYNPTR_TYPE_LOCAL = 1 << 16;
export const DYNPTR_TYPE_RINGBUF = 1 << 17;
export const MEM_FIXED_SIZE = 1 << 18;
export const MEM_ALLOC = 1 << 19;
export const PTR_TRUSTED = 1 << 20;
export const MEM_RCU = 1 << 21;
export const MEM_ALIGNED = 1 << 25;
export const MEM_WRITE = 1 << 26;
export const BPF_BASE_TYPE_MASK = 0xff;
export const baseType = (type: number): number => type & BPF_BASE_TYPE_MASK;

/** enum bpf_arg_type (base kinds). */
export const ARG_DONTCARE = 0;
export const ARG_CONST_MAP_PTR = 1;
export const ARG_PTR_TO_MAP_KEY = 2;
export const ARG_PTR_TO_MAP_VALUE = 3;
export const ARG_PTR_TO_MEM = 4;
export const ARG_PTR_TO_ARENA = 5;
export const ARG_CONST_SIZE = 6;
export const ARG_CONST_SIZE_OR_ZERO = 7;
export const ARG_PTR_TO_CTX = 8;
export const ARG_ANYTHING = 9;
export const ARG_PTR_TO_SPIN_LOCK = 10;
export const ARG_PTR_TO_SOCK_COMMON = 11;
export const ARG_PTR_TO_SOCKET = 12;
export const ARG_PTR_TO_BTF_ID = 13;
export const ARG_PTR_TO_RINGBUF_MEM = 14;
export const ARG_CONST_ALLOC_SIZE_OR_ZERO = 15;
export const ARG_PTR_TO_BTF_ID_SOCK_COMMON = 16;
export const ARG_PTR_TO_PERCPU_BTF_ID = 17;
export const ARG_PTR_TO_FUNC = 18;
export const ARG_PTR_TO_STACK = 19;
export const ARG_PTR_TO_CONST_STR = 20;
export const ARG_PTR_TO_TIMER = 21;
export const ARG_KPTR_XCHG_DEST = 22;
export const ARG_PTR_TO_DYNPTR = 23;
/** The kernel's composite names. */
export const ARG_PTR_TO_MAP_VALUE_OR_NULL = ARG_PTR_TO_MAP_VALUE | PTR_MAYBE_NULL;
export const ARG_PTR_TO_MEM_OR_NULL = ARG_PTR_TO_MEM | PTR_MAYBE_NULL;
export const ARG_PTR_TO_CTX_OR_NULL = ARG_PTR_TO_CTX | PTR_MAYBE_NULL;
export const ARG_PTR_TO_STACK_OR_NULL = ARG_PTR_TO_STACK | PTR_MAYBE_NULL;
export const ARG_PTR_TO_BTF_ID_OR_NULL = ARG_PTR_TO_BTF_ID | PTR_MAYBE_NULL;
export const ARG_PTR_TO_UNINIT_MEM = ARG_PTR_TO_MEM | MEM_UNINIT | MEM_WRITE;
export const ARG_PTR_TO_FIXED_SIZE_MEM = ARG_PTR_TO_MEM | MEM_FIXED_SIZE;
const RDONLY_MEM = ARG_PTR_TO_MEM | MEM_RDONLY;
const RDONLY_MEM_OR_NULL = ARG_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_RDONLY;

/** enum bpf_return_type (base kinds). */
export const RET_INTEGER = 0;
export const RET_VOID = 1;
export const RET_PTR_TO_MAP_VALUE = 2;
export const RET_PTR_TO_SOCKET = 3;
export const RET_PTR_TO_TCP_SOCK = 4;
export const RET_PTR_TO_SOCK_COMMON = 5;
export const RET_PTR_TO_MEM = 6;
export const RET_PTR_TO_MEM_OR_BTF_ID = 7;
export const RET_PTR_TO_BTF_ID = 8;

/** The kernel structures a BTF-typed argument or return value names (arg_btf_id, ret_btf_id). */
export type BtfIdName = 'sock_common' | 'task_struct' | 'tcp_sock' | 'tcp6_sock' | 'udp6_sock' | 'tcp_timewait_sock'
  | 'tcp_request_sock' | 'unix_sock' | 'mptcp_sock' | 'pt_regs' | 'percpu' | 'sock' | 'cgroup' | 'bpf_timer';

export interface HelperProto {
  readonly id: number;
  /** The uapi name without `bpf_`. */
  readonly name: string;
  readonly ret: number;
  readonly args: readonly number[];
  /** The helper may only be called from GPL-compatible programs. */
  readonly gplOnly: boolean;
  /** The helper may take packet pointers as memory arguments. */
  readonly pktAccess: boolean;
  /** The helper may sleep: only sleepable programs may call it. */
  readonly mightSleep: boolean;
  /** Sizes of MEM_FIXED_SIZE arguments, by argument index. */
  readonly argSize: readonly (number | undefined)[];
  /** BTF structures of ARG_PTR_TO_BTF_ID arguments, by argument index. */
  readonly argBtfId: readonly (BtfIdName | undefined)[];
  /** The structure a RET_PTR_TO_BTF_ID return points to. */
  readonly retBtfId?: BtfIdName;
}

interface ProtoOptions {
  gplOnly?: boolean;
  pktAccess?: boolean;
  mightSleep?: boolean;
  argSize?: (number | undefined)[];
  argBtfId?: (BtfIdName | undefined)[];
  retBtfId?: BtfIdName;
}

function proto(name: string, ret: number, args: number[], options: ProtoOptions = {}): HelperProto {
  const id = HELPER_IDS.get(name);
  if (id === undefined) throw new XdplabError('INTERNAL', `helper-protos: ${name} is not a uapi helper`);
  return {
    id, name, ret, args, gplOnly: options.gplOnly ?? false, pktAccess: options.pktAccess ?? false,
    mightSleep: options.mightSleep ?? false, argSize: options.argSize ?? [], argBtfId: options.argBtfId ?? [],
    retBtfId: options.retBtfId,
  };
}

const CTX = ARG_PTR_TO_CTX;
const ANY = ARG_ANYTHING;
const MAP = ARG_CONST_MAP_PTR;
const SIZE = ARG_CONST_SIZE;
const SIZE0 = ARG_CONST_SIZE_OR_ZERO;
const SOCK_COMMON = ARG_PTR_TO_BTF_ID_SOCK_COMMON;
const OUT_FIXED = ARG_PTR_TO_FIXED_SIZE_MEM | MEM_UNINIT | MEM_WRITE | MEM_ALIGNED;
/** bpf_{xdp,tc}_sk_lookup_*_proto: the tuple may be packet memory, and of any size (0 included: the lookup fails). */
const SK_LOOKUP = [CTX, RDONLY_MEM, SIZE0, ANY, ANY];

/** Every helper an XDP or TC program may call in Linux 6.18 (and those xdplab implements), with its signature. */
const PROTOS: readonly HelperProto[] = [
  proto('map_lookup_elem', RET_PTR_TO_MAP_VALUE | PTR_MAYBE_NULL, [MAP, ARG_PTR_TO_MAP_KEY], { pktAccess: true }),
  proto('map_update_elem', RET_INTEGER, [MAP, ARG_PTR_TO_MAP_KEY, ARG_PTR_TO_MAP_VALUE, ANY], { pktAccess: true }),
  proto('map_delete_elem', RET_INTEGER, [MAP, ARG_PTR_TO_MAP_KEY], { pktAccess: true }),
  proto('ktime_get_ns', RET_INTEGER, []),
  proto('trace_printk', RET_INTEGER, [RDONLY_MEM, SIZE], { gplOnly: true }),
  proto('get_prandom_u32', RET_INTEGER, []),
  proto('get_smp_processor_id', RET_INTEGER, []),
  proto('skb_store_bytes', RET_INTEGER, [CTX, ANY, RDONLY_MEM, SIZE, ANY]),
  proto('l3_csum_replace', RET_INTEGER, [CTX, ANY, ANY, ANY, ANY]),
  proto('l4_csum_replace', RET_INTEGER, [CTX, ANY, ANY, ANY, ANY]),
  proto('tail_call', RET_VOID, [CTX, MAP, ANY]),
  proto('clone_redirect', RET_INTEGER, [CTX, ANY, ANY]),
  proto('get_current_pid_tgid', RET_INTEGER, []),
  proto('get_current_uid_gid', RET_INTEGER, []),
  proto('get_current_comm', RET_INTEGER, [ARG_PTR_TO_UNINIT_MEM, SIZE]),
  proto('get_cgroup_classid', RET_INTEGER, [CTX]),
  proto('skb_vlan_push', RET_INTEGER, [CTX, ANY, ANY]),
  proto('skb_vlan_pop', RET_INTEGER, [CTX]),
  proto('skb_get_tunnel_key', RET_INTEGER, [CTX, ARG_PTR_TO_UNINIT_MEM, SIZE, ANY]),
  proto('skb_set_tunnel_key', RET_INTEGER, [CTX, RDONLY_MEM, SIZE, ANY]),
  proto('perf_event_read', RET_INTEGER, [MAP, ANY], { gplOnly: true }),
  proto('redirect', RET_INTEGER, [ANY, ANY]),
  proto('get_route_realm', RET_INTEGER, [CTX]),
  proto('perf_event_output', RET_INTEGER, [CTX, MAP, ANY, RDONLY_MEM, SIZE0], { gplOnly: true }),
  proto('get_stackid', RET_INTEGER, [CTX, MAP, ANY], { gplOnly: true }),
  proto('skb_load_bytes', RET_INTEGER, [CTX, ANY, ARG_PTR_TO_UNINIT_MEM, SIZE]),
  proto('csum_diff', RET_INTEGER, [RDONLY_MEM_OR_NULL, SIZE0, RDONLY_MEM_OR_NULL, SIZE0, ANY], { pktAccess: true }),
  proto('skb_get_tunnel_opt', RET_INTEGER, [CTX, ARG_PTR_TO_UNINIT_MEM, SIZE]),
  proto('skb_set_tunnel_opt', RET_INTEGER, [CTX, RDONLY_MEM, SIZE]),
  proto('skb_change_proto', RET_INTEGER, [CTX, ANY, ANY]),
  proto('skb_change_type', RET_INTEGER, [CTX, ANY]),
  proto('skb_under_cgroup', RET_INTEGER, [CTX, MAP, ANY]),
  proto('get_hash_recalc', RET_INTEGER, [CTX]),
  proto('get_current_task', RET_INTEGER, [], { gplOnly: true }),
  proto('current_task_under_cgroup', RET_INTEGER, [MAP, ANY], { gplOnly: true }),
  proto('skb_change_tail', RET_INTEGER, [CTX, ANY, ANY]),
  proto('skb_pull_data', RET_INTEGER, [CTX, ANY]),
  proto('csum_update', RET_INTEGER, [CTX, ANY]),
  proto('set_hash_invalid', RET_INTEGER, [CTX]),
  proto('get_numa_node_id', RET_INTEGER, []),
  proto('skb_change_head', RET_INTEGER, [CTX, ANY, ANY]),
  proto('xdp_adjust_head', RET_INTEGER, [CTX, ANY]),
  proto('get_socket_cookie', RET_INTEGER, [CTX]),
  proto('get_socket_uid', RET_INTEGER, [CTX]),
  proto('set_hash', RET_INTEGER, [CTX, ANY]),
  proto('skb_adjust_room', RET_INTEGER, [CTX, ANY, ANY, ANY]),
  proto('redirect_map', RET_INTEGER, [MAP, ANY, ANY]),
  proto('xdp_adjust_meta', RET_INTEGER, [CTX, ANY]),
  proto('perf_event_read_value', RET_INTEGER, [MAP, ANY, ARG_PTR_TO_UNINIT_MEM, SIZE], { gplOnly: true }),
  proto('xdp_adjust_tail', RET_INTEGER, [CTX, ANY]),
  proto('skb_get_xfrm_state', RET_INTEGER, [CTX, ANY, ARG_PTR_TO_UNINIT_MEM, SIZE, ANY]),
  proto('skb_load_bytes_relative', RET_INTEGER, [CTX, ANY, ARG_PTR_TO_UNINIT_MEM, SIZE, ANY]),
  proto('fib_lookup', RET_INTEGER, [CTX, ARG_PTR_TO_MEM | MEM_WRITE, SIZE, ANY]),
  proto('skb_cgroup_id', RET_INTEGER, [CTX]),
  proto('get_current_cgroup_id', RET_INTEGER, []),
  proto('skb_ancestor_cgroup_id', RET_INTEGER, [CTX, ANY]),
  proto('sk_lookup_tcp', RET_PTR_TO_SOCKET | PTR_MAYBE_NULL, SK_LOOKUP, { pktAccess: true }),
  proto('sk_lookup_udp', RET_PTR_TO_SOCKET | PTR_MAYBE_NULL, SK_LOOKUP, { pktAccess: true }),
  proto('sk_release', RET_INTEGER, [SOCK_COMMON | OBJ_RELEASE], { argBtfId: ['sock_common'] }),
  proto('map_push_elem', RET_INTEGER, [MAP, ARG_PTR_TO_MAP_VALUE, ANY], { pktAccess: true }),
  proto('map_pop_elem', RET_INTEGER, [MAP, ARG_PTR_TO_MAP_VALUE | MEM_UNINIT | MEM_WRITE]),
  proto('map_peek_elem', RET_INTEGER, [MAP, ARG_PTR_TO_MAP_VALUE | MEM_UNINIT | MEM_WRITE]),
  proto('spin_lock', RET_VOID, [ARG_PTR_TO_SPIN_LOCK]),
  proto('spin_unlock', RET_VOID, [ARG_PTR_TO_SPIN_LOCK]),
  proto('sk_fullsock', RET_PTR_TO_SOCKET | PTR_MAYBE_NULL, [ARG_PTR_TO_SOCK_COMMON]),
  proto('tcp_sock', RET_PTR_TO_TCP_SOCK | PTR_MAYBE_NULL, [ARG_PTR_TO_SOCK_COMMON]),
  proto('skb_ecn_set_ce', RET_INTEGER, [CTX]),
  proto('get_listener_sock', RET_PTR_TO_SOCKET | PTR_MAYBE_NULL, [ARG_PTR_TO_SOCK_COMMON]),
  proto('skc_lookup_tcp', RET_PTR_TO_SOCK_COMMON | PTR_MAYBE_NULL, SK_LOOKUP, { pktAccess: true }),
  proto('tcp_check_syncookie', RET_INTEGER, [SOCK_COMMON, RDONLY_MEM, SIZE, RDONLY_MEM, SIZE], { argBtfId: ['sock_common'], pktAccess: true }),
  proto('strtol', RET_INTEGER, [RDONLY_MEM, SIZE, ANY, OUT_FIXED], { argSize: [undefined, undefined, undefined, 8] }),
  proto('strtoul', RET_INTEGER, [RDONLY_MEM, SIZE, ANY, OUT_FIXED], { argSize: [undefined, undefined, undefined, 8] }),
  proto('sk_storage_get', RET_PTR_TO_MAP_VALUE | PTR_MAYBE_NULL, [MAP, SOCK_COMMON, ARG_PTR_TO_MAP_VALUE_OR_NULL, ANY], { argBtfId: [undefined, 'sock_common'] }),
  proto('sk_storage_delete', RET_INTEGER, [MAP, SOCK_COMMON], { argBtfId: [undefined, 'sock_common'] }),
  proto('send_signal', RET_INTEGER, [ANY]),
  proto('tcp_gen_syncookie', RET_INTEGER, [SOCK_COMMON, RDONLY_MEM, SIZE, RDONLY_MEM, SIZE], { argBtfId: ['sock_common'], pktAccess: true }),
  proto('probe_read_user', RET_INTEGER, [ARG_PTR_TO_UNINIT_MEM, SIZE0, ANY], { gplOnly: true }),
  proto('probe_read_kernel', RET_INTEGER, [ARG_PTR_TO_UNINIT_MEM, SIZE0, ANY], { gplOnly: true }),
  proto('probe_read_user_str', RET_INTEGER, [ARG_PTR_TO_UNINIT_MEM, SIZE0, ANY], { gplOnly: true }),
  proto('probe_read_kernel_str', RET_INTEGER, [ARG_PTR_TO_UNINIT_MEM, SIZE0, ANY], { gplOnly: true }),
  proto('send_signal_thread', RET_INTEGER, [ANY]),
  proto('jiffies64', RET_INTEGER, []),
  proto('get_ns_current_pid_tgid', RET_INTEGER, [ANY, ANY, ARG_PTR_TO_UNINIT_MEM, SIZE]),
  proto('get_netns_cookie', RET_INTEGER, [ARG_PTR_TO_CTX_OR_NULL]),
  proto('get_current_ancestor_cgroup_id', RET_INTEGER, [ANY]),
  proto('sk_assign', RET_INTEGER, [CTX, SOCK_COMMON, ANY], { argBtfId: [undefined, 'sock_common'] }),
  proto('ktime_get_boot_ns', RET_INTEGER, []),
  proto('ringbuf_output', RET_INTEGER, [MAP, RDONLY_MEM, SIZE0, ANY]),
  proto('ringbuf_reserve', RET_PTR_TO_MEM | PTR_MAYBE_NULL | MEM_RINGBUF, [MAP, ARG_CONST_ALLOC_SIZE_OR_ZERO, ANY]),
  proto('ringbuf_submit', RET_VOID, [ARG_PTR_TO_RINGBUF_MEM | OBJ_RELEASE, ANY]),
  proto('ringbuf_discard', RET_VOID, [ARG_PTR_TO_RINGBUF_MEM | OBJ_RELEASE, ANY]),
  proto('ringbuf_query', RET_INTEGER, [MAP, ANY]),
  proto('csum_level', RET_INTEGER, [CTX, ANY]),
  proto('skc_to_tcp6_sock', RET_PTR_TO_BTF_ID | PTR_MAYBE_NULL, [SOCK_COMMON], { argBtfId: ['sock_common'], retBtfId: 'tcp6_sock' }),
  proto('skc_to_tcp_sock', RET_PTR_TO_BTF_ID | PTR_MAYBE_NULL, [SOCK_COMMON], { argBtfId: ['sock_common'], retBtfId: 'tcp_sock' }),
  proto('skc_to_tcp_timewait_sock', RET_PTR_TO_BTF_ID | PTR_MAYBE_NULL, [SOCK_COMMON], { argBtfId: ['sock_common'], retBtfId: 'tcp_timewait_sock' }),
  proto('skc_to_tcp_request_sock', RET_PTR_TO_BTF_ID | PTR_MAYBE_NULL, [SOCK_COMMON], { argBtfId: ['sock_common'], retBtfId: 'tcp_request_sock' }),
  proto('skc_to_udp6_sock', RET_PTR_TO_BTF_ID | PTR_MAYBE_NULL, [SOCK_COMMON], { argBtfId: ['sock_common'], retBtfId: 'udp6_sock' }),
  proto('get_task_stack', RET_INTEGER, [ARG_PTR_TO_BTF_ID, ARG_PTR_TO_UNINIT_MEM, SIZE0, ANY], { argBtfId: ['task_struct'] }),
  proto('copy_from_user', RET_INTEGER, [ARG_PTR_TO_UNINIT_MEM, SIZE0, ANY], { gplOnly: true, mightSleep: true }),
  proto('snprintf_btf', RET_INTEGER, [ARG_PTR_TO_MEM | MEM_WRITE, SIZE, RDONLY_MEM, SIZE, ANY], { gplOnly: true }),
  proto('skb_cgroup_classid', RET_INTEGER, [CTX]),
  proto('redirect_neigh', RET_INTEGER, [ANY, RDONLY_MEM_OR_NULL, SIZE0, ANY]),
  proto('per_cpu_ptr', RET_PTR_TO_MEM_OR_BTF_ID | PTR_MAYBE_NULL | MEM_RDONLY, [ARG_PTR_TO_PERCPU_BTF_ID, ANY]),
  proto('this_cpu_ptr', RET_PTR_TO_MEM_OR_BTF_ID | MEM_RDONLY, [ARG_PTR_TO_PERCPU_BTF_ID]),
  proto('redirect_peer', RET_INTEGER, [ANY, ANY]),
  proto('task_storage_get', RET_PTR_TO_MAP_VALUE | PTR_MAYBE_NULL, [MAP, ARG_PTR_TO_BTF_ID_OR_NULL, ARG_PTR_TO_MAP_VALUE_OR_NULL, ANY], { argBtfId: [undefined, 'task_struct'] }),
  proto('task_storage_delete', RET_INTEGER, [MAP, ARG_PTR_TO_BTF_ID_OR_NULL], { argBtfId: [undefined, 'task_struct'] }),
  proto('get_current_task_btf', RET_PTR_TO_BTF_ID | PTR_TRUSTED, [], { gplOnly: true, retBtfId: 'task_struct' }),
  proto('ktime_get_coarse_ns', RET_INTEGER, []),
  proto('check_mtu', RET_INTEGER, [CTX, ANY, ARG_PTR_TO_FIXED_SIZE_MEM | MEM_WRITE | MEM_ALIGNED, ANY, ANY], { argSize: [undefined, undefined, 4] }),
  proto('for_each_map_elem', RET_INTEGER, [MAP, ARG_PTR_TO_FUNC, ARG_PTR_TO_STACK_OR_NULL, ANY]),
  proto('snprintf', RET_INTEGER, [ARG_PTR_TO_MEM_OR_NULL | MEM_WRITE, SIZE0, ARG_PTR_TO_CONST_STR, RDONLY_MEM_OR_NULL, SIZE0]),
  proto('timer_init', RET_INTEGER, [ARG_PTR_TO_TIMER, MAP, ANY]),
  proto('timer_set_callback', RET_INTEGER, [ARG_PTR_TO_TIMER, ARG_PTR_TO_FUNC]),
  proto('timer_start', RET_INTEGER, [ARG_PTR_TO_TIMER, ANY, ANY]),
  proto('timer_cancel', RET_INTEGER, [ARG_PTR_TO_TIMER]),
  proto('task_pt_regs', RET_PTR_TO_BTF_ID, [ARG_PTR_TO_BTF_ID], { gplOnly: true, argBtfId: ['task_struct'], retBtfId: 'pt_regs' }),
  proto('get_branch_snapshot', RET_INTEGER, [ARG_PTR_TO_UNINIT_MEM, SIZE0, ANY]),
  proto('trace_vprintk', RET_INTEGER, [RDONLY_MEM, SIZE, RDONLY_MEM_OR_NULL, SIZE0], { gplOnly: true }),
  proto('skc_to_unix_sock', RET_PTR_TO_BTF_ID | PTR_MAYBE_NULL, [SOCK_COMMON], { argBtfId: ['sock_common'], retBtfId: 'unix_sock' }),
  proto('find_vma', RET_INTEGER, [ARG_PTR_TO_BTF_ID, ANY, ARG_PTR_TO_FUNC, ARG_PTR_TO_STACK_OR_NULL, ANY], { argBtfId: ['task_struct'] }),
  proto('loop', RET_INTEGER, [ANY, ARG_PTR_TO_FUNC, ARG_PTR_TO_STACK_OR_NULL, ANY]),
  proto('strncmp', RET_INTEGER, [RDONLY_MEM, SIZE, ARG_PTR_TO_CONST_STR]),
  proto('xdp_get_buff_len', RET_INTEGER, [CTX]),
  proto('xdp_load_bytes', RET_INTEGER, [CTX, ANY, ARG_PTR_TO_UNINIT_MEM, SIZE]),
  proto('xdp_store_bytes', RET_INTEGER, [CTX, ANY, RDONLY_MEM, SIZE]),
  proto('copy_from_user_task', RET_INTEGER, [ARG_PTR_TO_UNINIT_MEM, SIZE0, ANY, ARG_PTR_TO_BTF_ID, ANY], { gplOnly: true, mightSleep: true, argBtfId: [undefined, undefined, undefined, 'task_struct'] }),
  proto('skb_set_tstamp', RET_INTEGER, [CTX, ANY, ANY]),
  proto('kptr_xchg', RET_PTR_TO_BTF_ID | PTR_MAYBE_NULL, [ARG_KPTR_XCHG_DEST, ARG_PTR_TO_BTF_ID_OR_NULL | OBJ_RELEASE]),
  proto('map_lookup_percpu_elem', RET_PTR_TO_MAP_VALUE | PTR_MAYBE_NULL, [MAP, ARG_PTR_TO_MAP_KEY, ANY], { pktAccess: true }),
  proto('skc_to_mptcp_sock', RET_PTR_TO_BTF_ID | PTR_MAYBE_NULL, [ARG_PTR_TO_SOCK_COMMON], { retBtfId: 'mptcp_sock' }),
  proto('dynptr_from_mem', RET_INTEGER, [ARG_PTR_TO_UNINIT_MEM, SIZE0, ANY, ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_LOCAL | MEM_UNINIT]),
  proto('ringbuf_reserve_dynptr', RET_INTEGER, [MAP, ANY, ANY, ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_RINGBUF | MEM_UNINIT]),
  proto('ringbuf_submit_dynptr', RET_VOID, [ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_RINGBUF | OBJ_RELEASE, ANY]),
  proto('ringbuf_discard_dynptr', RET_VOID, [ARG_PTR_TO_DYNPTR | DYNPTR_TYPE_RINGBUF | OBJ_RELEASE, ANY]),
  proto('dynptr_read', RET_INTEGER, [ARG_PTR_TO_UNINIT_MEM, SIZE0, ARG_PTR_TO_DYNPTR | MEM_RDONLY, ANY, ANY]),
  proto('dynptr_write', RET_INTEGER, [ARG_PTR_TO_DYNPTR | MEM_RDONLY, ANY, RDONLY_MEM, SIZE0, ANY]),
  proto('dynptr_data', RET_PTR_TO_MEM | PTR_MAYBE_NULL, [ARG_PTR_TO_DYNPTR | MEM_RDONLY, ANY, ARG_CONST_ALLOC_SIZE_OR_ZERO]),
  proto('tcp_raw_gen_syncookie_ipv4', RET_INTEGER, [ARG_PTR_TO_FIXED_SIZE_MEM, RDONLY_MEM, SIZE0], { argSize: [20], pktAccess: true }),
  proto('tcp_raw_gen_syncookie_ipv6', RET_INTEGER, [ARG_PTR_TO_FIXED_SIZE_MEM, RDONLY_MEM, SIZE0], { argSize: [40], pktAccess: true }),
  proto('tcp_raw_check_syncookie_ipv4', RET_INTEGER, [ARG_PTR_TO_FIXED_SIZE_MEM, ARG_PTR_TO_FIXED_SIZE_MEM], { argSize: [20, 20], pktAccess: true }),
  proto('tcp_raw_check_syncookie_ipv6', RET_INTEGER, [ARG_PTR_TO_FIXED_SIZE_MEM, ARG_PTR_TO_FIXED_SIZE_MEM], { argSize: [40, 20], pktAccess: true }),
  proto('ktime_get_tai_ns', RET_INTEGER, []),
  proto('user_ringbuf_drain', RET_INTEGER, [MAP, ARG_PTR_TO_FUNC, ARG_PTR_TO_STACK_OR_NULL, ANY]),
  proto('cgrp_storage_get', RET_PTR_TO_MAP_VALUE | PTR_MAYBE_NULL, [MAP, ARG_PTR_TO_BTF_ID_OR_NULL, ARG_PTR_TO_MAP_VALUE_OR_NULL, ANY], { argBtfId: [undefined, 'cgroup'] }),
  proto('cgrp_storage_delete', RET_INTEGER, [MAP, ARG_PTR_TO_BTF_ID_OR_NULL], { argBtfId: [undefined, 'cgroup'] }),
];

/** Signatures by helper id. */
export const HELPER_PROTOS: ReadonlyMap<number, HelperProto> = new Map(PROTOS.map((p) => [p.id, p]));

/** A helper's signature by its uapi name (without `bpf_`). */
export function helperProto(name: string): HelperProto {
  const id = HELPER_IDS.get(name);
  const found = id === undefined ? undefined : HELPER_PROTOS.get(id);
  if (!found) throw new XdplabError('INTERNAL', `helper-protos: no signature for ${name}`);
  return found;
}

/** Helpers that hand back a reference the program must release (is_acquire_function). */
export const ACQUIRE_HELPERS: ReadonlySet<string> = new Set(['sk_lookup_tcp', 'sk_lookup_udp', 'skc_lookup_tcp', 'ringbuf_reserve', 'kptr_xchg']);
/** Helpers whose result is the same object as their argument, seen as another type (is_ptr_cast_function). */
export const PTR_CAST_HELPERS: ReadonlySet<string> = new Set([
  'tcp_sock', 'sk_fullsock', 'skc_to_tcp_sock', 'skc_to_tcp6_sock', 'skc_to_udp6_sock', 'skc_to_mptcp_sock',
  'skc_to_tcp_timewait_sock', 'skc_to_tcp_request_sock',
]);
/** Helpers that call back into the program synchronously (is_sync_callback_calling_function). */
export const SYNC_CALLBACK_HELPERS: ReadonlySet<string> = new Set(['for_each_map_elem', 'find_vma', 'loop', 'user_ringbuf_drain']);
/**
 * Helpers after which packet pointers may point to moved data (bpf_helper_changes_pkt_data);
 * a tail call counts, since the program goes on after a failed one.
 */
export const PKT_DATA_CHANGING_HELPERS: ReadonlySet<string> = new Set([
  'clone_redirect', 'l3_csum_replace', 'l4_csum_replace', 'lwt_push_encap', 'lwt_seg6_action', 'lwt_seg6_adjust_srh',
  'lwt_seg6_store_bytes', 'msg_pop_data', 'msg_pull_data', 'msg_push_data', 'skb_adjust_room', 'skb_change_head',
  'skb_change_proto', 'skb_change_tail', 'skb_pull_data', 'skb_store_bytes', 'skb_vlan_pop', 'skb_vlan_push',
  'store_hdr_opt', 'xdp_adjust_head', 'xdp_adjust_meta', 'xdp_adjust_tail', 'tail_call',
]);
