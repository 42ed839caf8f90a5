/**
 * `xdplab firewall --live` on a veth pair between two network namespaces the test makes (root
 * only; it says why it skips): the frames test/live/generate.mjs sends get, line for line, the
 * verdicts and deciding rules a --pcap run of the same frames gives.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../support/cli.js';
import { createVethPair, generateIn, liveSkipReason, xdplabIn, type VethPair } from '../support/netns.js';

const skip = liveSkipReason();
const RULES = path.join('examples', 'rules.yaml');

describe.skipIf(skip)(`firewall --live on a veth pair${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let pair: VethPair;
  let dir: string;
  beforeAll(() => {
    pair = createVethPair();
    dir = mkdtempSync(path.join(tmpdir(), 'xdplab-fw-live-'));
  });
  afterAll(() => {
    pair?.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('decides as a --pcap run of the same frames, packet by packet', async () => {
    const sent = path.join(dir, 'sent.pcap');
    const xdplab = xdplabIn(pair.lab.ns, ['firewall', RULES, '--json', '--live', pair.lab.iface, '--filter', 'ether src 02:00:00:00:00:aa', '--count', '300', '--duration', '120']);
    await xdplab.waitFor(/capturing on/);
    const gen = generateIn(pair.gen, 300, sent);
    expect(await gen.exited, gen.stderr).toBe(0);
    expect(await xdplab.exited, xdplab.stderr).toBe(0);
    const replay = spawnCli(['firewall', RULES, '--json', '--pcap', sent]);
    expect(replay.code, replay.stderr).toBe(0);
    const live = xdplab.stdout.trim().split('\n');
    expect(live.filter((l) => l.includes('"decided"'))).toHaveLength(300);
    expect(live).toEqual(replay.stdout.trim().split('\n'));
  }, 60_000);
});
