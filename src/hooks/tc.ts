/**
 * The TC hook (clsact: BPF_PROG_TYPE_SCHED_CLS and SCHED_ACT): struct __sk_buff in the arena,
 * a socket buffer (helpers/skb-model.ts) over a linear packet region, and one program run the
 * way the kernel's BPF_PROG_TEST_RUN runs it (net/bpf/test_run.c, bpf_prog_test_run_skb),
 * established by experiment on Linux 6.18 (test/hooks/tc.test.ts checks it against the kernel):
 *
 * - data_in is 14..3712 bytes (PAGE_SIZE - NET_SKB_PAD - skb_shared_info); an IPv4 frame
 *   needs 20 bytes after the Ethernet header and an IPv6 frame 40, or EINVAL.
 * - The frame enters as eth_type_trans makes it: the device is the loopback (or ctx_in's
 *   ifindex: ENODEV if there is none), pkt_type compares the destination MAC with the device's
 *   (the loopback's address and broadcast address are both zero: ff:ff:… is MULTICAST),
 *   protocol is the EtherType (or ETH_P_802_3 / ETH_P_802_2 for lengths), the network header
 *   follows the Ethernet header, and data points at the MAC header again for the program.
 * - ctx_in may set only mark, priority, ingress_ifindex, ifindex, cb[], tstamp, wire_len
 *   (0 = len; else len..65536), gso_segs (≤ 65535), gso_size and hwtstamp; any other byte
 *   non-zero is EINVAL, bytes past the 192-byte struct non-zero E2BIG. Without a context the
 *   program reads wire_len 0.
 * - ctx_out is ctx_in (or zeros) with mark, priority, ingress_ifindex, ifindex, tstamp, cb[],
 *   wire_len, gso_segs and hwtstamp written back; data_out is the whole linear packet from
 *   skb->data (a VLAN tag held out of band by the skb is not in it).
 * - The skb carries a dummy socket (skb->sk is not NULL): family and addresses from the IP
 *   header, the creating process's cgroup, a fresh cookie.
 */
import { XdplabError } from '../errors.js';
import type { RunEnv } from '../helpers/env.js';
import { PacketState } from '../netcore/packet-state.js';
import { LOOPBACK, deviceByIndex, type DeviceTable, type NetDevice } from '../netcore/net-device.js';
import { SkBuff, type CloneRecord } from '../netcore/skbuff.js';
import type { Program } from '../runtime/program.js';
import type { Runtime } from '../runtime/runtime.js';
import { REGION_READ, REGION_WRITE, type Region } from '../vm/arena.js';
import { errnoName } from '../uapi/errno.js';
import {
  ETH_HLEN, ETH_P_802_2, ETH_P_802_3, ETH_P_8021AD, ETH_P_8021Q, ETH_P_802_3_MIN, ETH_P_IP, ETH_P_IPV6, PACKET_BROADCAST, PACKET_HOST,
  PACKET_MULTICAST, PACKET_OTHERHOST, VLAN_HLEN,
} from '../uapi/if-ether.js';
import { AF_INET, AF_INET6 } from '../uapi/in.js';
import { TC_ACT } from '../uapi/pkt-cls.js';
import {
  BPF_SOCK_FIELDS as BPF_SOCK, BPF_SOCK_SIZE, SK_BUFF_FIELDS as SK_BUFF, SK_BUFF_SIZE,
} from '../uapi/prog-types.js';

/** Where a clsact program runs on the kernel's path (replay), as opposed to a test run. */
export type TcDirection = 'ingress' | 'egress';

const ACTION_NAMES = new Map<number, string>(Object.entries(TC_ACT).map(([name, value]) => [value >>> 0, name]));

/** The name of a TC program's return value (a u32 as BPF_PROG_TEST_RUN reports it). */
export const tcActionName = (retval: number): string => ACTION_NAMES.get(retval >>> 0) ?? `TC_ACT_UNKNOWN(${retval | 0})`;

/** NET_SKB_PAD + NET_IP_ALIGN on x86-64: the headroom a test-run skb starts with. */
export const TC_TEST_RUN_HEADROOM = 64;
/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) */
const SKB_SHARED_INFO = 320;
/** The largest data_in BPF_PROG_TEST_RUN takes for an skb. */
export const TC_MAX_PACKET = 4096 - TC_TEST_RUN_HEADROOM - SKB_SHARED_INFO;
/** The packet region: room for the helpers to grow the packet at the head and at the tail. */
const BUFFER_BYTES = 64 * 1024;
const DATA_START = 48 * 1024;
/** The largest frame loadPath takes: the buffer past DATA_START, less the shared-info tail. */
export const TC_PATH_MAX_PACKET = BUFFER_BYTES - DATA_START - SKB_SHARED_INFO;
/** Bytes cleared on either side of the window a packet touched (see clearBuffer). */
const CLEAR_MARGIN = 64;
const GSO_LEGACY_MAX_SIZE = 65536;
const GSO_MAX_SEGS = 65535;
const TCP_CLOSE = 7;

/** BPF_PROG_TEST_RUN refused the input, as the kernel refuses it (with its errno). */
export class TestRunError extends XdplabError {
  constructor(readonly errno: number, message: string) {
    super('BAD_INPUT', `${message} (${errnoName(errno)})`);
  }
}

export interface TcRunInput {
  /** data_in: an Ethernet frame. */
  data: Uint8Array;
  /** ctx_in: a struct __sk_buff (or a prefix of one). */
  ctx?: Uint8Array;
  /** ctx_out was asked for without ctx_in: the kernel then runs with a zeroed context. */
  ctxOut?: boolean;
  /** Runs on the same skb, as `repeat` does in the kernel (state carries over). Default 1. */
  repeat?: number;
  cpu?: number;
  /** Devices ctx_in's ifindex and the helpers may name (default: the loopback only). */
  devices?: DeviceTable;
  /** The cgroup v2 id of the "process" that made the test socket (bpf_skb_cgroup_id). Default 1, the root. */
  cgroupId?: number;
}

export interface TcRunResult {
  retval: number;
  /** The packet after the run, from skb->data. */
  dataOut: Uint8Array;
  /** The __sk_buff after the run as BPF_PROG_TEST_RUN returns it (192 bytes), or empty without ctx_in/ctx_out. */
  ctxOut: Uint8Array;
  durationNs: number;
  trace: string[];
  /** What bpf_clone_redirect sent. */
  clones: CloneRecord[];
  env: RunEnv;
  skb: SkBuff;
}

/** One TC context, socket buffer and dummy socket in a runtime's arena, reused run after run. */
export class TcHook {
  readonly ctx: Region;
  readonly buffer: Region;
  readonly sock: Region;
  readonly packet: PacketState;
  readonly skb: SkBuff;
  readonly env: RunEnv;
  /** LD_ABS / LD_IND read the packet from skb->data, wherever the helpers moved it. */
  private readonly legacyPacket: { readonly dataStart: number; readonly dataEnd: number };

  constructor(readonly runtime: Runtime) {
    const arena = runtime.arena;
    this.ctx = arena.alloc(SK_BUFF_SIZE, 'context', '__sk_buff', REGION_READ | REGION_WRITE);
    this.buffer = arena.alloc(BUFFER_BYTES, 'packet', 'skb data');
    this.sock = arena.alloc(BPF_SOCK_SIZE, 'context', 'bpf_sock', REGION_READ);
    const c = this.ctx.start;
    this.packet = new PacketState(this.buffer, c + SK_BUFF.data, c + SK_BUFF.data_end, c + SK_BUFF.data_meta);
    this.skb = new SkBuff(arena, this.packet, c);
    this.skb.skAddr = this.sock.start;
    const skb = this.skb;
    this.legacyPacket = { get dataStart() { return skb.data; }, get dataEnd() { return skb.tail; } };
    this.env = {
      host: runtime, cpu: 0, progType: 0, ctxAddr: c, packet: this.packet, trace: [], redirect: undefined, ingressIfindex: 0,
      skb: this.skb, clones: [],
    };
  }

  /**
   * Build the skb BPF_PROG_TEST_RUN builds for `data` on `dev` (before the context is applied):
   * returns false when the kernel would refuse the frame (a short IP header).
   */
  load(data: Uint8Array, dev: NetDevice, cgroupId: number): boolean {
    const { u8, view } = this.runtime.arena;
    const skb = this.skb;
    this.clearBuffer();
    const start = this.buffer.base + DATA_START;
    u8.set(data, start);
    resetSkb(skb);
    skb.dev = dev;
    skb.setData(start, start + data.length);
    // eth_type_trans: MAC header here, pkt_type from the destination, then the header is pulled.
    skb.macHeader = start;
    skb.pktType = packetType(data, dev);
    const type = (data[12] << 8) | data[13];
    skb.pull(ETH_HLEN);
    if (type >= ETH_P_802_3_MIN) skb.protocol = type;
    else skb.protocol = data.length >= ETH_HLEN + 2 && data[14] === 0xff && data[15] === 0xff ? ETH_P_802_3 : ETH_P_802_2;
    skb.networkHeader = skb.data;
    // The test socket takes its family and addresses from the IP header.
    const sk = { family: 0, src: new Uint8Array(16), dst: new Uint8Array(16), cookie: 0, cgroupId };
    const l3 = data.length - ETH_HLEN;
    if (skb.protocol === ETH_P_IP) {
      if (l3 < 20) return false;
      sk.family = AF_INET;
      sk.src.set(data.subarray(26, 30));
      sk.dst.set(data.subarray(30, 34));
    } else if (skb.protocol === ETH_P_IPV6) {
      if (l3 < 40) return false;
      sk.family = AF_INET6;
      sk.src.set(data.subarray(22, 38));
      sk.dst.set(data.subarray(38, 54));
    }
    skb.sk = sk;
    writeSock(view, this.sock.start, sk);
    // A TC program sees the frame from its MAC header.
    skb.push(ETH_HLEN);
    return true;
  }



  /**
   * Zero what the last packet can have left in the buffer: every byte a program or helper can
   * write lies in the window data_meta..data_end has covered since the last clear (PacketState
   * tracks it), so that window (and a margin) is cleared instead of all 64 KiB.
   */
  private clearBuffer(): void {
    const packet = this.packet;
    const base = this.buffer.base;
    const from = Math.max(base, packet.touchedStart - CLEAR_MARGIN);
    const to = Math.min(base + BUFFER_BYTES, packet.touchedEnd + CLEAR_MARGIN);
    if (to > from) this.runtime.arena.u8.fill(0, from, to);
    packet.resetTouched();
  }

  /**
   * Build the skb the kernel's own path hands a clsact program (not a test run's): the frame,
   * `frameLength` bytes already copied to `frameAddress()`, seen on `dev` at `direction`.
   *
   * Ingress, as __netif_receive_skb_core leaves it for sch_handle_ingress: eth_type_trans
   * (pkt_type from the destination MAC against the device's, protocol from the EtherType), an
   * outer 802.1Q / 802.1ad tag taken out of band (skb_vlan_untag), network and transport
   * headers at L3, mac_len, skb_iif = the device, tc_at_ingress, queue_mapping = RX queue + 1
   * (skb_record_rx_queue), the NIC's RSS hash, wire_len = skb->len before the MAC header is
   * pushed back for the program; no socket.
   * Egress, as __dev_queue_xmit leaves it for sch_handle_egress: the frame from its MAC header
   * (a VLAN tag stays in band), pkt_type PACKET_HOST (what locally sent and forwarded skbs
   * carry; PACKET_OUTGOING only marks the copies given to packet taps), network and transport
   * headers set, skb_iif 0, queue_mapping 0, wire_len = len (qdisc_pkt_len_init), the flow
   * hash as the socket's; no socket (a capture does not say which one sent it).
   * Both: mark, priority, cb, tc_index, tstamp, GSO fields 0. Returns false when the frame is
   * shorter than an Ethernet header.
   */
  loadPath(frameLength: number, direction: TcDirection, dev: NetDevice, hash: number, l4Hash: boolean, rxQueue: number): boolean {
    if (frameLength < ETH_HLEN || frameLength > TC_PATH_MAX_PACKET) return false;
    const u8 = this.runtime.arena.u8;
    const skb = this.skb;
    const start = this.buffer.base + DATA_START;
    resetSkb(skb);
    skb.dev = dev;
    skb.setData(start, start + frameLength);
    skb.macHeader = start;
    let type = (u8[start + 12] << 8) | u8[start + 13];
    if (direction === 'ingress') {
      skb.pktType = packetTypeAt(u8, start, dev);
      skb.pull(ETH_HLEN);
      if (type >= ETH_P_802_3_MIN) skb.protocol = type;
      else skb.protocol = frameLength >= ETH_HLEN + 2 && u8[start + 14] === 0xff && u8[start + 15] === 0xff ? ETH_P_802_3 : ETH_P_802_2;
      if ((type === ETH_P_8021Q || type === ETH_P_8021AD) && skb.len >= VLAN_HLEN) {
        // skb_vlan_untag: the tag goes out of band and the MAC addresses move up over it.
        skb.vlanPresent = true;
        skb.vlanProto = type;
        skb.vlanTci = (u8[start + 14] << 8) | u8[start + 15];
        type = (u8[start + 16] << 8) | u8[start + 17];
        skb.protocol = type >= ETH_P_802_3_MIN ? type : ETH_P_802_2;
        skb.pull(VLAN_HLEN);
        u8.copyWithin(start + VLAN_HLEN, start, start + 12);
        skb.macHeader = start + VLAN_HLEN;
      }
      skb.networkHeader = skb.data;
      skb.transportHeader = skb.data;
      skb.macLen = skb.networkHeader - skb.macHeader;
      skb.skbIif = dev.ifindex;
      skb.atIngress = true;
      skb.queueMapping = rxQueue + 1;
      skb.pktLen = skb.len;
      skb.push(skb.macLen);
    } else {
      skb.pktType = PACKET_HOST;
      let nh = start + ETH_HLEN;
      for (let tags = 0; tags < 2 && (type === ETH_P_8021Q || type === ETH_P_8021AD) && nh + VLAN_HLEN <= start + frameLength; tags++) {
        type = (u8[nh + 2] << 8) | u8[nh + 3];
        nh += VLAN_HLEN;
      }
      skb.protocol = (u8[start + 12] << 8) | u8[start + 13];
      if (skb.protocol < ETH_P_802_3_MIN) skb.protocol = ETH_P_802_2;
      skb.networkHeader = nh;
      skb.macLen = nh - start;
      const end = start + frameLength;
      if (type === ETH_P_IP && nh + 20 <= end) skb.transportHeader = nh + (u8[nh] & 15) * 4;
      else if (type === ETH_P_IPV6 && nh + 40 <= end) skb.transportHeader = nh + 40;
      skb.pktLen = frameLength;
    }
    skb.hash = hash;
    skb.l4Hash = l4Hash && hash !== 0;
    return true;
  }

  /**
   * The frame as it goes on the wire (or into a capture): skb->data to the tail, with a VLAN
   * tag the skb holds out of band put back after the MAC addresses — what validate_xmit_vlan
   * does for a device without TX VLAN offload. Written into `into` when given (a view of it is
   * returned), else into a new array.
   */
  wireFrame(into?: Uint8Array): Uint8Array {
    const skb = this.skb;
    const u8 = this.runtime.arena.u8;
    const len = skb.tail - skb.data;
    const tagged = skb.vlanPresent && len >= 12;
    const out = into ? into.subarray(0, len + (tagged ? VLAN_HLEN : 0)) : new Uint8Array(len + (tagged ? VLAN_HLEN : 0));
    if (!tagged) {
      out.set(u8.subarray(skb.data, skb.tail));
      return out;
    }
    out.set(u8.subarray(skb.data, skb.data + 12), 0);
    out[12] = skb.vlanProto >>> 8;
    out[13] = skb.vlanProto & 0xff;
    out[14] = skb.vlanTci >>> 8;
    out[15] = skb.vlanTci & 0xff;
    out.set(u8.subarray(skb.data + 12, skb.tail), 16);
    return out;
  }

  /** Where loadPath expects the frame: copy it here first (after `beginPath()`). */
  frameAddress(): number {
    return this.buffer.base + DATA_START;
  }

  /** Clear what the last packet left, before a frame is copied to frameAddress(). */
  beginPath(devices: DeviceTable | undefined): void {
    this.clearBuffer();
    this.env.devices = devices;
    this.env.trace.length = 0;
    if (this.env.clones && this.env.clones.length) this.env.clones.length = 0;
  }

  /** Run the program once on the loaded skb; returns its verdict. */
  runOnce(program: Program, cpu: number): number {
    const env = this.env;
    const skb = this.skb;
    env.cpu = cpu;
    env.progType = program.type;
    env.redirect = undefined;
    env.ingressIfindex = skb.skbIif;
    const engine = this.runtime.engine;
    engine.env = env;
    // r1 = the context, r2..r9 zero: set in place (a RunArgs object would be allocated per run).
    const regs = engine.regs;
    regs.fill(0, 0, 20);
    regs[2] = this.ctx.start;
    engine.legacyPacket = this.legacyPacket;
    skb.storeCtx();
    try {
      return engine.run(program.image);
    } finally {
      engine.legacyPacket = undefined;
      skb.syncCtx();
    }
  }

  /** BPF_PROG_TEST_RUN for a SCHED_CLS / SCHED_ACT program. */
  testRun(program: Program, input: TcRunInput): TcRunResult {
    const size = input.data.length;
    if (size < ETH_HLEN || size > TC_MAX_PACKET) {
      throw new TestRunError(22, `data_in: ${size} bytes; a test run takes ${ETH_HLEN}..${TC_MAX_PACKET}`);
    }
    const ctx = contextIn(input);
    const cview = ctx ? new DataView(ctx.buffer) : undefined;
    let dev = deviceByIndex(input.devices, 1) ?? LOOPBACK;
    if (cview && cview.getUint32(SK_BUFF.ifindex, true) > 1) {
      const ifindex = cview.getUint32(SK_BUFF.ifindex, true);
      const found = deviceByIndex(input.devices, ifindex);
      if (!found) throw new TestRunError(19, `ctx_in: no device with ifindex ${ifindex}`);
      dev = found;
    }
    this.env.devices = input.devices;
    if (!this.load(input.data, dev, input.cgroupId ?? 1)) {
      throw new TestRunError(22, `data_in: ${size} bytes is too short for the ${this.skb.protocol === ETH_P_IP ? 'IPv4' : 'IPv6'} header its EtherType announces`);
    }
    if (cview) applyContext(this.skb, cview);
    this.env.trace.length = 0;
    this.env.clones = [];
    const repeat = Math.max(1, input.repeat ?? 1);
    let retval = 0;
    this.runtime.prepareAll(); // the duration is the program's run, not its compilation
    const started = process.hrtime.bigint();
    for (let i = 0; i < repeat; i++) retval = this.runOnce(program, input.cpu ?? 0);
    const durationNs = Number(process.hrtime.bigint() - started) / repeat;
    return {
      retval,
      dataOut: this.skb.bytes(),
      ctxOut: ctx ? contextOut(this.skb, ctx) : new Uint8Array(0),
      durationNs,
      trace: [...this.env.trace],
      clones: [...(this.env.clones ?? [])],
      env: this.env,
      skb: this.skb,
    };
  }
}

function resetSkb(skb: SkBuff): void {
  skb.transportHeader = -1;
  skb.innerMacHeader = skb.innerNetworkHeader = skb.innerTransportHeader = 0;
  skb.macLen = 0;
  skb.encapsulation = false;
  skb.innerProtocol = 0;
  skb.vlanPresent = false;
  skb.vlanTci = skb.vlanProto = 0;
  skb.mark = skb.priority = skb.queueMapping = skb.tcIndex = skb.tcClassid = 0;
  skb.cb.fill(0);
  skb.pktLen = 0;
  skb.tstampLo = skb.tstampHi = skb.hwtstampLo = skb.hwtstampHi = 0;
  skb.gsoSize = skb.gsoSegs = skb.gsoType = 0;
  skb.napiId = 0;
  skb.skbIif = 0;
  skb.atIngress = false;
  skb.clearHash();
  skb.ipSummed = 0;
  skb.csum = 0;
  skb.csumLevel = 0;
  skb.tunnel = undefined;
  skb.sk = undefined;
}

/** eth_skb_pkt_type */
function packetType(frame: Uint8Array, dev: NetDevice): number {
  const dst = frame.subarray(0, 6);
  if (equalMac(dst, dev.mac)) return PACKET_HOST;
  if (dst[0] & 1) return equalMac(dst, dev.broadcast) ? PACKET_BROADCAST : PACKET_MULTICAST;
  return PACKET_OTHERHOST;
}

const equalMac = (a: Uint8Array, b: Uint8Array): boolean => a.every((x, i) => x === b[i]);

/** eth_skb_pkt_type on a frame in the arena at `at` (nothing allocates). */
function packetTypeAt(u8: Uint8Array, at: number, dev: NetDevice): number {
  if (macAt(u8, at, dev.mac)) return PACKET_HOST;
  if (u8[at] & 1) return macAt(u8, at, dev.broadcast) ? PACKET_BROADCAST : PACKET_MULTICAST;
  return PACKET_OTHERHOST;
}

function macAt(u8: Uint8Array, at: number, mac: Uint8Array): boolean {
  for (let i = 0; i < 6; i++) if (u8[at + i] !== mac[i]) return false;
  return true;
}

/** struct bpf_sock for the test socket. */
function writeSock(view: DataView, at: number, sk: { family: number; src: Uint8Array; dst: Uint8Array }): void {
  for (let i = 0; i < BPF_SOCK_SIZE; i += 4) view.setUint32(at + i, 0, true);
  view.setUint32(at + BPF_SOCK.family, sk.family, true);
  const u8 = new Uint8Array(view.buffer);
  if (sk.family === AF_INET) {
    u8.set(sk.src.subarray(0, 4), at + BPF_SOCK.src_ip4);
    u8.set(sk.dst.subarray(0, 4), at + BPF_SOCK.dst_ip4);
  } else if (sk.family === AF_INET6) {
    u8.set(sk.src, at + BPF_SOCK.src_ip6);
    u8.set(sk.dst, at + BPF_SOCK.dst_ip6);
  }
  view.setUint32(at + BPF_SOCK.state, TCP_CLOSE, true);
  view.setInt32(at + BPF_SOCK.rx_queue_mapping, -1, true);
}

/** bpf_ctx_init: ctx_in padded to the struct; bytes past it must be zero (E2BIG). */
function contextIn(input: TcRunInput): Uint8Array | undefined {
  if (!input.ctx) return input.ctxOut ? new Uint8Array(SK_BUFF_SIZE) : undefined;
  if (input.ctx.length > SK_BUFF_SIZE && input.ctx.subarray(SK_BUFF_SIZE).some((b) => b !== 0)) {
    throw new TestRunError(7, `ctx_in: bytes past the ${SK_BUFF_SIZE}-byte __sk_buff must be zero`);
  }
  const ctx = new Uint8Array(SK_BUFF_SIZE);
  ctx.set(input.ctx.subarray(0, SK_BUFF_SIZE));
  return ctx;
}

/** The fields ctx_in may set (convert___skb_to_skb); every other byte must be zero. */
const CTX_IN_FIELDS: ReadonlyArray<[number, number]> = [
  [SK_BUFF.mark, 4], [SK_BUFF.priority, 4], [SK_BUFF.ingress_ifindex, 4], [SK_BUFF.ifindex, 4], [SK_BUFF.cb, 20],
  [SK_BUFF.tstamp, 8], [SK_BUFF.wire_len, 4], [SK_BUFF.gso_segs, 4], [SK_BUFF.gso_size, 4], [SK_BUFF.hwtstamp, 8],
];

function applyContext(skb: SkBuff, ctx: DataView): void {
  const allowed = new Uint8Array(SK_BUFF_SIZE);
  for (const [off, len] of CTX_IN_FIELDS) allowed.fill(1, off, off + len);
  for (let i = 0; i < SK_BUFF_SIZE; i++) {
    if (!allowed[i] && ctx.getUint8(i) !== 0) {
      const field = Object.entries(SK_BUFF).filter(([, off]) => off <= i).pop()?.[0] ?? '?';
      throw new TestRunError(22, `ctx_in: ${field} cannot be set (only mark, priority, ingress_ifindex, ifindex, cb, tstamp, wire_len, gso_segs, gso_size and hwtstamp can)`);
    }
  }
  const u32 = (off: number): number => ctx.getUint32(off, true);
  skb.mark = u32(SK_BUFF.mark);
  skb.priority = u32(SK_BUFF.priority);
  skb.skbIif = u32(SK_BUFF.ingress_ifindex);
  skb.tstampLo = u32(SK_BUFF.tstamp);
  skb.tstampHi = u32(SK_BUFF.tstamp + 4);
  for (let i = 0; i < 5; i++) skb.cb[i] = u32(SK_BUFF.cb + 4 * i);
  const wireLen = u32(SK_BUFF.wire_len);
  if (wireLen === 0) skb.pktLen = skb.len;
  else if (wireLen < skb.len || wireLen > GSO_LEGACY_MAX_SIZE) {
    throw new TestRunError(22, `ctx_in: wire_len ${wireLen} must be 0 or ${skb.len}..${GSO_LEGACY_MAX_SIZE}`);
  } else skb.pktLen = wireLen;
  const gsoSegs = u32(SK_BUFF.gso_segs);
  if (gsoSegs > GSO_MAX_SEGS) throw new TestRunError(22, `ctx_in: gso_segs ${gsoSegs} is more than ${GSO_MAX_SEGS}`);
  skb.gsoSegs = gsoSegs;
  skb.gsoSize = u32(SK_BUFF.gso_size) & 0xffff;
  skb.hwtstampLo = u32(SK_BUFF.hwtstamp);
  skb.hwtstampHi = u32(SK_BUFF.hwtstamp + 4);
}

/** convert_skb_to___skb: the fields written back over ctx_in. */
function contextOut(skb: SkBuff, ctxIn: Uint8Array): Uint8Array {
  const out = ctxIn.slice();
  const view = new DataView(out.buffer);
  const put = (off: number, v: number): void => view.setUint32(off, v >>> 0, true);
  put(SK_BUFF.mark, skb.mark);
  put(SK_BUFF.priority, skb.priority);
  put(SK_BUFF.ingress_ifindex, skb.skbIif);
  put(SK_BUFF.ifindex, skb.dev.ifindex);
  put(SK_BUFF.tstamp, skb.tstampLo);
  put(SK_BUFF.tstamp + 4, skb.tstampHi);
  for (let i = 0; i < 5; i++) put(SK_BUFF.cb + 4 * i, skb.cb[i]);
  put(SK_BUFF.wire_len, skb.pktLen);
  put(SK_BUFF.gso_segs, skb.gsoSegs);
  put(SK_BUFF.hwtstamp, skb.hwtstampLo);
  put(SK_BUFF.hwtstamp + 4, skb.hwtstampHi);
  return out;
}
