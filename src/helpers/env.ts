/**
 * What helpers see of the machine. helpers/ sits below runtime/, so it names what it needs
 * as interfaces (HelperHost, RunEnv) that the runtime implements and fills for each run.
 */
import type { BpfMap } from '../maps/map.js';
import type { Fib } from './fib.js';
import type { Arena, Region } from '../vm/arena.js';
import type { HelperCall } from '../vm/helper-table.js';
import type { ProgramImage } from '../vm/image.js';
import type { CloneRecord, DeviceTable, SkBuff } from './skb-model.js';
import type { XdpFrags } from './xdp-frags.js';

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

/**
 * A packet in the arena: one region holding headroom + data + tailroom, and the offsets of
 * data_meta, data and data_end inside it. The program may touch only [data_meta, data_end):
 * the region's accessible window follows every change, and so do the context's fields.
 */
export class PacketState {
  dataMeta = 0;
  data = 0;
  dataEnd = 0;
  /**
   * The lowest data_meta and highest data_end since `resetTouched()`: every byte a program or
   * a helper could have written lies inside, so a hook reusing the buffer zeroes only that.
   */
  touchedStart = 0;
  touchedEnd = 0;
  /** An XDP frame's fragments past data_end (multi-buffer frames), reached only by helpers. */
  frags: XdpFrags | undefined = undefined;

  constructor(
    readonly region: Region,
    /** Where in the context the u32 data / data_end / data_meta fields live (arena addresses). */
    private readonly ctxData: number,
    private readonly ctxDataEnd: number,
    private readonly ctxDataMeta: number,
  ) {
    // Until a first reset, assume the whole buffer was touched.
    this.touchedStart = region.base;
    this.touchedEnd = region.base + region.capacity;
  }

  /** The first and one-past-last byte a program may use: the whole allocation. */
  get bufferStart(): number {
    return this.region.base;
  }

  get bufferEnd(): number {
    return this.region.base + this.region.capacity;
  }

  /** The linear part's length (data_end - data); xdpGetBuffLen adds the fragments. */
  get length(): number {
    return this.dataEnd - this.data;
  }

  /** Set the three pointers (arena addresses), then bounds and context fields follow them. */
  set(dataMeta: number, data: number, dataEnd: number, view: DataView): void {
    this.dataMeta = dataMeta;
    this.data = data;
    this.dataEnd = dataEnd;
    if (dataMeta < this.touchedStart) this.touchedStart = dataMeta;
    if (dataEnd > this.touchedEnd) this.touchedEnd = dataEnd;
    this.region.setBounds(dataMeta, dataEnd);
    view.setUint32(this.ctxData, data, true);
    view.setUint32(this.ctxDataEnd, dataEnd, true);
    if (this.ctxDataMeta >= 0) view.setUint32(this.ctxDataMeta, dataMeta, true);
  }

  /** Start tracking the touched window afresh (empty). */
  resetTouched(): void {
    this.touchedStart = this.region.base + this.region.capacity;
    this.touchedEnd = this.region.base;
  }

  /** A copy of the packet's bytes [data, data_end). */
  bytes(u8: Uint8Array): Uint8Array {
    return u8.slice(this.data, this.dataEnd);
  }
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
  /** The socket buffer, for TC programs (helpers/skb-model.ts). */
  skb?: SkBuff;
  /** Copies of the packet bpf_clone_redirect sent during the run, in order. */
  clones?: CloneRecord[];
  /** Devices helpers can name by ifindex (bpf_check_mtu, bpf_clone_redirect); default: the loopback only. */
  devices?: DeviceTable;
}

export const envOf = (call: HelperCall): RunEnv => call.env as RunEnv;
