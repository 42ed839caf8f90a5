/**
 * The checksum helpers: properties of the arithmetic against an independent RFC 1071 checksum
 * (test/support/packets.ts), and the helpers themselves through clang-built programs
 * (test/fixtures/bpf/tc-csum.bpf.c, tc-skb.bpf.c) compared with the kernel on tables and on
 * seeded random cases — the kernel decides the exact representation (0 or 0xffff) of results.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  csumDiffValue, csumPartial, csumReplace2, csumReplace4, csumReplaceByDiff, from32to16, ipChecksum,
} from '../../src/helpers/csum.js';
import { SK_BUFF_FIELDS as SK_BUFF, SK_BUFF_SIZE } from '../../src/uapi/prog-types.js';
import {
  ipv4ChecksumsValid, ipv6L4ChecksumValid, plainFrame, rfc1071, tcp4, tcp6, udp4, udp6, withVlan,
} from '../support/packets.js';
import { ETH_P_IPV6 } from '../../src/uapi/if-ether.js';
import { TcFixture, type Outcome, type RunInput } from '../support/tc-harness.js';
import { BPF_F_IPV6, BPF_F_MARK_ENFORCE, BPF_F_MARK_MANGLED_0, BPF_F_PSEUDO_HDR } from '../../src/uapi/bpf.js';

const swap16 = (v: number): number => ((v & 0xff) << 8) | (v >>> 8);
const bytesArb = (min: number, max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: min, maxLength: max });

describe('checksum arithmetic against RFC 1071', () => {
  it('ipChecksum is the RFC 1071 checksum (read little-endian)', () => {
    fc.assert(fc.property(bytesArb(0, 200), (b) => {
      expect(ipChecksum(b, 0, b.length)).toBe(swap16(rfc1071(b)));
    }), { numRuns: 500 });
  });

  it('csum_partial folds to the RFC 1071 sum, 0 only for all-zero data', () => {
    fc.assert(fc.property(bytesArb(0, 200), (b) => {
      const folded = from32to16(csumPartial(b, 0, b.length, 0));
      expect(folded).toBe(swap16(~rfc1071(b) & 0xffff));
      expect(folded === 0).toBe(b.every((x) => x === 0));
    }), { numRuns: 500 });
  });

  /** A buffer with a valid checksum at `at`, and a field elsewhere to change. */
  const withField = (width: 2 | 4) => fc.record({
    words: fc.integer({ min: 6, max: 40 }),
    seed: bytesArb(80, 80),
    at: fc.nat(),
    field: fc.nat(),
    value: bytesArb(width, width),
  }).map(({ words, seed, at, field, value }) => {
    const buf = seed.slice(0, words * 2);
    const sumAt = 2 * (at % words);
    const fieldAt = 2 * (field % (words - width / 2));
    buf[sumAt] = 0;
    buf[sumAt + 1] = 0;
    const c = rfc1071(buf);
    buf[sumAt] = c >> 8;
    buf[sumAt + 1] = c & 0xff;
    return { buf, sumAt, fieldAt, value };
  }).filter(({ sumAt, fieldAt, value }) => !(fieldAt < sumAt + 2 && fieldAt + value.length > sumAt));

  it('csum_replace4 keeps a checksum valid when a 32-bit field changes', () => {
    fc.assert(fc.property(withField(4), ({ buf, sumAt, fieldAt, value }) => {
      const v = new DataView(buf.buffer);
      const from = v.getUint32(fieldAt, true);
      buf.set(value, fieldAt);
      const to = v.getUint32(fieldAt, true);
      v.setUint16(sumAt, csumReplace4(v.getUint16(sumAt, true), from, to), true);
      expect(rfc1071(buf)).toBe(0);
    }), { numRuns: 500 });
  });

  it('csum_replace2 keeps a checksum valid when a 16-bit field changes', () => {
    fc.assert(fc.property(withField(2), ({ buf, sumAt, fieldAt, value }) => {
      const v = new DataView(buf.buffer);
      const from = v.getUint16(fieldAt, true);
      buf.set(value, fieldAt);
      const to = v.getUint16(fieldAt, true);
      v.setUint16(sumAt, csumReplace2(v.getUint16(sumAt, true), from, to), true);
      expect(rfc1071(buf)).toBe(0);
    }), { numRuns: 500 });
  });

  it('csum_replace_by_diff with bpf_csum_diff keeps a checksum valid', () => {
    fc.assert(fc.property(withField(4), ({ buf, sumAt, fieldAt, value }) => {
      const v = new DataView(buf.buffer);
      const scratch = new Uint8Array(8);
      scratch.set(buf.subarray(fieldAt, fieldAt + 4));
      scratch.set(value, 4);
      const diff = csumDiffValue(scratch, 0, 4, 4, 4, 0);
      buf.set(value, fieldAt);
      v.setUint16(sumAt, csumReplaceByDiff(v.getUint16(sumAt, true), diff), true);
      expect(rfc1071(buf)).toBe(0);
    }), { numRuns: 500 });
  });

  it('bpf_csum_diff is to − from + seed in one\'s complement (any sizes)', () => {
    const sum16 = (b: Uint8Array): number => {
      let s = 0;
      for (let i = 0; i < b.length; i += 2) s += b[i] | ((b[i + 1] ?? 0) << 8);
      return s % 0xffff;
    };
    fc.assert(fc.property(bytesArb(0, 64), bytesArb(0, 64), fc.nat({ max: 0xffffffff }), (from, to, seed) => {
      const u8 = new Uint8Array(from.length + to.length);
      u8.set(from);
      u8.set(to, from.length);
      const r = csumDiffValue(u8, 0, from.length, from.length, to.length, seed);
      const want = (((sum16(to) - sum16(from) + (seed & 0xffff) + (seed >>> 16)) % 0xffff) + 0xffff) % 0xffff;
      expect(r % 0xffff).toBe(want);
      expect(r).toBeLessThanOrEqual(0xffff);
    }), { numRuns: 1000 });
  });
});

// ---- the helpers, in xdplab and the kernel ----------------------------------------------------

const fx = new TcFixture(import.meta.url, 'tc-csum.bpf.o');

const agree = (program: string, input: RunInput, f: TcFixture = fx): Outcome => f.agree(program, input);

function ctxWith(cb: number[], extra: { mark?: number; priority?: number } = {}): Uint8Array {
  const ctx = new Uint8Array(SK_BUFF_SIZE);
  const v = new DataView(ctx.buffer);
  cb.forEach((x, i) => v.setUint32(SK_BUFF.cb + 4 * i, x >>> 0, true));
  v.setUint32(SK_BUFF.mark, (extra.mark ?? 0) >>> 0, true);
  v.setUint32(SK_BUFF.priority, (extra.priority ?? 0) >>> 0, true);
  return ctx;
}

const retval = (o: Outcome): number => (o.ok ? o.retval | 0 : NaN);
const dataOf = (o: Outcome): Uint8Array => (o.ok ? new Uint8Array(Buffer.from(o.data, 'hex')) : new Uint8Array(0));
const cbOf = (o: Outcome): number[] => {
  if (!o.ok) throw new Error(`refused: errno ${o.errno}`);
  const b = Buffer.from(o.ctx, 'hex');
  return Array.from({ length: 5 }, (_, i) => b.readUInt32LE(SK_BUFF.cb + 4 * i));
};


/** The IPv4 UDP frame the replace tests change: IP checksum at 24, UDP checksum at 40. */
const base = udp4({ payload: new Uint8Array(20).fill(3) });
const withSum = (at: number, sum: number): Uint8Array => {
  const f = base.slice();
  f[at] = sum >> 8;
  f[at + 1] = sum & 0xff;
  return f;
};

describe('bpf_l3_csum_replace / bpf_l4_csum_replace', () => {
  it('rewriting the destination address keeps both checksums valid', () => {
    const frame = base.slice();
    const v = new DataView(frame.buffer);
    const from = v.getUint32(30, true);
    frame.set([203, 0, 113, 9], 30);
    const to = v.getUint32(30, true);
    const l3 = dataOf(agree('l3_replace', { data: frame, ctx: ctxWith([24, from, to, 4]) }));
    expect(ipv4ChecksumsValid(l3).ip).toBe(true);
    const l4 = dataOf(agree('l4_replace', { data: l3, ctx: ctxWith([40, from, to, 4 | BPF_F_PSEUDO_HDR]) }));
    expect(ipv4ChecksumsValid(l4)).toEqual({ ip: true, l4: true });
  });

  it('rewriting a TCP port keeps the TCP checksum valid (size 2)', () => {
    const frame = tcp4();
    const v = new DataView(frame.buffer);
    const from = v.getUint16(36, true);
    v.setUint16(36, 0x1f90, false);
    const to = v.getUint16(36, true);
    expect(ipv4ChecksumsValid(dataOf(agree('l4_replace', { data: frame, ctx: ctxWith([50, from, to, 2]) })))).toEqual({ ip: true, l4: true });
  });

  it('an IPv6 address rewrite through a diff (BPF_F_IPV6)', () => {
    const frame = udp6();
    const scratch = new Uint8Array(32);
    scratch.set(frame.subarray(22, 38));
    frame[37] ^= 0x55;
    scratch.set(frame.subarray(22, 38), 16);
    const diff = csumDiffValue(scratch, 0, 16, 16, 16, 0);
    const out = dataOf(agree('l4_replace', { data: frame, ctx: ctxWith([60, 0, diff, BPF_F_PSEUDO_HDR | BPF_F_IPV6]) }));
    expect(ipv6L4ChecksumValid(out)).toBe(true);
  });

  const EDGES: Array<[string, string, number[], Uint8Array?]> = [];
  for (const prog of ['l3_replace', 'l4_replace']) {
    for (const sum of [0x0000, 0xffff, 0x0001, 0xfffe]) {
      for (const size of [0, 2, 4]) {
        for (const [from, to] of [[0, 0], [0xffff, 0xffff], [0, 0xffff], [0xffff, 0], [0x1234, 0x1234], [1, 0]]) {
          EDGES.push([prog, `checksum 0x${sum.toString(16)}, size ${size}, ${from.toString(16)} -> ${to.toString(16)}`, [40, size === 0 ? 0 : from, to, size], withSum(40, sum)]);
        }
      }
    }
  }
  it.each(EDGES)('%s: %s', (prog, _, cb, data) => {
    agree(prog, { data: data!, ctx: ctxWith(cb) });
  });

  it.each([
    ['l3: odd offset', 'l3_replace', [25, 0, 0, 2]],
    ['l3: the last two bytes', 'l3_replace', [base.length - 2, 1, 2, 2]],
    ['l3: one byte past', 'l3_replace', [base.length - 1, 1, 2, 2]],
    ['l3: past the end', 'l3_replace', [base.length, 1, 2, 2]],
    ['l3: offset 0x10000', 'l3_replace', [0x10000, 1, 2, 2]],
    ['l3: size 1', 'l3_replace', [24, 1, 2, 1]],
    ['l3: size 8', 'l3_replace', [24, 1, 2, 8]],
    ['l3: size 0 with a from', 'l3_replace', [24, 1, 2, 0]],
    ['l3: BPF_F_PSEUDO_HDR', 'l3_replace', [24, 1, 2, 2 | BPF_F_PSEUDO_HDR]],
    ['l3: a flag in the high word', 'l3_replace', [24, 1, 2, 2, 1]],
    ['l4: every flag', 'l4_replace', [40, 1, 2, 4 | BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE | BPF_F_IPV6]],
    ['l4: an unknown flag', 'l4_replace', [40, 1, 2, 2 | (1 << 8)]],
    ['l4: a flag in the high word', 'l4_replace', [40, 1, 2, 2, 1]],
    ['l4: size 3', 'l4_replace', [40, 1, 2, 3]],
    ['l4: odd offset', 'l4_replace', [41, 1, 2, 2]],
    ['l4: past the end', 'l4_replace', [base.length - 1, 1, 2, 2]],
  ])('%s', (_, prog, cb) => {
    agree(prog as string, { data: base, ctx: ctxWith(cb as number[]) });
  });

  it.each([
    ['MANGLED_0 leaves a zero checksum alone', [40, 0x1234, 0x4321, 2 | BPF_F_MARK_MANGLED_0], 0x0000],
    ['MANGLED_0 | ENFORCE updates a zero checksum', [40, 0x1234, 0x4321, 2 | BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE], 0x0000],
    ['MANGLED_0 turns a result of 0 into 0xffff', [40, 0x0000, 0x0100, 4 | BPF_F_MARK_MANGLED_0], 0xfeff],
    ['a result of 0 without MANGLED_0', [40, 0x0000, 0x0100, 4], 0xfeff],
  ])('%s', (_, cb, sum) => {
    agree('l4_replace', { data: withSum(40, sum), ctx: ctxWith(cb) });
  });

  it('size 0 with a 64-bit `from`: only 0 is accepted', () => {
    expect(retval(agree('l4_replace_wide', { data: base, ctx: ctxWith([40, 0, 5, 0], { priority: 1 }) }))).toBe(-22);
    expect(retval(agree('l4_replace_wide', { data: base, ctx: ctxWith([40, 0, 5, 0]) }))).toBe(0);
  });

  const randomCases = fc.sample(fc.record({
    prog: fc.constantFrom('l3_replace', 'l4_replace'),
    at: fc.constantFrom(24, 40, 2 * 20),
    sum: fc.integer({ min: 0, max: 0xffff }),
    from: fc.nat({ max: 0xffffffff }),
    to: fc.nat({ max: 0xffffffff }),
    flags: fc.constantFrom(0, 2, 4, 2 | BPF_F_PSEUDO_HDR, 4 | BPF_F_PSEUDO_HDR, BPF_F_PSEUDO_HDR, 4 | BPF_F_MARK_MANGLED_0, 2 | BPF_F_MARK_MANGLED_0 | BPF_F_MARK_ENFORCE),
  }), { seed: 0x5eed, numRuns: 60 });
  it.each(randomCases.map((c, i) => [i, c] as const))('seeded case %d', (_, c) => {
    const fromArg = (c.flags & 0xf) === 0 ? 0 : c.from;
    agree(c.prog, { data: withSum(c.at, c.sum), ctx: ctxWith([c.at, fromArg, c.to, c.flags]) });
  });

  it('(xdplab) MANGLED_0 never leaves a zero checksum it computed', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 0xffff }), fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), (sum, from, to) => {
      const o = fx.xdplab('l4_replace', { data: withSum(40, sum), ctx: ctxWith([40, from, to, 4 | BPF_F_MARK_MANGLED_0]) });
      const out = dataOf(o);
      expect((out[40] << 8) | out[41]).not.toBe(0);
    }), { numRuns: 200 });
  });
});

describe('bpf_csum_diff', () => {
  const data = plainFrame(0x88b5, 14 + 128 + 8);
  it.each([
    ['4 and 4', 4, 4, 0],
    ['to only', 0xffff, 4, 0],
    ['from only', 4, 0xffff, 0],
    ['neither: the folded seed', 0xffff, 0xffff, 0x12345678],
    ['odd sizes', 3, 5, 0],
    ['from only, 2 bytes', 2, 0xffff, 0],
    ['to only, 1 byte', 0xffff, 1, 0],
    ['64 and 64', 64, 64, 0],
    ['seed all ones', 20, 0xffff, 0xffffffff],
    ['sizes 0 (pointers given)', 0, 0, 7],
    ['from 0, to 8', 0, 8, 0],
  ])('%s', (_, fromSize, toSize, seed) => {
    const o = agree('csum_diff', { data, ctx: ctxWith([fromSize, toSize, seed]) });
    expect(cbOf(o)[1]).toBe(0); // the result fits 16 bits
  });

  const randomCases = fc.sample(fc.record({
    payload: bytesArb(128, 128),
    fromSize: fc.integer({ min: 0, max: 64 }),
    toSize: fc.integer({ min: 0, max: 64 }),
    seed: fc.nat({ max: 0xffffffff }),
  }), { seed: 0xd1ff, numRuns: 40 });
  it.each(randomCases.map((c, i) => [i, c] as const))('seeded case %d', (_, c) => {
    const frame = data.slice();
    frame.set(c.payload, 14);
    agree('csum_diff', { data: frame, ctx: ctxWith([c.fromSize, c.toSize, c.seed]) });
  });

  it('straight on the packet (a packet pointer argument)', () => {
    agree('csum_diff_pkt', { data: udp4(), ctx: ctxWith([0x11111111, 0x22222222, 0x33333333, 0x44444444, 0x55555555], { mark: 9 }) });
  });
});

describe('bpf_csum_level / bpf_csum_update', () => {
  const QUERY = 0;
  const INC = 1;
  const DEC = 2;
  const RESET = 3;
  const END = 0xff;
  it.each([
    ['query', [QUERY, END]],
    ['inc, query', [INC, QUERY, END]],
    ['inc, inc, query', [INC, INC, QUERY, END]],
    ['inc ×3, query', [INC, INC, INC, QUERY]],
    ['inc, dec, query', [INC, DEC, QUERY, END]],
    ['inc, inc, dec, query', [INC, INC, DEC, QUERY]],
    ['inc, reset, query', [INC, RESET, QUERY, END]],
    ['dec, query', [DEC, QUERY, END]],
    ['reset', [RESET, END]],
    ['an unknown level', [4, QUERY, END]],
    ['level 0xfe', [0xfe, END]],
  ])('%s', (_, levels) => {
    agree('csum_level', { data: udp4(), ctx: ctxWith(levels, { mark: 0x1234 }) });
  });

  it('csum_update: -ENOTSUPP, a test-run skb is never CHECKSUM_COMPLETE', () => {
    expect(cbOf(agree('csum_level', { data: udp4(), ctx: ctxWith([END]) }))[4] | 0).toBe(-524);
  });

  const skbFx = new TcFixture(import.meta.url, 'tc-skb.bpf.o');
  const op = (code: number, arg = 0): number => ((code << 24) | arg) >>> 0;
  const CSUM_LEVEL = 18;
  const ADJUST = 9;
  it.each([
    ['adjust_room resets CHECKSUM_UNNECESSARY', [op(CSUM_LEVEL, INC), op(ADJUST, 8), op(CSUM_LEVEL, QUERY)]],
    ['unless BPF_F_ADJ_ROOM_NO_CSUM_RESET', [op(CSUM_LEVEL, INC), op(ADJUST, 8 | (32 << 14)), op(CSUM_LEVEL, QUERY)]],
    ['a failed adjust_room does not', [op(CSUM_LEVEL, INC), op(ADJUST, 8 | (1 << 23)), op(CSUM_LEVEL, QUERY)]],
  ])('%s', (_, ops) => {
    agree('ops', { data: udp4(), ctx: ctxWith(ops) }, skbFx);
  });
});

describe('bpf_skb_ecn_set_ce', () => {
  it.each([0, 1, 2, 3].flatMap((ecn) => [
    [`IPv4 ECN ${ecn}`, udp4({ tos: 0xa0 | ecn })],
    [`IPv6 ECN ${ecn}`, tcp6({ trafficClass: 0xa0 | ecn })],
    [`VLAN-tagged IPv4 ECN ${ecn}`, withVlan(udp4({ tos: ecn }), 5)],
  ]))('%s', (_, data) => {
    const o = agree('ecn_set_ce', { data });
    if ((data as Uint8Array)[12] === 0x08) expect(ipv4ChecksumsValid(dataOf(o)).ip).toBe(true);
  });

  it.each([
    ['ARP', plainFrame(0x0806, 60)],
    ['IPv6 EtherType, 54 bytes', plainFrame(ETH_P_IPV6, 54)],
    ['IPv4 with a checksum of 0xffff', (() => { const f = udp4({ tos: 1 }); f[24] = 0xff; f[25] = 0xff; return f; })()],
    ['IPv4 with a checksum of 0', (() => { const f = udp4({ tos: 2 }); f[24] = 0; f[25] = 0; return f; })()],
  ])('%s', (_, data) => {
    agree('ecn_set_ce', { data });
  });

  const skbFx = new TcFixture(import.meta.url, 'tc-skb.bpf.o');
  const op = (code: number, arg = 0): number => ((code << 24) | arg) >>> 0;
  it.each([
    ['after a VLAN pop', withVlan(udp4({ tos: 1 }), 9), [op(2), op(19)]],
    ['after two pushes (a tag in the packet)', udp4({ tos: 1 }), [op(1, 1), op(1, 2), op(19)]],
    ['after change_head', tcp4({ tos: 2 }), [op(3, 8), op(19)]],
  ])('%s', (_, data, ops) => {
    agree('ops', { data, ctx: ctxWith(ops) }, skbFx);
  });
});
