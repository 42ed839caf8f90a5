/**
 * The XDP hook: the xdp_md context and an XDP frame in the arena, and one program run on a
 * packet the way BPF_PROG_TEST_RUN runs it (net/bpf/test_run.c, bpf_prog_test_run_xdp).
 *
 * The frame is one page: XDP_PACKET_HEADROOM (256) bytes of headroom, the linear part, and
 * the reserved skb_shared_info tail (320 bytes), so at most 3520 bytes of linear packet (or
 * ctx_in's data_end). The rest goes to page-sized fragments (a multi-buffer frame, whatever
 * the program), at most MAX_SKB_FRAGS of them. Metadata given through ctx_in's `data` comes
 * from the front of data_in and sits just before the packet.
 */
import { XdplabError } from '../errors.js';
import type { RunEnv } from '../helpers/env.js';
import { PacketState } from '../netcore/packet-state.js';
import { XDP_FRAME_BYTES, XDP_META_MAX, XDP_TAILROOM } from '../helpers/xdp.js';
import { XDP_PACKET_HEADROOM } from '../uapi/bpf.js';
import { ETH_HLEN } from '../uapi/if-ether.js';
import { XDP_MD_FIELDS as XDP_MD, XDP_MD_SIZE } from '../uapi/prog-types.js';
import type { Program } from '../runtime/program.js';
import type { ProgramImage } from '../vm/image.js';
import type { Engine } from '../vm/engine.js';
import type { Runtime } from '../runtime/runtime.js';
import { REGION_READ, type Region } from '../vm/arena.js';
import { MAX_SKB_FRAGS, XDP_FRAG_SIZE, XdpFrags } from '../netcore/xdp-frags.js';


/** The largest packet a single-buffer frame holds: the linear room of a frame. */
export const XDP_MAX_PACKET = XDP_FRAME_BYTES - XDP_PACKET_HEADROOM - XDP_TAILROOM;
/** The largest frame a test run builds: the linear room and MAX_SKB_FRAGS pages (more is ENOMEM). */
export const XDP_MAX_FRAME = XDP_MAX_PACKET + MAX_SKB_FRAGS * XDP_FRAG_SIZE;
/** The loopback device's ifindex: BPF_PROG_TEST_RUN's default ingress device. */
const LOOPBACK_IFINDEX = 1;

export const XDP_ACTIONS = ['XDP_ABORTED', 'XDP_DROP', 'XDP_PASS', 'XDP_TX', 'XDP_REDIRECT'] as const;
export const xdpActionName = (retval: number): string => XDP_ACTIONS[retval] ?? `XDP_UNKNOWN(${retval})`;

export interface XdpRunInput {
  /** data_in: the packet (preceded by `ctx.data` bytes of metadata when a context is given). */
  data: Uint8Array;
  /** ctx_in: an xdp_md (24 bytes) or a prefix of one; see BPF_PROG_TEST_RUN's rules. */
  ctx?: Uint8Array;
  /** Runs on the same frame, as `repeat` does in the kernel (state carries over). Default 1. */
  repeat?: number;
  cpu?: number;
}

export interface XdpRunResult {
  retval: number;
  /** The frame after the run, from data_meta to data_end. */
  dataOut: Uint8Array;
  /** The xdp_md after the run, as BPF_PROG_TEST_RUN returns it (offsets relative to data_meta). */
  ctxOut: Uint8Array;
  /** Average wall time per run. */
  durationNs: number;
  trace: string[];
  env: RunEnv;
}

/** One XDP context and frame in a runtime's arena, reused run after run. */
export class XdpHook {
  readonly ctx: Region;
  readonly frame: Region;
  readonly packet: PacketState;
  readonly env: RunEnv;

  constructor(readonly runtime: Runtime) {
    this.ctx = runtime.arena.alloc(XDP_MD_SIZE, 'context', 'xdp_md', REGION_READ);
    this.frame = runtime.arena.alloc(XDP_FRAME_BYTES, 'packet', 'xdp frame');
    const c = this.ctx.start;
    this.packet = new PacketState(this.frame, c + XDP_MD.data, c + XDP_MD.data_end, c + XDP_MD.data_meta);
    this.env = {
      host: runtime, cpu: 0, progType: 0, ctxAddr: c, packet: this.packet, trace: [], redirect: undefined, ingressIfindex: 0,
    };
  }

  /**
   * Lay out a frame holding `data` (its first `metaLen` bytes as metadata) and fill xdp_md:
   * `linear` bytes of data (by default as many as fit) in the frame, the rest in fragments
   * (bpf_prog_test_run_xdp). At most XDP_MAX_FRAME bytes of packet.
   */
  load(data: Uint8Array, metaLen: number, ingressIfindex: number, rxQueue: number, linear = Math.min(data.length, metaLen + XDP_MAX_PACKET)): void {
    if (data.length - linear > MAX_SKB_FRAGS * XDP_FRAG_SIZE) {
      throw new XdplabError('BAD_INPUT', `data_in: ${data.length - linear} bytes past the linear part need more than MAX_SKB_FRAGS (${MAX_SKB_FRAGS}) fragments of ${XDP_FRAG_SIZE} (BPF_PROG_TEST_RUN: ENOMEM)`);
    }
    // First: allocating the fragments may grow the arena (and replace its views).
    this.loadFrags(linear < data.length ? data.subarray(linear) : undefined);
    const start = this.clearAround(metaLen, linear);
    this.runtime.arena.u8.set(linear < data.length ? data.subarray(0, linear) : data, start);
    this.setContext(start, metaLen, linear, ingressIfindex, rxQueue);
  }

  /**
   * `load` of a frame whose bytes are in the arena already, at `src` (a replay's staged
   * capture): the same layout, copied inside the arena — no view, no allocation. No metadata,
   * no fragments: `length` is at most XDP_MAX_PACKET.
   */
  loadFromArena(src: number, length: number, ingressIfindex: number, rxQueue: number): void {
    this.loadFrags(undefined);
    const start = this.clearAround(0, length);
    this.runtime.arena.u8.copyWithin(start, src, src + length);
    this.setContext(start, 0, length, ingressIfindex, rxQueue);
  }

  /**
   * Where the frame's first byte goes, the frame read as zeros outside it: clear what the last
   * packet (or a helper moving data_meta / data_end) touched around the new one — PacketState
   * tracks that window — rather than the whole headroom and tail every time.
   */
  private clearAround(metaLen: number, linear: number): number {
    const u8 = this.runtime.arena.u8;
    const base = this.frame.base;
    const start = base + XDP_PACKET_HEADROOM - metaLen;
    const end = start + linear;
    const packet = this.packet;
    if (packet.touchedStart < start) u8.fill(0, Math.max(base, packet.touchedStart), start);
    if (packet.touchedEnd > end) u8.fill(0, end, Math.min(base + this.frame.capacity, packet.touchedEnd));
    packet.resetTouched();
    return start;
  }

  /** The packet's pointers and xdp_md for a frame laid at `start`. */
  private setContext(start: number, metaLen: number, linear: number, ingressIfindex: number, rxQueue: number): void {
    const view = this.runtime.arena.view;
    this.packet.set(start, start + metaLen, start + linear, view);
    const c = this.ctx.start;
    view.setUint32(c + XDP_MD.ingress_ifindex, ingressIfindex, true);
    view.setUint32(c + XDP_MD.rx_queue_index, rxQueue, true);
    view.setUint32(c + XDP_MD.egress_ifindex, 0, true);
    this.env.ingressIfindex = ingressIfindex;
  }

  /** The fragments of a multi-buffer frame (allocated on first use), or none. */
  private loadFrags(rest: Uint8Array | undefined): void {
    if (!rest) {
      this.packet.frags?.clear();
      return;
    }
    const frags = (this.packet.frags ??= XdpFrags.alloc(this.runtime.arena));
    frags.fill(this.runtime.arena.u8, rest);
  }

  /** Run the program once on the loaded frame; returns its verdict. */
  runOnce(program: Program, cpu: number): number {
    return this.runImage(program.image, program.type, cpu);
  }

  /** The same for an image known by id (a devmap entry's program). */
  runImage(image: ProgramImage, progType: number, cpu: number): number {
    return this.prepareRun(progType, cpu).run(image);
  }

  /** The environment and registers of a run: r1 = the context, r2..r9 zero. */
  private prepareRun(progType: number, cpu: number): Engine {
    const env = this.env;
    env.cpu = cpu;
    env.progType = progType;
    env.redirect = undefined;
    const engine = this.runtime.engine;
    engine.env = env;
    // Set in place (a RunArgs object would be allocated per run).
    const regs = engine.regs;
    regs.fill(0, 0, 20);
    regs[2] = this.ctx.start;
    return engine;
  }

  /**
   * `repeat` runs, as BPF_PROG_TEST_RUN's repeat: in one call into the JIT when the program
   * calls no helper but map lookups, updates and deletes and tail calls the JIT keeps in wasm
   * (then nothing but memory and maps carries from one run to the next, and nothing here is
   * reset that they read), else one by one.
   */
  private runRepeated(program: Program, repeat: number, cpu: number): number {
    if (repeat > 1) {
      const retval = this.prepareRun(program.type, cpu).runRepeat?.(program.image, repeat);
      if (retval !== undefined) return retval;
    }
    let retval = 0;
    for (let i = 0; i < repeat; i++) retval = this.runOnce(program, cpu);
    return retval;
  }

  /** xdp_md.egress_ifindex of the loaded frame: set for a devmap entry's program (dev_map_bpf_prog_run). */
  setEgressIfindex(ifindex: number): void {
    this.runtime.arena.view.setUint32(this.ctx.start + XDP_MD.egress_ifindex, ifindex, true);
  }

  /** BPF_PROG_TEST_RUN for an XDP program. */
  testRun(program: Program, input: XdpRunInput): XdpRunResult {
    const { metaLen, linear, ingressIfindex, rxQueue, mdIfindex } = parseXdpCtx(input.ctx, input.data.length);
    if (input.data.length - metaLen < ETH_HLEN) {
      throw new XdplabError('BAD_INPUT', `data_in: ${input.data.length - metaLen} bytes of packet; XDP needs at least an Ethernet header (${ETH_HLEN})`);
    }
    this.env.trace.length = 0;
    this.load(input.data, metaLen, ingressIfindex, rxQueue, Math.min(linear, metaLen + XDP_MAX_PACKET));
    const repeat = Math.max(1, input.repeat ?? 1);
    this.runtime.prepareAll(); // the duration is the program's run, not its compilation
    const started = process.hrtime.bigint();
    const retval = this.runRepeated(program, repeat, input.cpu ?? 0);
    const durationNs = Number(process.hrtime.bigint() - started) / repeat;
    const ctxOut = this.ctxOut();
    // xdp_convert_buff_to_md writes data and data_end back; the rest stays as ctx_in gave it.
    new DataView(ctxOut.buffer).setUint32(XDP_MD.ingress_ifindex, mdIfindex, true);
    return { retval, dataOut: this.dataOut(), ctxOut, durationNs, trace: [...this.env.trace], env: this.env };
  }

  /** bpf_test_finish: data_meta to data_end, then every fragment (sinfo->xdp_frags_size bytes). */
  dataOut(from = this.packet.dataMeta): Uint8Array {
    const { u8 } = this.runtime.arena;
    const { dataEnd, frags } = this.packet;
    if (!frags?.nrFrags) return u8.slice(from, dataEnd);
    const out = new Uint8Array(dataEnd - from + frags.fragsSize);
    out.set(u8.subarray(from, dataEnd));
    frags.copyOut(u8, out, dataEnd - from);
    return out;
  }

  /** The frame as it goes on, from data: its linear part and fragments (a copy). */
  frameOut(): Uint8Array {
    return this.dataOut(this.packet.data);
  }

  ctxOut(): Uint8Array {
    const out = new Uint8Array(XDP_MD_SIZE);
    const view = new DataView(out.buffer);
    const { dataMeta, data, dataEnd } = this.packet;
    const src = this.runtime.arena.view;
    const c = this.ctx.start;
    view.setUint32(XDP_MD.data, data - dataMeta, true);
    view.setUint32(XDP_MD.data_end, dataEnd - dataMeta, true);
    view.setUint32(XDP_MD.ingress_ifindex, src.getUint32(c + XDP_MD.ingress_ifindex, true), true);
    view.setUint32(XDP_MD.rx_queue_index, src.getUint32(c + XDP_MD.rx_queue_index, true), true);
    return out;
  }
}

/** ctx_in's rules (bpf_prog_test_run_xdp, xdp_convert_md_to_buff). */
function parseXdpCtx(ctx: Uint8Array | undefined, size: number): { metaLen: number; linear: number; ingressIfindex: number; rxQueue: number; mdIfindex: number } {
  if (!ctx) return { metaLen: 0, linear: size, ingressIfindex: LOOPBACK_IFINDEX, rxQueue: 0, mdIfindex: LOOPBACK_IFINDEX };
  if (ctx.length > XDP_MD_SIZE && ctx.subarray(XDP_MD_SIZE).some((b) => b !== 0)) {
    throw new XdplabError('BAD_INPUT', `ctx_in: bytes past the ${XDP_MD_SIZE}-byte xdp_md must be zero`);
  }
  const full = new Uint8Array(XDP_MD_SIZE);
  full.set(ctx.subarray(0, XDP_MD_SIZE));
  const view = new DataView(full.buffer);
  const field = (off: number): number => view.getUint32(off, true);
  const metaLen = field(XDP_MD.data);
  if (field(XDP_MD.data_meta) !== 0) throw new XdplabError('BAD_INPUT', 'ctx_in: data_meta must be 0 (metadata is given by data)');
  // data_end may stop short of data_in: the rest goes to fragments (a multi-buffer frame).
  const linear = field(XDP_MD.data_end);
  if (linear > size) throw new XdplabError('BAD_INPUT', `ctx_in: data_end ${linear} is past the end of data_in (${size})`);
  if (metaLen > linear || metaLen & 3 || metaLen > XDP_META_MAX) throw new XdplabError('BAD_INPUT', `ctx_in: data (metadata length) ${metaLen} is invalid`);
  if (field(XDP_MD.egress_ifindex) !== 0) throw new XdplabError('BAD_INPUT', 'ctx_in: egress_ifindex must be 0');
  const rxQueue = field(XDP_MD.rx_queue_index);
  if (rxQueue !== 0) throw new XdplabError('BAD_INPUT', `ctx_in: rx_queue_index ${rxQueue}: the test device has one RX queue`);
  // xdp_convert_md_to_buff: ingress_ifindex 0 keeps the loopback's RX queue the test run starts with.
  const mdIfindex = field(XDP_MD.ingress_ifindex);
  return { metaLen, linear, ingressIfindex: mdIfindex || LOOPBACK_IFINDEX, rxQueue, mdIfindex };
}
