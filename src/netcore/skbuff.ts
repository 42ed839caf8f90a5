/**
 * The socket buffer as TC helpers see it: the fields of struct sk_buff that the kernel's
 * helpers (net/core/filter.c) read and change, over a linear packet in an arena region, and
 * the uapi context struct __sk_buff that programs read and write as plain memory.
 *
 * The context is the program's view; the SkBuff is the truth. Fields a TC program may write
 * (mark, priority, tc_index, tc_classid, queue_mapping, tstamp, cb[]) are taken from the
 * context whenever a helper runs and when the program ends (`loadCtx`), with the kernel's
 * widths (tc_index and tc_classid are u16; queue_mapping ignores writes of 0xffff and up);
 * everything else is rewritten from the SkBuff (`storeCtx`), so len, protocol, the VLAN
 * fields and data/data_end follow every helper that changes the packet.
 */
import { BPF_PROG_TYPE } from '../uapi/bpf.js';
import { PACKET_HOST } from '../uapi/if-ether.js';
import { SK_BUFF_FIELDS as SK_BUFF } from '../uapi/prog-types.js';
import type { Arena } from '../vm/arena.js';
import { HelperError } from '../vm/helper-table.js';
import type { PacketState } from './packet-state.js';
import { LOOPBACK, type NetDevice } from './net-device.js';

export const TC_PROG_TYPES: readonly number[] = [BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_CLS, BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_ACT];

/** The largest linear skb the helpers build: SKB_MAX_ALLOC = 4 pages minus skb_shared_info. */
export const BPF_SKB_MAX_LEN = 16384 - 320;

/** Tunnel metadata (struct ip_tunnel_info) that bpf_skb_set_tunnel_key attaches. */
export interface TunnelInfo {
  /** IP_TUNNEL_INFO_TX (1) | IP_TUNNEL_INFO_IPV6 (2). */
  mode: number;
  /** key.tun_id as a 64-bit number: (high, low). */
  tunIdHi: number;
  tunIdLo: number;
  tos: number;
  ttl: number;
  /** key.tun_flags, as the __be16 bit values (TUNNEL_CSUM = 1, TUNNEL_KEY = 4 …) in host order. */
  tunFlags: number;
  /** key.label in host order (IPv6 flow label, 20 bits). */
  label: number;
  /** key.u.ipv4/ipv6 .src and .dst: 16 bytes each, IPv4 in the first 4 (network order). */
  src: Uint8Array;
  dst: Uint8Array;
  options: Uint8Array | undefined;
}

/** The socket a BPF_PROG_TEST_RUN skb carries (a dummy sock with the packet's addresses). */
export interface SockInfo {
  family: number;
  src: Uint8Array;
  dst: Uint8Array;
  /** __sock_gen_cookie's value, given when first asked for. */
  cookie: number;
  /** The cgroup (v2) id of the process that made the socket. */
  cgroupId: number;
}

/** A copy of the packet that bpf_clone_redirect sent, with where it went. */
export interface CloneRecord {
  ifindex: number;
  /** BPF_F_INGRESS (1) or 0. */
  flags: number;
  /** The frame as the clone carried it (from the MAC header). */
  data: Uint8Array;
  /** The VLAN tag the clone carried out of band, if any. */
  vlan: { proto: number; tci: number } | undefined;
  mark: number;
  priority: number;
}

const UNSET = -1;

export class SkBuff {
  // Header positions as arena addresses (UNSET when not set).
  macHeader = 0;
  networkHeader = 0;
  transportHeader = UNSET;
  innerMacHeader = 0;
  innerNetworkHeader = 0;
  innerTransportHeader = 0;
  macLen = 0;
  encapsulation = false;
  innerProtocol = 0;

  /** skb->protocol, as a host-order EtherType. */
  protocol = 0;
  vlanPresent = false;
  vlanTci = 0;
  vlanProto = 0;
  pktType = PACKET_HOST;

  mark = 0;
  priority = 0;
  queueMapping = 0;
  tcIndex = 0;
  tcClassid = 0;
  readonly cb = new Uint32Array(5);
  /** qdisc_skb_cb(skb)->pkt_len: what __sk_buff->wire_len reads. */
  pktLen = 0;
  tstampLo = 0;
  tstampHi = 0;
  hwtstampLo = 0;
  hwtstampHi = 0;
  gsoSize = 0;
  gsoSegs = 0;
  gsoType = 0;
  napiId = 0;

  skbIif = 0;
  dev: NetDevice = LOOPBACK;
  /** skb_at_tc_ingress: false in BPF_PROG_TEST_RUN. */
  atIngress = false;

  hash = 0;
  l4Hash = false;
  swHash = false;

  ipSummed = 0;
  csum = 0;
  csumLevel = 0;

  tunnel: TunnelInfo | undefined;
  sk: SockInfo | undefined;
  /** Where the bpf_sock for `sk` lives in the arena (0: no socket). */
  skAddr = 0;

  constructor(
    readonly arena: Arena,
    readonly packet: PacketState,
    /** The __sk_buff in the arena. */
    readonly ctxAddr: number,
  ) {}

  get head(): number {
    return this.packet.bufferStart;
  }

  get end(): number {
    return this.packet.bufferEnd;
  }

  get data(): number {
    return this.packet.data;
  }

  get tail(): number {
    return this.packet.dataEnd;
  }

  get len(): number {
    return this.packet.dataEnd - this.packet.data;
  }

  get headroom(): number {
    return this.data - this.head;
  }

  /** skb_network_offset */
  get networkOffset(): number {
    return this.networkHeader - this.data;
  }

  get transportHeaderSet(): boolean {
    return this.transportHeader !== UNSET;
  }

  get isGso(): boolean {
    return this.gsoSize !== 0;
  }

  /** Move data and tail (both arena addresses); the context's data/data_end follow. */
  setData(data: number, tail: number): void {
    if (data < this.head || tail > this.end) {
      throw new HelperError(`skb: [${data - this.head}, ${tail - this.head}) is outside the ${this.end - this.head}-byte buffer`);
    }
    this.packet.set(data, data, tail, this.arena.view);
  }

  /** __skb_push: prepend n bytes (their content is whatever the buffer holds). */
  push(n: number): void {
    this.setData(this.data - n, this.tail);
  }

  /** __skb_pull */
  pull(n: number): void {
    this.setData(this.data + n, this.tail);
  }

  /** Grow or shrink at the end: the new bytes are zeroed. */
  setLen(len: number): void {
    const tail = this.data + len;
    if (tail > this.tail) this.arena.u8.fill(0, this.tail, tail);
    this.setData(this.data, tail);
  }

  /** skb_ensure_writable / pskb_may_pull on a linear skb: the first `len` bytes exist. */
  ensureWritable(len: number): boolean {
    return len <= this.len;
  }

  /** skb_clear_hash */
  clearHash(): void {
    this.hash = 0;
    this.swHash = false;
    this.l4Hash = false;
  }

  /** Copy the context's writable fields into the skb, with the kernel's widths and rules. */
  loadCtx(): void {
    const view = this.arena.view;
    const c = this.ctxAddr;
    this.mark = view.getUint32(c + SK_BUFF.mark, true);
    this.priority = view.getUint32(c + SK_BUFF.priority, true);
    this.tcIndex = view.getUint32(c + SK_BUFF.tc_index, true) & 0xffff;
    this.tcClassid = view.getUint32(c + SK_BUFF.tc_classid, true) & 0xffff;
    const queue = view.getUint32(c + SK_BUFF.queue_mapping, true);
    // The kernel compiles the store to nothing when the value is >= NO_QUEUE_MAPPING (0xffff).
    if (queue !== this.queueMapping && queue < 0xffff) this.queueMapping = queue;
    this.tstampLo = view.getUint32(c + SK_BUFF.tstamp, true);
    this.tstampHi = view.getUint32(c + SK_BUFF.tstamp + 4, true);
    for (let i = 0; i < 5; i++) this.cb[i] = view.getUint32(c + SK_BUFF.cb + 4 * i, true);
  }

  /** Write every field into the context, as the program reads them. */
  storeCtx(): void {
    const view = this.arena.view;
    const c = this.ctxAddr;
    const put = (off: number, v: number): void => view.setUint32(c + off, v >>> 0, true);
    put(SK_BUFF.len, this.len);
    put(SK_BUFF.pkt_type, this.pktType);
    put(SK_BUFF.mark, this.mark);
    put(SK_BUFF.queue_mapping, this.queueMapping);
    put(SK_BUFF.protocol, swap16(this.protocol));
    put(SK_BUFF.vlan_present, this.vlanPresent ? 1 : 0);
    put(SK_BUFF.vlan_tci, this.vlanTci);
    put(SK_BUFF.vlan_proto, swap16(this.vlanProto));
    put(SK_BUFF.priority, this.priority);
    put(SK_BUFF.ingress_ifindex, this.skbIif);
    put(SK_BUFF.ifindex, this.dev.ifindex);
    put(SK_BUFF.tc_index, this.tcIndex);
    for (let i = 0; i < 5; i++) put(SK_BUFF.cb + 4 * i, this.cb[i]);
    put(SK_BUFF.hash, this.hash);
    put(SK_BUFF.tc_classid, this.tcClassid);
    put(SK_BUFF.napi_id, this.napiId);
    put(SK_BUFF.tstamp, this.tstampLo);
    put(SK_BUFF.tstamp + 4, this.tstampHi);
    put(SK_BUFF.wire_len, this.pktLen);
    put(SK_BUFF.gso_segs, this.gsoSegs);
    put(SK_BUFF.sk, this.sk ? this.skAddr : 0);
    put(SK_BUFF.sk + 4, 0);
    put(SK_BUFF.gso_size, this.gsoSize);
    view.setUint8(c + SK_BUFF.tstamp_type, 0);
    put(SK_BUFF.hwtstamp, this.hwtstampLo);
    put(SK_BUFF.hwtstamp + 4, this.hwtstampHi);
    // data, data_end and data_meta are kept by PacketState.
    this.packet.set(this.data, this.data, this.tail, view);
  }

  /** What every helper does first and last: take the program's writes, then show the truth. */
  syncCtx(): void {
    this.loadCtx();
    this.storeCtx();
  }

  /** The packet's bytes from data to tail (a copy). */
  bytes(): Uint8Array {
    return this.arena.u8.slice(this.data, this.tail);
  }
}

export const swap16 = (v: number): number => ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
