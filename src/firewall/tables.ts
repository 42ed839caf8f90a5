/**
 * The tables of a loaded rules program (src/firewall/rules.bpf.o): `install` writes a compiled
 * rule set into its maps; `lastDecision` reads back which rule decided the packet that just ran
 * (fw_seq and fw_log, as a control plane would); `hits` is the per-rule counter table, summed
 * over CPUs, as `nft list ruleset` counters and `iptables -v` show them.
 */
import { XdplabError } from '../errors.js';
import type { BpfMap } from '../maps/map.js';
import type { Collection } from '../runtime/collection.js';
import { u32, type CompiledRules } from './compile.js';
import {
  FW_COUNTER_SIZE, FW_DECISION_DEFAULT, FW_DECISION_MALFORMED, FW_DECISION_NON_IP, FW_LOG_SIZE, FW_MAPS, FW_MAX_ENTRIES,
} from './layout.js';
import type { Rule, RuleAction } from './schema.js';

/** What decided a packet: a rule, the default, or the frame's being not IP or malformed. */
export type Decision = { by: 'rule'; rule: Rule } | { by: 'default' | 'non-ip' | 'malformed' };

export interface DecisionCount {
  decision: Decision;
  action: RuleAction;
  packets: number;
  bytes: number;
}

const viewOf = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

export class FirewallTables {
  private readonly log: BpfMap;
  private readonly seq: BpfMap;
  private readonly hitsMap: BpfMap;

  private constructor(readonly collection: Collection, readonly compiled: CompiledRules) {
    const map = (name: string): BpfMap => {
      const m = collection.maps.get(name);
      if (!m) throw new XdplabError('BAD_INPUT', `${collection.spec.source}: no map ${name}: not the firewall's rules program`);
      return m;
    };
    this.log = map(FW_MAPS.log);
    this.seq = map(FW_MAPS.seq);
    this.hitsMap = map(FW_MAPS.hits);
    for (const [name, entries] of compiled.maps) {
      const m = map(name);
      for (const [key, value] of entries) m.update(key, value);
    }
  }

  /**
   * Write `compiled` into the maps of a loaded rules program. Replacing `previous` (the tables
   * installed before) also starts the counters and the decision log afresh: a rule's slot is its
   * index, so the old counts would be credited to whichever new rule took the slot.
   */
  static install(collection: Collection, compiled: CompiledRules, previous?: FirewallTables): FirewallTables {
    previous?.reset();
    return new FirewallTables(collection, compiled);
  }

  /** Zero the counters of every decision this rule set can log, and the count of decisions. */
  private reset(): void {
    const zeroHits = new Uint8Array(this.hitsMap.userValueSize);
    for (const slot of [...this.compiled.ruleSet.rules.keys(), FW_DECISION_DEFAULT, FW_DECISION_NON_IP, FW_DECISION_MALFORMED]) {
      this.hitsMap.update(u32(slot), zeroHits);
    }
    this.seq.update(u32(0), new Uint8Array(this.seq.userValueSize));
  }

  /** The decision (fw_hits / fw_log slot) → what it is. */
  decisionOf(slot: number): Decision {
    if (slot === FW_DECISION_DEFAULT) return { by: 'default' };
    if (slot === FW_DECISION_NON_IP) return { by: 'non-ip' };
    if (slot === FW_DECISION_MALFORMED) return { by: 'malformed' };
    const rule = this.compiled.ruleSet.rules[slot];
    if (slot >= FW_MAX_ENTRIES || !rule) throw new XdplabError('INTERNAL', `the rules program logged decision ${slot}, which names no rule`);
    return { by: 'rule', rule };
  }

  actionOf(d: Decision): RuleAction {
    const set = this.compiled.ruleSet;
    return d.by === 'rule' ? d.rule.action : d.by === 'default' ? set.default : d.by === 'non-ip' ? set.nonIp : 'deny';
  }

  /** Packets the program has decided so far. */
  get decided(): number {
    const view = viewOf(this.seq.lookup(u32(0))!);
    return view.getUint32(0, true) + 2 ** 32 * view.getUint32(4, true);
  }

  /** What decided the last packet the program ran (undefined before the first). */
  lastDecision(): Decision | undefined {
    const n = this.decided;
    if (n === 0) return undefined;
    return this.decisionOf(viewOf(this.log.lookup(u32((n - 1) % FW_LOG_SIZE))!).getUint32(0, true));
  }

  /** Every rule's counters in file order, then the default's, non-IP's and malformed's (CPUs summed). */
  hits(): DecisionCount[] {
    const slots = [...this.compiled.ruleSet.rules.keys(), FW_DECISION_DEFAULT, FW_DECISION_NON_IP, FW_DECISION_MALFORMED];
    return slots.map((slot) => {
      const decision = this.decisionOf(slot);
      const [packets, bytes] = this.counter(slot);
      return { decision, action: this.actionOf(decision), packets, bytes };
    });
  }

  private counter(slot: number): [number, number] {
    const v = this.hitsMap.lookup(u32(slot))!;
    const view = viewOf(v);
    const u64 = (at: number): number => view.getUint32(at, true) + 2 ** 32 * view.getUint32(at + 4, true);
    let packets = 0;
    let bytes = 0;
    for (let at = 0; at < v.byteLength; at += FW_COUNTER_SIZE) {
      packets += u64(at);
      bytes += u64(at + 8);
    }
    return [packets, bytes];
  }
}
