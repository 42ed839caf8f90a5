/**
 * `--expect` on the command line: `replay --expect` (comments, a JSON file), `run --expect`
 * (comments, a traffic source's expect: section), the report, and the exit codes: 0 all as
 * expected, 1 a difference (each listed with its packet number from 1), 2 bad or no expectations.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pcapngBytes, tempDir, writeTemp } from '../support/captures.js';
import { cli } from '../support/cli.js';
import { repoRoot } from '../support/conformance.js';
import { tcp4, udp4 } from '../support/packets.js';

const { dir, remove } = tempDir('xdplab-expect-');
afterAll(remove);

const FW = path.join(repoRoot, 'topologies', 'edge-firewall', 'firewall.bpf.o');
const FW_PCAP = path.join(repoRoot, 'pcaps', 'edge-firewall.pcapng');
const FW_MAPS = path.join(repoRoot, 'examples', 'edge-firewall-maps.json');

/** A pcapng of `frames`, each with its comment (undefined: none). */
function commented(name: string, packets: [Uint8Array, string | undefined][]): string {
  const blocks = [
    { type: 'shb' as const }, { type: 'idb' as const },
    ...packets.map(([data, comment], i) => ({ type: 'epb' as const, ifid: 0, ticks: BigInt(1_700_000_000_000_000 + i * 1000), data, comments: comment === undefined ? [] : [comment] })),
  ];
  return writeTemp(dir, name, pcapngBytes(blocks).bytes);
}

const replay = (...args: string[]) => cli(['replay', FW, 'xdp_firewall', ...args]);

describe('replay --expect', () => {
  it('checks every packet of the shipped capture: all as expected with the topology\'s maps', async () => {
    const r = await replay('--pcap', FW_PCAP, '--maps-in', FW_MAPS, '--expect');
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('expect: 593 packets checked (0 without an expectation), all as expected\n');
    expect(r.code).toBe(0);
  });

  it('lists each packet that got something else, with where the verdict was decided, and exits 1', async () => {
    // Without the maps no port is open: every packet it allows by port (314) is dropped.
    const r = await replay('--pcap', FW_PCAP, '--expect', '--json');
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n');
    expect(lines).toContain('expect: 593 packets checked (0 without an expectation), 314 differ:');
    expect(lines.filter((l) => /^ {2}packet \d+: expected XDP_PASS, got XDP_DROP \(decided at pc \d+ of xdp_firewall: firewall\.bpf\.c:\d+: .+\)$/.test(l))).toHaveLength(314);
  });

  it('checks a redirect\'s target, skips packets without an expectation and says how many', async () => {
    const pcap = commented('mixed.pcapng', [
      [tcp4({ dport: 22 }), 'ssh\nexpect: XDP_DROP — port 22 is closed'],
      [udp4(), undefined],
      [tcp4({ dport: 23 }), 'expect: XDP_PASS # wrong on purpose'],
    ]);
    const r = await replay('--pcap', pcap, '--expect');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/expect: 2 packets checked \(1 without an expectation\), 1 differs:\n {2}packet 3: expected XDP_PASS, got XDP_DROP \(decided at pc \d+ of xdp_firewall: /);
  });

  it('takes the expectations from a JSON file of packet numbers and ranges', async () => {
    const file = writeTemp(dir, 'expect.json', new TextEncoder().encode(JSON.stringify({ '1': 'XDP_DROP', '2-3': 'XDP_DROP' })));
    const pcap = commented('plain.pcapng', [[tcp4(), undefined], [tcp4({ dport: 23 }), undefined], [udp4(), undefined]]);
    const r = await replay('--pcap', pcap, '--expect', file);
    expect(r.stdout).toContain('expect: 3 packets checked (0 without an expectation), all as expected\n');
    expect(r.code).toBe(0);
  });

  it.each([
    [{ '0': 'XDP_DROP' }, /expect\.json: "0": expected a packet number \(from 1\) or a range like "3-7"$/],
    [{ '4': 'XDP_DROP' }, /expect\.json: "4": the capture has 3 packets$/],
    [{ '1': 'XDP_DORP' }, /expect\.json: "1": expect: "XDP_DORP" is not an XDP or TC verdict/],
    [{ '1': 'XDP_DROP ifindex 3' }, /expect\.json: "1": expect: XDP_DROP takes nothing after it/],
    [{ '1': 'XDP_REDIRECT port 3' }, /expect\.json: "1": expect: "XDP_REDIRECT port 3": a redirect names its target as "ifindex N", "cpu N" or "xsk N"$/],
    [{}, /expect\.json: no expectation in it/],
    [['XDP_DROP'], /expect\.json: expected an object of packet numbers to verdicts, like \{"1": "XDP_DROP", "2-5": "XDP_PASS"\}$/],
    ['{"1": XDP_DROP}', /expect\.json: not JSON: /],
  ])('refuses a bad file in one line, exit 2: %j', async (json, message) => {
    const text = typeof json === 'string' ? json : JSON.stringify(json);
    const file = writeTemp(dir, 'expect.json', new TextEncoder().encode(text));
    const pcap = commented('three.pcapng', [[tcp4(), undefined], [tcp4(), undefined], [udp4(), undefined]]);
    const r = await replay('--pcap', pcap, '--expect', file);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
  });

  it('a capture with no expectation is an error, not a silent pass', async () => {
    const pcap = commented('none.pcapng', [[tcp4(), 'just a comment'], [udp4(), undefined]]);
    const r = await replay('--pcap', pcap, '--expect');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/none\.pcapng: --expect: no packet comment says `expect: <verdict>`/);
  });

  it('a malformed expectation in a comment names the packet, before anything runs', async () => {
    const pcap = commented('bad.pcapng', [[tcp4(), 'expect: XDP_DROP'], [udp4(), 'expect: XDP_REDIRECT ifindex']]);
    const out = path.join(dir, 'out.pcap');
    const r = await replay('--pcap', pcap, '--expect', '--out', out);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(/bad\.pcapng: packet 2: expect: "XDP_REDIRECT ifindex": a redirect names its target/);
    expect(() => readFileSync(out)).toThrow();
  });
});

describe('run --expect', () => {
  it.each(['edge-firewall', 'l3-router', 'l4-lb', 'tc-nat-vlan'])('%s: every packet of the shipped capture as expected', async (scenario) => {
    const r = await cli(['run', path.join(repoRoot, 'topologies', scenario, 'topology.yaml'), '--expect', '--out', path.join(dir, scenario)]);
    expect(r.stdout).toMatch(/\nexpect: \d+ packets checked \(0 without an expectation\), all as expected\n/);
    expect(r.code).toBe(0);
  });

  /** The edge-firewall topology with `traffic` replaced (the capture relative to repoRoot). */
  function topology(name: string, traffic: string): string {
    const text = readFileSync(path.join(repoRoot, 'topologies', 'edge-firewall', 'topology.yaml'), 'utf8')
      .replace(/^traffic:[\s\S]*$/m, traffic)
      .replace('object: firewall.bpf.o', `object: ${path.join(repoRoot, 'topologies', 'edge-firewall', 'firewall.bpf.o')}`);
    return writeTemp(dir, name, new TextEncoder().encode(text));
  }

  it('takes expectations beside the traffic, over the comments, and reports a difference with the drop\'s reason', async () => {
    const file = topology('beside.yaml', `traffic:
  - pcap: ${FW_PCAP}
    into: edge/wan0
    expect:
      1-3: sent edge/wan0
`);
    const r = await cli(['run', file, '--expect', '--out', path.join(dir, 'beside')]);
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    const head = lines.findIndex((l) => l.startsWith('expect: 593 packets checked (0 without an expectation), 3 differ:'));
    expect(head).toBeGreaterThan(0);
    expect(lines[head + 1]).toMatch(/^ {2}packet 1: expected sent edge\/wan0, got (sent edge\/lan0, delivered server\/eth0|dropped edge\/wan0 xdp \(edge\/wan0 xdp: program fw .*\))$/);
  });

  it.each([
    ['      0: delivered server/eth0', /beside-bad\.yaml:\d+:\d+: traffic\[0\]\.expect\.0: expected a packet number \(from 1\) or a range like 3-7 as the key, got "0"$/],
    ['      1: delivered nowhere/eth0', /beside-bad\.yaml:\d+:\d+: traffic\[0\]\.expect\.1: expect: "delivered nowhere\/eth0": no interface nowhere\/eth0 in the topology$/],
    ['      1: dropped edge/wan0 xpd', /traffic\[0\]\.expect\.1: expect: "dropped edge\/wan0 xpd": no hook xpd \(one of xdp, tc-ingress/],
    ['      2: arrived edge/wan0', /traffic\[0\]\.expect\.2: expect: "arrived edge\/wan0": expected delivered NODE\/IF, dropped NODE\/IF \[HOOK\] or sent NODE\/IF/],
    ['      900: sent edge/lan0', /beside-bad\.yaml:\d+:\d+: traffic\[0\]\.expect\.900: packet 900: .*edge-firewall\.pcapng has 593 packets$/],
  ])('refuses a bad expectation at its line, exit 2: %s', async (entry, message) => {
    const file = topology('beside-bad.yaml', `traffic:\n  - pcap: ${FW_PCAP}\n    into: edge/wan0\n    expect:\n${entry}\n`);
    const out = path.join(dir, 'bad-out');
    const r = await cli(['run', file, '--expect', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(() => readFileSync(path.join(out, 'summary.json'))).toThrow();
  });

  it('a topology with no network expectation is an error under --expect', async () => {
    const pcap = commented('verdicts-only.pcapng', [[tcp4(), 'expect: XDP_DROP']]);
    const file = topology('verdicts-only.yaml', `traffic:\n  - pcap: ${pcap}\n    into: edge/wan0\n`);
    const r = await cli(['run', file, '--expect', '--out', path.join(dir, 'vo')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/verdicts-only\.yaml: --expect: no expectation to check/);
  });
});
