/**
 * The l4-lb scenario with xdplab/testing: a VIP, one backend and its Maglev table seeded as
 * typed values; a new flow goes through the tail-call chain xdp_lb → lb_classify → lb_encap
 * and comes back out encapsulated (IPv4-in-IPv4) towards the backend; the connection table
 * remembers the flow. The verdict was decided in the last program of the chain.
 */
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { eth, ipv4, loadObject, parsePacket, tcp, udp, type TestObject } from '../../src/testing/index.js';
import '../../src/testing/vitest.js';
import { repoRoot } from '../support/conformance.js';

const OBJECT = path.join(repoRoot, 'topologies/l4-lb/lb.bpf.o');
const RING_SIZE = 61;
const client = (dport: number, sport = 40000) => [
  eth({ src: '02:00:00:00:64:01', dst: '02:00:00:00:64:02' }),
  ipv4({ src: '192.0.2.50', dst: '203.0.113.10' }),
  tcp({ sport, dport, flags: 'S' }),
];

describe('l4-lb (xdplab/testing)', () => {
  let lb: TestObject;
  beforeEach(() => {
    lb = loadObject(OBJECT, {
      maps: {
        // struct vip4_key { __be32 addr; __u16 port (host order); __u8 proto; __u8 pad } as bytes.
        vips_v4: [{ key: { hex: 'cb00710a 5000 06 00' }, value: 0 }], // 203.0.113.10 tcp/80 → VIP 0
        backends_v4: [{ key: 1, value: '10.201.0.2' }],
        maglev_ring: [{ key: 0, value: { backends: new Array(RING_SIZE).fill(1) } }], // every slot: backend 1
      },
    });
  });

  it('encapsulates a new flow to its backend and sends it back out (XDP_TX from lb_encap)', () => {
    const run = lb.run('xdp_lb', client(80));
    expect(run).toTx();
    expect(run.decided.program).toBe('lb_encap'); // the tail-called program that returned
    const [outerEth, outer, inner, l4] = parsePacket(run.after);
    expect(outerEth).toMatchObject({ kind: 'eth', dst: '02:00:00:00:64:01' }); // gw_mac
    expect(outer).toMatchObject({ kind: 'ipv4', src: '10.100.0.2', dst: '10.201.0.2', protocol: 4 });
    expect(inner).toMatchObject({ kind: 'ipv4', src: '192.0.2.50', dst: '203.0.113.10' });
    expect(l4).toMatchObject({ kind: 'tcp', sport: 40000, dport: 80 });
    expect(run.after.length).toBe(run.before.length + 20);
    expect(lb.map('conn_table').entries()).toHaveLength(1);
    expect(lb.map('backend_stats').sum(1)).toMatchObject({ packets: 1 });
  });

  it('passes what is not for a VIP, untouched', () => {
    const run = lb.run('xdp_lb', client(443));
    expect(run).toPass();
    expect(run).toEqualPacket(client(443));
    const notTcp = [eth({ src: '02:00:00:00:64:01', dst: '02:00:00:00:64:02' }), ipv4({ src: '192.0.2.50', dst: '203.0.113.10' }), udp({ sport: 1, dport: 80 })];
    expect(lb.run('xdp_lb', notTcp)).toPass();
  });
});
