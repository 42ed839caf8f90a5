/**
 * The packet builder: every length, EtherType, protocol and checksum filled in — checked by
 * an independent RFC 1071 walk over the bytes, byte for byte against test/support/packets.ts
 * (another builder, written separately), and by tshark with checksum validation on.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPacket, eth, ipv4, ipv6, parsePacket, payload, tcp, udp, vlan, padding, type Layer, type VlanLayer } from '../../src/packet/index.js';
import { createCaptureWriter } from '../../src/pcap/index.js';
import { tempDir, tsharkFields, tsharkMissing } from '../support/captures.js';
import { ip4, ip6, rfc1071, tcp4, tcp6, udp4, udp6 } from '../support/packets.js';
import { MAC_A, MAC_B, PACKETS } from './cases.js';
import { titled } from '../support/skip.js';

const u16 = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];

/**
 * Check every checksum in an Ethernet frame with test/support's rfc1071, walking the
 * headers by hand: VLAN tags, IPv4 (header checksum), IPv6, IP in IP, then TCP / UDP / ICMP /
 * ICMPv6 over their bytes up to the outermost IP packet's end and a byte-built pseudo-header.
 * Returns the names of the checksums it verified.
 */
function verifyChecksums(b: Uint8Array): string[] {
  const checked: string[] = [];
  let o = 12;
  let type = u16(b, o);
  o += 2;
  while (type === 0x8100 || type === 0x88a8) {
    type = u16(b, o + 2);
    o += 4;
  }
  let proto = type === 0x0800 ? 4 : type === 0x86dd ? 41 : -1;
  let end = b.length;
  let pseudo = (_p: number, _len: number): Uint8Array => new Uint8Array(0);
  let first = true;
  for (;;) {
    if (proto === 4) {
      const hlen = (b[o] & 15) * 4;
      expect(rfc1071(b.subarray(o, o + hlen)), 'IPv4 header checksum').toBe(0);
      checked.push('ipv4');
      if (first) end = o + u16(b, o + 2);
      first = false;
      const src = b.slice(o + 12, o + 16);
      const dst = b.slice(o + 16, o + 20);
      pseudo = (p, len) => Uint8Array.of(...src, ...dst, 0, p, len >> 8, len & 0xff);
      proto = b[o + 9];
      o += hlen;
    } else if (proto === 41) {
      if (first) end = o + 40 + u16(b, o + 4);
      first = false;
      const src = b.slice(o + 8, o + 24);
      const dst = b.slice(o + 24, o + 40);
      pseudo = (p, len) => Uint8Array.of(...src, ...dst, len >>> 24, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff, 0, 0, 0, p);
      proto = b[o + 6];
      o += 40;
    } else break;
  }
  const seg = b.subarray(o, end);
  const withPseudo = (p: number): Uint8Array => Uint8Array.of(...pseudo(p, seg.length), ...seg);
  if (proto === 6 || proto === 17 || proto === 58) {
    expect(rfc1071(withPseudo(proto)), `protocol ${proto} checksum`).toBe(0);
    if (proto === 17) expect(u16(b, o + 6)).not.toBe(0);
    checked.push(proto === 6 ? 'tcp' : proto === 17 ? 'udp' : 'icmpv6');
  } else if (proto === 1) {
    expect(rfc1071(seg), 'ICMP checksum').toBe(0);
    checked.push('icmp');
  }
  return checked;
}

/** Every field the input layer gave equals the parsed layer's. */
function expectFields(parsed: Layer[], given: Layer[]): void {
  expect(parsed.map((l) => l.kind)).toEqual(given.map((l) => l.kind));
  given.forEach((g, i) => {
    const p = parsed[i] as unknown as Record<string, unknown>;
    for (const [k, v] of Object.entries(g)) {
      if (k === 'flags' && typeof v === 'string') expect(p[k], `layer ${i} flags`).toBe([...'FSRPAUEC'].filter((c) => v.includes(c)).join(''));
      else expect(p[k], `layer ${i} (${g.kind}) ${k}`).toEqual(v);
    }
  });
}

describe('buildPacket', () => {
  it.each(PACKETS)('$name', ({ layers }) => {
    const bytes = buildPacket(layers);
    const checked = verifyChecksums(bytes);
    const kinds = layers.map((l) => l.kind);
    for (const k of ['ipv4', 'tcp', 'udp', 'icmp', 'icmpv6'] as const) if (kinds.includes(k)) expect(checked).toContain(k);
    const parsed = parsePacket(bytes);
    expectFields(parsed, layers);
    // Building what was parsed gives the same bytes back.
    expect(buildPacket(parsed)).toEqual(bytes);
  });

  it('fills lengths, types and protocols (the design example, by hand)', () => {
    const b = buildPacket(PACKETS[0].layers);
    expect(b.length).toBe(14 + 4 + 20 + 20 + 5);
    expect(u16(b, 12)).toBe(0x8100);
    expect(u16(b, 14)).toBe(10);
    expect(u16(b, 16)).toBe(0x0800);
    expect(b[18]).toBe(0x45);
    expect(u16(b, 20)).toBe(20 + 20 + 5);
    expect(b[18 + 9]).toBe(6);
    expect(b[38 + 12]).toBe(0x50);
    expect(b[38 + 13]).toBe(0x02);
    expect(new TextDecoder().decode(b.subarray(58))).toBe('hello');
  });

  // test/support/packets.ts builds frames its own way; the same packets must come out.
  describe('byte for byte against test/support/packets.ts', () => {
    const E0 = eth({ src: MAC_A, dst: '00:00:00:00:00:00' });
    const v4 = { id: 0x1234, df: true, ttl: 64 };
    const data = Uint8Array.from({ length: 37 }, (_, i) => i * 3);
    it.each([
      {
        name: 'udp4 + VLAN',
        theirs: udp4({ src: ip4('10.0.0.1'), dst: ip4('10.0.0.2'), sport: 1, dport: 2, payload: data, vlan: 42 }),
        ours: [E0, vlan({ vid: 42 }), ipv4({ src: '10.0.0.1', dst: '10.0.0.2', ...v4 }), udp({ sport: 1, dport: 2 }), payload(data)],
      },
      {
        name: 'tcp4 + IPv4 options',
        theirs: tcp4({ options: Uint8Array.of(1, 1, 1, 0), tos: 4, payload: data, seq: 77, ack: 88, window: 1000, flags: 0x12 }),
        ours: [E0, ipv4({ src: '192.0.2.1', dst: '198.51.100.7', ...v4, tos: 4, options: Uint8Array.of(1, 1, 1, 0) }), tcp({ sport: 40000, dport: 80, seq: 77, ack: 88, window: 1000, flags: 'SA' }), payload(data)],
      },
      {
        name: 'udp6',
        theirs: udp6({ payload: data, hopLimit: 9, trafficClass: 3, flowLabel: 0x12345 }),
        ours: [E0, ipv6({ src: '2001:db8::1', dst: '2001:db8::7', hopLimit: 9, trafficClass: 3, flowLabel: 0x12345 }), udp({ sport: 4242, dport: 53 }), payload(data)],
      },
      {
        name: 'tcp6 + VLAN',
        theirs: tcp6({ src: ip6('fe80::1'), dst: ip6('fe80::2'), vlan: 7, payload: data }),
        ours: [E0, vlan({ vid: 7 }), ipv6({ src: 'fe80::1', dst: 'fe80::2' }), tcp({ sport: 40000, dport: 80, seq: 1, flags: 'PA' }), payload(data)],
      },
    ])('$name', ({ theirs, ours }) => {
      expect([...buildPacket(ours)]).toEqual([...theirs]);
    });
  });

  it('a UDP checksum that comes out 0 is sent as 0xffff', () => {
    const layers = (w: number): Layer[] => [eth({ src: MAC_A, dst: MAC_B }), ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }), udp({ sport: 1, dport: 2 }), payload([w >> 8, w & 0xff])];
    const c = u16(buildPacket(layers(0)), 14 + 20 + 6);
    const b = buildPacket(layers(c)); // the payload word cancels the rest: the sum is all ones
    expect(u16(b, 14 + 20 + 6)).toBe(0xffff);
    verifyChecksums(b);
  });

  it('writes given lengths and checksums as given (bad packets on purpose)', () => {
    const b = buildPacket([eth({ src: MAC_A, dst: MAC_B, type: 0x0800 }), ipv4({ src: '1.1.1.1', dst: '2.2.2.2', totalLength: 1000, checksum: 0xbeef, protocol: 17 }), udp({ sport: 1, dport: 2, length: 3, checksum: 0 })]);
    expect(u16(b, 16)).toBe(1000);
    expect(u16(b, 24)).toBe(0xbeef);
    expect(u16(b, 38)).toBe(3);
    expect(u16(b, 40)).toBe(0);
  });

  it.each([
    { name: 'EtherType before a payload', layers: [eth({ src: MAC_A, dst: MAC_B }), payload('x')], error: 'packet layer 0 (eth): give its type (EtherType): the next layer (payload) does not say' },
    { name: 'protocol before a payload', layers: [eth({ src: MAC_A, dst: MAC_B }), ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }), payload('x')], error: 'packet layer 1 (ipv4): give its protocol: the next layer (payload) does not say' },
    { name: 'VID of 13 bits', layers: [eth({ src: MAC_A, dst: MAC_B }), vlan({ vid: 4096, type: 0x88b5 })], error: 'packet layer 1 (vlan): vid 4096 is not a 12-bit unsigned integer' },
    { name: 'options not a multiple of 4', layers: [eth({ src: MAC_A, dst: MAC_B }), ipv4({ src: '1.1.1.1', dst: '2.2.2.2', options: new Uint8Array(3) })], error: 'packet layer 1 (ipv4): options of 3 bytes (a multiple of 4, at most 40)' },
    { name: 'padding in the middle', layers: [eth({ src: MAC_A, dst: MAC_B, type: 0x88b5 }), padding(4), payload('x')], error: 'packet layer 1 (padding): padding may only end a packet' },
    { name: 'bad TCP flag', layers: [eth({ src: MAC_A, dst: MAC_B }), ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }), tcp({ sport: 1, dport: 2, flags: 'SX' })], error: "packet layer 2 (tcp): TCP flags 'SX': 'X' is not one of FSRPAUEC" },
    { name: 'bad address', layers: [eth({ src: MAC_A, dst: MAC_B }), ipv4({ src: '1.1.1', dst: '2.2.2.2' })], error: "bad IPv4 address '1.1.1'" },
    { name: 'port out of range', layers: [eth({ src: MAC_A, dst: MAC_B }), ipv4({ src: '1.1.1.1', dst: '2.2.2.2' }), udp({ sport: 65536, dport: 2 })], error: 'packet layer 2 (udp): sport 65536 is not a 16-bit unsigned integer' },
  ])('refuses: $name', ({ layers, error }) => {
    expect(() => buildPacket(layers)).toThrow(error);
  });
});

const missing = tsharkMissing();

describe.skipIf(missing !== undefined)(titled('buildPacket against tshark', missing), () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  it('every checksum validates and every length and type reads back', async () => {
    const file = path.join(tmp.dir, 'built.pcap');
    const w = createCaptureWriter(file, { format: 'pcap' });
    const built = PACKETS.map((p) => buildPacket(p.layers));
    for (const b of built) w.write(b, 1, 0);
    await w.close();
    const check = ['-o', 'ip.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE'];
    const fields = ['ip.checksum.status', 'tcp.checksum.status', 'udp.checksum.status', 'icmp.checksum.status', 'icmpv6.checksum.status', '_ws.expert.message', 'eth.type', 'vlan.id', 'ieee8021ad.id', 'ip.len', 'ip.proto', 'ipv6.plen', 'ipv6.nxt', 'udp.length', 'tcp.hdr_len', 'frame.protocols'];
    const rows = tsharkFields(file, fields, check);
    expect(rows).toHaveLength(PACKETS.length);
    rows.forEach((row, i) => {
      const f = Object.fromEntries(fields.map((name, k) => [name, row[k] ?? '']));
      const name = PACKETS[i].name;
      // 1 = good (0 bad, 2 unverified, 3 absent), one per header of that protocol.
      for (const k of fields.slice(0, 5)) if (f[k] !== '') expect(f[k].split('|').every((s) => s === '1'), `${name}: ${k} = ${f[k]}`).toBe(true);
      expect(f['_ws.expert.message'], name).not.toMatch(/malformed|checksum|bad|incorrect/i);
      // The fields tshark reads are the ones parsePacket reads.
      const parsed = parsePacket(built[i]);
      const all = (kind: Layer['kind'], key: string): string =>
        parsed.filter((l) => l.kind === kind).map((l) => String((l as unknown as Record<string, unknown>)[key])).join('|');
      expect(f['eth.type']).toBe(`0x${(parsed[0] as { type: number }).type.toString(16).padStart(4, '0')}`);
      const vids = (tpid: number): string =>
        parsed.filter((l): l is VlanLayer => l.kind === 'vlan' && l.tpid === tpid).map((l) => l.vid).join('|');
      expect(f['vlan.id'], name).toBe(vids(0x8100));
      expect(f['ieee8021ad.id'], name).toBe(vids(0x88a8));
      expect(f['ip.len'], name).toBe(all('ipv4', 'totalLength'));
      expect(f['ip.proto'], name).toBe(all('ipv4', 'protocol'));
      expect(f['ipv6.plen'], name).toBe(all('ipv6', 'payloadLength'));
      expect(f['ipv6.nxt'], name).toBe(all('ipv6', 'nextHeader'));
      expect(f['udp.length'], name).toBe(all('udp', 'length'));
      expect(f['frame.protocols'], name).toMatch(/^eth:ethertype:/);
    });
  });
});
