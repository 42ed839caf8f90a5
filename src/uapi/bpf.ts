/**
 * include/uapi/linux/bpf.h as data: program, map and attach types, map and update flags,
 * and the kernel's own limits that programs meet at load. Every layer may import this leaf;
 * names are the kernel's, so a reader can grep the kernel source for any of them.
 */

/** enum bpf_prog_type. */
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
  BPF_PROG_TYPE_CGROUP_SOCK: 9,
  BPF_PROG_TYPE_LWT_IN: 10,
  BPF_PROG_TYPE_LWT_OUT: 11,
  BPF_PROG_TYPE_LWT_XMIT: 12,
  BPF_PROG_TYPE_SOCK_OPS: 13,
  BPF_PROG_TYPE_SK_SKB: 14,
  BPF_PROG_TYPE_CGROUP_DEVICE: 15,
  BPF_PROG_TYPE_SK_MSG: 16,
  BPF_PROG_TYPE_RAW_TRACEPOINT: 17,
  BPF_PROG_TYPE_CGROUP_SOCK_ADDR: 18,
  BPF_PROG_TYPE_LWT_SEG6LOCAL: 19,
  BPF_PROG_TYPE_LIRC_MODE2: 20,
  BPF_PROG_TYPE_SK_REUSEPORT: 21,
  BPF_PROG_TYPE_FLOW_DISSECTOR: 22,
  BPF_PROG_TYPE_CGROUP_SYSCTL: 23,
  BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE: 24,
  BPF_PROG_TYPE_CGROUP_SOCKOPT: 25,
  BPF_PROG_TYPE_TRACING: 26,
  BPF_PROG_TYPE_STRUCT_OPS: 27,
  BPF_PROG_TYPE_EXT: 28,
  BPF_PROG_TYPE_LSM: 29,
  BPF_PROG_TYPE_SK_LOOKUP: 30,
  BPF_PROG_TYPE_SYSCALL: 31,
  BPF_PROG_TYPE_NETFILTER: 32,
} as const;

/** enum bpf_map_type. */
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
  BPF_MAP_TYPE_USER_RINGBUF: 31,
  BPF_MAP_TYPE_CGRP_STORAGE: 32,
  BPF_MAP_TYPE_ARENA: 33,
} as const;

/** Map type names as bpftool prints them (`hash`, `lru_percpu_hash`, `lpm_trie` …), by number. */
export const MAP_TYPE_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(BPF_MAP_TYPE).map(([name, n]) => [n, name.slice('BPF_MAP_TYPE_'.length).toLowerCase()]),
);

/** Attach types that matter to how a program is checked and run (enum bpf_attach_type). */
export const BPF_ATTACH_TYPE = {
  NONE: -1,
  BPF_XDP: 37,
  BPF_XDP_DEVMAP: 33,
  BPF_XDP_CPUMAP: 35,
  BPF_TCX_INGRESS: 46,
  BPF_TCX_EGRESS: 47,
} as const;

/** Map flags (map_flags). */
export const BPF_F_NO_PREALLOC = 1 << 0;
export const BPF_F_NO_COMMON_LRU = 1 << 1;
export const BPF_F_NUMA_NODE = 1 << 2;
export const BPF_F_RDONLY = 1 << 3;
export const BPF_F_WRONLY = 1 << 4;
export const BPF_F_ZERO_SEED = 1 << 6;
export const BPF_F_RDONLY_PROG = 1 << 7;
export const BPF_F_WRONLY_PROG = 1 << 8;
export const BPF_F_MMAPABLE = 1 << 10;
export const BPF_F_STACK_BUILD_ID = 1 << 5;
export const BPF_F_PRESERVE_ELEMS = 1 << 11;
export const BPF_F_INNER_MAP = 1 << 12;

/** Update flags (bpf_map_update_elem's last argument). */
export const BPF_ANY = 0;
export const BPF_NOEXIST = 1;
export const BPF_EXIST = 2;
export const BPF_F_LOCK = 4;

/** Program flags (prog_flags of BPF_PROG_LOAD). */
export const BPF_F_XDP_HAS_FRAGS = 1 << 5;

/** enum xdp_action. */
export const XDP_ABORTED = 0;
export const XDP_DROP = 1;
export const XDP_PASS = 2;
export const XDP_TX = 3;
export const XDP_REDIRECT = 4;
export const XDP_ACTION = { XDP_ABORTED, XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT } as const;
/** Bytes of headroom in front of an XDP frame's data (XDP_PACKET_HEADROOM). */
export const XDP_PACKET_HEADROOM = 256;

// ---- helper flags and modes (the flags arguments of the bpf_* helpers) -------------------

/** bpf_redirect / bpf_redirect_map / bpf_clone_redirect. */
export const BPF_F_INGRESS = 1 << 0;
export const BPF_F_BROADCAST = 1 << 3;
export const BPF_F_EXCLUDE_INGRESS = 1 << 4;
/** Internal to net/core/filter.c: how bpf_redirect_neigh / bpf_redirect_peer mark a redirect. */
export const BPF_F_NEIGH = 1 << 16;
export const BPF_F_PEER = 1 << 17;

/** bpf_skb_store_bytes. */
export const BPF_F_RECOMPUTE_CSUM = 1 << 0;
export const BPF_F_INVALIDATE_HASH = 1 << 1;
/** bpf_l3_csum_replace / bpf_l4_csum_replace. */
export const BPF_F_HDR_FIELD_MASK = 0xf;
export const BPF_F_PSEUDO_HDR = 1 << 4;
export const BPF_F_MARK_MANGLED_0 = 1 << 5;
export const BPF_F_MARK_ENFORCE = 1 << 6;
export const BPF_F_IPV6 = 1 << 7;
/** bpf_csum_level. */
export const BPF_CSUM_LEVEL_QUERY = 0;
export const BPF_CSUM_LEVEL_INC = 1;
export const BPF_CSUM_LEVEL_DEC = 2;
export const BPF_CSUM_LEVEL_RESET = 3;

/** bpf_skb_load_bytes_relative. */
export const BPF_HDR_START_MAC = 0;
export const BPF_HDR_START_NET = 1;

/** bpf_skb_adjust_room: mode and flags. */
export const BPF_ADJ_ROOM_NET = 0;
export const BPF_ADJ_ROOM_MAC = 1;
export const BPF_F_ADJ_ROOM_FIXED_GSO = 1 << 0;
export const BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 = 1 << 1;
export const BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 = 1 << 2;
export const BPF_F_ADJ_ROOM_ENCAP_L4_GRE = 1 << 3;
export const BPF_F_ADJ_ROOM_ENCAP_L4_UDP = 1 << 4;
export const BPF_F_ADJ_ROOM_NO_CSUM_RESET = 1 << 5;
export const BPF_F_ADJ_ROOM_ENCAP_L2_ETH = 1 << 6;
export const BPF_F_ADJ_ROOM_DECAP_L3_IPV4 = 1 << 7;
export const BPF_F_ADJ_ROOM_DECAP_L3_IPV6 = 1 << 8;

/** bpf_skb_set_tunnel_key / bpf_skb_get_tunnel_key. */
export const BPF_F_TUNINFO_IPV6 = 1 << 0;
export const BPF_F_ZERO_CSUM_TX = 1 << 1;
export const BPF_F_DONT_FRAGMENT = 1 << 2;
export const BPF_F_SEQ_NUMBER = 1 << 3;
export const BPF_F_NO_TUNNEL_KEY = 1 << 4;
export const BPF_F_TUNINFO_FLAGS = 1 << 4;

/** bpf_check_mtu. */
export const BPF_MTU_CHK_SEGS = 1;
export const BPF_MTU_CHK_RET_SUCCESS = 0;
export const BPF_MTU_CHK_RET_FRAG_NEEDED = 1;

/** bpf_perf_event_output: the CPU index in the flags' low word; BPF_F_CURRENT_CPU: this CPU's slot. */
export const BPF_F_INDEX_MASK = 0xffffffff;
export const BPF_F_CURRENT_CPU = BPF_F_INDEX_MASK;

/** bpf_get_stackid. */
export const BPF_F_SKIP_FIELD_MASK = 0xff;
export const BPF_F_USER_STACK = 1 << 8;
export const BPF_F_FAST_STACK_CMP = 1 << 9;
export const BPF_F_REUSE_STACKID = 1 << 10;

/** bpf_fib_lookup: return values and flags. */
export const BPF_FIB_LKUP_RET = {
  SUCCESS: 0, BLACKHOLE: 1, UNREACHABLE: 2, PROHIBIT: 3, NOT_FWDED: 4, FWD_DISABLED: 5,
  UNSUPP_LWT: 6, NO_NEIGH: 7, FRAG_NEEDED: 8, NO_SRC_ADDR: 9,
} as const;
export const BPF_FIB_LOOKUP_DIRECT = 1 << 0;
export const BPF_FIB_LOOKUP_OUTPUT = 1 << 1;
export const BPF_FIB_LOOKUP_SKIP_NEIGH = 1 << 2;
export const BPF_FIB_LOOKUP_TBID = 1 << 3;
export const BPF_FIB_LOOKUP_SRC = 1 << 4;

/** Limits of a program at load (include/linux/bpf.h, bpf_verifier.h). */
/** Instructions an unprivileged program may have (BPF_MAXINSNS); privileged ones may have 1M. */
export const BPF_MAXINSNS = 4096;
/** Instructions the verifier may process across all paths (BPF_COMPLEXITY_LIMIT_INSNS). */
export const BPF_COMPLEXITY_LIMIT_INSNS = 1_000_000;
/** Branches pending exploration at once (BPF_COMPLEXITY_LIMIT_JMP_SEQ). */
export const BPF_COMPLEXITY_LIMIT_JMP_SEQ = 8192;
/** Cached states per instruction before the verifier stops caching (BPF_COMPLEXITY_LIMIT_STATES). */
export const BPF_COMPLEXITY_LIMIT_STATES = 64;
/** Functions (main program + subprograms) in one program (BPF_MAX_SUBPROGS). */
export const BPF_MAX_SUBPROGS = 256;
/** Largest size a variable-size access may reach (BPF_MAX_VAR_SIZ). */
export const BPF_MAX_VAR_SIZ = 1 << 29;
/** Largest offset of a pointer the verifier tracks (BPF_MAX_VAR_OFF). */
export const BPF_MAX_VAR_OFF = 1 << 29;
/** Nesting of tail calls at run time (MAX_TAIL_CALL_CNT). */
export const MAX_TAIL_CALL_CNT = 33;
/** Bytes of the XDP/skb packet the verifier lets a pointer range cover (MAX_PACKET_OFF). */
export const MAX_PACKET_OFF = 0xffff;
/** A kernel object's name (a program's, a map's): 15 characters and a NUL. */
export const BPF_OBJ_NAME_LEN = 16;
