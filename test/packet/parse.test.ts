/**
 * parsePacket on frames built by test/support/packets.ts (not by our builder), on cut and
 * odd frames, and the property that ties builder and parser together: parsing a built
 * packet gives back every field it was built from, and building a parsed packet gives back
 * its bytes.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  LINKTYPE_RAW,
  buildPacket,
  formatIpv4,
  formatIpv6,
  formatMac,
  parsePacket,
  type Layer,
} from '../../src/packet/index.js';
import { ethernet, ip4, ipv4, ipv6, plainFrame, tcp4, udp4, udp6, withVlan } from '../support/packets.js';
import { ETH_P_IP } from '../../src/uapi/if-ether.js';

describe('parsePacket', () => {
  it('a VLAN-tagged TCP frame from test/support', () => {
    const frame = tcp4({ src: ip4('10.0.0.1'), dst: ip4('10.0.0.2'), sport: 1234, dport: 80, flags: 0x12, vlan: 0xa00a, payload: Uint8Array.of(1, 2, 3) });
    const layers = parsePacket(frame);
    expect(layers.map((l) => l.kind)).toEqual(['eth', 'vlan', 'ipv4', 'tcp', 'payload']);
    expect(layers[0]).toEqual({ kind: 'eth', dst: '00:00:00:00:00:00', src: '02:00:00:00:00:01', type: 0x8100 });
    expect(layers[1]).toEqual({ kind: 'vlan', vid: 10, pcp: 5, dei: 0, tpid: 0x8100, type: 0x0800 });
    expect(layers[2]).toMatchObject({ kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', ttl: 64, id: 0x1234, df: true, mf: false, fragOffset: 0, protocol: 6, totalLength: 43 });
    expect(layers[3]).toMatchObject({ kind: 'tcp', sport: 1234, dport: 80, seq: 1, ack: 0, flags: 'SA', window: 65535 });
    expect(layers[4]).toEqual({ kind: 'payload', data: Uint8Array.of(1, 2, 3) });
  });

  it('IPv6 UDP from test/support', () => {
    const layers = parsePacket(udp6({ sport: 9, dport: 10, payload: new Uint8Array(0) }));
    expect(layers).toMatchObject([
      { kind: 'eth', type: 0x86dd },
      { kind: 'ipv6', src: '2001:db8::1', dst: '2001:db8::7', nextHeader: 17, payloadLength: 8, hopLimit: 64 },
      { kind: 'udp', sport: 9, dport: 10, length: 8 },
    ]);
    expect(layers).toHaveLength(3);
  });

  it.each<{ name: string; bytes: Uint8Array; kinds: string[]; last?: Layer }>([
    {
      name: 'Ethernet padding after a short IPv4 packet',
      bytes: (() => {
        const f = udp4({ payload: Uint8Array.of(7) });
        const out = new Uint8Array(60);
        out.set(f);
        out.fill(0xee, f.length);
        return out;
      })(),
      kinds: ['eth', 'ipv4', 'udp', 'payload', 'padding'],
      last: { kind: 'padding', data: new Uint8Array(60 - 43).fill(0xee) },
    },
    {
      name: 'a capture cut by snaplen: IP length beyond the bytes',
      bytes: tcp4({ payload: new Uint8Array(100) }).subarray(0, 60),
      kinds: ['eth', 'ipv4', 'tcp', 'payload'],
      last: { kind: 'payload', data: new Uint8Array(6) },
    },
    {
      name: 'a header cut short is payload',
      bytes: tcp4().subarray(0, 14 + 20 + 10),
      kinds: ['eth', 'ipv4', 'payload'],
      last: { kind: 'payload', data: tcp4().subarray(34, 44) },
    },
    {
      name: 'a later IPv4 fragment has no L4 header',
      bytes: (() => {
        const f = udp4();
        f[14 + 6] = 0x00;
        f[14 + 7] = 0x10; // offset 16 × 8
        return f;
      })(),
      kinds: ['eth', 'ipv4', 'payload'],
    },
    { name: 'an unknown EtherType', bytes: plainFrame(0x88b5, 30), kinds: ['eth', 'payload'] },
    { name: 'shorter than Ethernet', bytes: Uint8Array.of(1, 2, 3), kinds: ['payload'] },
    { name: 'a bare VLAN tag', bytes: withVlan(plainFrame(0x88b5, 20), 3), kinds: ['eth', 'vlan', 'payload'] },
    { name: 'IPv4 with a bad IHL', bytes: (() => { const f = udp4(); f[14] = 0x44; return f; })(), kinds: ['eth', 'payload'] },
    { name: 'IPv6 next header not parsed (hop-by-hop)', bytes: ethernet(0x86dd, ipv6(0, new Uint8Array(8))), kinds: ['eth', 'ipv6', 'payload'] },
    { name: 'IPv4 unknown protocol', bytes: ethernet(ETH_P_IP, ipv4(253, Uint8Array.of(1, 2))), kinds: ['eth', 'ipv4', 'payload'] },
  ])('$name', ({ bytes, kinds, last }) => {
    const layers = parsePacket(bytes);
    expect(layers.map((l) => l.kind)).toEqual(kinds);
    if (last) expect(layers[layers.length - 1]).toEqual(last);
    // Whatever was parsed builds back to the same bytes.
    expect(buildPacket(layers)).toEqual(bytes);
  });

  it('raw IP (LINKTYPE_RAW)', () => {
    const ip = udp4().subarray(14);
    expect(parsePacket(ip, LINKTYPE_RAW).map((l) => l.kind)).toEqual(['ipv4', 'udp', 'payload']);
    expect(parsePacket(udp6().subarray(14), LINKTYPE_RAW).map((l) => l.kind)).toEqual(['ipv6', 'udp', 'payload']);
  });

  it('refuses link types it does not know', () => {
    expect(() => parsePacket(new Uint8Array(20), 113)).toThrow('link type 113: packets are parsed from Ethernet (1) or raw IP (101)');
  });
});

// ---- the property: parse(build(x)) gives x's fields back ----

const mac = fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => formatMac(b));
const v4addr = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIpv4(b));
const v6addr = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => formatIpv6(b));
const u = (bits: number) => fc.integer({ min: 0, max: 2 ** bits - 1 });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
/** Drop undefined fields (fc.record with requiredKeys would do; this is plainer). */
const clean = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
const words = (max: number) => fc.integer({ min: 1, max }).chain((n) => fc.uint8Array({ minLength: 4 * n, maxLength: 4 * n }));

const l2 = fc.tuple(
  fc.record({ kind: fc.constant('eth' as const), src: mac, dst: mac }),
  fc.array(fc.record({ kind: fc.constant('vlan' as const), vid: u(12), pcp: opt(u(3)), dei: opt(u(1)), tpid: opt(fc.constantFrom(0x8100, 0x88a8)) }).map(clean), { maxLength: 2 }),
);
const v4 = fc
  .record({ kind: fc.constant('ipv4' as const), src: v4addr, dst: v4addr, ttl: opt(u(8)), tos: opt(u(8)), id: opt(u(16)), df: opt(fc.boolean()), mf: opt(fc.boolean()), options: opt(words(10)) })
  .map(clean);
const v6 = fc.record({ kind: fc.constant('ipv6' as const), src: v6addr, dst: v6addr, hopLimit: opt(u(8)), trafficClass: opt(u(8)), flowLabel: opt(u(20)) }).map(clean);
const flagsText = fc.subarray([...'FSRPAUEC']).map((a) => a.join(''));
const tcpL = fc
  .record({ kind: fc.constant('tcp' as const), sport: u(16), dport: u(16), seq: opt(u(32)), ack: opt(u(32)), flags: opt(flagsText), window: opt(u(16)), urgent: opt(u(16)), options: opt(words(10)) })
  .map(clean);
const udpL = fc.record({ kind: fc.constant('udp' as const), sport: u(16), dport: u(16) });
const icmpL = (kind: 'icmp' | 'icmpv6') => fc.record({ kind: fc.constant(kind), type: u(8), code: opt(u(8)), id: opt(u(16)), seq: opt(u(16)) }).map(clean);
const arpL = fc.record({ kind: fc.constant('arp' as const), op: fc.constantFrom(1, 2), senderMac: mac, senderIp: v4addr, targetMac: mac, targetIp: v4addr });
const data = fc.uint8Array({ minLength: 1, maxLength: 64 });

/** Whole packets: L2, then ARP, or IP (maybe tunnelled) with maybe L4, maybe payload, maybe padding. */
const packetArb: fc.Arbitrary<Layer[]> = fc
  .record({
    l2,
    net: fc.oneof(
      arpL.map((a) => [a] as Layer[]),
      fc
        .tuple(fc.array(fc.oneof(v4, v6), { minLength: 1, maxLength: 2 }), fc.option(fc.oneof(tcpL, udpL, icmpL('icmp'), icmpL('icmpv6')), { nil: undefined }))
        .map(([ips, l4]) => {
          const layers: Layer[] = [...ips];
          if (l4) layers.push(l4);
          return layers;
        }),
    ),
    body: fc.option(data, { nil: undefined }),
    pad: fc.option(data, { nil: undefined }),
  })
  .map(({ l2: [e, vlans], net, body, pad }) => {
    const layers: Layer[] = [e, ...vlans, ...net];
    const last = layers[layers.length - 1];
    if (body && last.kind !== 'arp') {
      // A payload straight after IP needs a protocol that says "nothing we parse".
      if (last.kind === 'ipv4') layers[layers.length - 1] = { ...last, protocol: 253 };
      if (last.kind === 'ipv6') layers[layers.length - 1] = { ...last, nextHeader: 253 };
      layers.push({ kind: 'payload', data: body });
    }
    if (pad && (net[0].kind === 'ipv4' || net[0].kind === 'arp')) layers.push({ kind: 'padding', data: pad });
    return layers;
  });

describe('parsePacket(buildPacket(x)) — property', () => {
  it('gives back every field x gave, and building the parse gives the same bytes', () => {
    fc.assert(
      fc.property(packetArb, (layers) => {
        const bytes = buildPacket(layers);
        const parsed = parsePacket(bytes);
        expect(parsed.map((l) => l.kind)).toEqual(layers.map((l) => l.kind));
        layers.forEach((given, i) => {
          const got = parsed[i] as unknown as Record<string, unknown>;
          for (const [k, v] of Object.entries(given)) {
            expect(got[k], `layer ${i} ${given.kind}.${k}`).toEqual(v);
          }
        });
        expect(buildPacket(parsed)).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });
});
