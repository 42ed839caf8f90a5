/**
 * `xdplab crosscheck`: the report on synthetic answers (no kernel needed: every kind of
 * difference, said where the two parted), then — as root, with bpftool and the BPF file
 * system — the shipped scenarios' programs over their captures with their maps (no
 * difference), a program whose answer depends on what xdplab documents as different (a rate
 * limiter on bpf_ktime_get_ns: differences, reported), and what is missing when there is no
 * kernel to ask.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelMissing } from '../../src/kernel/bpftool.js';
import {
  compareEntries, comparePacket, firstDifference, normaliseValue, reportLines, type CrosscheckResult,
} from '../../src/kernel/crosscheck.js';
import { pcapngBytes, tempDir, writeTemp } from '../support/captures.js';
import { cli } from '../support/cli.js';
import { repoRoot } from '../support/conformance.js';
import { ip4, udp4 } from '../support/packets.js';
import { loadScenario, scenarioCollection } from '../topologies/support.js';

const { dir, remove } = tempDir('xdplab-crosscheck-');
afterAll(remove);

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

describe('crosscheck: the comparison and its report', () => {
  it('finds the first byte where two outputs part', () => {
    expect(firstDifference(bytes(1, 2, 3), bytes(1, 2, 3))).toBe(-1);
    expect(firstDifference(bytes(1, 2, 3), bytes(1, 9, 3))).toBe(1);
    expect(firstDifference(bytes(1, 2), bytes(1, 2, 3))).toBe(2);
  });

  it('compares the verdict first, then the bytes; two refusals agree', () => {
    const pass = { verdict: 'XDP_PASS', out: bytes(1, 2), decided: 'decided at pc 7 of p: p.c:3: return XDP_PASS;' };
    expect(comparePacket(1, pass, { verdict: 'XDP_PASS', out: bytes(1, 2) })).toBeUndefined();
    expect(comparePacket(2, pass, { verdict: 'XDP_DROP', out: bytes(1, 2) })).toEqual({ packet: 2, kind: 'verdict', xdplab: 'XDP_PASS', kernel: 'XDP_DROP', decided: pass.decided });
    expect(comparePacket(3, pass, { verdict: 'XDP_PASS', out: bytes(1, 3, 4) })).toEqual({ packet: 3, kind: 'bytes', xdplab: '2 bytes', kernel: '3 bytes', offset: 1 });
    expect(comparePacket(4, { refused: 'too short' }, { refused: 'Invalid argument' })).toBeUndefined();
    expect(comparePacket(5, { fault: 'pc 3: out of bounds' }, { verdict: 'XDP_PASS', out: bytes() })).toEqual({ packet: 5, kind: 'verdict', xdplab: 'a fault (pc 3: out of bounds)', kernel: 'XDP_PASS' });
  });

  it('sums per-CPU counters, keeps the CPUs that hold a scratch value, and lists every key that differs', () => {
    const u64 = (n: number): Uint8Array => { const b = new Uint8Array(8); new DataView(b.buffer).setBigUint64(0, BigInt(n), true); return b; };
    expect(normaliseValue([u64(3), u64(4)], 8)).toBe(normaliseValue([u64(7)], 8));
    expect(normaliseValue([bytes(0, 0, 0), bytes(5, 0, 1)], 3)).toBe('050001');
    const x = new Map([['00', '01'], ['01', '02']]);
    const k = new Map([['00', '01'], ['01', '03'], ['02', '04']]);
    expect(compareEntries('m', x, k)).toEqual([{ map: 'm', key: '01', xdplab: '02', kernel: '03' }, { map: 'm', key: '02', xdplab: undefined, kernel: '04' }]);
  });

  it('reports every difference, then says where the two parted', () => {
    const result: CrosscheckResult = {
      program: 'xdp_fw', packets: 3, kernel: '6.18.0',
      packetDifferences: [
        { packet: 2, kind: 'verdict', xdplab: 'XDP_PASS', kernel: 'XDP_DROP', decided: 'decided at pc 9 of xdp_fw: fw.c:12: return XDP_PASS;' },
        { packet: 3, kind: 'bytes', xdplab: '60 bytes', kernel: '60 bytes', offset: 22 },
      ],
      mapDifferences: [{ map: 'stats', key: '00000000', xdplab: '0200000000000000', kernel: undefined }],
      mapsCompared: ['stats'], mapsNotCompared: ['jumps (its type holds ids or queues, not contents)'],
    };
    expect(reportLines(result)).toEqual([
      'crosscheck: 3 packets through xdp_fw in xdplab and in the kernel (BPF_PROG_TEST_RUN, Linux 6.18.0)',
      '  packet 2: verdict: xdplab XDP_PASS, kernel XDP_DROP (xdplab decided at pc 9 of xdp_fw: fw.c:12: return XDP_PASS;)',
      '  packet 3: output bytes differ from byte 22 (xdplab 60 bytes, kernel 60 bytes)',
      '  map stats: key 00000000: xdplab 0200000000000000, kernel no such key',
      'maps not compared: jumps (its type holds ids or queues, not contents)',
      'they differ: 2 packets, 1 map entry (of maps stats)',
    ]);
    expect(reportLines({ ...result, packetDifferences: [], mapDifferences: [] }).at(-1)).toBe('all agree: every verdict and output byte, and maps stats after the run');
  });
});

const scenario = (name: string, file: string): string => path.join(repoRoot, 'topologies', name, file);
const pcap = (name: string): string => path.join(repoRoot, 'pcaps', `${name}.pcapng`);

/** A --maps-in file with the topology's entries of `maps` (hex; one CPU's value). */
function topologyMaps(name: string, object: string, maps: string[]): string {
  const collection = scenarioCollection(loadScenario(name), name, scenario(name, object).replace(/.*\//, ''));
  const json: Record<string, { key: string; value: string }[]> = {};
  for (const m of maps) {
    const map = collection.map(m);
    json[m] = [...map.entries()].map(([k, v]) => ({ key: Buffer.from(k).toString('hex'), value: Buffer.from(v.subarray(0, map.spec.valueSize)).toString('hex') }));
  }
  return writeTemp(dir, `${name}-maps.json`, new TextEncoder().encode(JSON.stringify(json)));
}

const missing = kernelMissing();

describe.skipIf(missing !== undefined)(`crosscheck against the running kernel${missing ? ` (skipped: ${missing})` : ''}`, () => {
  it.each([
    ['edge-firewall', 'firewall.bpf.o', 'xdp_firewall', () => ['--maps-in', path.join(repoRoot, 'examples', 'edge-firewall-maps.json')]],
    ['l3-router', 'router.bpf.o', 'xdp_router', () => []],
    ['l4-lb', 'lb.bpf.o', 'xdp_lb', () => ['--maps-in', topologyMaps('l4-lb', 'lb.bpf.o', ['vips_v4', 'vips_v6', 'backends_v4', 'backends_v6', 'maglev_ring'])]],
    ['tc-nat-vlan', 'nat.bpf.o', 'tc_wan_egress', () => ['--hook', 'tc-egress', '--maps-in', topologyMaps('tc-nat-vlan', 'nat.bpf.o', ['config'])]],
    ['tc-nat-vlan', 'mirror.bpf.o', 'xdp_mirror', () => []],
  ])('%s: %s %s over the shipped capture: no difference', async (name, object, program, extra) => {
    const r = await cli(['crosscheck', scenario(name, object), program, '--pcap', pcap(name), ...extra()]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/\nall agree: every verdict and output byte, and (maps .+|no map) after the run\n$/);
    expect(r.code).toBe(0);
  }, 60_000);

  it('reports a difference where xdplab documents one: bpf_ktime_get_ns reads the capture time, the kernel its own clock', async () => {
    // 40 packets from one remote on the WAN VLAN, 3 s apart in capture time: always under the
    // rate limit (1 packet a second, a burst of 2) in xdplab; well under a second apart in the
    // kernel's batch, where the bucket runs dry after the burst and the rest are shot.
    const frames = Array.from({ length: 40 }, (_, i) => udp4({ vlan: 7, src: ip4('203.0.113.99'), dst: ip4('198.51.100.1'), sport: 9, dport: 40000 + i }));
    const blocks = [{ type: 'shb' as const }, { type: 'idb' as const }, ...frames.map((data, i) => ({ type: 'epb' as const, ifid: 0, ticks: BigInt(1_700_000_000 + 3 * i) * 1_000_000n, data }))];
    const capture = writeTemp(dir, 'remote.pcapng', pcapngBytes(blocks).bytes);
    const maps = writeTemp(dir, 'slow.json', new TextEncoder().encode(JSON.stringify({ config: [{ key: 0, value: { rate_pps: 1, burst: 2 } }] })));
    const r = await cli(['crosscheck', scenario('tc-nat-vlan', 'nat.bpf.o'), 'tc_wan_ingress', '--pcap', capture, '--maps-in', maps, '--json']);
    expect(r.code).toBe(1);
    const result = JSON.parse(r.stdout) as CrosscheckResult;
    expect(result.packetDifferences.length).toBeGreaterThan(10);
    expect(result.packetDifferences.every((d) => d.kind === 'verdict' && d.xdplab === 'TC_ACT_OK' && d.kernel === 'TC_ACT_SHOT' && d.packet > 2)).toBe(true);
    expect(result.mapDifferences.map((d) => d.map)).toEqual(expect.arrayContaining(['rl_buckets', 'nat_stats']));
    const text = await cli(['crosscheck', scenario('tc-nat-vlan', 'nat.bpf.o'), 'tc_wan_ingress', '--pcap', capture, '--maps-in', maps]);
    expect(text.stdout).toMatch(/\n {2}packet 3: verdict: xdplab TC_ACT_OK, kernel TC_ACT_SHOT \(xdplab decided at pc \d+ of tc_wan_ingress/);
    expect(text.stdout).toMatch(/\nthey differ: \d+ packets, \d+ map entr(y|ies) \(of maps .*\)\n$/);
  }, 60_000);

  it('bad input is exit 2 before the kernel is asked', async () => {
    const r = await cli(['crosscheck', scenario('edge-firewall', 'firewall.bpf.o'), 'xdp_nothing', '--pcap', pcap('edge-firewall')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('crosscheck without a kernel to ask', () => {
  it('says what is missing, exit 2', () => {
    // Without bpftool on the PATH (or, for a user, without root: the first thing it checks).
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'xdplab.js'), 'crosscheck', scenario('edge-firewall', 'firewall.bpf.o'), 'xdp_firewall', '--pcap', pcap('edge-firewall')], {
      encoding: 'utf8', env: { ...process.env, PATH: '/nonexistent' },
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toMatch(/^xdplab: crosscheck: no kernel to ask: (not root, and without CAP_BPF and CAP_NET_ADMIN|bpftool is not installed)/);
  });
});
