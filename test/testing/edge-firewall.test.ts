/**
 * The edge firewall, tested with xdplab/testing as its author would (docs/testing.md): seed the
 * maps with typed values (CIDRs, ports), build packets, run, assert verdicts and counters. The
 * PKTGEN / SETUP / CHECK phases of Cilium's bpf/tests are marked where they fall.
 */
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { eth, icmp, ipv4, ipv6, loadObject, tcp, udp, type TestObject } from '../../src/testing/index.js';
import '../../src/testing/vitest.js';
import { repoRoot } from '../support/conformance.js';

const OBJECT = path.join(repoRoot, 'topologies/edge-firewall/firewall.bpf.o');
const FW_PASS_ALLOWED = 0;
const FW_DROP_BLOCKLIST_V4 = 4;
const FW_DROP_PORT = 6;
const FW_DROP_ICMP = 7;

const L2 = eth({ src: '02:00:00:00:00:fe', dst: '02:00:00:00:00:01' });
// PKTGEN: packets built from layers, checksums and lengths filled in.
const tcpTo = (src: string, dport: number) => [L2, ipv4({ src, dst: '198.51.100.1' }), tcp({ sport: 40000, dport, flags: 'S' })];

describe('edge firewall (xdplab/testing)', () => {
  let fw: TestObject;
  beforeEach(() => {
    // SETUP: the topology's value syntax — CIDRs for LPM keys, ports as numbers.
    fw = loadObject(OBJECT, {
      cpus: 2,
      maps: {
        blocklist_v4: [{ key: '203.0.113.0/24', value: 1 }],
        blocklist_v6: [{ key: '2001:db8:bad::/48', value: 101 }],
        allowed_ports: [{ key: 443, value: 3 }, { key: 25, value: 1 }],
      },
    });
  });

  it('passes TCP to an allowed port and counts it', () => {
    const run = fw.run('xdp_firewall', tcpTo('192.0.2.10', 443));
    expect(run).toPass();
    expect(run).toEqualPacket(tcpTo('192.0.2.10', 443)); // an XDP firewall leaves the packet as it was
    expect(run.decided.line).toMatch(/^firewall\.bpf\.c:\d+: if \(port_allowed\(tcph->dest, ALLOW_TCP\)\)/); // the check that decided
    expect(fw.map('fw_stats').sum(FW_PASS_ALLOWED)).toEqual({ packets: 1, bytes: run.before.length });
  });

  it('drops a blocklisted source, whatever the port', () => {
    expect(fw.run('xdp_firewall', tcpTo('203.0.113.7', 443))).toDrop();
    expect(fw.map('fw_stats').sum(FW_DROP_BLOCKLIST_V4)).toMatchObject({ packets: 1 });
    expect(fw.run('xdp_firewall', tcpTo('203.0.114.7', 443))).toPass(); // just outside the /24
  });

  it('drops a closed port, and opens it when the map says so', () => {
    expect(fw.run('xdp_firewall', tcpTo('192.0.2.10', 22))).toDrop();
    expect(fw.map('fw_stats').sum(FW_DROP_PORT)).toMatchObject({ packets: 1 });
    fw.map('allowed_ports').set(22, 1); // TCP only
    expect(fw.run('xdp_firewall', tcpTo('192.0.2.10', 22))).toPass();
    expect(fw.run('xdp_firewall', [L2, ipv4({ src: '192.0.2.10', dst: '198.51.100.1' }), udp({ sport: 5000, dport: 22 })])).toDrop();
  });

  it('reads the maps back as typed values', () => {
    expect(fw.map('allowed_ports').get(443)).toBe(3);
    expect(fw.map('allowed_ports').get(8080)).toBeUndefined();
    expect(fw.map('blocklist_v4').entries()).toEqual([{ key: { prefixlen: 24, addr: [203, 0, 113, 0] }, value: 1 }]);
  });

  it('drops IPv6 from a blocklisted prefix', () => {
    const v6 = [L2, ipv6({ src: '2001:db8:bad::1', dst: '2001:db8::1' }), tcp({ sport: 1, dport: 443 })];
    expect(fw.run('xdp_firewall', v6)).toDrop();
  });

  it('a const volatile knob: drop_icmp=1 drops pings the default passes', () => {
    const ping = [L2, ipv4({ src: '192.0.2.10', dst: '198.51.100.1' }), icmp({ type: 8, id: 1, seq: 1 })];
    expect(fw.run('xdp_firewall', ping)).toPass();
    const strict = loadObject(OBJECT, { globals: { drop_icmp: 1 } });
    expect(strict.run('xdp_firewall', ping)).toDrop();
    expect(strict.map('fw_stats').sum(FW_DROP_ICMP)).toMatchObject({ packets: 1 });
  });
});

describe('edge firewall: coverage from a test', () => {
  it('lcov of the lines the tests ran, each line of the blocklist path hit once per blocklisted packet', () => {
    const fw = loadObject(OBJECT, { coverage: true, maps: { blocklist_v4: [{ key: '203.0.113.0/24', value: 1 }] } });
    for (let i = 0; i < 3; i++) expect(fw.run('xdp_firewall', tcpTo(`203.0.113.${i + 1}`, 443))).toDrop();
    const lcov = fw.lcov();
    expect(lcov).toMatch(/^TN:\w*firewall_bpf_o\nSF:.*topologies\/edge-firewall\/firewall\.bpf\.c\n/m);
    expect(lcov).toMatch(/^FNDA:3,xdp_firewall$/m);
    const logDrops = /^DA:(\d+),(\d+)$/gm;
    const counts = new Map([...lcov.matchAll(logDrops)].map((m) => [Number(m[1]), Number(m[2])]));
    expect([...counts.values()].some((n) => n === 3)).toBe(true);
    expect(() => loadObject(OBJECT).lcov()).toThrow(/coverage was not asked for/);
  });
});
