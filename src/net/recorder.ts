/**
 * What a run records: counts per interface and hook by verdict, and the packets themselves
 * handed to a PacketSink — sent on a wire, delivered to a node, or dropped with the reason.
 */
import type { VirtualNic } from './nic.js';

export interface PacketTime {
  sec: number;
  nsec: number;
  /** The capture's comment of the packet this record comes from (pcapng opt_comment), if any. */
  comment?: string;
}

export interface PacketSink {
  /** A frame `nic` put on its wire. */
  tx(nic: VirtualNic, frame: Uint8Array, time: PacketTime): void;
  /** A packet the node's stack took for itself, on `nic`. */
  delivered(nic: VirtualNic, frame: Uint8Array, time: PacketTime): void;
  /** A dropped packet (the frame as it arrived at the dropping hook) and why. */
  dropped(nic: VirtualNic, frame: Uint8Array, time: PacketTime, comment: string): void;
  /**
   * A program ran at `hook` of `nic`: the frame as it got it and as it left it, and its
   * verdict. Optional: the network copies the frames only for a sink that has it.
   */
  ran?(nic: VirtualNic, hook: string, program: string, before: Uint8Array, after: Uint8Array, verdict: string, time: PacketTime): void;
}

export const NULL_SINK: PacketSink = { tx() {}, delivered() {}, dropped() {} };

/**
 * nic id → hook → verdict → count, in first-seen order. A packet is counted once per hook by
 * its verdict (`add`); a detail of a verdict already counted — where XDP_REDIRECT sent it,
 * `redirect → eth2` — is counted beside it (`addDetail`) but is not another packet: `packets`
 * leaves details out.
 */
export class Counters {
  readonly byNic = new Map<string, Map<string, Map<string, number>>>();
  /** Names counted by addDetail. */
  private readonly details = new Set<string>();

  add(nic: VirtualNic, hook: string, verdict: string): void {
    let hooks = this.byNic.get(nic.id);
    if (!hooks) this.byNic.set(nic.id, (hooks = new Map()));
    let verdicts = hooks.get(hook);
    if (!verdicts) hooks.set(hook, (verdicts = new Map()));
    verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
  }

  /** A detail of a packet already counted at `hook` (where its redirect went …). */
  addDetail(nic: VirtualNic, hook: string, detail: string): void {
    this.details.add(detail);
    this.add(nic, hook, detail);
  }

  isDetail(name: string): boolean {
    return this.details.has(name);
  }

  /** Packets counted at a hook of an interface: every verdict, no detail. */
  packets(nic: string, hook: string): number {
    let n = 0;
    for (const [name, count] of this.byNic.get(nic)?.get(hook) ?? []) if (!this.details.has(name)) n += count;
    return n;
  }

  get(nic: string, hook: string, verdict: string): number {
    return this.byNic.get(nic)?.get(hook)?.get(verdict) ?? 0;
  }

  /** Plain data: { "node/if": { hook: { verdict: count } } }. */
  toJSON(): Record<string, Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, Record<string, number>>> = {};
    for (const [nic, hooks] of this.byNic) {
      out[nic] = {};
      for (const [hook, verdicts] of hooks) out[nic][hook] = Object.fromEntries(verdicts);
    }
    return out;
  }
}
