/**
 * Replay: one program at one hook, fed packet after packet as the kernel's own path feeds it
 * (not as BPF_PROG_TEST_RUN does), with the machine's state carried over between packets.
 *
 * - XDP: the frame in a reused XDP frame (256 bytes of headroom), xdp_md with ingress_ifindex
 *   = the replay device's and rx_queue_index = the packet's RX queue.
 * - tc-ingress / tc-egress: the skb the receive / transmit path builds (TcHook.loadPath).
 * - The RX queue, and so the CPU (per-CPU maps, bpf_get_smp_processor_id), comes from the
 *   packet's flow: the Toeplitz RSS hash and the default indirection table (flow-hash.ts).
 * - bpf_ktime_get_ns reads the packet's capture time, counted from the first packet's and
 *   never going back (a capture with an earlier timestamp than the one before reads the same
 *   time again) — DESIGN.md, "Determinism". bpf_get_prandom_u32 is the runtime's seeded PRNG.
 *
 * The per-packet path allocates nothing and uses no BigInt: the caller's bytes are copied into
 * the arena once, the verdict is read back, and what a packet left behind is cleared in place.
 */
import { XdplabError } from '../errors.js';
import type { PacketState } from '../netcore/packet-state.js';
import { XDP_FRAG_SIZE } from '../netcore/xdp-frags.js';
import { LOOPBACK, ethernetDevice, type DeviceTable, type NetDevice } from '../netcore/net-device.js';
import type { Program } from '../runtime/program.js';
import type { Runtime } from '../runtime/runtime.js';
import { BPF_F_INGRESS, BPF_PROG_TYPE, XDP_PASS, XDP_REDIRECT, XDP_TX } from '../uapi/bpf.js';
import { ETH_HLEN } from '../uapi/if-ether.js';
import { TC_ACT } from '../uapi/pkt-cls.js';
import { VmFault } from '../vm/fault.js';
import { RssHasher, rssQueue } from './flow-hash.js';
import { TC_MAX_PACKET, TC_PATH_MAX_PACKET, TcHook, tcActionName } from './tc.js';
import { XDP_MAX_FRAME, XDP_MAX_PACKET, XdpHook, xdpActionName } from './xdp.js';
import type { Region } from '../vm/arena.js';

export const REPLAY_HOOKS = ['xdp', 'tc-ingress', 'tc-egress'] as const;
export type ReplayHookName = (typeof REPLAY_HOOKS)[number];

/** The replay device's ifindex (ifindex 1 is the loopback; the first NIC is 2). */
export const REPLAY_IFINDEX = 2;
/** Its default MAC address (locally administered). */
export const REPLAY_MAC = Uint8Array.of(0x02, 0x00, 0x00, 0x00, 0x00, 0x01);

/** The virtual NIC packets arrive on (XDP, tc-ingress) or leave by (tc-egress): eth0, ifindex 2, MTU 1500. */
export const replayDevice = (mac: Uint8Array = REPLAY_MAC, mtu = 1500): NetDevice => ethernetDevice(REPLAY_IFINDEX, 'eth0', mac, mtu);

/**
 * How each packet is handed to the program:
 * - 'test-run': as BPF_PROG_TEST_RUN hands it (the kernel's offline path, one call a packet):
 *   XDP on the loopback's RX queue 0; TC the test run's skb on the loopback (eth_type_trans,
 *   a VLAN tag left in the frame, no hash, a test socket). Answers compare with the kernel's
 *   test run packet for packet.
 * - 'path': as the kernel's own receive or transmit path hands it on `device`: the RX queue
 *   by RSS, and for TC the skb of that path (below).
 */
export type ReplayContext = 'test-run' | 'path';

export interface PacketReplayOptions {
  hook: ReplayHookName;
  /** Default 'test-run'. */
  context?: ReplayContext;
  /** The device of the 'path' context (default replayDevice()). */
  device?: NetDevice;
  /**
   * What bpf_ktime_get_ns reads: 'capture' (default) the packet's capture time since the
   * first packet's, deterministic; 'host' the host's monotonic clock at the run (live mode).
   */
  clock?: 'capture' | 'host';
}

/** Why a packet was not run: what the hook cannot take (a refusal of the input, exit code 2). */
export class ReplayInputError extends XdplabError {
  constructor(message: string) {
    super('BAD_INPUT', message);
  }
}

/**
 * What runRecord reads of a capture reader's record (pcap/types.ts's CaptureRecord, which
 * hooks/, below pcap/, names by its shape): the bytes in the reader's buffer, and how long
 * that buffer holds them unchanged.
 */
export interface ReplayRecord {
  readonly tsSec: number;
  readonly tsNsec: number;
  readonly data: Uint8Array;
  readonly bytes: Uint8Array;
  readonly dataOffset: number;
  readonly capLen: number;
  readonly bufferEpoch?: number;
  readonly bufferEnd?: number;
}

/**
 * Bytes of a capture reader's buffer copied into the arena at once (runRecord): records in them
 * are laid out by a copy inside the arena, with no view of each record made in JavaScript. Small
 * enough to stay in the L2 cache until its frames are hashed and laid out (a megabyte ran ~10%
 * slower here: the frames were cold again by then).
 */
const STAGE_BYTES = 1 << 16;

/** Runs one program on packet after packet at one hook. */
export class PacketReplayer {
  readonly hook: ReplayHookName;
  readonly context: ReplayContext;
  /** The device packets arrive on (or leave by): the loopback for 'test-run'. */
  readonly device: NetDevice;
  readonly devices: DeviceTable;
  /** The largest frame the hook takes. */
  readonly maxPacket: number;

  // ---- the last packet's outcome (valid until the next run)
  /** The program's return value (a u32), or 0 after a fault. */
  retval = 0;
  /** The CPU it ran on, the flow's RSS hash, and whether that hash covered the ports. */
  cpu = 0;
  hash = 0;
  /** bpf_ktime_get_ns during the run. */
  clockNs = 0;
  /** Whether the packet goes on (XDP_PASS/TX, a redirect with a target; TC: not dropped nor consumed). */
  passed = false;
  /** The fault that stopped the program, if it faulted. */
  fault: VmFault | undefined;

  private readonly xdp: XdpHook | undefined;
  private readonly tc: TcHook | undefined;
  private readonly hasher = new RssHasher();
  private readonly cpus: number;
  private readonly hostClock: boolean;
  private firstSec = 0;
  private firstNsec = 0;
  private started = false;
  private scratch: Uint8Array | undefined;
  private xdpScratch: Uint8Array | undefined;
  /**
   * runRecord's copy of the reader's bytes [stagedFrom, stagedTo) of epoch stagedEpoch of the
   * buffer stagedBytes (epochs count per reader: another reader's records restage).
   */
  private staging: Region | undefined;
  private stagedEpoch = -1;
  private stagedBytes: Uint8Array | undefined = undefined;
  private stagedFrom = 0;
  private stagedTo = 0;

  constructor(readonly runtime: Runtime, readonly program: Program, options: PacketReplayOptions) {
    this.hook = options.hook;
    this.context = options.context ?? 'test-run';
    this.device = this.context === 'test-run' ? LOOPBACK : options.device ?? replayDevice();
    this.devices = new Map([[LOOPBACK.ifindex, LOOPBACK], [this.device.ifindex, this.device]]);
    this.cpus = runtime.cpus;
    this.hostClock = options.clock === 'host';
    const type = program.type;
    if (this.hook === 'xdp') {
      if (type !== BPF_PROG_TYPE.BPF_PROG_TYPE_XDP) throw new XdplabError('USAGE', `program ${program.name} is not an XDP program: it cannot run at the xdp hook`);
      this.xdp = new XdpHook(runtime);
      this.xdp.env.devices = this.devices;
      // A frame past one page's linear room is a multi-buffer frame, as the test run makes it.
      this.maxPacket = XDP_MAX_FRAME;
    } else {
      if (type !== BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_CLS && type !== BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_ACT) {
        throw new XdplabError('USAGE', `program ${program.name} is not a TC (sched_cls / sched_act) program: it cannot run at ${this.hook}`);
      }
      this.tc = new TcHook(runtime);
      // A test run takes what one page holds (TC_MAX_PACKET); the receive path an skb's buffer.
      this.maxPacket = this.context === 'test-run' ? TC_MAX_PACKET : TC_PATH_MAX_PACKET;
    }
  }

  /**
   * Run the program on one Ethernet frame captured at tsSec.tsNsec. Returns the verdict
   * (retval); a fault sets `fault` (retval 0, not passed) and the next packet runs as usual.
   * A frame the hook cannot take throws a ReplayInputError and changes nothing.
   */
  run(data: Uint8Array, tsSec: number, tsNsec: number): number {
    const length = data.length;
    if (length < ETH_HLEN) throw new ReplayInputError(`${length} bytes: shorter than an Ethernet header`);
    if (length > this.maxPacket) {
      throw new ReplayInputError(`${length} bytes: the ${this.hook} hook takes frames of at most ${this.maxPacket} bytes` +
        (this.xdp ? ' (3520 linear and MAX_SKB_FRAGS pages; BPF_PROG_TEST_RUN: ENOMEM)' : ''));
    }
    this.setClock(tsSec, tsNsec);
    // One CPU and XDP: nothing reads the hash (the TC skb carries it as skb->hash).
    const hash = this.cpus > 1 || this.tc ? this.hasher.hash(data, 0, length) : 0;
    const cpu = this.startPacket(hash);
    try {
      if (this.xdp) this.runXdp(this.xdp, data, cpu);
      else this.runTc(this.tc!, data, cpu, hash);
    } catch (err) {
      this.recordFault(err);
    }
    return this.retval;
  }

  /** A packet's start: its flow hash and the CPU RSS gives it, no verdict yet; the CPU. */
  private startPacket(hash: number): number {
    const cpu = hash === 0 ? 0 : rssQueue(hash, this.cpus);
    this.hash = hash;
    this.cpu = cpu;
    this.fault = undefined;
    this.retval = 0;
    this.passed = false;
    return cpu;
  }

  /** A run that faulted: retval 0, not passed, the fault kept; anything else is not ours to catch. */
  private recordFault(err: unknown): void {
    if (!(err instanceof VmFault)) throw err;
    this.fault = err;
    this.retval = 0;
    this.passed = false;
  }

  /**
   * `run` of a capture reader's record: for XDP, its bytes are copied into the arena with the
   * records after it (64 KiB at a time, while the reader's buffer holds them unchanged), and
   * each frame is laid out from there — no typed-array view of the record, one small copy inside
   * the arena. The same verdicts, output and maps as `run(rec.data, …)`, which anything else takes.
   */
  runRecord(rec: ReplayRecord): number {
    const length = rec.capLen;
    const epoch = rec.bufferEpoch;
    if (!this.xdp || epoch === undefined || epoch < 0 || length < ETH_HLEN || length > XDP_MAX_PACKET) return this.run(rec.data, rec.tsSec, rec.tsNsec);
    const at = rec.dataOffset;
    if (epoch !== this.stagedEpoch || rec.bytes !== this.stagedBytes || at < this.stagedFrom || at + length > this.stagedTo) this.stage(rec);
    const src = this.staging!.start + (at - this.stagedFrom);
    this.setClock(rec.tsSec, rec.tsNsec);
    const hash = this.cpus > 1 ? this.hasher.hash(this.runtime.arena.u8, src, src + length) : 0;
    const cpu = this.startPacket(hash);
    const hook = this.xdp;
    try {
      if (hook.env.trace.length) hook.env.trace.length = 0;
      hook.loadFromArena(src, length, this.device.ifindex, this.context === 'test-run' ? 0 : cpu);
      this.finishXdp(hook, hook.runOnce(this.program, cpu));
    } catch (err) {
      this.recordFault(err);
    }
    return this.retval;
  }

  /** Copy the reader's bytes from `rec`'s on (as many as it holds, up to STAGE_BYTES) into the arena. */
  private stage(rec: ReplayRecord): void {
    this.staging ??= this.runtime.arena.alloc(STAGE_BYTES, 'helper', 'replay staging', 0);
    const from = rec.dataOffset;
    const to = Math.min(rec.bufferEnd ?? from + rec.capLen, from + STAGE_BYTES, rec.bytes.length);
    this.runtime.arena.u8.set(rec.bytes.subarray(from, Math.max(to, from + rec.capLen)), this.staging.start);
    this.stagedEpoch = rec.bufferEpoch!;
    this.stagedBytes = rec.bytes;
    this.stagedFrom = from;
    this.stagedTo = Math.max(to, from + rec.capLen);
  }

  private finishXdp(hook: XdpHook, retval: number): void {
    this.retval = retval;
    this.passed = retval === XDP_PASS || retval === XDP_TX || (retval === XDP_REDIRECT && hook.env.redirect !== undefined);
  }

  private runXdp(hook: XdpHook, data: Uint8Array, cpu: number): void {
    const env = hook.env;
    if (env.trace.length) env.trace.length = 0;
    hook.load(data, 0, this.device.ifindex, this.context === 'test-run' ? 0 : cpu);
    this.finishXdp(hook, hook.runOnce(this.program, cpu));
  }

  private runTc(hook: TcHook, data: Uint8Array, cpu: number, hash: number): void {
    hook.beginPath(this.devices);
    if (this.context === 'test-run') {
      // The test run's skb: BPF_PROG_TEST_RUN refuses (EINVAL) a frame too short for the IP
      // header its EtherType announces.
      if (!hook.load(data, this.device, 1)) throw new ReplayInputError(`${data.length} bytes: too short for the IP header its EtherType announces (BPF_PROG_TEST_RUN: EINVAL)`);
    } else {
      this.runtime.arena.u8.set(data, hook.frameAddress());
      hook.loadPath(data.length, this.hook === 'tc-ingress' ? 'ingress' : 'egress', this.device, hash, this.hasher.l4, cpu);
    }
    const retval = hook.runOnce(this.program, cpu);
    this.retval = retval;
    const verdict = retval | 0;
    this.passed = verdict === TC_ACT.TC_ACT_REDIRECT ? hook.env.redirect !== undefined
      : verdict !== TC_ACT.TC_ACT_SHOT && verdict !== TC_ACT.TC_ACT_STOLEN && verdict !== TC_ACT.TC_ACT_QUEUED && verdict !== TC_ACT.TC_ACT_TRAP;
  }

  /** A multi-buffer frame from data: its linear part and fragments, in a scratch buffer. */
  private xdpFrame(u8: Uint8Array, p: PacketState): Uint8Array {
    const linear = p.dataEnd - p.data;
    const frags = p.frags!;
    const out = (this.xdpScratch ??= new Uint8Array(XDP_MAX_FRAME + XDP_FRAG_SIZE));
    out.set(u8.subarray(p.data, p.dataEnd));
    frags.copyOut(u8, out, linear);
    return out.subarray(0, linear + frags.fragsSize);
  }

  /**
   * The capture time as the program's clock: nanoseconds since the first packet, never going
   * back. Or the host's CLOCK_MONOTONIC (what the kernel's bpf_ktime_get_ns reads): below 2^53
   * for 104 days of uptime.
   */
  private setClock(tsSec: number, tsNsec: number): void {
    if (this.hostClock) {
      const [s, ns] = process.hrtime();
      this.clockNs = s * 1e9 + ns;
      this.runtime.clockNs = this.clockNs;
      return;
    }
    if (!this.started) {
      this.started = true;
      this.firstSec = tsSec;
      this.firstNsec = tsNsec;
    }
    const ns = (tsSec - this.firstSec) * 1e9 + (tsNsec - this.firstNsec);
    if (ns > this.clockNs) this.clockNs = ns;
    this.runtime.clockNs = this.clockNs;
  }

  /**
   * Whether the last packet goes back out of the device it came by: XDP_TX, an XDP redirect
   * to that device, a TC redirect to that device's egress (no BPF_F_INGRESS).
   */
  get leavesBack(): boolean {
    if (this.fault) return false;
    const r = this.redirect;
    const toDevice = r !== undefined && r.kind === 'ifindex' && r.target === this.device.ifindex;
    if (this.xdp) return this.retval === XDP_TX || (this.retval === XDP_REDIRECT && toDevice);
    return (this.retval | 0) === TC_ACT.TC_ACT_REDIRECT && toDevice && (r.flags & BPF_F_INGRESS) === 0;
  }

  /** The verdict's name for the hook (XDP_PASS, TC_ACT_SHOT …). */
  verdictName(retval = this.retval): string {
    return this.xdp ? xdpActionName(retval) : tcActionName(retval);
  }

  /** Lines the program printed during the last run (bpf_trace_printk), in order. */
  get trace(): readonly string[] {
    return (this.xdp ?? this.tc!).env.trace;
  }

  /** Where the last packet was redirected to, if the program asked for a redirect. */
  get redirect(): { kind: string; target: number; flags: number } | undefined {
    return (this.xdp ?? this.tc!).env.redirect;
  }

  /**
   * The frame after the program, as it would go on: XDP from data to data_end and then its
   * fragments; TC from skb->data to the tail, with a VLAN tag the skb holds out of band put
   * back in place (as a capture shows it). A view valid until the next run (no copy unless
   * the frame has fragments or a tag is reinserted).
   */
  output(): Uint8Array {
    const u8 = this.runtime.arena.u8;
    if (this.xdp) {
      const p = this.xdp.packet;
      return p.frags?.nrFrags ? this.xdpFrame(u8, p) : u8.subarray(p.data, p.dataEnd);
    }
    const skb = this.tc!.skb;
    // A test run's data_out is the linear data alone: a tag held out of band is not in it.
    if (!skb.vlanPresent || this.context === 'test-run') return u8.subarray(skb.data, skb.tail);
    return this.tc!.wireFrame((this.scratch ??= new Uint8Array(TC_PATH_MAX_PACKET + 64)));
  }
}
