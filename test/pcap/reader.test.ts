/**
 * The capture reader and writer together: round trips in every format and byte order,
 * streaming across chunk boundaries, pcapng sections and interfaces (against BigInt
 * arithmetic), and classic pcap against pcap-parser, an independent reader.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  createCaptureWriter,
  openCapture,
  readCaptureSync,
  type CaptureRecord,
  type CaptureWriterOptions,
} from '../../src/pcap/index.js';
import { pcapBytes, pcapngBytes, prng, randomPackets, tempDir, ticks, writeTemp, type NgBlock } from '../support/captures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

interface Plain {
  index: number;
  tsSec: number;
  tsNsec: number;
  data: string;
  origLen: number;
  linkType: number;
  interfaceId: number;
  comment?: string;
}

const plain = (r: CaptureRecord): Plain => ({
  index: r.index,
  tsSec: r.tsSec,
  tsNsec: r.tsNsec,
  data: Buffer.from(r.data).toString('hex'),
  origLen: r.origLen,
  linkType: r.linkType,
  interfaceId: r.interfaceId,
  ...(r.comment !== undefined ? { comment: r.comment } : {}),
});

async function readAll(file: string): Promise<Plain[]> {
  const out: Plain[] = [];
  for await (const r of await openCapture(file)) out.push(plain(r));
  return out;
}

interface Packet {
  data: Uint8Array;
  tsSec: number;
  tsNsec: number;
  comment?: string;
  origLen?: number;
}

function packets(n: number, seed: number): Packet[] {
  const rnd = prng(seed);
  return randomPackets(n, seed, 0, 300).map((data, i) => ({
    data,
    tsSec: i === 0 ? 0 : i === 1 ? 0xffffffff : 1_600_000_000 + (rnd() % 200_000_000),
    tsNsec: i === 2 ? 999_999_999 : rnd() % 1_000_000_000,
    ...(i % 3 === 0 ? { comment: i % 2 ? `packet ${i} — ü` : `#${i}` } : {}),
    ...(i % 5 === 0 ? { origLen: data.length + 100 } : {}),
  }));
}

const FORMATS: { name: string; options: CaptureWriterOptions }[] = [
  { name: 'pcap µs little-endian', options: { format: 'pcap', nanoseconds: false } },
  { name: 'pcap µs big-endian', options: { format: 'pcap', nanoseconds: false, byteOrder: 'big' } },
  { name: 'pcap ns little-endian', options: { format: 'pcap' } },
  { name: 'pcap ns big-endian', options: { format: 'pcap', byteOrder: 'big', linkType: LINKTYPE_RAW } },
  { name: 'pcapng little-endian', options: { format: 'pcapng' } },
  { name: 'pcapng big-endian', options: { format: 'pcapng', byteOrder: 'big', linkType: LINKTYPE_RAW } },
  { name: 'pcapng snaplen 64', options: { format: 'pcapng', snaplen: 64 } },
  { name: 'pcap snaplen 64', options: { format: 'pcap', snaplen: 64 } },
];

describe('write → read round trip', () => {
  it.each(FORMATS)('$name', async ({ name, options }) => {
    const file = path.join(tmp.dir, `${name.replace(/\W+/g, '-')}.cap`);
    const input = packets(200, name.length);
    const w = createCaptureWriter(file, options);
    for (const p of input) w.write(p.data, p.tsSec, p.tsNsec, p.comment, p.origLen);
    await w.close();
    const snaplen = options.snaplen ?? 262144;
    const expected: Plain[] = input.map((p, index) => ({
      index,
      tsSec: p.tsSec,
      tsNsec: options.format === 'pcap' && options.nanoseconds === false ? Math.floor(p.tsNsec / 1000) * 1000 : p.tsNsec,
      data: Buffer.from(p.data.subarray(0, snaplen)).toString('hex'),
      origLen: p.origLen ?? p.data.length,
      linkType: options.linkType ?? LINKTYPE_ETHERNET,
      interfaceId: 0,
      ...(options.format === 'pcapng' && p.comment !== undefined ? { comment: p.comment } : {}),
    }));
    const got = await readAll(file);
    expect(got).toEqual(expected);
    // The in-memory reader agrees, and the format is recognised.
    const mem = readCaptureSync(readFileSync(file), file);
    expect(mem.format).toBe(options.format);
    expect(mem.records.map(plain)).toEqual(expected);
    // The byte order really is the one asked for.
    const head = readFileSync(file).subarray(0, 4);
    if (options.format === 'pcap') {
      const magic = options.nanoseconds === false ? [0xa1, 0xb2, 0xc3, 0xd4] : [0xa1, 0xb2, 0x3c, 0x4d];
      expect([...head]).toEqual(options.byteOrder === 'big' ? magic : magic.reverse());
    }
  });

  it('writes nothing at the target until close(), and abort() leaves nothing', async () => {
    const { readdirSync } = await import('node:fs');
    const sub = tempDir('xdplab-writer-');
    try {
      const file = path.join(sub.dir, 'out.pcapng');
      const w = createCaptureWriter(file, { format: 'pcapng' });
      w.write(new Uint8Array(60), 1, 2, 'c');
      expect(readdirSync(sub.dir).filter((n) => n === 'out.pcapng')).toEqual([]);
      await w.abort();
      expect(readdirSync(sub.dir)).toEqual([]);
      const w2 = createCaptureWriter(file, { format: 'pcap' });
      w2.write(new Uint8Array(60), 1, 2);
      await w2.close();
      expect(readdirSync(sub.dir)).toEqual(['out.pcapng']);
      expect(() => w2.write(new Uint8Array(1), 0, 0)).toThrow(/write after close/);
    } finally {
      sub.remove();
    }
  });

  it('refuses timestamps it cannot store', () => {
    const file = path.join(tmp.dir, 'bad-ts.pcap');
    const w = createCaptureWriter(file, { format: 'pcap' });
    expect(() => w.write(new Uint8Array(1), -1, 0)).toThrow(/timestamp -1\.0 out of range/);
    expect(() => w.write(new Uint8Array(1), 0, 1e9)).toThrow(/out of range/);
    return w.abort();
  });

  it('reports a target it cannot create', () => {
    expect(() => createCaptureWriter(path.join(tmp.dir, 'no/such/dir/x.pcap'), { format: 'pcap' })).toThrow(/x\.pcap: cannot write: no directory .*no\/such\/dir$/);
  });
});

describe('streaming', () => {
  // Several MiB of packets of every size: records cut by the 1 MiB chunk boundary, carried over.
  it.each(['pcap', 'pcapng'] as const)('%s larger than one chunk reads the same as in memory', async (format) => {
    const file = path.join(tmp.dir, `big.${format}`);
    const input = randomPackets(6000, 7, 0, 1514);
    const w = createCaptureWriter(file, { format });
    input.forEach((p, i) => w.write(p, 1_700_000_000 + i, i * 1000, i % 97 === 0 ? `c${i}` : undefined));
    await w.close();
    const mem = readCaptureSync(readFileSync(file)).records.map(plain);
    expect(mem).toHaveLength(6000);
    const streamed = await readAll(file);
    expect(streamed).toEqual(mem);
    // forEach sees the same records, and one record object is reused.
    const seen = new Set<CaptureRecord>();
    let bytes = 0;
    const reader = await openCapture(file);
    const n = await reader.forEach((r) => {
      seen.add(r);
      bytes += r.capLen;
      if (r.capLen > 0) expect(r.bytes[r.dataOffset + r.capLen - 1]).toBe(input[r.index][r.capLen - 1]);
    });
    expect(n).toBe(6000);
    expect(seen.size).toBe(1);
    expect(bytes).toBe(input.reduce((s, p) => s + p.length, 0));
  });

  it('a packet block larger than the chunk grows the buffer', async () => {
    const big = new Uint8Array(200_000).map((_, i) => i * 7);
    const comment = 'x'.repeat(60000);
    const blocks: NgBlock[] = [{ type: 'shb' }, { type: 'idb' }];
    for (let i = 0; i < 12; i++) blocks.push({ type: 'epb', ifid: 0, ticks: BigInt(i), data: big, comments: [comment] });
    const file = writeTemp(tmp.dir, 'big-blocks.pcapng', pcapngBytes(blocks).bytes);
    const got = await readAll(file);
    expect(got).toHaveLength(12);
    expect(got.every((r) => r.data === Buffer.from(big).toString('hex') && r.comment === comment)).toBe(true);
  });

  it('break in for-await closes the file', async () => {
    const file = path.join(tmp.dir, 'big.pcap');
    const reader = await openCapture(file);
    let n = 0;
    for await (const r of reader) {
      if (++n === 3) break;
      void r;
    }
    expect(n).toBe(3);
    // Closed: iterating again ends at once.
    expect(await reader.forEach(() => undefined)).toBe(0);
  });
});

// pcapng features no writer of ours produces: checked against BigInt arithmetic.
describe('pcapng sections, interfaces, resolutions', () => {
  const SEC = 1_700_000_000n;
  /** Expected (sec, nsec) of ticks at a resolution, by BigInt: floor to the nanosecond. */
  const expectTs = (t: bigint, tsresol: number, offset = 0n): [number, number] => {
    const perSec = tsresol & 0x80 ? 1n << BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
    const sec = t / perSec;
    const nsec = ((t % perSec) * 1_000_000_000n) / perSec;
    return [Number(sec + offset), Number(nsec)];
  };
  const RESOLUTIONS = [0, 1, 3, 6, 9, 12, 15, 19, 0x80 | 0, 0x80 | 10, 0x80 | 20, 0x80 | 30, 0x80 | 32];

  it.each(['little', 'big'] as const)('every if_tsresol, %s-endian, exact to the nanosecond', (byteOrder) => {
    const rnd = prng(99);
    const blocks: NgBlock[] = [{ type: 'shb', byteOrder }];
    RESOLUTIONS.forEach((r) => blocks.push({ type: 'idb', tsresol: r, linkType: 1 }));
    const want: [number, number][] = [];
    for (let i = 0; i < 400; i++) {
      const ifid = i % RESOLUTIONS.length;
      const r = RESOLUTIONS[ifid];
      const perSec = r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r);
      const sec = i === 0 ? 0n : SEC + BigInt(rnd() % 100000000);
      const frac = (BigInt(rnd()) * 4294967296n + BigInt(rnd())) % perSec;
      const t = sec * perSec + frac;
      if (t >= 1n << 64n) continue;
      blocks.push({ type: 'epb', ifid, ticks: t, data: Uint8Array.of(i & 0xff) });
      want.push(expectTs(t, r));
    }
    const got = readCaptureSync(pcapngBytes(blocks).bytes).records.map((r) => [r.tsSec, r.tsNsec]);
    expect(got).toEqual(want);
  });

  it('several sections in both byte orders: interfaces numbered per section, tsoffset, SPB, OPB, unknown blocks', () => {
    const d = (n: number, v: number) => new Uint8Array(n).fill(v);
    const blocks: NgBlock[] = [
      { type: 'shb', comment: 'first section' },
      { type: 'idb', tsresol: 6, linkType: 1, snaplen: 100, name: 'eth0' },
      { type: 'raw', blockType: 0x00000bad, body: d(8, 1) },
      { type: 'idb', tsresol: 9, linkType: 101, tsoffset: -100n },
      { type: 'epb', ifid: 1, ticks: ticks(SEC, 5n, 9), data: d(20, 2), comments: ['one', 'two'] },
      { type: 'spb', origLen: 150, data: d(100, 3) },
      { type: 'raw', blockType: 5, body: d(20, 0) }, // interface statistics: skipped
      { type: 'epb', ifid: 0, ticks: ticks(SEC, 123456000n, 6), data: d(30, 4), origLen: 60 },
      { type: 'shb', byteOrder: 'big' },
      { type: 'idb', tsresol: 3, linkType: 101, tsoffset: 3600n },
      { type: 'opb', ifid: 0, ticks: ticks(SEC, 7000000n, 3), data: d(10, 5) },
      { type: 'epb', ifid: 0, ticks: ticks(SEC, 999000000n, 3), data: d(9, 6), comments: ['ünïcode ✓'] },
      { type: 'shb', byteOrder: 'little' },
      { type: 'idb' },
      { type: 'epb', ifid: 0, ticks: 0n, data: d(1, 7) },
    ];
    const { records, skipped } = readCaptureSync(pcapngBytes(blocks).bytes, 'x.pcapng');
    expect(skipped).toEqual([]);
    expect(records.map((r) => ({ ...plain(r), data: r.data.length ? `${r.data.length}×${r.data[0]}` : '' }))).toEqual([
      { index: 0, tsSec: 1_700_000_000 - 100, tsNsec: 5, data: '20×2', origLen: 20, linkType: 101, interfaceId: 1, comment: 'one\ntwo' },
      { index: 1, tsSec: 0, tsNsec: 0, data: '100×3', origLen: 150, linkType: 1, interfaceId: 0 },
      { index: 2, tsSec: 1_700_000_000, tsNsec: 123456000, data: '30×4', origLen: 60, linkType: 1, interfaceId: 0 },
      { index: 3, tsSec: 1_700_003_600, tsNsec: 7000000, data: '10×5', origLen: 10, linkType: 101, interfaceId: 0 },
      { index: 4, tsSec: 1_700_003_600, tsNsec: 999000000, data: '9×6', origLen: 9, linkType: 101, interfaceId: 0, comment: 'ünïcode ✓' },
      { index: 5, tsSec: 0, tsNsec: 0, data: '1×7', origLen: 1, linkType: 1, interfaceId: 0 },
    ]);
  });

  it('linkTypes refuses other link types by packet, naming its interface (skipBad counts them)', () => {
    const blocks: NgBlock[] = [
      { type: 'shb' },
      { type: 'idb', linkType: 1 },
      { type: 'idb', linkType: 113 },
      { type: 'epb', ifid: 0, ticks: 0n, data: new Uint8Array(14) },
      { type: 'epb', ifid: 1, ticks: 0n, data: new Uint8Array(16) },
      { type: 'epb', ifid: 0, ticks: 0n, data: new Uint8Array(14) },
    ];
    const { bytes, offsets } = pcapngBytes(blocks);
    const reason = `its interface 1 (described at byte offset ${offsets[2]}) has link type 113 (LINUX_SLL), which xdplab does not read here (it reads 1 (ETHERNET)): capture on an Ethernet device`;
    expect(() => readCaptureSync(bytes, 'sll.pcapng', { linkTypes: [LINKTYPE_ETHERNET] })).toThrow(
      `sll.pcapng: packet 2 at byte offset ${offsets[4]}: ${reason}`,
    );
    const r = readCaptureSync(bytes, 'sll.pcapng', { linkTypes: [LINKTYPE_ETHERNET], skipBad: true });
    expect(r.records.map((x) => x.index)).toEqual([0, 2]);
    expect(r.skipped).toEqual([{ index: 1, offset: offsets[4], reason }]);
    expect(readCaptureSync(bytes).records.map((x) => x.linkType)).toEqual([1, 113, 1]);
  });
});

describe('classic pcap against pcap-parser', () => {
  interface ParsedByPcapParser {
    header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number };
    data: Buffer;
  }
  const require = createRequire(import.meta.url);
  const pcapParser = require('pcap-parser') as { parse(file: string): NodeJS.EventEmitter };
  const parseWithPcapParser = (file: string): Promise<ParsedByPcapParser[]> =>
    new Promise((resolve, reject) => {
      const out: ParsedByPcapParser[] = [];
      const p = pcapParser.parse(file);
      p.on('packet', (pkt: ParsedByPcapParser) => out.push(pkt));
      p.on('error', reject);
      p.on('end', () => resolve(out));
    });

  it.each(['little', 'big'] as const)('%s-endian, µs, 3000 packets', async (byteOrder) => {
    const rnd = prng(byteOrder.length);
    const data = randomPackets(3000, 11, 0, 1514);
    const spec = {
      byteOrder,
      snaplen: 65535,
      records: data.map((d) => ({ tsSec: rnd(), tsFrac: rnd() % 1_000_000, data: d, origLen: d.length + (rnd() % 3) })),
    };
    const file = writeTemp(tmp.dir, `pp-${byteOrder}.pcap`, pcapBytes(spec));
    const theirs = await parseWithPcapParser(file);
    const ours = await readAll(file);
    expect(theirs).toHaveLength(3000);
    expect(ours.map((r) => [r.tsSec, r.tsNsec, r.origLen, r.data.length / 2, r.data])).toEqual(
      theirs.map((p) => [
        p.header.timestampSeconds,
        p.header.timestampMicroseconds * 1000,
        p.header.originalLength,
        p.header.capturedLength,
        p.data.toString('hex'),
      ]),
    );
  });

  it('our writer (µs) read back by pcap-parser', async () => {
    const file = path.join(tmp.dir, 'ours-for-pp.pcap');
    const w = createCaptureWriter(file, { format: 'pcap', nanoseconds: false });
    const data = randomPackets(500, 5);
    data.forEach((d, i) => w.write(d, 1_700_000_000 + i, i * 1_999_999 % 1e9, undefined, d.length + i));
    await w.close();
    const theirs = await parseWithPcapParser(file);
    expect(theirs.map((p) => [p.header.timestampSeconds, p.header.timestampMicroseconds, p.header.originalLength, p.data.toString('hex')])).toEqual(
      data.map((d, i) => [1_700_000_000 + i, Math.floor(((i * 1_999_999) % 1e9) / 1000), d.length + i, Buffer.from(d).toString('hex')]),
    );
  });

  it('µs fields of 1e6 or more carry into the seconds', () => {
    const bytes = pcapBytes({ records: [{ tsSec: 10, tsFrac: 2_500_000, data: new Uint8Array(1) }] });
    expect(readCaptureSync(bytes).records.map((r) => [r.tsSec, r.tsNsec])).toEqual([[12, 500_000_000]]);
  });

  it('an empty capture (header only) has no records', async () => {
    const file = writeTemp(tmp.dir, 'empty.pcap', pcapBytes({ records: [] }));
    expect(await readAll(file)).toEqual([]);
  });
});
