/**
 * --maps-in takes what users have (issue 10): the hex of --maps-out, `bpftool map dump -j`'s
 * entries (fixtures/maps/firewall.bpftool-dump.json is bpftool v7.1's dump of the edge
 * firewall's maps, loaded into Linux 6.18: raw "0x.." bytes, per-CPU `values`, `formatted`),
 * what `bpftool map dump` prints with BTF, and the topology's own syntax (numbers, CIDRs for
 * LPM keys, structs by field). Each form seeds the maps the same; bad entries say where.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { repoRoot } from '../support/conformance.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-maps-in-'));
const FIREWALL = path.join(repoRoot, 'topologies', 'edge-firewall', 'firewall.bpf.o');
const BPFTOOL_DUMP = path.join(repoRoot, 'test', 'fixtures', 'maps', 'firewall.bpftool-dump.json');
const PACKET = path.join(dir, 'packet.bin');
writeFileSync(PACKET, Uint8Array.of(2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xb5)); // not IP: passed, counted as FW_PASS_NON_IP (2)

interface Entry { key: string; formatted: { key: unknown; value?: unknown; values?: Array<{ cpu: number; value: unknown }> } }

/** The maps after a run that loaded `mapsIn` (an object, written to a file) — their formatted entries. */
async function after(mapsIn: unknown, cpus = 2): Promise<Record<string, Entry['formatted'][]>> {
  const file = path.join(dir, `in-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, typeof mapsIn === 'string' ? mapsIn : JSON.stringify(mapsIn));
  const out = path.join(dir, `out-${Math.random().toString(36).slice(2)}.json`);
  const r = await cli(['prog', 'run', FIREWALL, 'xdp_firewall', 'data_in', PACKET, '--maps-in', file, '--maps-out', out, '--cpus', String(cpus)]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const maps = JSON.parse(readFileSync(out, 'utf8')) as Record<string, Entry[]>;
  return Object.fromEntries(Object.entries(maps).map(([name, list]) => [name, list.map((e) => e.formatted)]));
}

const stats = (m: Record<string, Entry['formatted'][]>, reason: number): unknown => m.fw_stats.find((e) => e.key === reason)?.values;

describe('--maps-in: the forms users have', () => {
  it('bpftool map dump -j, as bpftool prints it: raw bytes, per-CPU values', async () => {
    const m = await after(readFileSync(BPFTOOL_DUMP, 'utf8'));
    expect(m.allowed_ports).toEqual([{ key: 443, value: 3 }]);
    expect(m.blocklist_v4).toEqual([{ key: { prefixlen: 24, addr: [203, 0, 113, 0] }, value: 1 }]);
    // bpftool's dump had 5 packets, 100 bytes for reason 2 on each CPU; this run's packet adds one on CPU 0.
    expect(stats(m, 2)).toEqual([{ cpu: 0, value: { packets: 6, bytes: 114 } }, { cpu: 1, value: { packets: 5, bytes: 100 } }]);
  });

  it('bpftool -j entries with only `formatted`, and plain `bpftool map dump` output', async () => {
    const dump = JSON.parse(readFileSync(BPFTOOL_DUMP, 'utf8')) as Record<string, Array<{ formatted: unknown }>>;
    const formattedOnly = Object.fromEntries(Object.entries(dump).map(([name, list]) => [name, list.map((e) => ({ formatted: e.formatted }))]));
    const fromFormatted = await after(formattedOnly);
    const fromRaw = await after(dump);
    expect(fromFormatted).toEqual(fromRaw);
    const plain = await after({ allowed_ports: [{ key: 443, value: 3 }] }); // `bpftool map dump` with BTF prints this
    expect(plain.allowed_ports).toEqual([{ key: 443, value: 3 }]);
  });

  it.each([
    ['the topology\'s syntax: a CIDR for an LPM key', { blocklist_v4: [{ key: '10.0.0.0/8', value: 7 }] }, 'blocklist_v4', [{ key: { prefixlen: 8, addr: [10, 0, 0, 0] }, value: 7 }]],
    ['an IPv6 CIDR', { blocklist_v6: [{ key: '2001:db8::/32', value: 9 }] }, 'blocklist_v6', [{ key: { prefixlen: 32, addr: [32, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }, value: 9 }]],
    ['numbers', { allowed_ports: [{ key: 22, value: 1 }] }, 'allowed_ports', [{ key: 22, value: 1 }]],
    ['{hex: …}', { allowed_ports: [{ key: { hex: '1600' }, value: { hex: '02000000' } }] }, 'allowed_ports', [{ key: 22, value: 2 }]],
    ['hex strings, as --maps-out writes them', { allowed_ports: [{ key: '1600', value: '02000000' }] }, 'allowed_ports', [{ key: 22, value: 2 }]],
  ])('%s', async (_what, mapsIn, map, want) => {
    expect((await after(mapsIn))[map]).toEqual(want);
  });

  it('a struct by field for a per-CPU map: every CPU gets it', async () => {
    const m = await after({ fw_stats: [{ key: 3, value: { packets: 9, bytes: 99 } }] });
    expect(stats(m, 3)).toEqual([{ cpu: 0, value: { packets: 9, bytes: 99 } }, { cpu: 1, value: { packets: 9, bytes: 99 } }]);
  });

  it.each([
    ['an LPM prefix too long', { blocklist_v4: [{ key: '10.0.0.0/33', value: 1 }] }, 'blocklist_v4[0].key: 10.0.0.0/33: prefix length 33 is longer than the 32 bits of an IPv4 address (0..32)'],
    ['a member the struct lacks', { fw_stats: [{ key: 3, value: { packts: 9 } }] }, "fw_stats[0].value: value.packts: struct datarec has no member 'packts' (members: packets, bytes)"],
    ['a CPU the run does not have', { fw_stats: [{ key: 3, values: [{ cpu: 5, value: { packets: 1, bytes: 1 } }] }] }, 'fw_stats[0].values[0]: cpu 5, but the run has 2 CPUs (--cpus)'],
    ['per-CPU values for a map that is not', { allowed_ports: [{ key: 22, values: [{ cpu: 0, value: 1 }] }] }, 'allowed_ports[0].values: allowed_ports is not a per-CPU map (write "value")'],
    ['no value', { allowed_ports: [{ key: 22 }] }, 'allowed_ports[0]: needs a value'],
    ['a list at the top', [{ key: 22, value: 1 }], 'expected an object of map names'],
    ['text that is not JSON', '{"allowed_ports": [', 'not JSON: '],
  ])('refuses %s, saying where', async (_what, mapsIn, line) => {
    const file = path.join(dir, `bad-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, typeof mapsIn === 'string' ? mapsIn : JSON.stringify(mapsIn));
    const r = await cli(['prog', 'run', FIREWALL, 'xdp_firewall', 'data_in', PACKET, '--maps-in', file, '--cpus', '2']);
    if (line.endsWith(': ')) expect(r.stderr).toMatch(new RegExp(`^xdplab: ${file}: ${line}[^\n]+\n$`));
    else expect(r.stderr).toBe(`xdplab: ${file}: ${line}\n`);
    expect(r.code).toBe(2);
  });
});
