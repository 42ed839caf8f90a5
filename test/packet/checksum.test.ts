/**
 * The Internet checksum against RFC 1071's worked example and against test/support's
 * rfc1071 (written from the RFC alone); the pseudo-header sums against byte-built
 * pseudo-headers.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checksumOk, foldSum, internetChecksum, ipv4PseudoSum, ipv6PseudoSum, onesSum, pseudoHeaderSum } from '../../src/packet/index.js';
import { rfc1071 } from '../support/packets.js';

describe('internet checksum', () => {
  it("RFC 1071 §3's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2", () => {
    const b = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
    expect(foldSum(onesSum(b, 0, b.length))).toBe(0xddf2);
    expect(internetChecksum(b)).toBe(0x220d);
  });

  it.each([
    ['empty', [], 0xffff],
    ['one byte', [0xab], 0x54ff],
    ['all ones', [0xff, 0xff], 0x0000],
    ['carry wraps', [0xff, 0xff, 0x00, 0x01], 0xfffe],
  ])('%s', (_, bytes, want) => {
    expect(internetChecksum(Uint8Array.from(bytes))).toBe(want);
  });

  it('equals an independent RFC 1071 implementation on any bytes, any range, any start sum', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), fc.nat(), fc.nat(0xffff), (bytes, a, b, sum) => {
        const start = bytes.length ? a % bytes.length : 0;
        const end = start + (bytes.length ? b % (bytes.length - start + 1) : 0);
        expect(internetChecksum(bytes, start, end, sum)).toBe(rfc1071(bytes.subarray(start, end), sum));
      }),
    );
  });

  it('a filled-in checksum checks out', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 200 }), fc.nat(), (bytes, at) => {
        const o = (at % (bytes.length >> 1)) * 2;
        bytes[o] = bytes[o + 1] = 0;
        const c = internetChecksum(bytes);
        bytes[o] = c >> 8;
        bytes[o + 1] = c & 0xff;
        expect(checksumOk(bytes, 0, bytes.length)).toBe(true);
      }),
    );
  });
});

describe('pseudo-header sums', () => {
  it('IPv4: the sum of src, dst, zero, protocol, length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.nat(255), fc.nat(0xffff), (ip, proto, len) => {
        ip[0] = 0x45;
        const ph = Uint8Array.of(...ip.subarray(12, 20), 0, proto, len >> 8, len & 0xff);
        expect(foldSum(ipv4PseudoSum(ip, 0, proto, len))).toBe(foldSum(onesSum(ph, 0, 12)));
        expect(foldSum(pseudoHeaderSum(ip, 0, proto, len))).toBe(foldSum(onesSum(ph, 0, 12)));
      }),
    );
  });

  it('IPv6: src, dst, 32-bit length, 3 zero bytes, next header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 40, maxLength: 40 }), fc.nat(255), fc.nat(0x3ffff), (ip, nh, len) => {
        ip[0] = 0x60;
        const ph = Uint8Array.of(...ip.subarray(8, 40), len >>> 24, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff, 0, 0, 0, nh);
        expect(foldSum(ipv6PseudoSum(ip, 0, nh, len))).toBe(foldSum(onesSum(ph, 0, 40)));
        expect(foldSum(pseudoHeaderSum(ip, 0, nh, len))).toBe(foldSum(onesSum(ph, 0, 40)));
      }),
    );
  });
});
