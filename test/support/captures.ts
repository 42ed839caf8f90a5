/**
 * Capture files assembled byte by byte for tests — independent of src/pcap (its writer is
 * what they check), and able to say things the writer never would: several interfaces with
 * their own timestamp resolutions, several sections in either byte order, simple packet
 * blocks, unknown blocks, and every kind of damage (lengths, trailers, truncation).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

export type ByteOrder = 'little' | 'big';

/** A growable byte sink with 16/32/64-bit writers in a chosen byte order. */
class Bytes {
  private chunks: Uint8Array[] = [];
  private small: number[] = [];
  private size = 0;
  constructor(public le: boolean) {}
  get length(): number {
    return this.size;
  }
  private push(b: number[]): this {
    for (const x of b) this.small.push(x);
    this.size += b.length;
    return this;
  }
  private settle(): void {
    if (this.small.length) this.chunks.push(Uint8Array.from(this.small));
    this.small = [];
  }
  u8(v: number): this {
    return this.push([v & 0xff]);
  }
  u16(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff];
    return this.push(this.le ? b : b.reverse());
  }
  u32(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
    return this.push(this.le ? b : b.reverse());
  }
  u64(v: bigint): this {
    const x = BigInt.asUintN(64, v);
    const hi = Number(x >> 32n);
    const lo = Number(x & 0xffffffffn);
    return this.le ? this.u32(lo).u32(hi) : this.u32(hi).u32(lo);
  }
  bytes(b: Uint8Array | number[]): this {
    this.settle();
    this.chunks.push(Uint8Array.from(b));
    this.size += b.length;
    return this;
  }
  pad4(): this {
    while (this.size % 4) this.u8(0);
    return this;
  }
  done(): Uint8Array {
    this.settle();
    return concat(this.chunks);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---- pcap ----

export interface PcapRecordSpec {
  tsSec: number;
  /** In the file's unit: µs, or ns with `nanoseconds`. */
  tsFrac: number;
  data: Uint8Array;
  origLen?: number;
  /** Override the incl_len field (damage). */
  inclLen?: number;
}

export interface PcapSpec {
  byteOrder?: ByteOrder;
  nanoseconds?: boolean;
  snaplen?: number;
  linkType?: number;
  version?: [number, number];
  records: PcapRecordSpec[];
}

export function pcapBytes(spec: PcapSpec): Uint8Array {
  const b = new Bytes((spec.byteOrder ?? 'little') === 'little');
  b.u32(spec.nanoseconds ? 0xa1b23c4d : 0xa1b2c3d4);
  b.u16(spec.version?.[0] ?? 2).u16(spec.version?.[1] ?? 4);
  b.u32(0).u32(0).u32(spec.snaplen ?? 65535).u32(spec.linkType ?? 1);
  for (const r of spec.records) {
    b.u32(r.tsSec).u32(r.tsFrac).u32(r.inclLen ?? r.data.length).u32(r.origLen ?? r.data.length).bytes(r.data);
  }
  return b.done();
}

/** Byte offset of record `i` in a pcapBytes file. */
export const pcapRecordOffset = (spec: PcapSpec, i: number): number =>
  24 + spec.records.slice(0, i).reduce((n, r) => n + 16 + r.data.length, 0);

// ---- pcapng ----

export type NgBlock =
  | { type: 'shb'; byteOrder?: ByteOrder; version?: [number, number]; comment?: string; badMagic?: boolean }
  | {
      type: 'idb';
      linkType?: number;
      snaplen?: number;
      /** The raw if_tsresol byte (6 = µs when absent; 0x80 | n = 2^-n). */
      tsresol?: number;
      /** if_tsoffset in seconds. */
      tsoffset?: bigint;
      name?: string;
    }
  | { type: 'epb'; ifid: number; ticks: bigint; data: Uint8Array; origLen?: number; capLen?: number; comments?: string[] }
  | { type: 'opb'; ifid: number; ticks: bigint; data: Uint8Array; origLen?: number }
  | { type: 'spb'; origLen: number; data: Uint8Array }
  | { type: 'raw'; blockType: number; body: Uint8Array };

export interface NgDamage {
  /** Write this value as the leading block total length. */
  length?: number;
  /** Write this value as the trailing block total length. */
  trailer?: number;
}

const enc = new TextEncoder();

function option(b: Bytes, code: number, value: Uint8Array): void {
  b.u16(code).u16(value.length).bytes(value).pad4();
}

function body(block: NgBlock, le: boolean): { type: number; body: Uint8Array } {
  const b = new Bytes(le);
  switch (block.type) {
    case 'shb': {
      b.u32(block.badMagic ? 0x11223344 : 0x1a2b3c4d).u16(block.version?.[0] ?? 1).u16(block.version?.[1] ?? 0).u64(-1n);
      if (block.comment !== undefined) {
        option(b, 1, enc.encode(block.comment));
        b.u32(0);
      }
      return { type: 0x0a0d0d0a, body: b.done() };
    }
    case 'idb': {
      b.u16(block.linkType ?? 1).u16(0).u32(block.snaplen ?? 0);
      const opts = block.name !== undefined || block.tsresol !== undefined || block.tsoffset !== undefined;
      if (block.name !== undefined) option(b, 2, enc.encode(block.name));
      if (block.tsresol !== undefined) option(b, 9, Uint8Array.of(block.tsresol));
      if (block.tsoffset !== undefined) {
        const o = new Bytes(le).u64(block.tsoffset).done();
        option(b, 14, o);
      }
      if (opts) b.u32(0);
      return { type: 1, body: b.done() };
    }
    case 'epb':
    case 'opb': {
      const t = BigInt.asUintN(64, block.ticks);
      if (block.type === 'epb') b.u32(block.ifid);
      else b.u16(block.ifid).u16(0);
      b.u32(Number(t >> 32n)).u32(Number(t & 0xffffffffn));
      b.u32(block.type === 'epb' ? block.capLen ?? block.data.length : block.data.length);
      b.u32(block.origLen ?? block.data.length).bytes(block.data).pad4();
      const comments = block.type === 'epb' ? block.comments ?? [] : [];
      for (const c of comments) option(b, 1, enc.encode(c));
      if (comments.length) b.u32(0);
      return { type: block.type === 'epb' ? 6 : 2, body: b.done() };
    }
    case 'spb':
      b.u32(block.origLen).bytes(block.data).pad4();
      return { type: 3, body: b.done() };
    case 'raw':
      return { type: block.blockType, body: block.body };
  }
}

export interface NgFile {
  bytes: Uint8Array;
  /** Byte offset of each block. */
  offsets: number[];
}

/** Assemble pcapng blocks; each SHB sets the byte order of the blocks after it (default little). */
export function pcapngBytes(blocks: NgBlock[], damage: Map<number, NgDamage> = new Map()): NgFile {
  let le = true;
  const out: Uint8Array[] = [];
  const offsets: number[] = [];
  let size = 0;
  blocks.forEach((block, i) => {
    if (block.type === 'shb') le = (block.byteOrder ?? 'little') === 'little';
    const { type, body: data } = body(block, le);
    const total = 12 + data.length;
    const d = damage.get(i) ?? {};
    const b = new Bytes(le).u32(type).u32(d.length ?? total).bytes(data).u32(d.trailer ?? total);
    offsets.push(size);
    const bytes = b.done();
    out.push(bytes);
    size += bytes.length;
  });
  return { bytes: concat(out), offsets };
}

/** ticks of a timestamp at an if_tsresol byte, exactly (BigInt). */
export function ticks(sec: bigint, nsec: bigint, tsresol = 6): bigint {
  if (tsresol & 0x80) {
    const n = BigInt(tsresol & 0x7f);
    return (sec << n) + ((nsec << n) + 999999999n) / 1000000000n; // rounds up so decoding gives nsec back
  }
  const e = BigInt(tsresol);
  const scale = 10n ** e;
  return e >= 9n ? sec * scale + nsec * 10n ** (e - 9n) : sec * scale + nsec / 10n ** (9n - e);
}

// ---- files and tools ----

/** A temporary directory removed by the returned function. */
export function tempDir(prefix = 'xdplab-pcap-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeTemp(dir: string, name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

/** Why tshark cannot be used here, or undefined when it can. */
export function tsharkMissing(): string | undefined {
  const r = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) return 'tshark is not installed (apt-get install tshark)';
  return undefined;
}

/** Run tshark with fields output; one array of field strings per frame. */
export function tsharkFields(file: string, fields: string[], extra: string[] = []): string[][] {
  const args = ['-r', file, '-T', 'fields', ...extra, '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=|'];
  for (const f of fields) args.push('-e', f);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`tshark failed (${r.status}): ${r.stderr}`);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

/** A deterministic PRNG (xorshift32) for generated captures. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

/** `n` packets of pseudo-random sizes in [min, max] and contents. */
export function randomPackets(n: number, seed: number, min = 14, max = 1514): Uint8Array[] {
  const rnd = prng(seed);
  return Array.from({ length: n }, () => {
    const len = min + (rnd() % (max - min + 1));
    const p = new Uint8Array(len);
    for (let i = 0; i < len; i++) p[i] = rnd() & 0xff;
    return p;
  });
}
