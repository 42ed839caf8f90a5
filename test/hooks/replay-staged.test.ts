/**
 * PacketReplayer.runRecord (a capture reader's bytes staged in the arena 64 KiB at a time,
 * frames laid out from there) against run(rec.data): the same verdict, CPU, hash, trace and
 * output bytes packet after packet, and the same maps — across staging windows, reader refills,
 * frames too large for the staged path and frames the hook refuses.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PacketReplayer, ReplayInputError } from '../../src/hooks/replay.js';
import { openCapture } from '../../src/pcap/reader.js';
import type { CaptureRecord } from '../../src/pcap/types.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { repoRoot } from '../support/conformance.js';

const OBJECT = path.join(repoRoot, 'test', 'fixtures', 'bpf', 'replay.bpf.o');
const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-staged-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A pcap of `n` frames: IPv4 ICMP, UDP and TCP of 14..5000 bytes (a few too short, a few past one page). */
function capture(n: number): string {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  parts.push(header);
  let x = 12345;
  const next = (): number => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8;
  for (let i = 0; i < n; i++) {
    const len = i % 97 === 0 ? 10 : i % 89 === 0 ? 3600 + (next() % 1400) : 60 + (next() % 300);
    const f = Buffer.alloc(len);
    for (let j = 0; j < len; j++) f[j] = next() & 0xff;
    if (len >= 34) {
      f.writeUInt16BE(0x0800, 12);
      f[14] = 0x45;
      f[23] = [1, 6, 17][i % 3];
    }
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1700000000 + (i >> 10), 0);
    rec.writeUInt32LE((i % 1000) * 1000, 4);
    rec.writeUInt32LE(len, 8);
    rec.writeUInt32LE(len, 12);
    parts.push(rec, f);
  }
  const file = path.join(dir, `c${n}.pcap`);
  writeFileSync(file, Buffer.concat(parts));
  return file;
}

async function replay(file: string, program: string, staged: boolean) {
  const runtime = new Runtime({ cpus: 4, perfReaders: false });
  // xdp_fault is one the kernel's verifier refuses: loaded unverified, it faults at run time.
  const collection = Collection.load(runtime, loadCollectionSpec(new Uint8Array(readFileSync(OBJECT)), OBJECT), { verify: false });
  const replayer = new PacketReplayer(runtime, collection.program(program), { hook: 'xdp', context: 'path' });
  const digest = createHash('sha256');
  const lines: string[] = [];
  const reader = await openCapture(file);
  await reader.forEach((rec: CaptureRecord) => {
    try {
      if (staged) replayer.runRecord(rec);
      else replayer.run(rec.data, rec.tsSec, rec.tsNsec);
    } catch (err) {
      if (!(err instanceof ReplayInputError)) throw err;
      lines.push(`${rec.index} refused ${err.message}`);
      return;
    }
    digest.update(replayer.output());
    lines.push(`${rec.index} ${replayer.retval} ${replayer.cpu} ${replayer.hash} ${replayer.passed} ${replayer.fault?.reason ?? ''} ${replayer.trace.join('|')}`);
  });
  const maps = ['last_seen', 'per_cpu'].map((m) => [...collection.map(m).entries()].map(([k, v]) => Buffer.from(k).toString('hex') + Buffer.from(v).toString('hex')));
  return { lines, output: digest.digest('hex'), maps };
}

describe('replay of a capture through the arena staging', () => {
  const file = capture(12000); // about 3 MB: several reader chunks and staging windows

  it.each(['xdp_clock', 'xdp_verdicts', 'xdp_fault'])('%s: the same as one view a record', async (program) => {
    const [plain, staged] = await Promise.all([replay(file, program, false), replay(file, program, true)]);
    expect(staged.lines.length).toBe(12000);
    expect(staged.lines).toEqual(plain.lines);
    expect(staged.output).toBe(plain.output);
    expect(staged.maps).toEqual(plain.maps);
  });
});
