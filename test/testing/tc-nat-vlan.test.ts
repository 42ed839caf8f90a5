/**
 * The tc-nat-vlan scenario with xdplab/testing: TC programs (TC_ACT_* verdicts). Egress
 * translates an office source to the gateway's address and a pool port and pushes the
 * provider's VLAN tag; the NAT tables read back as typed structs; a packet that fails the
 * toEqualPacket assertion is reported field by field.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { eth, ipv4, loadObject, parsePacket, udp } from '../../src/testing/index.js';
import { matchers } from '../../src/testing/matchers.js';
import '../../src/testing/vitest.js';
import { repoRoot } from '../support/conformance.js';

const OBJECT = path.join(repoRoot, 'topologies/tc-nat-vlan/nat.bpf.o');
const L2 = eth({ src: '02:00:00:00:0a:01', dst: '02:00:00:00:0a:fe' });
const fromOffice = [L2, ipv4({ src: '10.0.0.5', dst: '203.0.113.9' }), udp({ sport: 5353, dport: 53 })];

describe('tc-nat-vlan (xdplab/testing)', () => {
  it('egress: translates the source to a pool port, checksums right, and remembers the mapping', () => {
    const nat = loadObject(OBJECT, { globals: { nat_port_min: 30000, nat_port_max: 30009 } });
    const run = nat.run('tc_wan_egress', fromOffice);
    expect(run).toBeOk();
    // bpf_skb_vlan_push tags the skb out of band (vlan_tci), as on a device with VLAN offload:
    // the bytes BPF_PROG_TEST_RUN hands back have no tag.
    const [, ip, l4] = parsePacket(run.after);
    expect(ip).toMatchObject({ kind: 'ipv4', src: '198.51.100.1', dst: '203.0.113.9' });
    const port = (l4 as { sport: number }).sport;
    expect(port).toBeGreaterThanOrEqual(30000);
    expect(port).toBeLessThanOrEqual(30009);
    // The checksums were patched right: the packet built from the new fields is the same bytes.
    expect(run).toEqualPacket([L2, ipv4({ src: '198.51.100.1', dst: '203.0.113.9' }), udp({ sport: port, dport: 53 })]);
    const [entry] = nat.map('nat_out').entries();
    expect(nat.map('nat_out').entries()).toHaveLength(1);
    expect(nat.map('nat_in').entries()).toHaveLength(1);
    expect(entry.value).toMatchObject({ port: expect.any(Number) });
  });

  it('a packet that differs is shown field by field, with where the verdict was decided', () => {
    const nat = loadObject(OBJECT);
    const run = nat.run('tc_wan_egress', fromOffice);
    const result = matchers.toEqualPacket.call({}, run, fromOffice);
    expect(result.pass).toBe(false);
    const message = result.message();
    expect(message).toMatch(/^expected the packet to equal eth 02:00:00:00:0a:01 > 02:00:00:00:0a:fe \| ipv4 10\.0\.0\.5 > 203\.0\.113\.9 ttl 64 \| udp 5353 > 53; it differs:/);
    expect(message).toMatch(/ipv4\.src: expected 10\.0\.0\.5, got 198\.51\.100\.1/);
    expect(message).toMatch(/decided at: nat\.bpf\.c:\d+: /);
    expect(message).toMatch(/udp\.checksum: expected 0x[0-9a-f]{4}, got 0x[0-9a-f]{4}/);
    expect(message).toMatch(/before: eth .* \| udp 5353 > 53\n {2}after: {2}eth .* \| ipv4 198\.51\.100\.1 > 203\.0\.113\.9 ttl 64 \| udp 2\d{4} > 53/);
  });

  it('a verdict matcher that fails says what came instead, and its .not form', () => {
    const nat = loadObject(OBJECT);
    const run = nat.run('tc_wan_egress', fromOffice);
    const shot = matchers.toBeShot.call({}, run);
    expect(shot.pass).toBe(false);
    expect(shot.message()).toMatch(/^expected tc_wan_egress to return TC_ACT_SHOT, got TC_ACT_OK\n {2}decided at: nat\.bpf\.c:\d+/);
    const ok = matchers.toBeOk.call({ isNot: true }, run);
    expect(ok.pass).toBe(true);
    expect(ok.message()).toMatch(/^expected tc_wan_egress not to return TC_ACT_OK, but it did/);
    expect(() => expect(run).toBeShot()).toThrow(/got TC_ACT_OK/);
  });
});
