/**
 * The reader against tshark (Wireshark's reader) on pcapng files with everything pcapng can
 * say — sections in both byte orders, interfaces with their own if_tsresol and if_tsoffset,
 * enhanced, simple and obsolete packet blocks, comments, unknown blocks — and on what our
 * writer writes. Skipped, with the reason printed, where tshark is not installed.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCaptureWriter, openCapture, type CaptureRecord } from '../../src/pcap/index.js';
import { pcapBytes, pcapngBytes, prng, randomPackets, tempDir, tsharkFields, tsharkMissing, writeTemp, type ByteOrder, type NgBlock } from '../support/captures.js';
import { titled } from '../support/skip.js';

const missing = tsharkMissing();

const tmp = tempDir();
afterAll(() => tmp.remove());

const FIELDS = ['frame.time_epoch', 'frame.len', 'frame.cap_len', 'frame.comment', 'frame.interface_id'];

/** Our record as tshark prints those fields ('' for what it has not: SPB time, comments). */
function asTshark(r: CaptureRecord, hasTime: boolean, format: 'pcap' | 'pcapng'): string[] {
  const time = hasTime ? `${r.tsSec}.${String(r.tsNsec).padStart(9, '0')}` : '';
  return [time, String(r.origLen), String(r.capLen), (r.comment ?? '').split('\n').join('|'), format === 'pcapng' ? String(r.interfaceId) : ''];
}

async function ours(file: string, hasTime: (index: number) => boolean): Promise<string[][]> {
  const reader = await openCapture(file);
  const out: string[][] = [];
  await reader.forEach((r) => out.push(asTshark(r, hasTime(r.index), reader.format)));
  return out;
}

/** A pcapng file of `n` packets over several sections and interfaces. */
function mixedCapture(seed: number, n: number): { blocks: NgBlock[]; spb: Set<number> } {
  const rnd = prng(seed);
  // Not finer than 10^-9 s: tshark 4.0 computes (ticks % per-second) * 1e9 in 64 bits, which
  // overflows there (10^-12: 583221445123 ps reads as .011372378 s, not .583221445 s); the
  // reader is checked for those against BigInt in reader.test.ts.
  const RES = [6, 9, 3, 0, 0x80 | 20, 0x80 | 10, 0x80 | 32];
  const blocks: NgBlock[] = [];
  const spb = new Set<number>();
  const data = randomPackets(n, seed, 14, 400);
  let ifaces = 0;
  let index = 0;
  const section = (byteOrder: ByteOrder) => {
    blocks.push({ type: 'shb', byteOrder, comment: `section ${blocks.length}` });
    ifaces = 1 + (rnd() % 4);
    for (let i = 0; i < ifaces; i++) {
      const tsresol = RES[rnd() % RES.length];
      const offset = rnd() % 3 === 0 ? BigInt((rnd() % 20000) - 10000) : undefined;
      blocks.push({ type: 'idb', linkType: i % 2 ? 101 : 1, snaplen: i === 0 ? 300 : 0, tsresol, ...(offset !== undefined ? { tsoffset: offset } : {}) });
    }
  };
  section('little');
  for (const d of data) {
    const k = rnd() % 100;
    if (k < 3) section(rnd() % 2 ? 'big' : 'little');
    if (k >= 3 && k < 6) blocks.push({ type: 'raw', blockType: 0x80000000 + k, body: new Uint8Array(4 * (k - 2)) });
    const ifid = rnd() % ifaces;
    const perSec = (() => {
      const idb = blocks.filter((b) => b.type === 'idb').slice(-ifaces)[ifid] as Extract<NgBlock, { type: 'idb' }>;
      const r = idb.tsresol ?? 6;
      return r & 0x80 ? 1n << BigInt(r & 0x7f) : 10n ** BigInt(r);
    })();
    const ticks = BigInt(1_600_000_000 + (rnd() % 100_000_000)) * perSec + (BigInt(rnd()) * 65536n + BigInt(rnd() & 0xffff)) % perSec;
    if (k >= 90) {
      spb.add(index);
      blocks.push({ type: 'spb', origLen: d.length, data: d.subarray(0, Math.min(d.length, 300)) });
    } else if (k >= 85) {
      blocks.push({ type: 'opb', ifid, ticks, data: d.subarray(0, ifid === 0 ? Math.min(d.length, 300) : d.length) });
    } else {
      const comments = k < 20 ? ['a comment'] : k < 25 ? ['first', 'second ✓'] : [];
      blocks.push({ type: 'epb', ifid, ticks, data: d.subarray(0, ifid === 0 ? Math.min(d.length, 300) : d.length), origLen: d.length + (k % 7), comments });
    }
    index++;
  }
  return { blocks, spb };
}

describe.skipIf(missing !== undefined)(titled('reader against tshark', missing), () => {
  it.each([1, 2, 3])('pcapng with sections, interfaces, resolutions, offsets, comments (seed %i)', async (seed) => {
    const { blocks, spb } = mixedCapture(seed, 400);
    const file = writeTemp(tmp.dir, `mixed-${seed}.pcapng`, pcapngBytes(blocks).bytes);
    const expected = tsharkFields(file, FIELDS);
    expect(expected).toHaveLength(400);
    expect(await ours(file, (i) => !spb.has(i))).toEqual(expected);
  });

  it.each([
    { format: 'pcapng', byteOrder: 'little' },
    { format: 'pcapng', byteOrder: 'big' },
    { format: 'pcap', byteOrder: 'big', nanoseconds: true },
    { format: 'pcap', byteOrder: 'little', nanoseconds: false },
  ] as const)('what our writer writes: $format $byteOrder', async (options) => {
    const file = path.join(tmp.dir, `ours-${options.format}-${options.byteOrder}.${options.format}`);
    const w = createCaptureWriter(file, { ...options, snaplen: 200 });
    const rnd = prng(4);
    randomPackets(300, 4, 14, 400).forEach((d, i) => w.write(d, rnd(), rnd() % 1_000_000_000, i % 4 ? undefined : `comment ${i}, ünïcode`));
    await w.close();
    expect(await ours(file, () => true)).toEqual(tsharkFields(file, FIELDS));
  });

  it('classic pcap with the µs field ≥ 1e6 normalised as tshark does', async () => {
    const file = writeTemp(tmp.dir, 'carry.pcap', pcapBytes({ records: [{ tsSec: 10, tsFrac: 999_999, data: new Uint8Array(20) }] }));
    expect(await ours(file, () => true)).toEqual(tsharkFields(file, FIELDS));
  });
});
