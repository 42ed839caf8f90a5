/**
 * replay's live options, as bad input: one line naming what is at fault, exit 2. These need
 * no interface (the interface ones need root, as a capture does).
 */
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { liveSkipReason } from '../support/netns.js';

const OBJ = 'test/fixtures/bpf/xdp-reflect.bpf.o';

describe('replay --live: bad input', () => {
  it.each([
    [[], 'replay: give either --pcap FILE or --live IFACE'],
    [['--pcap', 'x.pcap', '--live', 'eth0'], 'replay: give either --pcap FILE or --live IFACE'],
    [['--pcap', 'x.pcap', '--count', '3'], '--count is for --live runs'],
    [['--pcap', 'x.pcap', '--filter', 'udp'], '--filter is for --live runs'],
    [['--live', 'eth0', '--count', '-1'], '--count -1: expected an integer'],
    [['--live', 'eth0', '--duration', '0'], '--duration 0: expected seconds, a number > 0'],
  ])('%j', async (args, message) => {
    const r = await cli(['replay', OBJ, 'xdp_reflect', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  const skip = liveSkipReason();
  it.skipIf(skip)(`an interface that does not exist, a filter that does not compile${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    const none = await cli(['replay', OBJ, 'xdp_reflect', '--live', 'xdplab-none0']);
    expect(none.code).toBe(2);
    expect(none.stderr).toBe('xdplab: live xdplab-none0: no such interface\n');
    const filter = await cli(['replay', OBJ, 'xdp_reflect', '--live', 'lo', '--filter', 'udp port x']);
    expect(filter.code).toBe(2);
    expect(filter.stderr).toMatch(/^xdplab: --filter udp port x: .*\n$/);
  });
});
