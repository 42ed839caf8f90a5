/**
 * A rule set compiled into the tables src/firewall/rules.bpf.c reads: `fw_rules`, the
 * entries in the order they are tried (a rule of the file is one entry for each combination of
 * its CIDRs, protocols and port ranges that one packet can meet), and `fw_config`.
 */
import { XdplabError } from '../errors.js';
import { prefixMaskByte, type Cidr } from './cidr.js';
import {
  FW_ALLOW, FW_CONFIG, FW_DENY, FW_EGRESS, FW_INGRESS, FW_MATCH_PORTS, FW_MATCH_PROTO, FW_MAX_ENTRIES, FW_RULE,
} from './layout.js';
import { entryFamily, orAny, parseRules, type PortRange, type Rule, type RuleAction, type RuleSet } from './schema.js';

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
  const rules: Array<[Uint8Array, Uint8Array]> = entries.map((e, i) => [u32(i), encodeEntry(e)]);
  return { ruleSet, entries, maps: new Map([['fw_rules', rules], ['fw_config', [[u32(0), encodeConfig(ruleSet, entries.length)]]]]) };
}

/** The order rules are tried in: by priority when they have one (ties in file order), else file order. */
export function ruleOrder(rules: readonly Rule[]): Rule[] {
  return [...rules].sort((a, b) => (a.priority ?? 0) - (b.priority ?? 0) || a.index - b.index);
}

/** The rule's entries: every combination one packet can meet. */
export function* expand(rule: Rule): Generator<RuleEntry> {
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
export function encodeEntry(e: RuleEntry): Uint8Array {
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

function encodeConfig(ruleSet: RuleSet, entries: number): Uint8Array {
  const b = new Uint8Array(FW_CONFIG.size);
  new DataView(b.buffer).setUint32(FW_CONFIG.entries, entries, true);
  b[FW_CONFIG.defaultAction] = actionByte(ruleSet.default);
  b[FW_CONFIG.nonIpAction] = actionByte(ruleSet.nonIp);
  return b;
}
