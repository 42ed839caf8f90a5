/** `xdplab firewall`: replay's outputs with the deciding rule, the counter table, rules errors before anything runs. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptureSync } from '../../src/pcap/reader.js';
import { cli } from '../support/cli.js';
import { tempDir } from '../support/captures.js';
import { repoRoot } from '../support/paths.js';
import { embeddedData } from '../report/reports.js';

const RULES = path.join(repoRoot, 'examples', 'rules.yaml');
const PCAP = path.join(repoRoot, 'pcaps', 'edge-firewall.pcapng');

describe('xdplab firewall', () => {
  it('prints the summary, then a counter row a rule, the default, non-IP and malformed', async () => {
    const r = await cli(['firewall', RULES, '--pcap', PCAP]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^packets +593$/m);
    expect(r.stdout).toMatch(/^rule +line +name +action +packets +bytes$/m);
    expect(r.stdout).toMatch(/^ +1 +8 +scanners +deny +89 +5390$/m);
    expect(r.stdout).toMatch(/^ +9 +47 +ssh-from-admins +allow +10 +740$/m);
    expect(r.stdout).toMatch(/^ +default +deny +101 +\d+$/m);
    expect(r.stdout).toMatch(/^ +malformed +deny +10 +\d+$/m);
  });

  it('--json: each packet says what decided it, and the counters add up to the packets', async () => {
    const r = await cli(['firewall', RULES, '--pcap', PCAP, '--json', '--cpus', '2']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const packets = lines.filter((l) => 'index' in l);
    const counters = lines.filter((l) => 'counter' in l);
    expect(packets).toHaveLength(593);
    expect(packets[1]).toMatchObject({ verdict: 'XDP_DROP', action: 'deny', decided: { by: 'rule', rule: 1, name: 'scanners', line: 8 } });
    expect(packets.find((p) => (p.decided as { by: string }).by === 'malformed')).toMatchObject({ verdict: 'XDP_DROP', action: 'deny' });
    expect(packets.find((p) => (p.decided as { by: string }).by === 'non-ip')).toMatchObject({ verdict: 'XDP_PASS', action: 'allow' });
    const seen = new Map<string, number>();
    for (const p of packets) seen.set(JSON.stringify(p.decided), (seen.get(JSON.stringify(p.decided)) ?? 0) + 1);
    for (const c of counters) expect(c.packets, JSON.stringify(c)).toBe(seen.get(JSON.stringify(c.counter)) ?? 0);
    expect(counters).toHaveLength(12);
  });

  it('--hook tc-egress runs the egress program and says which rules cannot match there', async () => {
    const r = await cli(['firewall', RULES, '--pcap', PCAP, '--hook', 'tc-egress']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('1 ingress rule(s) (first at line 47) never match at tc-egress');
    expect(r.stdout).toMatch(/^TC_ACT_OK /m);
    expect(r.stdout).toMatch(/^ +9 +47 +ssh-from-admins +allow +0 +0$/m);
  });

  it('--report: the drops are put on the rules that decided them, not on the program\'s one return line', async () => {
    const t = tempDir('xdplab-fw-report-');
    try {
      const html = path.join(t.dir, 'fw.html');
      const r = await cli(['firewall', RULES, '--pcap', PCAP, '--report', html]);
      expect(r.code).toBe(0);
      const byLine = new Map(embeddedData(readFileSync(html, 'utf8')).drops.byLine);
      expect(byLine.get('decided by rule 1 "scanners" (line 8)')).toBeGreaterThan(0);
      expect(byLine.get('decided by the default')).toBeGreaterThan(0);
      expect([...byLine.keys()].some((line) => line.includes('rules.bpf.c'))).toBe(false);
    } finally {
      t.remove();
    }
  });

  it('--maps-out holds the compiled tables; --out the packets allowed, each with the rule that allowed it', async () => {
    const t = tempDir('xdplab-fw-');
    try {
      const maps = path.join(t.dir, 'maps.json');
      const out = path.join(t.dir, 'out.pcapng');
      const r = await cli(['firewall', RULES, '--pcap', PCAP, '--maps-out', maps, '--out', out]);
      expect(r.code).toBe(0);
      const dumped = JSON.parse(readFileSync(maps, 'utf8')) as Record<string, unknown[]>;
      expect(Object.keys(dumped)).toEqual(expect.arrayContaining(['fw_rules', 'fw_config', 'fw_hits', 'fw_log', 'fw_seq']));
      expect(r.stdout).toMatch(/^written +393$/m);
      // Each packet written keeps its comment, and says which rule let it through.
      const written = readCaptureSync(new Uint8Array(readFileSync(out))).records;
      expect(written).toHaveLength(393);
      expect(written[0].comment).toMatch(/^FW_PASS_ALLOWED \| web .*\nfirewall: allow, decided by rule 2 "web" \(line 12\)$/s);
      expect(written.every((p) => /firewall: allow, decided by /.test(p.comment ?? ''))).toBe(true);
    } finally {
      t.remove();
    }
  });

  it('--expect: a difference says which rule decided', async () => {
    const t = tempDir('xdplab-fw-');
    try {
      const expect1 = path.join(t.dir, 'expect.json');
      writeFileSync(expect1, '{"1": "XDP_DROP", "2": "XDP_DROP"}');
      const r = await cli(['firewall', RULES, '--pcap', PCAP, '--expect', expect1]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('packet 1: expected XDP_DROP, got XDP_PASS (decided by rule 2 "web" (line 12))');
      expect(r.stdout).not.toContain('packet 2:');
    } finally {
      t.remove();
    }
  });

  it('a rules error: one line at its place, exit 2, nothing written', async () => {
    const t = tempDir('xdplab-fw-');
    try {
      const rules = path.join(t.dir, 'rules.yaml');
      writeFileSync(rules, 'default: deny\nrules:\n  - name: web\n    action: allow\n    protocol: tcp\n    port: [22, 80-20]\n');
      const out = path.join(t.dir, 'out.pcap');
      const r = await cli(['firewall', rules, '--pcap', PCAP, '--out', out, '--json']);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`xdplab: ${rules}:6:16: rules[0].port[1]: port range 80-20 is empty\n`);
      expect(r.stdout).toBe('');
      expect(existsSync(out)).toBe(false);
    } finally {
      t.remove();
    }
  });

  it('a missing rules file is one line, exit 2', async () => {
    const r = await cli(['firewall', 'no-such-rules.yaml', '--pcap', PCAP]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('xdplab: no-such-rules.yaml: no such file\n');
  });
});
