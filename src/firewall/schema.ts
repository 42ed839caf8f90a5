/**
 * A rules file (docs: README.md, "Intent rules"; example: examples/rules.yaml) read into a
 * `RuleSet`, every error at its line and column (topology/cursor.ts):
 *
 *   default: deny              # what a packet no rule matches gets (required)
 *   non-ip: allow              # ARP, LLDP…: frames that are not IPv4/IPv6 (default allow)
 *   rules:                     # tried in order, the first that matches decides
 *     - name: ssh-from-admins  # optional, unique
 *       action: allow          # allow | deny (required)
 *       direction: ingress     # ingress | egress | any (default any; XDP sees ingress only)
 *       protocol: tcp          # tcp udp sctp icmp icmpv6 any, a number 0..255, or a list
 *       from: 10.0.0.0/8       # source CIDRs: one or a list, IPv4 or IPv6 (default any)
 *       to: 192.0.2.10         # destination CIDRs (a bare address is one host)
 *       port: 22               # destination ports: 22, 8000-8999, or a list of them
 *       source-port: 1024-65535
 *       priority: 10           # optional: given on every rule or on none; lower first
 *
 * Vocabulary from nftables (saddr/daddr → from/to, dport → port) and Cilium's policies
 * (fromCIDR/toCIDR, toPorts, ANY); an explicit `priority` orders as nftables' chain
 * priorities do, ties kept in file order.
 */
import { XdplabError } from '../errors.js';
import { parseYaml, type Cursor } from '../topology/cursor.js';
import { parseCidr, type Cidr } from './cidr.js';

export type RuleAction = 'allow' | 'deny';
export type RuleDirection = 'ingress' | 'egress' | 'any';

export interface PortRange {
  lo: number;
  hi: number;
}

export interface Rule {
  /** Place in the file, from 0 (the rule's number, as `xdplab firewall` prints it, is index + 1). */
  index: number;
  name?: string;
  /** Line and column of the rule in the file (from 1). */
  line: number;
  column: number;
  action: RuleAction;
  direction: RuleDirection;
  /** IP protocol numbers; undefined: any. */
  protocols?: number[];
  /** Source and destination CIDRs; empty: any. */
  from: Cidr[];
  to: Cidr[];
  /** Destination and source port ranges; empty: any. */
  ports: PortRange[];
  sourcePorts: PortRange[];
  priority?: number;
}

export interface RuleSet {
  file: string;
  default: RuleAction;
  nonIp: RuleAction;
  rules: Rule[];
}

export const PROTOCOLS: Readonly<Record<string, number>> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132 };
/** Protocols whose first four bytes are the source and destination ports. */
const PORT_PROTOCOLS: readonly number[] = [PROTOCOLS.tcp, PROTOCOLS.udp, PROTOCOLS.sctp];

const ACTIONS = ['allow', 'deny'] as const;
const DIRECTIONS = ['ingress', 'egress', 'any'] as const;
const TOP_KEYS = ['default', 'non-ip', 'rules'];
const RULE_KEYS = ['name', 'action', 'direction', 'protocol', 'from', 'to', 'port', 'source-port', 'priority'];

/** Parse and check a rules file's text; `file` names it in errors. */
export function parseRules(text: string, file = 'rules.yaml'): RuleSet {
  const doc = parseYaml(text, file);
  if (!doc.present) throw new XdplabError('BAD_INPUT', `${file}: empty: expected a mapping with default and rules`);
  const top = doc.map(TOP_KEYS, ['default', 'rules']);
  const rules = top.get('rules')!.list().map((c, i) => parseRule(c, i));
  checkNames(rules, top.get('rules')!.list());
  checkPriorities(rules, top.get('rules')!.list());
  const nonIp = top.get('non-ip');
  return {
    file,
    default: top.get('default')!.oneOf(ACTIONS),
    nonIp: nonIp?.present ? nonIp.oneOf(ACTIONS) : 'allow',
    rules,
  };
}

/** The line (from 1) a node of the file starts at. */
export const lineOf = (c: Cursor): number => c.source.lines.linePos(c.node?.range?.[0] ?? 0).line;
const columnOf = (c: Cursor): number => c.source.lines.linePos(c.node?.range?.[0] ?? 0).col;

/**
 * The family an entry of (source CIDR, destination CIDR, protocol) matches: 0 both, 4, 6, or
 * undefined when the three cannot meet in one packet (an IPv4 source, an IPv6 destination).
 */
export function entryFamily(src: Cidr | undefined, dst: Cidr | undefined, protocol: number | undefined): 0 | 4 | 6 | undefined {
  const wants = [src?.family, dst?.family, protocol === PROTOCOLS.icmp ? 4 : protocol === PROTOCOLS.icmpv6 ? 6 : undefined]
    .filter((f): f is 4 | 6 => f !== undefined);
  if (wants.some((f) => f !== wants[0])) return undefined;
  return wants[0] ?? 0;
}

/** A list, or one undefined standing for any. */
export const orAny = <T>(list: readonly T[] | undefined): Array<T | undefined> => (list?.length ? [...list] : [undefined]);

/** A rule whose every (from, to, protocol) combination mixes families can match nothing: an error. */
function checkFamilies(rule: Rule, c: Cursor): void {
  for (const src of orAny(rule.from)) for (const dst of orAny(rule.to)) for (const p of orAny(rule.protocols)) if (entryFamily(src, dst, p) !== undefined) return;
  const says = (what: string, cidrs: Cidr[]): string => (cidrs.length ? `${what} is IPv${cidrs[0].family}` : '');
  const parts = [says('from', rule.from), says('to', rule.to), rule.protocols ? `protocol ${rule.protocols.map(protocolName).join(', ')}` : ''].filter(Boolean);
  throw c.fail(`can never match: ${parts.join(', ')} (a packet is IPv4 or IPv6, not both)`);
}

function parseRule(c: Cursor, index: number): Rule {
  const f = c.map(RULE_KEYS, ['action']);
  const opt = (key: string): Cursor | undefined => (f.get(key)?.present ? f.get(key) : undefined);
  const name = opt('name')?.string();
  const protocols = opt('protocol') ? parseProtocols(opt('protocol')!) : undefined;
  const ports = opt('port') ? parsePorts(opt('port')!) : [];
  const sourcePorts = opt('source-port') ? parsePorts(opt('source-port')!) : [];
  if (ports.length || sourcePorts.length) {
    const at = opt('port') ?? opt('source-port')!;
    if (!protocols) throw at.fail('ports need a protocol with ports: protocol: tcp, udp, sctp or a list of them');
    const other = protocols.find((p) => !PORT_PROTOCOLS.includes(p));
    if (other !== undefined) throw at.fail(`ports need protocol tcp, udp or sctp (protocol ${protocolName(other)} has no ports)`);
  }
  const rule: Rule = {
    index,
    name,
    line: lineOf(c),
    column: columnOf(c),
    action: f.get('action')!.oneOf(ACTIONS),
    direction: opt('direction')?.oneOf(DIRECTIONS) ?? 'any',
    protocols,
    from: opt('from') ? cidrsAt(opt('from')!) : [],
    to: opt('to') ? cidrsAt(opt('to')!) : [],
    ports,
    sourcePorts,
    priority: opt('priority')?.int(0, 0xffffffff),
  };
  checkFamilies(rule, c);
  return rule;
}

/** A value that may be one item or a list of them. */
const listOf = (c: Cursor): Cursor[] => {
  if (!c.isList()) return [c];
  const items = c.list();
  if (items.length === 0) throw c.fail('an empty list matches nothing (leave the key out to match any)');
  return items;
};

/**
 * Each value once: a repeated CIDR or port would only add table entries that match what the
 * first already does (every combination becomes an entry, toward the 16384 the program holds).
 */
function unique<T>(items: T[], key: (item: T) => string): T[] {
  return [...new Map(items.map((item) => [key(item), item])).values()];
}

const cidrsAt = (c: Cursor): Cidr[] => unique(listOf(c).map(cidrAt), (x) => `${x.family}:${x.addr.join('.')}/${x.prefix}`);

function cidrAt(c: Cursor): Cidr {
  try {
    return parseCidr(c.string());
  } catch (err) {
    if (err instanceof XdplabError && err.code === 'BAD_INPUT') throw c.fail(err.message);
    throw err;
  }
}

export const protocolName = (n: number): string => Object.keys(PROTOCOLS).find((k) => PROTOCOLS[k] === n) ?? String(n);

function parseProtocols(c: Cursor): number[] | undefined {
  const out: number[] = [];
  for (const item of listOf(c)) {
    const v = item.scalar();
    if (v === 'any') {
      if (c.isList()) throw item.fail('any in a list of protocols: give any alone');
      return undefined;
    }
    if (typeof v === 'number') out.push(item.int(0, 255));
    else if (typeof v === 'string' && v in PROTOCOLS) out.push(PROTOCOLS[v]);
    else throw item.fail(`unknown protocol ${JSON.stringify(v)} (expected tcp, udp, sctp, icmp, icmpv6, any or a number 0..255)`);
  }
  return [...new Set(out)];
}

function parsePorts(c: Cursor): PortRange[] {
  return unique(listOf(c).map((item) => {
    const v = item.scalar();
    if (typeof v === 'number') {
      const port = item.int(0, 65535);
      return { lo: port, hi: port };
    }
    // A port or a range, also quoted ("80", "8000-8999").
    const m = typeof v === 'string' ? /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(v) : null;
    if (!m) throw item.fail(`expected a port 0..65535 or a range like 8000-8999, got ${JSON.stringify(v ?? null)}`);
    const [lo, hi] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (lo > 65535 || hi > 65535) throw item.fail(`${lo === hi ? `port ${lo}` : `port range ${lo}-${hi}`}: ports are 0..65535`);
    if (lo > hi) throw item.fail(`port range ${lo}-${hi} is empty`);
    return { lo, hi };
  }), (r) => `${r.lo}-${r.hi}`);
}

function checkNames(rules: readonly Rule[], cursors: readonly Cursor[]): void {
  const seen = new Map<string, Rule>();
  for (const r of rules) {
    if (r.name === undefined) continue;
    const first = seen.get(r.name);
    if (first) throw cursors[r.index].map(RULE_KEYS).get('name')!.fail(`name ${JSON.stringify(r.name)} is taken by rule ${first.index + 1} (line ${first.line})`);
    seen.set(r.name, r);
  }
}

function checkPriorities(rules: readonly Rule[], cursors: readonly Cursor[]): void {
  const given = rules.find((r) => r.priority !== undefined);
  const missing = rules.find((r) => r.priority === undefined);
  if (given && missing) {
    throw cursors[missing.index].fail(`no priority, but rule ${given.index + 1} (line ${given.line}) has one: give every rule a priority, or none (file order)`);
  }
}
