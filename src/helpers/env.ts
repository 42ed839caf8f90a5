/**
 * What helpers see of the machine. helpers/ sits below runtime/, so it names what it needs
 * as interfaces (HelperHost, RunEnv) that the runtime implements and fills for each run.
 */
import type { BpfMap } from '../maps/map.js';
import type { Fib } from '../netcore/fib.js';
import type { Arena } from '../vm/arena.js';
import type { HelperCall } from '../vm/helper-table.js';
import type { ProgramImage } from '../vm/image.js';
import type { DeviceTable } from '../netcore/net-device.js';
import type { PacketState } from '../netcore/packet-state.js';
import type { CloneRecord, SkBuff } from '../netcore/skbuff.js';

/** The machine-wide services: maps and programs by reference, time, randomness. */
export interface HelperHost {
  readonly arena: Arena;
  readonly cpus: number;
  /** The map whose header is at `addr` (what `lddw rX, map` loads), or undefined. */
  mapAt(addr: number): BpfMap | undefined;
  /** A map by id (prog arrays and maps of maps hold ids). */
  mapById(id: number): BpfMap | undefined;
  /** A loaded program's image by id, for bpf_tail_call. */
  programById(id: number): ProgramImage | undefined;
  /** CLOCK_MONOTONIC in ns (in replay: the packet's capture time). */
  nowNs(): number;
  /** CLOCK_BOOTTIME in ns. */
  bootNs(): number;
  /** The seeded PRNG's next u32. */
  prandomU32(): number;
  /** A new socket cookie (bpf_get_socket_cookie): the machine's counter, so equal machines give equal cookies. */
  nextSocketCookie(): number;
  /** The object `make` makes for this machine, made once (per-machine state of a helper). */
  own<T>(make: (host: HelperHost) => T): T;
  /** The node's routes, neighbours and devices for bpf_fib_lookup (none: loopback only). */
  readonly fib?: Fib;
}

/** Where a bpf_redirect* asked the packet to go; read by the hook after the program returns. */
export interface RedirectTarget {
  kind: 'ifindex' | 'devmap' | 'cpumap' | 'xskmap';
  /** Interface index (ifindex, devmap) or CPU (cpumap). */
  target: number;
  flags: number;
  /** The devmap or cpumap entry's program id, when it has one. */
  entryProgramId?: number;
  /** For devmap broadcast (BPF_F_BROADCAST): the map. */
  map?: BpfMap;
}

/** Per-run state a helper reaches through HelperCall.env. */
export interface RunEnv {
  readonly host: HelperHost;
  /** The CPU the program runs on (per-CPU maps, bpf_get_smp_processor_id). */
  cpu: number;
  /** The program type (BPF_PROG_TYPE_*), for helpers that behave per type. */
  progType: number;
  /** Address of the context the program got in r1. */
  ctxAddr: number;
  /** The packet, for networking programs. */
  packet: PacketState | undefined;
  /** Lines the program printed with bpf_trace_printk, in order. */
  readonly trace: string[];
  /** Set by bpf_redirect / bpf_redirect_map. */
  redirect: RedirectTarget | undefined;
  /** The interface the packet arrived on (bpf_redirect's BPF_F_INGRESS, fib lookups). */
  ingressIfindex: number;
  /** The socket buffer, for TC programs (netcore/skbuff.ts). */
  skb?: SkBuff;
  /** Copies of the packet bpf_clone_redirect sent during the run, in order. */
  clones?: CloneRecord[];
  /** Devices helpers can name by ifindex (bpf_check_mtu, bpf_clone_redirect); default: the loopback only. */
  devices?: DeviceTable;
}

export const envOf = (call: HelperCall): RunEnv => call.env as RunEnv;
