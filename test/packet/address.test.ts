import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatIpv4, formatIpv6, formatMac, parseIpv4, parseIpv6, parseMac } from '../../src/packet/index.js';
import { ip6 } from '../support/packets.js';

describe('MAC', () => {
  it.each([
    ['02:00:00:00:00:01', [2, 0, 0, 0, 0, 1], '02:00:00:00:00:01'],
    ['FF-ff-FF-ff-FF-ff', [255, 255, 255, 255, 255, 255], 'ff:ff:ff:ff:ff:ff'],
    ['a:b:c:d:e:f', [10, 11, 12, 13, 14, 15], '0a:0b:0c:0d:0e:0f'],
  ])('%s', (text, bytes, canonical) => {
    expect([...parseMac(text)]).toEqual(bytes);
    expect(formatMac(Uint8Array.from(bytes))).toBe(canonical);
  });
  it.each(['02:00:00:00:00', '02:00:00:00:00:01:02', '02:00:00:00:00:1g', '', '020000000001'])('refuses %j', (text) => {
    expect(() => parseMac(text)).toThrow(`bad MAC address '${text}'`);
  });
});

describe('IPv4', () => {
  it.each([
    ['10.0.0.1', [10, 0, 0, 1]],
    ['255.255.255.255', [255, 255, 255, 255]],
    ['0.0.0.0', [0, 0, 0, 0]],
  ])('%s', (text, bytes) => {
    expect([...parseIpv4(text)]).toEqual(bytes);
    expect(formatIpv4(Uint8Array.from(bytes))).toBe(text);
  });
  it.each(['256.0.0.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1.2.3.x', ' 1.2.3.4'])('refuses %j', (text) => {
    expect(() => parseIpv4(text)).toThrow(`bad IPv4 address '${text}'`);
  });
});

describe('IPv6', () => {
  // RFC 5952 §4 and the usual suspects.
  it.each([
    ['2001:db8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not "::"
    ['2001:DB8::AAAA', '2001:db8::aaaa'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['fe80::1:0:0:0:1', 'fe80:0:0:1::1'], // the longer run wins
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ])('%s → %s', (text, canonical) => {
    const bytes = parseIpv6(text);
    expect([...bytes]).toEqual([...ip6(canonical.includes('.') ? '::ffff:c000:201' : canonical)]);
    expect(formatIpv6(bytes)).toBe(canonical);
  });
  it.each(['1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::', '1:2:3:4:5:6:7::8', '::1.2.3', '1:2:3:4:5:6:1.2.3.4:1'])('refuses %j', (text) => {
    expect(() => parseIpv6(text)).toThrow(`bad IPv6 address '${text}'`);
  });
  it('format → parse gives the bytes back (any address)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat(7), fc.nat(8), (bytes, at, zeros) => {
        bytes.fill(0, 2 * at, Math.min(16, 2 * (at + zeros))); // make runs of zero groups likely
        expect([...parseIpv6(formatIpv6(bytes))]).toEqual([...bytes]);
      }),
    );
  });
});
