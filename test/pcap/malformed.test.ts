/**
 * Damaged captures: every error names the file, the record and the byte offset; under
 * skipBad a record with intact framing is skipped and counted, a truncated tail ends the
 * file, and framing that cannot be trusted still throws. Each case runs through the
 * streaming reader (a real file) and the in-memory one.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { XdplabError } from '../../src/errors.js';
import { openCapture, readCaptureSync, type CaptureReaderOptions } from '../../src/pcap/index.js';
import { pcapBytes, pcapngBytes, pcapRecordOffset, tempDir, writeTemp, type NgBlock, type PcapSpec } from '../support/captures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

const d = (n: number): Uint8Array => new Uint8Array(n).map((_, i) => i);
const rec = (n: number, tsSec = 1): PcapSpec['records'][number] => ({ tsSec, tsFrac: 0, data: d(n) });

interface Case {
  name: string;
  bytes: Uint8Array;
  /** The whole message, after "<file>: ". */
  error: string;
  options?: CaptureReaderOptions;
  /** Under skipBad: the indices read, and the skipped list; or 'throws' (same error). */
  skipBad: { read: number[]; skipped: { index: number; offset: number; reason: string }[] } | 'throws';
}

const CASES: Case[] = [];

// ---- pcap ----
{
  const bytes = pcapBytes({ records: [rec(10)] });
  bytes[0] = 0x12;
  CASES.push({ name: 'pcap: bad magic', bytes, error: 'file header at byte offset 0: bad magic 0x12c3b2a1: not a pcap (a1b2c3d4, a1b23c4d) or pcapng (0a0d0d0a) file', skipBad: 'throws' });
}
CASES.push({
  name: 'pcap: truncated file header',
  bytes: pcapBytes({ records: [] }).subarray(0, 20),
  error: 'file header at byte offset 0: truncated pcap file header: 20 of 24 bytes',
  skipBad: 'throws',
});
CASES.push({
  name: 'empty file',
  bytes: new Uint8Array(0),
  error: 'file header at byte offset 0: truncated file header: 0 bytes, not a pcap or pcapng file',
  skipBad: 'throws',
});
CASES.push({
  name: 'pcap: version',
  bytes: pcapBytes({ version: [1, 0], records: [] }),
  error: 'file header at byte offset 0: unsupported pcap version 1.0 (2.4 expected)',
  skipBad: 'throws',
});
{
  const spec: PcapSpec = { records: [rec(60), rec(60), rec(60)] };
  const off = pcapRecordOffset(spec, 2);
  const full = pcapBytes(spec);
  CASES.push({
    name: 'pcap: truncated record header',
    bytes: full.subarray(0, off + 10),
    error: `packet 3 at byte offset ${off}: truncated record header: 16 bytes needed, 10 left in the file`,
    skipBad: { read: [0, 1], skipped: [{ index: 2, offset: off, reason: 'truncated record header: 16 bytes needed, 10 left in the file' }] },
  });
  CASES.push({
    name: 'pcap: truncated record data',
    bytes: full.subarray(0, off + 16 + 59),
    error: `packet 3 at byte offset ${off}: truncated record: 76 bytes needed, 75 left in the file`,
    skipBad: { read: [0, 1], skipped: [{ index: 2, offset: off, reason: 'truncated record: 76 bytes needed, 75 left in the file' }] },
  });
}
// A record past the snaplen is no error: test/pcap/link-types.test.ts reads it, with a note.
{
  const spec: PcapSpec = { snaplen: 0, records: [rec(60), { ...rec(60), inclLen: 300000 }, rec(60)] };
  CASES.push({
    name: 'pcap: incl_len beyond 256 KiB',
    bytes: pcapBytes(spec),
    error: `packet 2 at byte offset ${pcapRecordOffset(spec, 1)}: captured length 300000 is larger than 262144: the file is corrupt (cannot find the next record)`,
    skipBad: 'throws',
  });
}
{
  // A pcap file has one link type, in its file header: refused there, whatever skipBad says.
  const spec: PcapSpec = { linkType: 105, records: [rec(20), rec(20)] };
  CASES.push({
    name: 'pcap: link type refused',
    bytes: pcapBytes(spec),
    options: { linkTypes: [1, 101] },
    error: 'file header at byte offset 20: link type 105 (IEEE802_11), which xdplab does not read here (it reads 1 (ETHERNET), 101 (RAW)): capture on an Ethernet device',
    skipBad: 'throws',
  });
}

// ---- pcapng ----
const ng = (blocks: NgBlock[], damage?: Map<number, { length?: number; trailer?: number }>) => pcapngBytes(blocks, damage);
const HEAD: NgBlock[] = [{ type: 'shb' }, { type: 'idb', snaplen: 100 }];
const epb = (n: number, ifid = 0): NgBlock => ({ type: 'epb', ifid, ticks: 1n, data: d(n) });
{
  const f = ng([...HEAD, epb(10), epb(10), epb(10)], new Map([[3, { length: 46 }]]));
  CASES.push({
    name: 'pcapng: block length not a multiple of 4',
    bytes: f.bytes,
    error: `packet 2 at byte offset ${f.offsets[3]}: block type 0x00000006 has total length 46, not a multiple of 4`,
    skipBad: 'throws',
  });
}
{
  const f = ng([...HEAD, epb(10), epb(10)], new Map([[1, { length: 8 }]]));
  CASES.push({
    name: 'pcapng: block length below 12',
    bytes: f.bytes,
    error: `block (before packet 1) at byte offset ${f.offsets[1]}: block type 0x00000001 has total length 8, less than 12`,
    skipBad: 'throws',
  });
}
{
  const f = ng([...HEAD, epb(10), epb(10)], new Map([[3, { trailer: 40 }]]));
  CASES.push({
    name: 'pcapng: trailing length mismatch',
    bytes: f.bytes,
    error: `packet 2 at byte offset ${f.offsets[3]}: block type 0x00000006: total length 44 at the start but 40 at the end`,
    skipBad: 'throws',
  });
}
{
  const f = ng([...HEAD, epb(10), epb(10, 3), epb(10), { type: 'shb' }, epb(10)]);
  const reason = (n: number, has: number) => `interface ${n} is not described (the section has ${has} interface${has === 1 ? '' : 's'})`;
  CASES.push({
    name: 'pcapng: EPB with a missing interface',
    bytes: f.bytes,
    error: `packet 2 at byte offset ${f.offsets[3]}: ${reason(3, 1)}`,
    skipBad: {
      read: [0, 2],
      skipped: [
        { index: 1, offset: f.offsets[3], reason: reason(3, 1) },
        { index: 3, offset: f.offsets[6], reason: reason(0, 0) },
      ],
    },
  });
}
{
  const f = ng([...HEAD, epb(10), { type: 'epb', ifid: 0, ticks: 1n, data: d(10), capLen: 20 }, epb(10)]);
  CASES.push({
    name: 'pcapng: captured length past the block',
    bytes: f.bytes,
    error: `packet 2 at byte offset ${f.offsets[3]}: captured length 20 does not fit a block of 44 bytes`,
    skipBad: { read: [0, 2], skipped: [{ index: 1, offset: f.offsets[3], reason: 'captured length 20 does not fit a block of 44 bytes' }] },
  });
}
{
  const f = ng([{ type: 'shb' }, { type: 'idb', snaplen: 0 }, epb(10), { type: 'epb', ifid: 0, ticks: 1n, data: d(8), capLen: 300000 }, epb(10)]);
  const reason = `captured length 300000 does not fit a block of 40 bytes`;
  CASES.push({
    name: 'pcapng: captured length beyond 256 KiB (framing intact)',
    bytes: f.bytes,
    error: `packet 2 at byte offset ${f.offsets[3]}: ${reason}`,
    skipBad: { read: [0, 2], skipped: [{ index: 1, offset: f.offsets[3], reason }] },
  });
}
{
  const f = ng([...HEAD, epb(10), epb(10), epb(10)]);
  const cut = f.offsets[4] + 20;
  CASES.push({
    name: 'pcapng: truncated packet block',
    bytes: f.bytes.subarray(0, cut),
    error: `packet 3 at byte offset ${f.offsets[4]}: truncated packet block: 44 bytes needed, 20 left in the file`,
    skipBad: { read: [0, 1], skipped: [{ index: 2, offset: f.offsets[4], reason: 'truncated packet block: 44 bytes needed, 20 left in the file' }] },
  });
  CASES.push({
    name: 'pcapng: truncated block header',
    bytes: f.bytes.subarray(0, f.offsets[4] + 6),
    error: `block (before packet 3) at byte offset ${f.offsets[4]}: truncated block header: 12 bytes needed, 6 left in the file`,
    skipBad: { read: [0, 1], skipped: [{ index: 2, offset: f.offsets[4], reason: 'truncated block header: 12 bytes needed, 6 left in the file' }] },
  });
}
{
  const f = ng([...HEAD, epb(10), { type: 'raw', blockType: 0x40000bad, body: d(4000) }]);
  const cut = f.offsets[3] + 100;
  const reason = 'truncated block: 4012 bytes needed, 100 left in the file';
  CASES.push({
    name: 'pcapng: unknown block cut by the end of the file',
    bytes: f.bytes.subarray(0, cut),
    error: `block (before packet 2) at byte offset ${f.offsets[3]}: ${reason}`,
    skipBad: { read: [0], skipped: [{ index: 1, offset: f.offsets[3], reason }] },
  });
}
{
  const f = ng([{ type: 'shb', badMagic: true }, { type: 'idb' }]);
  CASES.push({
    name: 'pcapng: bad byte-order magic',
    bytes: f.bytes,
    error: 'block (before packet 1) at byte offset 0: section header block with bad byte-order magic 0x11223344',
    skipBad: 'throws',
  });
}
{
  const f = ng([{ type: 'shb', version: [2, 0] }, { type: 'idb' }]);
  CASES.push({ name: 'pcapng: version', bytes: f.bytes, error: 'block (before packet 1) at byte offset 0: unsupported pcapng version 2.0 (1.0 expected)', skipBad: 'throws' });
}
{
  const f = ng([{ type: 'shb' }, { type: 'spb', origLen: 10, data: d(10) }, { type: 'idb' }, { type: 'spb', origLen: 10, data: d(10) }, { type: 'spb', origLen: 20, data: d(10) }]);
  CASES.push({
    name: 'pcapng: SPB without interface 0, SPB too small',
    bytes: f.bytes,
    error: `packet 1 at byte offset ${f.offsets[1]}: simple packet block but the section describes no interface 0`,
    skipBad: {
      read: [1],
      skipped: [
        { index: 0, offset: f.offsets[1], reason: 'simple packet block but the section describes no interface 0' },
        { index: 2, offset: f.offsets[4], reason: 'simple packet block of 28 bytes is too small for 20 bytes of packet data' },
      ],
    },
  });
}
{
  const f = ng([{ type: 'shb' }, { type: 'idb', tsresol: 20 }]);
  CASES.push({
    name: 'pcapng: if_tsresol too fine',
    bytes: f.bytes,
    error: `block (before packet 1) at byte offset ${f.offsets[1]}: interface description block: if_tsresol 10^-20 is finer than a 64-bit timestamp can hold`,
    skipBad: 'throws',
  });
}

describe('malformed captures', () => {
  describe.each(CASES)('$name', (c) => {
    const name = `${c.name.replace(/\W+/g, '-')}.cap`;
    const file = writeTemp(tmp.dir, name, c.bytes);

    it('the error names the file, the record and the offset', async () => {
      const err = await openCapture(file, c.options)
        .then((r) => r.forEach(() => undefined))
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(XdplabError);
      expect((err as XdplabError).code).toBe('BAD_INPUT');
      expect((err as XdplabError).message).toBe(`${file}: ${c.error}`);
      expect(() => readCaptureSync(c.bytes, name, c.options)).toThrow(`${name}: ${c.error}`);
    });

    it('skipBad goes on and counts', async () => {
      const options = { ...c.options, skipBad: true };
      if (c.skipBad === 'throws') {
        expect(() => readCaptureSync(c.bytes, name, options)).toThrow(`${name}: ${c.error}`);
        return;
      }
      const mem = readCaptureSync(c.bytes, name, options);
      expect(mem.records.map((r) => r.index)).toEqual(c.skipBad.read);
      expect(mem.skipped).toEqual(c.skipBad.skipped);
      const reader = await openCapture(file, options);
      const read: number[] = [];
      for await (const r of reader) read.push(r.index);
      expect(read).toEqual(c.skipBad.read);
      expect(reader.skipped).toEqual(c.skipBad.skipped);
    });
  });

  it('a file that does not exist, and a directory', async () => {
    const missing = path.join(tmp.dir, 'nope.pcap');
    await expect(openCapture(missing)).rejects.toThrow(new RegExp(`^${missing}: no such file$`));
    await expect(openCapture(tmp.dir)).rejects.toThrow(new RegExp(`^${tmp.dir}: is a directory, not a file$`));
  });
});
