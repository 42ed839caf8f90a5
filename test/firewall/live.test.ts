/**
 * `xdplab firewall --live` on a veth pair between two network namespaces the test makes (root
 * only; it says why it skips): the frames test/live/generate.mjs sends get, line for line, the
 * verdicts and deciding rules a --pcap run of the same frames gives.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnCli } from '../support/cli.js';
import { useVethPair, generateIn, liveSkipReason, xdplabIn } from '../support/netns.js';

const skip = liveSkipReason();
const RULES = path.join('examples', 'rules.yaml');

describe.skipIf(skip)(`firewall --live on a veth pair${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const veth = useVethPair('xdplab-fw-live-');

  it('decides as a --pcap run of the same frames, packet by packet', async () => {
    const sent = path.join(veth.dir, 'sent.pcap');
    const xdplab = xdplabIn(veth.pair.lab.ns, ['firewall', RULES, '--json', '--live', veth.pair.lab.iface, '--filter', 'ether src 02:00:00:00:00:aa', '--count', '300', '--duration', '120']);
    await xdplab.waitFor(/capturing on/);
    const gen = generateIn(veth.pair.gen, 300, sent);
    expect(await gen.exited, gen.stderr).toBe(0);
    expect(await xdplab.exited, xdplab.stderr).toBe(0);
    const replay = spawnCli(['firewall', RULES, '--json', '--pcap', sent]);
    expect(replay.code, replay.stderr).toBe(0);
    const live = xdplab.stdout.trim().split('\n');
    expect(live.filter((l) => l.includes('"decided"'))).toHaveLength(300);
    expect(live).toEqual(replay.stdout.trim().split('\n'));
  }, 60_000);
});
