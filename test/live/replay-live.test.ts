/**
 * `xdplab replay --live` on real interfaces: a veth pair between two network namespaces the
 * test makes (and removes), a generator (generate.mjs) sending into one end, xdplab on the
 * other. Root only; each test says why it skips.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCaptureSync } from '../../src/pcap/reader.js';
import { useVethPair, generateIn, liveSkipReason, NsProcess, tcpdumpMissing, xdplabIn, type VethPair } from '../support/netns.js';
import { spawnCli } from '../support/cli.js';

const skip = liveSkipReason();
const fixture = (name: string): string => path.join('test', 'fixtures', 'bpf', name);
const GEN_FILTER = 'ether src 02:00:00:00:00:aa';

/** The rows of a replay's human summary, by name. */
function summaryRows(text: string): Map<string, number> {
  const rows = new Map<string, number>();
  for (const m of text.matchAll(/^(\S.*?)\s{2,}(\d+(?:\.\d+)?)/gm)) rows.set(m[1], Number(m[2]));
  return rows;
}

/** Runs xdplab on the lab end until `count` frames, with the generator sending them; both outputs. */
async function liveRun(pair: VethPair, args: string[], count: number, pcap?: string): Promise<{ xdplab: NsProcess; code: number }> {
  const xdplab = xdplabIn(pair.lab.ns, [...args, '--live', pair.lab.iface, '--filter', GEN_FILTER, '--count', String(count), '--duration', '120']);
  await xdplab.waitFor(/capturing on/);
  const gen = generateIn(pair.gen, count, pcap);
  expect(await gen.exited, gen.stderr).toBe(0);
  return { xdplab, code: await xdplab.exited };
}

describe.skipIf(skip)(`replay --live on a veth pair${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const veth = useVethPair('xdplab-live-');

  it('gives the verdicts and output bytes of a --pcap replay of the same frames (XDP)', async () => {
    const sent = path.join(veth.dir, 'sent.pcap');
    const obj = fixture('xdp-count.bpf.o');
    const { xdplab, code } = await liveRun(veth.pair, ['replay', obj, 'xdp_count', '--json'], 400, sent);
    expect(code, xdplab.stderr).toBe(0);
    const replay = spawnCli(['replay', obj, 'xdp_count', '--json', '--pcap', sent]);
    expect(replay.code, replay.stderr).toBe(0);
    const live = xdplab.stdout.trim().split('\n');
    expect(live).toHaveLength(400);
    expect(live).toEqual(replay.stdout.trim().split('\n'));
    expect(xdplab.stderr).toMatch(/400 captured, 0 dropped by the kernel/);
  }, 60_000);

  it('gives the verdicts and output bytes of a --pcap replay of the same frames (TC)', async () => {
    const sent = path.join(veth.dir, 'sent-tc.pcap');
    const obj = fixture('tc-verdicts.bpf.o');
    const { xdplab, code } = await liveRun(veth.pair, ['replay', obj, 'tc_second', '--json'], 400, sent);
    expect(code, xdplab.stderr).toBe(0);
    const replay = spawnCli(['replay', obj, 'tc_second', '--json', '--pcap', sent]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(xdplab.stdout.trim().split('\n')).toEqual(replay.stdout.trim().split('\n'));
    expect(new Set(replay.stdout.match(/"verdict":"\w+"/g))).toEqual(new Set(['"verdict":"TC_ACT_STOLEN"', '"verdict":"TC_ACT_PIPE"', '"verdict":"TC_ACT_OK"']));
  }, 60_000);

  it('ends at Ctrl-C (SIGINT) with the summary, every output written, exit 0', async () => {
    const out = path.join(veth.dir, 'passed.pcapng');
    const xdplab = xdplabIn(veth.pair.lab.ns, ['replay', fixture('xdp-count.bpf.o'), 'xdp_count', '--live', veth.pair.lab.iface, '--filter', GEN_FILTER, '--out', out]);
    await xdplab.waitFor(/capturing on/);
    const gen = generateIn(veth.pair.gen, 100);
    expect(await gen.exited, gen.stderr).toBe(0);
    await new Promise((r) => setTimeout(r, 1500)); // the frames are run within milliseconds; a loaded machine gets more
    xdplab.signal('SIGINT');
    expect(await xdplab.exited, xdplab.stderr).toBe(0);
    const rows = summaryRows(xdplab.stdout);
    expect(rows.get('packets')).toBe(100);
    expect(rows.get('captured')).toBe(100);
    expect(rows.get('dropped by kernel')).toBe(0);
    expect(readCaptureSync(readFileSync(out)).records).toHaveLength(rows.get('written')!);
  }, 60_000);

  it.skipIf(tcpdumpMissing())(`reflects XDP_TX frames back out, with the bytes the program wrote${tcpdumpMissing() ? ` (skipped: ${tcpdumpMissing()})` : ''}`, async () => {
    const sent = path.join(veth.dir, 'reflect-sent.pcap');
    const back = path.join(veth.dir, 'back.pcap');
    const tcpdump = new NsProcess(veth.pair.gen.ns, ['tcpdump', '-i', veth.pair.gen.iface, '-Q', 'in', '-B', '65536', '-U', '-n', '-w', back]);
    await tcpdump.waitFor(/listening on/);
    const { xdplab, code } = await liveRun(veth.pair, ['replay', fixture('xdp-reflect.bpf.o'), 'xdp_reflect'], 300, sent);
    expect(code, xdplab.stderr).toBe(0);
    expect(summaryRows(xdplab.stdout).get('sent back out')).toBe(300);
    // tcpdump writes each frame as it takes it (-U; a block of its ring within 1 s): wait for all, or 10 s.
    const frames = (): number => (existsSync(back) ? readCaptureSync(readFileSync(back)).records.length : 0);
    for (let waited = 0; frames() < 300 && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    tcpdump.signal('SIGINT');
    await tcpdump.exited;
    const swapped = readCaptureSync(readFileSync(sent)).records.map((r) => {
      const f = Uint8Array.from(r.data);
      f.set(r.data.subarray(6, 12), 0);
      f.set(r.data.subarray(0, 6), 6);
      return Buffer.from(f).toString('hex');
    });
    const received = readCaptureSync(readFileSync(back)).records.map((r) => Buffer.from(r.data).toString('hex'));
    expect(received).toEqual(swapped);
  }, 60_000);

  it('sends a TC redirect to the egress of the device it came in on back out of the interface', async () => {
    const { xdplab, code } = await liveRun(veth.pair, ['replay', fixture('tc-redirect.bpf.o'), 'tc_neigh'], 50);
    expect(code, xdplab.stderr).toBe(0);
    const rows = summaryRows(xdplab.stdout);
    expect(rows.get('TC_ACT_REDIRECT'), xdplab.stdout).toBe(50);
    expect(rows.get('sent back out'), xdplab.stdout).toBe(50);
  }, 60_000);

  it('takes a burst of 200,000 frames: every frame run or counted as dropped by the kernel, exactly', async () => {
    const { xdplab, code } = await liveRun(veth.pair, ['replay', fixture('xdp-count.bpf.o'), 'xdp_count'], 200_000);
    expect(code, xdplab.stderr).toBe(0);
    const rows = summaryRows(xdplab.stdout);
    const packets = rows.get('packets')!;
    const dropped = rows.get('dropped by kernel')!;
    expect(packets + dropped, xdplab.stdout).toBe(200_000);
    expect(rows.get('captured'), xdplab.stdout).toBe(packets);
  }, 180_000);
});
