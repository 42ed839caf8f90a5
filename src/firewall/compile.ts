/**
 * A rule set compiled into the tables src/firewall/rules.bpf.c reads: `fw_rules`, the
 * entries in the order they are tried (a rule of the file is one entry for each combination of
 * its CIDRs, protocols and port ranges that one packet can meet); `fw_index` and `fw_classes`,
 * for each class of packet (family × TCP, UDP, SCTP, the family's ICMP, other) the entries that
 * can match one, in order; and `fw_config`.
 */
import { XdplabError } from '../errors.js';
import { prefixMaskByte, type Cidr } from './cidr.js';
import {
  FW_ALLOW, FW_CLASSES, FW_CONFIG, FW_DENY, FW_EGRESS, FW_INGRESS, FW_MAPS, FW_MATCH_PORTS, FW_MATCH_PROTO, FW_MAX_ENTRIES, FW_MAX_INDEX, FW_RANGE, FW_RULE,
} from './layout.js';
import { PROTOCOLS, entryFamily, orAny, parseRules, type PortRange, type Rule, type RuleAction, type RuleSet } from './schema.js';

/** One entry of fw_rules, before it is bytes. */
export interface RuleEntry {
  /** The rule it comes from (its index in the file). */
  rule: number;
  family: 0 | 4 | 6;
  protocol?: number;
  src?: Cidr;
  dst?: Cidr;
  sourcePorts?: PortRange;
  ports?: PortRange;
  action: RuleAction;
  direction: Rule['direction'];
}

export interface CompiledRules {
  ruleSet: RuleSet;
  /** The entries in the order the program tries them. */
  entries: RuleEntry[];
  /** Map name → [key, value] pairs to write before the first packet. */
  maps: Map<string, Array<[Uint8Array, Uint8Array]>>;
}

const ALL_PORTS: PortRange = { lo: 0, hi: 65535 };

/** Compile a rules file's text (parsed with `parseRules`) or a parsed rule set. */
export function compileRules(input: string | RuleSet, file?: string): CompiledRules {
  const ruleSet = typeof input === 'string' ? parseRules(input, file) : input;
  const entries: RuleEntry[] = [];
  for (const rule of ruleOrder(ruleSet.rules)) {
    for (const entry of expand(rule)) {
      if (entries.length === FW_MAX_ENTRIES) {
        throw new XdplabError('BAD_INPUT', `${ruleSet.file}:${rule.line}:${rule.column}: rules[${rule.index}]: the rules make more than ${FW_MAX_ENTRIES} entries (one for each from × to × protocol × port combination): merge CIDRs or port ranges`);
      }
      entries.push(entry);
    }
  }
  const classes = classLists(ruleSet, entries);
  const index = classes.flat();
  const ranges: Array<[Uint8Array, Uint8Array]> = [];
  let start = 0;
  classes.forEach((list, c) => {
    ranges.push([u32(c), encodeRange(start, list.length)]);
    start += list.length;
  });
  return {
    ruleSet,
    entries,
    maps: new Map([
      [FW_MAPS.rules, entries.map((e, i): [Uint8Array, Uint8Array] => [u32(i), encodeEntry(e)])],
      [FW_MAPS.index, index.map((entry, slot): [Uint8Array, Uint8Array] => [u32(slot), u32(entry)])],
      [FW_MAPS.classes, ranges],
      [FW_MAPS.config, [[u32(0), encodeConfig(ruleSet)]]],
    ]),
  };
}

/** The classes of packet an entry can match: 0..4 IPv4 TCP, UDP, SCTP, ICMP, other; 5..9 the same for IPv6. */
function entryClasses(e: RuleEntry): number[] {
  const out: number[] = [];
  for (const [family, base] of [[4, 0], [6, 5]] as const) {
    if (e.family !== 0 && e.family !== family) continue;
    const named = [PROTOCOLS.tcp, PROTOCOLS.udp, PROTOCOLS.sctp, family === 4 ? PROTOCOLS.icmp : PROTOCOLS.icmpv6];
    named.forEach((protocol, k) => { if (e.protocol === undefined || e.protocol === protocol) out.push(base + k); });
    if (e.protocol === undefined || !named.includes(e.protocol)) out.push(base + 4);
  }
  return out;
}

/** Each class's entries in order; more than fw_index holds is an error at the rule that overflows it. */
function classLists(ruleSet: RuleSet, entries: readonly RuleEntry[]): number[][] {
  const lists = Array.from({ length: FW_CLASSES }, (): number[] => []);
  let total = 0;
  entries.forEach((e, i) => {
    const classes = entryClasses(e);
    total += classes.length;
    if (total > FW_MAX_INDEX) {
      const rule = ruleSet.rules[e.rule];
      throw new XdplabError('BAD_INPUT', `${ruleSet.file}:${rule.line}:${rule.column}: rules[${rule.index}]: the rules fill the program's index (${FW_MAX_INDEX} slots: an entry is in each class of packet it can match, up to ten without protocol or family): narrow the rules by protocol or family`);
    }
    for (const c of classes) lists[c].push(i);
  });
  return lists;
}

function encodeRange(start: number, count: number): Uint8Array {
  const b = new Uint8Array(FW_RANGE.size);
  const v = new DataView(b.buffer);
  v.setUint32(FW_RANGE.start, start, true);
  v.setUint32(FW_RANGE.count, count, true);
  return b;
}

/** The order rules are tried in: by priority when they have one (ties in file order), else file order. */
function ruleOrder(rules: readonly Rule[]): Rule[] {
  return [...rules].sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0) || a.index - b.index);
}

/** The rule's entries: every combination one packet can meet. */
function* expand(rule: Rule): Generator<RuleEntry> {
  for (const src of orAny(rule.from)) {
    for (const dst of orAny(rule.to)) {
      for (const protocol of orAny(rule.protocols)) {
        const family = entryFamily(src, dst, protocol);
        if (family === undefined) continue;
        for (const ports of orAny(rule.ports)) {
          for (const sourcePorts of orAny(rule.sourcePorts)) {
            yield { rule: rule.index, family, protocol, src, dst, ports, sourcePorts, action: rule.action, direction: rule.direction };
          }
        }
      }
    }
  }
}

export const u32 = (n: number): Uint8Array => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

const actionByte = (a: RuleAction): number => (a === 'allow' ? FW_ALLOW : FW_DENY);

/** struct fw_rule's bytes (little-endian, as clang -target bpf lays it out on x86 and arm64). */
function encodeEntry(e: RuleEntry): Uint8Array {
  const b = new Uint8Array(FW_RULE.size);
  const v = new DataView(b.buffer);
  const putCidr = (c: Cidr | undefined, at: number, maskAt: number): void => {
    if (!c) return;
    b.set(c.addr, at);
    for (let i = 0; i < c.addr.length; i++) b[maskAt + i] = prefixMaskByte(c.prefix, i);
  };
  putCidr(e.src, FW_RULE.src, FW_RULE.srcMask);
  putCidr(e.dst, FW_RULE.dst, FW_RULE.dstMask);
  const sport = e.sourcePorts ?? ALL_PORTS;
  const dport = e.ports ?? ALL_PORTS;
  v.setUint16(FW_RULE.sportLo, sport.lo, true);
  v.setUint16(FW_RULE.sportHi, sport.hi, true);
  v.setUint16(FW_RULE.dportLo, dport.lo, true);
  v.setUint16(FW_RULE.dportHi, dport.hi, true);
  b[FW_RULE.family] = e.family;
  b[FW_RULE.proto] = e.protocol ?? 0;
  b[FW_RULE.flags] = (e.protocol !== undefined ? FW_MATCH_PROTO : 0) | (e.ports || e.sourcePorts ? FW_MATCH_PORTS : 0)
    | (e.direction !== 'egress' ? FW_INGRESS : 0) | (e.direction !== 'ingress' ? FW_EGRESS : 0);
  b[FW_RULE.action] = actionByte(e.action);
  v.setUint32(FW_RULE.rule, e.rule, true);
  return b;
}

function encodeConfig(ruleSet: RuleSet): Uint8Array {
  const b = new Uint8Array(FW_CONFIG.size);
  b[FW_CONFIG.defaultAction] = actionByte(ruleSet.default);
  b[FW_CONFIG.nonIpAction] = actionByte(ruleSet.nonIp);
  return b;
}
