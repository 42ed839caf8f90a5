/**
 * Network: nodes joined by wires, and the path every packet takes through them, as Linux
 * takes it:
 *
 *   wire → XDP ─ DROP/ABORTED: dropped
 *              ─ TX: back out of the same interface (no TC egress)
 *              ─ REDIRECT: out of another interface (no TC egress), or to a CPU (cpumap)
 *              ─ PASS → skb → TC ingress (tcx order) ─ SHOT: dropped ─ REDIRECT: egress/ingress of another
 *                  → the stack: delivered locally, forwarded by the node's routes and neighbours,
 *                    or switched by MAC → TC egress → wire → the peer interface
 *
 * Links have no latency: a packet runs to completion (every hop, every copy) before the next
 * one enters, so the order of events is the order of the capture. Every decision is counted
 * per interface and hook, and handed to a PacketSink (the run's output files).
 */
import { XdplabError } from '../errors.js';
import type { RedirectTarget } from '../helpers/env.js';
import { TC_PATH_MAX_PACKET, TcHook, tcActionName } from '../hooks/tc.js';
import {
  BPF_F_EXCLUDE_INGRESS, BPF_F_INGRESS, BPF_F_NEIGH, BPF_F_PEER, BPF_PROG_TYPE, XDP_PASS, XDP_REDIRECT, XDP_TX,
} from '../uapi/bpf.js';
import { ETH_HLEN, ETH_P_IP, ETH_P_IPV6 } from '../uapi/if-ether.js';
import { TC_ACT_REDIRECT, TC_ACT_SHOT, TC_ACT_UNSPEC } from '../uapi/pkt-cls.js';
import { XdpHook, XDP_MAX_FRAME, xdpActionName } from '../hooks/xdp.js';
import { Program, verdictSource } from '../runtime/program.js';
import type { Runtime } from '../runtime/runtime.js';
import { VmFault } from '../vm/fault.js';
import { RssHasher, rssQueue } from '../hooks/flow-hash.js';
import type { Attached, HookName, VirtualNic } from './nic.js';
import type { Node } from './node.js';
import { Counters, type PacketSink, type PacketTime } from './recorder.js';

/** A packet loop stops after this many hops (the emulator's own TTL). */
export const MAX_HOPS = 64;

/** The RSS hash a frame got as it arrived, and whether it covered the ports. */
interface RxHash {
  hash: number;
  l4: boolean;
}

/** Where devmap and cpumap entries' programs are counted and named in drop comments. */
const DEVMAP_HOOK = 'xdp-devmap';
const CPUMAP_HOOK = 'xdp-cpumap';

/** What one hook's programs decided. */
interface HookResult {
  action: 'pass' | 'drop' | 'tx' | 'redirect';
  frame: Uint8Array;
  redirect?: RedirectTarget;
  cpu?: number;
}

/** The host's CLOCK_MONOTONIC in nanoseconds (exact in a double for 104 days of uptime). */
function hostMonotonicNs(): number {
  const [s, ns] = process.hrtime();
  return s * 1e9 + ns;
}

export class Network {
  readonly nodes: Node[] = [];
  readonly counters = new Counters();
  /** Programs that faulted (counted as ABORTED / SHOT). */
  faults = 0;
  readonly trace: string[] = [];
  private readonly xdp: XdpHook;
  private readonly tc: TcHook;
  private readonly rss = new RssHasher();
  private tsSec = 0;
  private tsNsec = 0;
  /** The capture's comment of the packet being run. */
  private comment: string | undefined;

  constructor(
    readonly runtime: Runtime,
    readonly sink: PacketSink,
  ) {
    this.xdp = new XdpHook(runtime);
    this.tc = new TcHook(runtime);
  }

  get interfaces(): VirtualNic[] {
    return this.nodes.flatMap((n) => n.nics);
  }

  nic(id: string): VirtualNic {
    const [nodeName, nicName] = id.split('/');
    const nic = this.nodes.find((n) => n.name === nodeName)?.nicByName(nicName ?? '');
    if (!nic) throw new XdplabError('BAD_INPUT', `no interface ${id}`);
    return nic;
  }

  /**
   * bpf_ktime_get_ns reads the host's monotonic clock instead of the capture time: a network
   * with live interfaces runs on real time (DESIGN.md, "Live mode").
   */
  hostClock = false;

  /**
   * A frame arrives on `nic` from its wire at the given capture time; `comment`, the capture's
   * comment of the packet, goes with every record it causes.
   */
  inject(nic: VirtualNic, frame: Uint8Array, tsSec: number, tsNsec: number, comment?: string): void {
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    this.comment = comment;
    if (this.hostClock) this.runtime.clockNs = hostMonotonicNs();
    else this.runtime.setCaptureTime(tsSec, tsNsec);
    this.counters.add(nic, 'wire', 'rx');
    this.receive(nic, frame, 0);
  }

  private time(): PacketTime {
    return { sec: this.tsSec, nsec: this.tsNsec, comment: this.comment };
  }

  /** RSS: the Toeplitz hash of the flow picks the RX queue (as replay does); queue i is served by CPU i. */
  private cpuOf(nic: VirtualNic, hash: number): number {
    return rssQueue(hash, nic.rxQueues) % this.runtime.cpus;
  }

  private drop(nic: VirtualNic, frame: Uint8Array, hook: string, reason: string): void {
    this.counters.add(nic, hook, 'dropped');
    this.sink.dropped(nic, frame, this.time(), `${hook}: ${reason}`);
  }

  /** An XDP_REDIRECT (counted already as the program's verdict) that goes nowhere: dropped. */
  private redirectFailed(nic: VirtualNic, frame: Uint8Array, reason: string): void {
    this.counters.addDetail(nic, 'xdp', 'redirect failed');
    this.sink.dropped(nic, frame, this.time(), `xdp: ${reason}`);
  }

  // ---- receive: wire → XDP → TC ingress → stack --------------------------------------------

  private receive(nic: VirtualNic, frame: Uint8Array, hops: number, skipXdp = false, cpuGiven?: number): void {
    // The NIC hashes the frame as it arrives: that hash picks the queue and is the skb's hash
    // on TC ingress, whatever XDP does to the frame after.
    const hash = this.rss.hash(frame, 0, frame.length);
    const rx: RxHash = { hash, l4: this.rss.l4 };
    const cpu = cpuGiven ?? this.cpuOf(nic, hash);
    if (hops > MAX_HOPS) {
      this.drop(nic, frame, 'stack', `more than ${MAX_HOPS} hops (a forwarding loop?)`);
      return;
    }
    if (nic.xdp && !skipXdp) {
      const r = this.runXdp(nic, nic.xdp, frame, cpu);
      switch (r.action) {
        case 'drop': return;
        case 'tx': this.toWire(nic, r.frame, hops); return;
        case 'redirect': this.xdpRedirect(nic, r.frame, r.redirect!, hops, cpu); return;
        default: frame = r.frame;
      }
    }
    const tc = this.runTc(nic, nic.tcIngress, 'tc-ingress', frame, true, nic.ifindex, cpu, rx);
    if (tc.action === 'drop') return;
    if (tc.action === 'redirect') {
      this.tcRedirect(nic, tc.frame, tc.redirect!, hops, cpu);
      return;
    }
    this.stack(nic, tc.frame, hops, cpu);
  }

  private runXdp(nic: VirtualNic, attached: Attached, frame: Uint8Array, cpu: number): HookResult {
    // A frame past one page's linear room runs as a multi-buffer frame (fragments), as a
    // test run builds it; only one past MAX_SKB_FRAGS pages skips XDP.
    if (frame.length > XDP_MAX_FRAME || frame.length < 14) {
      this.counters.add(nic, 'xdp', 'skipped');
      return { action: 'pass', frame };
    }
    this.runtime.fib = nic.node.fib;
    this.xdp.env.trace.length = 0;
    this.xdp.load(frame, 0, nic.ifindex, cpu % nic.rxQueues);
    let retval: number;
    try {
      retval = this.xdp.runOnce(attached.program, cpu);
    } catch (err) {
      return this.fault(nic, 'xdp', attached, frame, err);
    }
    const out = this.xdp.frameOut();
    const verdict = xdpActionName(retval);
    this.counters.add(nic, 'xdp', verdict);
    this.sink.ran?.(nic, 'xdp', attached.name, frame, out, verdict, this.time());
    this.collectTrace(nic, 'xdp', this.xdp.env.trace);
    switch (retval) {
      case XDP_PASS: return { action: 'pass', frame: out };
      case XDP_TX: return { action: 'tx', frame: out };
      case XDP_REDIRECT: return { action: 'redirect', frame: out, redirect: this.xdp.env.redirect };
      default:
        this.sink.dropped(nic, frame, this.time(), this.dropComment(attached, 'xdp', verdict, this.xdp.env.trace));
        return { action: 'drop', frame: out };
    }
  }

  /** XDP_REDIRECT: out of another interface of the node (no TC egress), or to a CPU. */
  private xdpRedirect(nic: VirtualNic, frame: Uint8Array, target: RedirectTarget | undefined, hops: number, cpu: number): void {
    if (!target) {
      this.redirectFailed(nic, frame, 'XDP_REDIRECT without a redirect target');
      return;
    }
    if (target.kind === 'cpumap') {
      // The frame becomes an skb on the target CPU and continues up the stack there.
      const to = target.target % this.runtime.cpus;
      if (target.entryProgramId) this.runCpumapProgram(nic, frame, target.entryProgramId, to, hops);
      else this.receive(nic, frame, hops, true, to);
      return;
    }
    if (target.kind === 'devmap' && target.map && target.flags & (1 << 3)) {
      this.broadcast(nic, frame, target, hops, cpu);
      return;
    }
    const out = nic.node.nicByIfindex(target.target);
    if (!out) {
      this.redirectFailed(nic, frame, `XDP_REDIRECT to ifindex ${target.target}, which ${nic.node.name} does not have`);
      return;
    }
    this.counters.addDetail(nic, 'xdp', `redirect → ${out.name}`);
    const sent = target.entryProgramId ? this.runDevmapProgram(nic, out, frame, target.entryProgramId, cpu) : frame;
    if (sent) this.toWire(out, sent, hops);
  }

  /**
   * A devmap entry's own program (SEC("xdp/devmap")), run on a frame redirected through the
   * entry before it leaves by `out`, as dev_map_bpf_prog_run does: the same xdp_md with
   * egress_ifindex = `out`; XDP_PASS sends the frame as the program left it, any other
   * verdict drops it. Returns the frame to send, or undefined.
   */
  private runDevmapProgram(nic: VirtualNic, out: VirtualNic, frame: Uint8Array, programId: number, cpu: number): Uint8Array | undefined {
    const r = this.runEntryProgram(nic, out, DEVMAP_HOOK, frame, programId, cpu % nic.rxQueues, out.ifindex, cpu);
    if (r === undefined) return undefined;
    if (r.retval === XDP_PASS) return r.frame;
    this.dropByEntryProgram(out, DEVMAP_HOOK, frame, r.retval);
    return undefined;
  }

  /**
   * A cpumap entry's program (SEC("xdp/cpumap")) on the target CPU, as
   * cpu_map_bpf_prog_run_xdp runs it (rx_queue_index 0: the frame no longer knows its
   * queue): XDP_PASS builds the skb there, XDP_REDIRECT goes on, anything else drops.
   */
  private runCpumapProgram(nic: VirtualNic, frame: Uint8Array, programId: number, cpu: number, hops: number): void {
    const r = this.runEntryProgram(nic, nic, CPUMAP_HOOK, frame, programId, 0, 0, cpu);
    if (r === undefined) return;
    if (r.retval === XDP_PASS) this.receive(nic, r.frame, hops, true, cpu);
    else if (r.retval === XDP_REDIRECT) this.xdpRedirect(nic, r.frame, this.xdp.env.redirect, hops + 1, cpu);
    else this.dropByEntryProgram(nic, CPUMAP_HOOK, frame, r.retval);
  }

  /** Run a map entry's program on `frame`; undefined when it could not run (recorded as a drop). */
  private runEntryProgram(
    nic: VirtualNic, at: VirtualNic, hook: string, frame: Uint8Array, programId: number, rxQueue: number, egressIfindex: number, cpu: number,
  ): { retval: number; frame: Uint8Array } | undefined {
    const image = this.runtime.programById(programId);
    if (!image) {
      this.drop(at, frame, hook, `map entry program ${programId} is not loaded`);
      return undefined;
    }
    const xdp = this.xdp;
    xdp.env.trace.length = 0;
    xdp.load(frame, 0, nic.ifindex, rxQueue);
    xdp.setEgressIfindex(egressIfindex);
    let retval: number;
    try {
      retval = xdp.runImage(image, BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, cpu);
    } catch (err) {
      if (!(err instanceof VmFault)) throw err;
      this.faults++;
      this.counters.add(at, hook, 'fault');
      this.sink.dropped(at, frame, this.time(), `${hook}: program ${image.name} faulted: ${err.message}`);
      return undefined;
    }
    this.counters.add(at, hook, xdpActionName(retval));
    for (const line of xdp.env.trace) this.trace.push(`${at.id} ${hook}: ${line}`);
    const out = xdp.frameOut();
    this.sink.ran?.(at, hook, image.name, frame, out, xdpActionName(retval), this.time());
    return { retval, frame: out };
  }

  private dropByEntryProgram(at: VirtualNic, hook: string, frame: Uint8Array, retval: number): void {
    const decided = verdictSource(this.runtime.engine);
    const trace = this.xdp.env.trace.length ? `; trace: ${this.xdp.env.trace.join(' | ')}` : '';
    const line = decided.line ? ` (${decided.line})` : '';
    this.sink.dropped(at, frame, this.time(), `${hook}: program ${decided.program} returned ${xdpActionName(retval)} at pc ${decided.pc}${line}${trace}`);
  }

  /** bpf_redirect_map with BPF_F_BROADCAST: a copy out of every interface in the devmap. */
  private broadcast(nic: VirtualNic, frame: Uint8Array, target: RedirectTarget, hops: number, cpu: number): void {
    const map = target.map!;
    for (const [, value] of map.entries()) {
      const entry = new DataView(value.buffer, value.byteOffset, value.byteLength);
      const ifindex = entry.getUint32(0, true);
      if (target.flags & BPF_F_EXCLUDE_INGRESS && ifindex === nic.ifindex) continue;
      const out = nic.node.nicByIfindex(ifindex);
      if (!out) continue;
      const programId = value.byteLength >= 8 ? entry.getUint32(4, true) : 0;
      const sent = programId ? this.runDevmapProgram(nic, out, frame, programId, cpu) : frame.slice();
      if (sent) this.toWire(out, sent, hops);
    }
  }

  private runTc(nic: VirtualNic, programs: readonly Attached[], hook: HookName, frame: Uint8Array, ingress: boolean, iif: number, cpu: number, rx?: RxHash): HookResult {
    if (programs.length === 0) return { action: 'pass', frame };
    this.runtime.fib = nic.node.fib;
    const tc = this.tc;
    if (frame.length > TC_PATH_MAX_PACKET || frame.length < ETH_HLEN) {
      this.counters.add(nic, hook, 'skipped');
      return { action: 'pass', frame };
    }
    // The skb Linux's own path builds (the one replay runs too): on ingress the RSS hash, the
    // RX queue and an outer VLAN tag taken out of band; on egress the device it leaves by.
    tc.beginPath(nic.node.devices);
    this.runtime.arena.u8.set(frame, tc.frameAddress());
    const hash = rx?.hash ?? this.rss.hash(frame, 0, frame.length);
    tc.loadPath(frame.length, ingress ? 'ingress' : 'egress', nic.device, hash, rx?.l4 ?? this.rss.l4, cpu % nic.rxQueues);
    if (!ingress) tc.skb.skbIif = iif; // a forwarded skb keeps the device it came in by
    const logged = this.sink.ran !== undefined;
    let before = frame;
    for (const attached of programs) {
      this.tc.env.trace.length = 0;
      this.tc.env.clones?.splice(0);
      let retval: number;
      try {
        retval = this.tc.runOnce(attached.program, cpu) | 0;
      } catch (err) {
        return this.fault(nic, hook, attached, frame, err);
      }
      this.collectTrace(nic, hook, this.tc.env.trace);
      const verdict = tcActionName(retval);
      this.counters.add(nic, hook, verdict);
      if (logged) {
        const after = tc.wireFrame();
        this.sink.ran!(nic, hook, attached.name, before, after, verdict, this.time());
        before = after;
      }
      if (retval === TC_ACT_UNSPEC) continue; // tcx: the next program decides
      const out = tc.wireFrame();
      if (retval === TC_ACT_SHOT) {
        this.sink.dropped(nic, frame, this.time(), this.dropComment(attached, hook, verdict, this.tc.env.trace));
        return { action: 'drop', frame: out };
      }
      if (retval === TC_ACT_REDIRECT) return { action: 'redirect', frame: out, redirect: this.tc.env.redirect };
      // tcx_action_code: after a tcx chain only OK, SHOT and REDIRECT mean something; any other
      // verdict (STOLEN, PIPE, RECLASSIFY…) ends the chain and, with no legacy filter behind
      // it, lets the packet through.
      return { action: 'pass', frame: out };
    }
    return { action: 'pass', frame: tc.wireFrame() };
  }

  /** bpf_redirect from TC: out of (or, with BPF_F_INGRESS, into) another interface. */
  private tcRedirect(nic: VirtualNic, frame: Uint8Array, target: RedirectTarget | undefined, hops: number, cpu: number): void {
    const out = target ? nic.node.nicByIfindex(target.target) : undefined;
    if (!out) {
      this.drop(nic, frame, 'tc', `TC_ACT_REDIRECT to ifindex ${target?.target ?? '?'}, which ${nic.node.name} does not have`);
      return;
    }
    const flags = target!.flags;
    if (flags & BPF_F_PEER) {
      // bpf_redirect_peer: into the ingress of the device at the other end (veth's peer).
      if (out.peer) this.receive(out.peer, frame, hops + 1, true, cpu);
      else this.drop(nic, frame, 'tc', `bpf_redirect_peer to ${out.id}, which has no peer`);
    } else if (flags & BPF_F_NEIGH) {
      const resolved = this.neighbourFill(out, frame);
      if (resolved) this.egress(out, resolved, hops, nic.ifindex, cpu);
      else this.drop(nic, frame, 'tc', `bpf_redirect_neigh out of ${out.id}: no neighbour for the destination`);
    } else if (flags & BPF_F_INGRESS) {
      this.receive(out, frame, hops + 1, true, cpu);
    } else {
      this.egress(out, frame, hops, nic.ifindex, cpu);
    }
  }

  /**
   * bpf_redirect_neigh without a next hop: the neighbour layer writes the MAC header for the
   * packet's own destination on `out` (its MAC as the source). Undefined when unresolved.
   */
  private neighbourFill(out: VirtualNic, frame: Uint8Array): Uint8Array | undefined {
    const type = frame.length >= ETH_HLEN ? (frame[12] << 8) | frame[13] : 0;
    const dst = type === ETH_P_IP && frame.length >= 34 ? frame.subarray(30, 34)
      : type === ETH_P_IPV6 && frame.length >= 54 ? frame.subarray(38, 54) : undefined;
    const mac = dst && out.node.neighbour(out.ifindex, dst);
    if (!mac) return undefined;
    const copy = frame.slice();
    copy.set(mac, 0);
    copy.set(out.mac, 6);
    return copy;
  }

  // ---- the stack ---------------------------------------------------------------------------

  private stack(nic: VirtualNic, frame: Uint8Array, hops: number, cpu: number): void {
    if (frame.length < 14) {
      this.drop(nic, frame, 'stack', 'runt frame');
      return;
    }
    const node = nic.node;
    if (node.kind === 'switch') {
      this.switchFrame(nic, frame, hops, cpu);
      return;
    }
    const toUs = frame.subarray(0, 6).every((b, i) => b === nic.mac[i]);
    const group = (frame[0] & 1) === 1;
    if (!toUs && !group) {
      this.drop(nic, frame, 'stack', 'not addressed to this interface (PACKET_OTHERHOST)');
      return;
    }
    const type = (frame[12] << 8) | frame[13];
    if (type !== ETH_P_IP && type !== ETH_P_IPV6) {
      this.deliver(nic, frame);
      return;
    }
    const v4 = type === ETH_P_IP;
    const minLen = v4 ? 34 : 54;
    if (frame.length < minLen) {
      this.drop(nic, frame, 'stack', `truncated IPv${v4 ? 4 : 6} header`);
      return;
    }
    const dst = v4 ? frame.subarray(30, 34) : frame.subarray(38, 54);
    if (node.ownsAddress(v4 ? 4 : 6, dst) || group) {
      this.deliver(nic, frame);
      return;
    }
    if (!node.forwarding) {
      this.drop(nic, frame, 'stack', 'not for this host, and it does not forward');
      return;
    }
    this.forward(nic, frame, v4, dst, hops, cpu);
  }

  private deliver(nic: VirtualNic, frame: Uint8Array): void {
    this.counters.add(nic, 'stack', 'delivered');
    this.sink.delivered(nic, frame, this.time());
  }

  /** IP forwarding: route, TTL, neighbour, MTU — then out through TC egress. */
  private forward(nic: VirtualNic, frame: Uint8Array, v4: boolean, dst: Uint8Array, hops: number, cpu: number): void {
    const node = nic.node;
    const route = node.lookupRoute(v4 ? 4 : 6, dst);
    if (!route || route.type !== 'unicast' || !route.nic) {
      this.drop(nic, frame, 'stack', route ? `route type ${route.type}` : 'no route to host');
      return;
    }
    const ttlAt = v4 ? 22 : 21;
    if (frame[ttlAt] <= 1) {
      this.drop(nic, frame, 'stack', v4 ? 'TTL exceeded' : 'hop limit exceeded');
      return;
    }
    const out = route.nic;
    const mac = node.neighbour(out.ifindex, route.gateway ?? dst);
    if (!mac) {
      this.drop(nic, frame, 'stack', `no neighbour for the next hop on ${out.name}`);
      return;
    }
    if (frame.length - 14 > out.mtu) {
      this.drop(nic, frame, 'stack', `larger than ${out.name}'s MTU ${out.mtu} (fragmentation needed)`);
      return;
    }
    const copy = frame.slice();
    copy[ttlAt]--;
    if (v4) {
      // RFC 1624 incremental update: the TTL is the high byte of its 16-bit word.
      let sum = ((copy[24] << 8) | copy[25]) + 0x0100;
      sum = (sum & 0xffff) + (sum >>> 16);
      copy[24] = sum >>> 8;
      copy[25] = sum & 0xff;
    }
    copy.set(mac, 0);
    copy.set(out.mac, 6);
    this.counters.add(nic, 'stack', `forwarded → ${out.name}`);
    this.egress(out, copy, hops, nic.ifindex, cpu);
  }

  /** A learning switch: learn the source, forward to the known port or flood. */
  private switchFrame(nic: VirtualNic, frame: Uint8Array, hops: number, cpu: number): void {
    const node = nic.node;
    const key = (b: Uint8Array): string => Buffer.from(b).toString('hex');
    node.macTable.set(key(frame.subarray(6, 12)), nic);
    const known = (frame[0] & 1) === 0 ? node.macTable.get(key(frame.subarray(0, 6))) : undefined;
    if (known === nic) {
      this.drop(nic, frame, 'stack', 'destination is on the port it came from');
      return;
    }
    const ports = known ? [known] : node.nics.filter((n) => n !== nic);
    this.counters.add(nic, 'stack', known ? `switched → ${known.name}` : 'flooded');
    for (const port of ports) this.egress(port, ports.length > 1 ? frame.slice() : frame, hops, nic.ifindex, cpu);
  }

  // ---- egress: TC egress → wire → peer -----------------------------------------------------

  private egress(nic: VirtualNic, frame: Uint8Array, hops: number, iif: number, cpu: number): void {
    const tc = this.runTc(nic, nic.tcEgress, 'tc-egress', frame, false, iif, cpu);
    if (tc.action === 'drop') return;
    if (tc.action === 'redirect') {
      this.tcRedirect(nic, tc.frame, tc.redirect!, hops + 1, cpu);
      return;
    }
    this.toWire(nic, tc.frame, hops);
  }

  private toWire(nic: VirtualNic, frame: Uint8Array, hops: number): void {
    this.counters.add(nic, 'wire', 'tx');
    this.sink.tx(nic, frame, this.time());
    if (nic.peer) {
      this.counters.add(nic.peer, 'wire', 'rx');
      this.receive(nic.peer, frame, hops + 1);
    } else {
      nic.hostWire?.(frame);
    }
  }

  // ---- records -----------------------------------------------------------------------------

  private fault(nic: VirtualNic, hook: HookName, attached: Attached, frame: Uint8Array, err: unknown): HookResult {
    if (!(err instanceof VmFault)) throw err;
    this.faults++;
    this.counters.add(nic, hook, 'fault');
    // The program that faulted may be a tail call's target: the engine ran its image last.
    const program = Program.of(this.runtime.engine.image);
    const fault = program?.image.name === err.program ? err.withSource(program.sourceLine(err.pc)) : err;
    this.sink.dropped(nic, frame, this.time(), `${hook}: program ${attached.name} faulted: ${fault.message}`);
    return { action: 'drop', frame };
  }

  /**
   * Why a program dropped a packet: its verdict, and where that verdict was decided — the pc
   * of the instruction that last wrote r0 and its C source line (the `return XDP_DROP;` taken,
   * not the exit), in the program that ran last when tail calls led elsewhere.
   */
  private dropComment(attached: Attached, hook: HookName, verdict: string, trace: readonly string[]): string {
    const engine = this.runtime.engine;
    const decided = verdictSource(engine);
    const tail = engine.image === attached.program.image ? '' : ` via tail call to ${decided.program}`;
    let comment = `${hook}: program ${attached.name} (${attached.program.name}${tail}) returned ${verdict} at pc ${decided.pc}`;
    if (decided.line) comment += ` (${decided.line})`;
    if (trace.length > 0) comment += `; trace: ${trace.join(' | ')}`;
    return comment;
  }

  private collectTrace(nic: VirtualNic, hook: HookName, lines: readonly string[]): void {
    for (const line of lines) this.trace.push(`${nic.id} ${hook}: ${line}`);
  }
}

