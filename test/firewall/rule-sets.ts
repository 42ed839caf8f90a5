/** Rule sets and address pools the semantic and kernel tests share. */
import { prng } from './packets.js';

/** Every kind of match: CIDRs of both families, directions, protocol lists and numbers, port and source-port ranges. */
export const MIX_RULES = `
default: allow
non-ip: deny
rules:
  - { name: block-bad-v4, action: deny, from: 10.66.0.0/16 }
  - { name: block-bad-v6, action: deny, from: "2001:db8:66::/48", direction: ingress }
  - { name: ssh-in, action: allow, direction: ingress, protocol: tcp, from: 10.0.0.0/8, port: 22 }
  - { name: no-ssh, action: deny, protocol: tcp, port: 22 }
  - { name: high-udp, action: deny, protocol: [udp, sctp], port: 1024-65535, source-port: 0-1023 }
  - { name: egress-dns-only, action: deny, direction: egress, protocol: udp, port: [0-52, 54-65535] }
  - { action: deny, protocol: 47 }
  - { name: ping, action: deny, protocol: icmp, to: 10.0.0.1 }
  - { name: ping6, action: deny, protocol: icmpv6, to: "2001:db8::1/128" }
  - { name: lan6, action: allow, to: "2001:db8::/32" }
  - { name: v4-catchall, action: deny, from: 0.0.0.0/0, to: 10.0.0.0/24 }
`;

export const MIX_POOLS = {
  v4: ['10.0.0.1', '10.0.0.2', '10.66.1.1', '10.1.2.3', '192.0.2.9', '10.0.1.5'],
  v6: ['2001:db8::1', '2001:db8::2', '2001:db8:66::9', '2001:dead::1', 'fe80::1'],
  ports: [22, 53, 80, 123, 1023, 1024, 5000, 65535],
};

/** `n` rules drawn at random over small pools (so they overlap and shadow each other), as YAML, and the pools. */
export function randomRules(n: number, seed: number): { text: string; pools: typeof MIX_POOLS } {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const v4 = ['10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.3/32', '192.0.2.0/24', '0.0.0.0/0'];
  const v6 = ['2001:db8::/32', '2001:db8::/64', '2001:db8::1/128', '::/0'];
  const lines = [`default: ${pick(['allow', 'deny'])}`, `non-ip: ${pick(['allow', 'deny'])}`, 'rules:'];
  for (let i = 0; i < n; i++) {
    const f: string[] = [`action: ${pick(['allow', 'deny'])}`];
    const fam = pick([4, 6, 0]);
    if (rnd() < 0.3) f.push(`direction: ${pick(['ingress', 'egress'])}`);
    if (fam && rnd() < 0.6) f.push(`from: "${pick(fam === 4 ? v4 : v6)}"`);
    if (fam && rnd() < 0.6) f.push(`to: "${pick(fam === 4 ? v4 : v6)}"`);
    const proto = pick(['tcp', 'udp', '[tcp, udp]', 'sctp', fam === 6 ? 'icmpv6' : fam === 4 ? 'icmp' : 'any', '47', '']);
    if (proto) f.push(`protocol: ${proto}`);
    if (['tcp', 'udp', '[tcp, udp]', 'sctp'].includes(proto) && rnd() < 0.6) f.push(`port: ${pick(['22', '53', '1000-2000', '[80, 443]', '0-1023'])}`);
    if (['tcp', 'udp'].includes(proto) && rnd() < 0.2) f.push(`source-port: ${pick(['1024-65535', '53'])}`);
    lines.push(`  - { ${f.join(', ')} }`);
  }
  return {
    text: lines.join('\n') + '\n',
    pools: { v4: ['10.1.2.3', '10.1.2.4', '10.1.3.1', '10.9.9.9', '192.0.2.1', '198.51.100.1'], v6: ['2001:db8::1', '2001:db8::2', '2001:db8:1::1', '2001:dead::1'], ports: [22, 53, 80, 443, 1000, 1500, 2000, 5353, 40000] },
  };
}
