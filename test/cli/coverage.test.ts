/**
 * `--coverage FILE` on prog run and replay: an lcov tracefile of the C lines, functions and
 * branches that ran, with counts — the same from both engines, read by genhtml.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { repoRoot } from '../support/conformance.js';

const FIREWALL = path.join(repoRoot, 'topologies/edge-firewall/firewall.bpf.o');
const SOURCE = path.join(repoRoot, 'topologies/edge-firewall/firewall.bpf.c');
const SYN = path.join(repoRoot, 'examples/ssh-syn.bin');
const CAPTURE = path.join(repoRoot, 'pcaps/edge-firewall.pcapng');
const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'xdplab-coverage-'));

/** The records of one source file of an lcov tracefile, by kind. */
function recordOf(lcov: string, file: string): { fn: Map<string, number>; da: Map<number, number>; brda: string[]; lines: string[] } {
  const block = lcov.split('end_of_record\n').find((b) => b.includes(`SF:${file}\n`));
  expect(block, `no SF:${file} in\n${lcov}`).toBeDefined();
  const lines = block!.trim().split('\n');
  const fn = new Map(lines.filter((l) => l.startsWith('FNDA:')).map((l) => { const [n, name] = l.slice(5).split(','); return [name, Number(n)] as const; }));
  const da = new Map(lines.filter((l) => l.startsWith('DA:')).map((l) => { const [line, n] = l.slice(3).split(','); return [Number(line), Number(n)] as const; }));
  return { fn, da, brda: lines.filter((l) => l.startsWith('BRDA:')), lines };
}

/** The source line (1-based) holding `text`. */
const lineOf = (text: string): number => readFileSync(SOURCE, 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1;

describe('--coverage', () => {
  it('prog run: the lines of the path one packet took, counted once; the rest 0; in both engines the same file', async () => {
    const files: string[] = [];
    for (const engine of ['jit', 'interp']) {
      const out = path.join(tmp(), 'fw.info');
      const r = await cli(['prog', 'run', FIREWALL, 'xdp_firewall', 'data_in', SYN, '--coverage', out, '--engine', engine]);
      expect(r.code, r.stderr).toBe(0);
      files.push(readFileSync(out, 'utf8'));
    }
    expect(files[1]).toBe(files[0]);
    const rec = recordOf(files[0], SOURCE);
    expect(rec.lines[0]).toBe('TN:firewall_bpf_o');
    expect(rec.fn.get('xdp_firewall')).toBe(1);
    // An IPv4 TCP SYN: the IPv4 blocklist and the port were looked up once, the IPv6 path not at all.
    expect(rec.da.get(lineOf('rule = bpf_map_lookup_elem(&blocklist_v4, &key);'))).toBe(1);
    expect(rec.da.get(lineOf('__u32 *mask = bpf_map_lookup_elem(&allowed_ports, &port);'))).toBe(1);
    expect(rec.da.get(lineOf('rule = bpf_map_lookup_elem(&blocklist_v6, &key);'))).toBe(0);
    expect(rec.brda.length).toBeGreaterThan(10);
    expect(rec.brda.every((l) => /^BRDA:\d+,\d+,[01],(\d+|-)$/.test(l))).toBe(true);
    expect(files[0]).toMatch(/^LF:\d+\nLH:\d+\nend_of_record$/m);
  });

  it('replay: the program entered once per packet of the capture, branches counted on both sides', async () => {
    const out = path.join(tmp(), 'fw.info');
    const r = await cli(['replay', FIREWALL, 'xdp_firewall', '--pcap', CAPTURE, '--coverage', out]);
    expect(r.code, r.stderr).toBe(0);
    const packets = Number(/^packets\s+(\d+)/m.exec(r.stdout)![1]);
    const rec = recordOf(readFileSync(out, 'utf8'), SOURCE);
    expect(rec.fn.get('xdp_firewall')).toBe(packets);
    const sides = rec.brda.map((l) => l.split(',')[3]).filter((n) => n !== '-').map(Number);
    expect(sides.some((n) => n > 0)).toBe(true);
  });

  it('replay --coverage-by verdict: one lcov test per verdict, each entered once per packet that got it', async () => {
    const out = path.join(tmp(), 'fw.info');
    const r = await cli(['replay', FIREWALL, 'xdp_firewall', '--pcap', CAPTURE, '--coverage', out, '--coverage-by', 'verdict']);
    expect(r.code, r.stderr).toBe(0);
    const lcov = readFileSync(out, 'utf8');
    const tests = lcov.split('end_of_record\n').map((block) => [/^TN:(\w+)$/m.exec(block)?.[1], /^FNDA:(\d+),xdp_firewall$/m.exec(block)?.[1]] as const)
      .filter(([, n]) => n !== undefined).map(([tn, n]) => [tn, Number(n)] as const);
    const verdicts = [...r.stdout.matchAll(/^(XDP_\w+)\s+(\d+)\s/gm)].map((m) => [m[1], Number(m[2])] as const);
    expect(verdicts.length).toBeGreaterThan(1);
    expect(new Map(tests)).toEqual(new Map(verdicts));
    const bad = await cli(['replay', FIREWALL, 'xdp_firewall', '--pcap', CAPTURE, '--coverage-by', 'verdict']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--coverage-by needs --coverage FILE/);
  });

  it('run: every object of a topology, tail-called programs included, counted per program entered', async () => {
    const out = path.join(tmp(), 'lb.info');
    const r = await cli(['run', path.join(repoRoot, 'topologies/l4-lb/topology.yaml'), '--out', tmp(), '--coverage', out, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const received = JSON.parse(r.stdout.trim().split('\n').find((l) => l.includes('"hook":"xdp"'))!) as { packets: number };
    const rec = recordOf(readFileSync(out, 'utf8'), path.join(repoRoot, 'topologies/l4-lb/lb.bpf.c'));
    expect(rec.fn.get('xdp_lb')).toBe(received.packets);
    const classify = rec.fn.get('lb_classify')!;
    const encap = rec.fn.get('lb_encap')!;
    expect(classify).toBeGreaterThan(0);
    expect(classify).toBeLessThanOrEqual(received.packets);
    expect(encap).toBeGreaterThan(0);
    expect(encap).toBeLessThanOrEqual(classify);
  });

  it.skipIf(spawnSync('sh', ['-c', 'command -v genhtml']).status !== 0)('genhtml reads it (skipped when lcov is not installed: apt-get install lcov)', async () => {
    const dir = tmp();
    const out = path.join(dir, 'fw.info');
    expect((await cli(['replay', FIREWALL, 'xdp_firewall', '--pcap', CAPTURE, '--coverage', out])).code).toBe(0);
    const g = spawnSync('genhtml', [out, '-o', path.join(dir, 'html')], { encoding: 'utf8' });
    expect(g.status, g.stderr).toBe(0);
    expect(g.stdout).toMatch(/lines\.+: \d+\.\d% \(\d+ of \d+ lines\)/);
    expect(existsSync(path.join(dir, 'html', 'index.html'))).toBe(true);
  });

  it('an output it cannot write: one line, exit 2, before the run', async () => {
    const r = await cli(['prog', 'run', FIREWALL, 'xdp_firewall', 'data_in', SYN, '--coverage', '/proc/nope/fw.info']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/\/proc\/nope\/fw\.info/);
  });
});
