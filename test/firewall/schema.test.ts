/** Rules files: what they read as, and every mistake reported at its line and column. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../support/paths.js';
import { compileRules } from '../../src/firewall/compile.js';
import { parseRules } from '../../src/firewall/schema.js';
import { XdplabError } from '../../src/errors.js';

const error = (text: string): string => {
  try {
    compileRules(text, 'rules.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(XdplabError);
    return (err as XdplabError).message;
  }
  throw new Error('no error');
};

describe('parseRules', () => {
  it('reads rules with their lines, defaults and lists', () => {
    const set = parseRules(`default: deny
rules:
  - name: web
    action: allow
    protocol: [tcp, udp]
    from: [10.0.0.0/8, "2001:db8::/32", 10.0.0.0/8]
    to: 192.0.2.1
    port: [80, "8000-8999", "443", 80]
  - action: deny
    direction: egress
    protocol: 47
`, 'r.yaml');
    expect(set.default).toBe('deny');
    expect(set.nonIp).toBe('allow');
    const [web, gre] = set.rules;
    expect(web).toMatchObject({ index: 0, name: 'web', line: 3, column: 5, action: 'allow', direction: 'any', protocols: [6, 17], ports: [{ lo: 80, hi: 80 }, { lo: 8000, hi: 8999 }, { lo: 443, hi: 443 }], sourcePorts: [] });
    expect(web.from.map((c) => [c.family, c.prefix])).toEqual([[4, 8], [6, 32]]);
    expect(web.to[0]).toMatchObject({ family: 4, prefix: 32 });
    expect(gre).toMatchObject({ index: 1, line: 9, direction: 'egress', protocols: [47], from: [], to: [] });
  });

  it("the README's rules example reads as it says", () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const block = /## Intent rules[\s\S]*?```yaml\n([\s\S]*?)^```$/m.exec(readme)![1];
    const set = parseRules(block, 'README.md');
    expect(set).toMatchObject({ default: 'deny', nonIp: 'allow' });
    expect(set.rules[0]).toMatchObject({ name: 'ssh-from-admins', direction: 'ingress', protocols: [6], ports: [{ lo: 22, hi: 22 }], sourcePorts: [{ lo: 1024, hi: 65535 }], priority: 10 });
  });

  it('compiles a rule into one entry a combination one packet can meet, in priority order', () => {
    const c = compileRules(`default: allow
rules:
  - { action: deny, priority: 20, from: [10.0.0.0/8, "2001:db8::/32"], to: [192.0.2.0/24] }
  - { action: allow, priority: 10, protocol: [tcp, udp], port: [22, 80] }
`);
    // rule 2 first (priority 10): 2 protocols × 2 ports; rule 1: only 10/8 → 192.0.2/24 meets.
    expect(c.entries.map((e) => [e.rule, e.family, e.protocol, e.ports?.lo])).toEqual([
      [1, 0, 6, 22], [1, 0, 6, 80], [1, 0, 17, 22], [1, 0, 17, 80], [0, 4, undefined, undefined],
    ]);
    expect(c.maps.get('fw_rules')).toHaveLength(5);
  });

  const cases: Array<[string, string, string]> = [
    ['an empty range', 'default: deny\nrules:\n  - action: allow\n    protocol: tcp\n    port: [22, 80-20]\n', 'rules.yaml:5:16: rules[0].port[1]: port range 80-20 is empty'],
    ['a port past 65535', 'default: deny\nrules:\n  - { action: allow, protocol: udp, port: 70000 }\n', 'rules.yaml:3:43: rules[0].port: expected an integer 0..65535, got 70000'],
    ['a bad port text', 'default: deny\nrules:\n  - { action: allow, protocol: udp, source-port: http }\n', 'rules.yaml:3:50: rules[0].source-port: expected a port 0..65535 or a range like 8000-8999, got "http"'],
    ['ports without a protocol', 'default: deny\nrules:\n  - { action: allow, port: 22 }\n', 'rules.yaml:3:28: rules[0].port: ports need a protocol with ports: protocol: tcp, udp, sctp or a list of them'],
    ['ports with ICMP', 'default: deny\nrules:\n  - { action: allow, protocol: [tcp, icmp], port: 22 }\n', 'rules.yaml:3:51: rules[0].port: ports need protocol tcp, udp or sctp (protocol icmp has no ports)'],
    ['an unknown protocol', 'default: deny\nrules:\n  - { action: allow, protocol: tpc }\n', 'rules.yaml:3:32: rules[0].protocol: unknown protocol "tpc" (expected tcp, udp, sctp, icmp, icmpv6, any or a number 0..255)'],
    ['a protocol number too big', 'default: deny\nrules:\n  - { action: allow, protocol: 256 }\n', 'rules.yaml:3:32: rules[0].protocol: expected an integer 0..255, got 256'],
    ['host bits set', 'default: deny\nrules:\n  - action: deny\n    from: 10.0.0.1/8\n', 'rules.yaml:4:11: rules[0].from: 10.0.0.1/8: host bits set after /8 (did you mean 10.0.0.0/8?)'],
    ['a bad address', 'default: deny\nrules:\n  - action: deny\n    to: [10.0.0.0/8, 300.1.1.1]\n', 'rules.yaml:4:22: rules[0].to[1]: "300.1.1.1": not an IPv4 or IPv6 address or CIDR'],
    ['a prefix too long', 'default: deny\nrules:\n  - action: deny\n    from: "2001:db8::/129"\n', 'rules.yaml:4:11: rules[0].from: "2001:db8::/129": prefix length must be 0..128'],
    ['families that never meet', 'default: deny\nrules:\n  - action: deny\n    from: 10.0.0.0/8\n    to: "2001:db8::/32"\n', 'rules.yaml:3:5: rules[0]: can never match: from is IPv4, to is IPv6 (a packet is IPv4 or IPv6, not both)'],
    ['icmpv6 from IPv4', 'default: deny\nrules:\n  - { action: deny, protocol: icmpv6, from: 10.0.0.0/8 }\n', 'rules.yaml:3:5: rules[0]: can never match: from is IPv4, protocol icmpv6 (a packet is IPv4 or IPv6, not both)'],
    ['an unknown key', 'default: deny\nrules:\n  - action: deny\n    dport: 22\n', 'rules.yaml:4:5: rules[0]: unknown key "dport" (expected one of: name, action, direction, protocol, from, to, port, source-port, priority)'],
    ['a missing action', 'default: deny\nrules:\n  - name: x\n', 'rules.yaml:3:5: rules[0]: missing action'],
    ['a bad action', 'default: deny\nrules:\n  - action: accept\n', 'rules.yaml:3:13: rules[0].action: expected one of allow, deny, got "accept"'],
    ['a bad direction', 'default: deny\nrules:\n  - { action: deny, direction: in }\n', 'rules.yaml:3:32: rules[0].direction: expected one of ingress, egress, any, got "in"'],
    ['a missing default', 'rules: []\n', 'rules.yaml:1:1: the document: missing default'],
    ['a bad default', 'default: drop\nrules: []\n', 'rules.yaml:1:10: default: expected one of allow, deny, got "drop"'],
    ['a name taken twice', 'default: deny\nrules:\n  - { name: a, action: deny }\n  - { name: a, action: allow }\n', 'rules.yaml:4:13: rules[1].name: name "a" is taken by rule 1 (line 3)'],
    ['priorities on some rules only', 'default: deny\nrules:\n  - { action: deny, priority: 1 }\n  - { action: allow }\n', 'rules.yaml:4:5: rules[1]: no priority, but rule 1 (line 3) has one: give every rule a priority, or none (file order)'],
    ['an empty list', 'default: deny\nrules:\n  - { action: deny, from: [] }\n', 'rules.yaml:3:27: rules[0].from: an empty list matches nothing (leave the key out to match any)'],
    ['any in a list', 'default: deny\nrules:\n  - { action: deny, protocol: [tcp, any] }\n', 'rules.yaml:3:37: rules[0].protocol[1]: any in a list of protocols: give any alone'],
    ['YAML syntax', 'default: deny\nrules:\n  - { action: deny\n', 'rules.yaml:4:1:'],
    ['an empty file', '', 'rules.yaml: empty: expected a mapping with default and rules'],
  ];
  it.each(cases)('%s', (_, text, message) => {
    expect(error(text).startsWith(message), error(text)).toBe(true);
  });

  it('a full index: an error at the rule that fills it (rules without protocol or family are in every class)', () => {
    const lines = ['default: deny', 'rules:'];
    for (let i = 0; i < 6600; i++) lines.push(`  - { action: deny, direction: ingress }`);
    expect(error(lines.join('\n'))).toMatch(/^rules\.yaml:6556:5: rules\[6553\]: the rules fill the program's index \(65536 slots/);
  });

  it('too many entries: an error at the rule that makes them', () => {
    const cidrs = Array.from({ length: 200 }, (_, i) => `10.${i}.0.0/16`).join(', ');
    const ports = Array.from({ length: 100 }, (_, i) => 1000 + i).join(', ');
    expect(error(`default: deny\nrules:\n  - { action: deny }\n  - { action: deny, protocol: tcp, from: [${cidrs}], port: [${ports}] }\n`))
      .toBe('rules.yaml:4:5: rules[1]: the rules make more than 16384 entries (one for each from × to × protocol × port combination): merge CIDRs or port ranges');
  });
});
