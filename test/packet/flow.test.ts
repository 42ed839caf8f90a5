/** flowOf: the per-packet fast path, by cases and against parsePacket on the shared packets. */
import { describe, expect, it } from 'vitest';
import {
  LINKTYPE_RAW,
  buildPacket,
  flowOf,
  newFlow,
  parsePacket,
  type Flow,
  type Layer,
} from '../../src/packet/index.js';
import { ethernet, ipv6 as rawIpv6, plainFrame, tcp4, udp4, udp6, withVlan } from '../support/packets.js';
import { PACKETS } from './cases.js';

/** An IPv6 extension header of `len8` 8-byte units. */
const ext = (next: number, len8: number): Uint8Array => {
  const h = new Uint8Array(len8 * 8);
  h[0] = next;
  h[1] = len8 - 1;
  return h;
};
const cat = (...parts: Uint8Array[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => [...p]));
const udpHeader = (sport: number, dport: number) => Uint8Array.of(sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 8, 0, 0);

describe('flowOf', () => {
  it.each<{ name: string; bytes: Uint8Array; linkType?: number; want: Partial<Flow> }>([
    {
      name: 'VLAN TCP/IPv4',
      bytes: tcp4({ sport: 1234, dport: 80, vlan: 0x2005 }),
      want: { ethType: 0x0800, vlanId: 5, ipVersion: 4, proto: 6, src: 0xc0000201, dst: 0xc6336407, sport: 1234, dport: 80, l3Offset: 18, l4Offset: 38, fragment: false },
    },
    {
      name: 'UDP/IPv6',
      bytes: udp6({ sport: 53, dport: 3333 }),
      want: { ethType: 0x86dd, vlanId: -1, ipVersion: 6, proto: 17, sport: 53, dport: 3333, l3Offset: 14, l4Offset: 54 },
    },
    {
      name: 'IPv6 hop-by-hop, routing, destination options, then UDP',
      bytes: ethernet(0x86dd, rawIpv6(0, cat(ext(43, 1), ext(60, 2), ext(17, 1), udpHeader(7, 8)))),
      want: { ipVersion: 6, proto: 17, sport: 7, dport: 8, l4Offset: 14 + 40 + 8 + 16 + 8, fragment: false },
    },
    {
      name: 'IPv6 first fragment: ports',
      bytes: ethernet(0x86dd, rawIpv6(44, cat(Uint8Array.of(17, 0, 0, 1, 0, 0, 0, 9), udpHeader(7, 8)))),
      want: { proto: 17, sport: 7, dport: 8, fragment: true, l4Offset: 14 + 48 },
    },
    {
      name: 'IPv6 later fragment: no ports',
      bytes: ethernet(0x86dd, rawIpv6(44, cat(Uint8Array.of(17, 0, 0, 0x18, 0, 0, 0, 9), udpHeader(7, 8)))),
      want: { proto: 17, sport: 0, dport: 0, fragment: true, l4Offset: -1 },
    },
    {
      name: 'IPv4 later fragment: no ports',
      bytes: (() => {
        const f = udp4({ sport: 5, dport: 6 });
        f[14 + 7] = 1;
        return f;
      })(),
      want: { proto: 17, sport: 0, dport: 0, fragment: true, l4Offset: -1, l3Offset: 14 },
    },
    {
      name: 'IPv4 first fragment (MF): ports',
      bytes: (() => {
        const f = udp4({ sport: 5, dport: 6 });
        f[14 + 6] |= 0x20;
        return f;
      })(),
      want: { proto: 17, sport: 5, dport: 6, fragment: true, l4Offset: 34 },
    },
    { name: 'ARP: no IP', bytes: plainFrame(0x0806, 42), want: { ethType: 0x0806, ipVersion: 0, proto: -1, l3Offset: -1, l4Offset: -1 } },
    { name: 'QinQ', bytes: withVlan(withVlan(udp4(), 200), 100, 0x88a8), want: { vlanId: 100, ethType: 0x0800, l3Offset: 22, l4Offset: 42 } },
    { name: 'runt', bytes: new Uint8Array(10), want: { ethType: 0, l3Offset: -1 } },
    { name: 'IPv4 header cut short', bytes: udp4().subarray(0, 30), want: { ethType: 0x0800, ipVersion: 0, l3Offset: -1 } },
    { name: 'raw IPv4', bytes: udp4({ sport: 9, dport: 10 }).subarray(14), linkType: LINKTYPE_RAW, want: { ethType: 0x0800, ipVersion: 4, sport: 9, dport: 10, l3Offset: 0, l4Offset: 20 } },
  ])('$name', ({ bytes, linkType, want }) => {
    expect(flowOf(bytes, newFlow(), linkType)).toMatchObject(want);
  });

  it('reuses the flow object and resets every field', () => {
    const f = newFlow();
    expect(flowOf(tcp4({ vlan: 3 }), f)).toBe(f);
    flowOf(plainFrame(0x88b5, 60), f);
    expect(f).toEqual({ ...newFlow(), ethType: 0x88b5 });
  });

  it('agrees with parsePacket on every shared packet', () => {
    for (const { name, layers } of PACKETS) {
      const bytes = buildPacket(layers);
      const parsed = parsePacket(bytes);
      const f = flowOf(bytes);
      const ips = parsed.filter((l) => l.kind === 'ipv4' || l.kind === 'ipv6');
      const ip = ips[0] as Extract<Layer, { kind: 'ipv4' | 'ipv6' }> | undefined;
      expect(f.ipVersion, name).toBe(ip === undefined ? 0 : ip.kind === 'ipv4' ? 4 : 6);
      if (ip?.kind === 'ipv4') {
        expect(f.src, name).toBe(ip.src.split('.').reduce((a, b) => a * 256 + Number(b), 0));
        expect(f.proto, name).toBe(ip.protocol);
      }
      if (ip?.kind === 'ipv6') expect(f.proto, name).toBe(ip.nextHeader);
      const l4 = parsed.find((l) => l.kind === 'tcp' || l.kind === 'udp');
      // Ports are those of a transport header straight after the first IP header.
      if (l4 && (l4.kind === 'tcp' || l4.kind === 'udp') && ips.length === 1) {
        expect([f.sport, f.dport], name).toEqual([l4.sport, l4.dport]);
      }
    }
  });
});
