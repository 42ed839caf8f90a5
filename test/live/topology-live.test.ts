/**
 * A topology with a live interface: a router whose eth0 is live on one end of a veth pair and
 * whose eth1 is fed from a capture. Frames from the capture cross the emulated router and come
 * out on the real wire (tcpdump on the other end sees them, forwarded: TTL one less, the
 * router's MAC as source); frames sent into the real wire enter the emulated router.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildPacket } from '../../src/packet/build.js';
import { eth, ipv4, udp, payload } from '../../src/packet/layers.js';
import { readCaptureSync } from '../../src/pcap/reader.js';
import { pcapBytes } from '../support/captures.js';
import { useVethPair, generateIn, liveSkipReason, NsProcess, tcpdumpMissing, xdplabIn } from '../support/netns.js';

const skip = liveSkipReason() ?? tcpdumpMissing();
const FRAMES = 50;
const R1_ETH1 = '02:00:00:00:01:01';
const R1_ETH0 = '02:00:00:00:00:01';
const GEN_MAC = '02:00:00:00:00:aa';

const frame = (i: number): Uint8Array => buildPacket([
  eth({ src: '02:00:00:00:01:02', dst: R1_ETH1 }),
  ipv4({ src: '10.2.0.5', dst: '10.1.0.2', ttl: 64, id: i }),
  udp({ sport: 4000 + i, dport: 53 }),
  payload(`frame ${i}`),
]);

const topology = (labIface: string, pcap: string): string => `name: live-router
nodes:
  - name: r1
    kind: router
    interfaces:
      - { name: eth0, mac: "${R1_ETH0}", ipv4: [10.1.0.1/24], live: ${labIface} }
      - { name: eth1, mac: "${R1_ETH1}", ipv4: [10.2.0.1/24] }
    neighbours:
      - { ip: 10.1.0.2, mac: "${GEN_MAC}", dev: eth0 }
traffic:
  - pcap: ${pcap}
    into: r1/eth1
`;

describe.skipIf(skip)(`a topology with a live interface${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const veth = useVethPair('xdplab-live-topo-');

  it('routes frames from a capture out of the live interface, and takes frames in from it', async () => {
    const frames = Array.from({ length: FRAMES }, (_, i) => frame(i));
    writeFileSync(path.join(veth.dir, 'in.pcap'), pcapBytes({ records: frames.map((data, i) => ({ tsSec: 1_700_000_000, tsFrac: i, data })) }));
    const file = path.join(veth.dir, 'topology.yaml');
    writeFileSync(file, topology(veth.pair.lab.iface, 'in.pcap'));
    const back = path.join(veth.dir, 'back.pcap');
    const tcpdump = new NsProcess(veth.pair.gen.ns, ['tcpdump', '-i', veth.pair.gen.iface, '-Q', 'in', '-B', '65536', '-U', '-n', '-w', back]);
    await tcpdump.waitFor(/listening on/);

    const xdplab = xdplabIn(veth.pair.lab.ns, ['run', file, '--out', path.join(veth.dir, 'out'), '--duration', '4']);
    await new Promise((r) => setTimeout(r, 1500)); // the capture is fed at once; the run then waits for live frames
    const gen = generateIn(veth.pair.gen, 20);
    expect(await gen.exited, gen.stderr).toBe(0);
    expect(await xdplab.exited, xdplab.stderr).toBe(0);
    expect(xdplab.stdout).toMatch(new RegExp(`live r1/eth0 on ${veth.pair.lab.iface}: captured 20, dropped by kernel 0, sent out ${FRAMES}`));

    const received = (): Uint8Array[] => (existsSync(back) ? readCaptureSync(readFileSync(back)).records.map((r) => Uint8Array.from(r.data)) : []);
    for (let waited = 0; received().length < FRAMES && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    tcpdump.signal('SIGINT');
    await tcpdump.exited;
    const got = received();
    expect(got).toHaveLength(FRAMES);
    for (const [i, f] of got.entries()) {
      expect(Buffer.from(f.subarray(0, 12)).toString('hex')).toBe((GEN_MAC + R1_ETH0).replace(/:/g, ''));
      expect(f[22]).toBe(63); // TTL, one hop
      expect(Buffer.from(f.subarray(34))).toEqual(Buffer.from(frames[i].subarray(34))); // UDP header and payload as sent
    }
  }, 60_000);
});
