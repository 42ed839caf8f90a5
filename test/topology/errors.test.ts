import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { repoRoot } from '../support/conformance.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-topo-err-'));
const object = path.join(repoRoot, 'test', 'fixtures', 'bpf', 'xdp-count.bpf.o');

const BASE = `name: t
nodes:
  - name: a
    interfaces:
      - { name: eth0, mac: "02:00:00:00:00:01", ipv4: [10.0.0.1/24] }
  - name: b
    interfaces:
      - { name: eth0, ipv4: [10.0.0.2/24] }
links:
  - [a/eth0, b/eth0]
programs:
  - { name: p, object: ${object}, program: xdp_count }
attach:
  - { program: p, interface: a/eth0, hook: xdp }
`;

async function runWith(text: string): Promise<{ code: number; stderr: string }> {
  const file = path.join(dir, `t${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  const r = await cli(['run', file, '--out', path.join(dir, 'out')]);
  return { code: r.code, stderr: r.stderr.replace(file, 'FILE') };
}

// [what, the edit to BASE, expected message (FILE:line:col: path: …)]
const CASES: Array<[string, (s: string) => string, RegExp]> = [
  ['a YAML syntax error', (s) => s.replace('name: t', 'name: [t'), /^xdplab: FILE:\d+:\d+: /],
  ['an unknown top-level key', (s) => `${s}colour: blue\n`, /FILE:15:1: the document: unknown key "colour"/],
  ['an unknown node key', (s) => s.replace('  - name: b\n', '  - name: b\n    hats: 2\n'), /FILE:7:5: nodes\[1\]: unknown key "hats"/],
  ['a bad MAC', (s) => s.replace('02:00:00:00:00:01', '02:00:00:00:01'), /FILE:5:28: nodes\[0\]\.interfaces\[0\]\.mac: "02:00:00:00:01" is not a MAC address/],
  ['a bad address', (s) => s.replace('10.0.0.2/24', '10.0.0.256/24'), /nodes\[1\]\.interfaces\[0\]\.ipv4\[0\]: "10\.0\.0\.256\/24" is not an IPv4 address/],
  ['a link to a missing interface', (s) => s.replace('[a/eth0, b/eth0]', '[a/eth0, b/eth9]'), /links\[0\]\[1\]: b has no interface eth9 \(it has: eth0\)/],
  ['a link to a missing node', (s) => s.replace('[a/eth0, b/eth0]', '[a/eth0, c/eth0]'), /links\[0\]\[1\]: "c\/eth0" is not node\/interface/],
  ['a missing object', (s) => s.replace(object, 'nope.bpf.o'), /programs\[0\]\.object: .*nope\.bpf\.o: no such file$/m],
  ['a missing program', (s) => s.replace('program: xdp_count', 'program: nope'), /programs\[0\]\.program: no program nope .*it has: xdp_count/],
  ['an XDP program on a TC hook', (s) => s.replace('hook: xdp', 'hook: tc-ingress'), /attach\[0\]\.hook: p is not a TC program/],
  ['an unknown hook', (s) => s.replace('hook: xdp', 'hook: egress'), /attach\[0\]\.hook: expected one of xdp, tc-ingress, tc-egress/],
  ['an attachment of an unknown program', (s) => s.replace('program: p, interface', 'program: q, interface'), /attach\[0\]\.program: no program q in programs \(p\)/],
  ['a bad MTU', (s) => s.replace('ipv4: [10.0.0.2/24] }', 'ipv4: [10.0.0.2/24], mtu: 9 }'), /mtu: expected an integer 68\.\.65535, got 9/],
  ['no nodes', () => 'name: t\n', /the document: missing nodes/],
  ['a map entry that does not fit', (s) => s.replace('program: xdp_count }', 'program: xdp_count, maps: { proto_count: [ { key: 1, value: { hex: "01" } } ] } }'),
    /programs\[0\]\.maps\.proto_count\[0\]\.value: hex gives 1 bytes; this map's values are 8/],
  ['a missing capture', (s) => `${s}traffic:\n  - { pcap: none.pcap, into: a/eth0 }\n`, /none\.pcap/],
];

describe('bad topology files: exit 2 and an error that says where', () => {
  it('the base file runs', async () => {
    expect((await runWith(BASE)).code).toBe(0);
  });

  it.each(CASES)('%s', async (_what, edit, message) => {
    const r = await runWith(edit(BASE));
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
  });
});
