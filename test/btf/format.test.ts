/**
 * formatValue and parseValue. Two references:
 * - hand-written expectations (always): a `struct flow` value with every kind of member,
 *   written byte by byte, and what bpftool shows for it;
 * - bpftool itself (when root, bpffs and bpftool are there): btf-kinds.bpf.o is loaded with
 *   `bpftool prog loadall … pinmaps …`, its maps are filled with `bpftool map update`, and
 *   `bpftool -j map dump` prints the kernel's bytes and their "formatted" view, which must
 *   equal formatValue on the same bytes, with the object's own BTF. The pins are removed
 *   afterwards.
 */
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseBtf, type Btf } from '../../src/btf/btf.js';
import { parseBtfExt } from '../../src/btf/ext.js';
import { formatValue } from '../../src/btf/format.js';
import { parseValue } from '../../src/btf/parse-value.js';
import { BTF_KIND_DATASEC, BTF_KIND_PTR, BTF_KIND_VAR, type BtfComposite } from '../../src/btf/types.js';
import { XdplabError } from '../../src/errors.js';
import { handmadeBtf } from './handmade.js';
import { bpftool, fixtureDir, fixtureElf, root, sectionBytes } from './support.js';
import { digest, KernelRecord } from '../support/kernel-record.js';

const elf = fixtureElf('btf-kinds.bpf.o');
const btf = parseBtf(sectionBytes(elf, '.BTF'), 'btf-kinds.bpf.o');
const typeId = (name: string): number => btf.findByName(name)!.id;
const FLOW = typeId('flow');

/** A struct flow with every member set, written field by field at the offsets BTF gives. */
function sampleFlow(): Uint8Array {
  const bytes = new Uint8Array(btf.sizeOf(FLOW));
  const v = new DataView(bytes.buffer);
  const at = (path: string): number => btf.memberOffset(FLOW, path).bitOffset / 8;
  v.setUint32(at('ends[0].addr.v4'), 0x0100007f, true);
  v.setUint16(at('ends[0].port'), 8080, true);
  v.setUint8(at('ends[0].proto'), 6);
  bytes.set([0x65, 0x74, 0x68, 0x30], at('ends[0].name'));
  bytes.set([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], at('ends[1].addr.bytes'));
  v.setUint16(at('ends[1].port'), 443, true);
  v.setUint8(at('ends[1].proto'), 17);
  bytes.set([0x41, 0x42, 0x01, 0, 0, 0], at('ends[1].name')); // not printable: numbers
  v.setUint32(at('id'), 42, true);
  v.setUint32(at('color'), 0xffffffff, true);
  v.setUint32(at('state'), 0x80000000, true);
  v.setBigUint64(at('big'), 0x123456789n, true);
  v.setBigUint64(at('cv'), 0xffffffffffffffffn, true);
  // bits: a:3=5 b:5=31 c:4=-1 d:1=1 | e=0xbeef | f:40=2^40-1 (bits 64..103) g:20=-2 (bits 104..123)
  const b = at('bits');
  v.setUint16(b, 5 | (31 << 3) | (0xf << 8) | (1 << 12), true);
  v.setUint16(b + 2, 0xbeef, true);
  v.setBigUint64(b + 8, (1n << 40n) - 1n | (0xffffen << 40n), true);
  v.setUint8(at('inner_x'), 1);
  v.setUint8(at('inner_y'), 2);
  v.setUint32(at('either.as_u32'), 0xfffe0001, true);
  bytes.set([1, 2, 3, 4, 5, 6], at('matrix'));
  v.setBigUint64(at('callback'), 4096n, true);
  v.setUint8(at('flag'), 1);
  v.setInt8(at('sc'), -3);
  v.setInt16(at('s'), -300, true);
  v.setBigInt64(at('ll'), -(1n << 60n), true);
  v.setBigUint64(at('wide'), 5n, true);
  v.setBigUint64(at('wide') + 8, 1n << 36n, true);
  return bytes;
}

const SAMPLE_FORMATTED = {
  ends: [
    { addr: { v4: 16777343, bytes: [127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], words: [127, 256, 0, 0, 0, 0, 0, 0] }, port: 8080, proto: 6, name: 'eth0' },
    { addr: { v4: 33022, bytes: [254, 128, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], words: [33022, 0, 0, 0, 0, 0, 0, 256] }, port: 443, proto: 17, name: [65, 66, 1, 0, 0, 0] },
  ],
  id: 42,
  color: 'BLUE',
  state: 'S_BUSY',
  big: 4886718345,
  cv: '18446744073709551615',
  bits: { a: '0x5', b: '0x1f', c: '0xf', d: '0x1', e: 48879, f: '0xffffffffff', g: '0xffffe' },
  '': { inner_x: 1, inner_y: 2 },
  either: { as_u32: 4294836225, as_s16: [1, -2] },
  matrix: [[1, 2, 3], [4, 5, 6]],
  callback: 4096,
  flag: true,
  sc: -3,
  s: -300,
  ll: '-1152921504606846976',
  wide: '0x10000000000000000000000005',
  fp: 0,
  fu: 0,
};

describe('formatValue', () => {
  it('shows a struct flow as bpftool does', () => {
    expect(formatValue(btf, FLOW, sampleFlow())).toEqual(SAMPLE_FORMATTED);
  });

  it('formats scalars, enums and char arrays', () => {
    const hand = parseBtf(handmadeBtf());
    const u8 = (...b: number[]) => Uint8Array.from(b);
    expect(formatValue(hand, 3, u8(0x41))).toBe('A'); // CHAR encoding: a one-character string
    expect(formatValue(hand, 3, u8(0x07))).toBe('\u0007');
    expect(formatValue(hand, 4, u8(2))).toBe(true);
    expect(formatValue(hand, 7, u8(0xf0, 0xff, 0xff, 0x0f))).toBe('0xffffff'); // INT with a bit offset: hex
    expect(formatValue(hand, 8, u8(0xfb, 0xff, 0xff, 0xff))).toBe('NEG');
    expect(formatValue(hand, 8, u8(9, 0, 0, 0))).toBe(9);
    expect(formatValue(hand, 8, u8(0xf6, 0xff, 0xff, 0xff))).toBe(-10); // unmatched: signed
    expect(formatValue(hand, 9, u8(0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01))).toBe('W_BIG');
    expect(formatValue(hand, 9, u8(0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))).toBe(-2); // ENUM64 unmatched: signed
    expect(formatValue(hand, 12, new Uint8Array(new Float64Array([1.5]).buffer))).toBe(1.5);
    expect(formatValue(hand, 12, new Uint8Array(new Float64Array([-Infinity]).buffer))).toBe('-inf');
    expect(formatValue(hand, 16, u8(1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0))).toEqual([1, 2, 3]);
    expect(formatValue(hand, 29, new Uint8Array(32))).toEqual({ '.data': [{ counter: 0 }, { ext: 0 }, { '': 0 }] });
    const banner = typeId('banner');
    expect(formatValue(btf, banner, u8(0x78, 0x64, 0, 0, 0, 0, 0, 0))).toEqual({ banner: 'xd' });
    expect(formatValue(btf, banner, u8(0x78, 0x64, 0x80, 0, 0, 0, 0, 0))).toEqual({ banner: [120, 100, -128, 0, 0, 0, 0, 0] });
    expect(formatValue(btf, banner, u8(0x78, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a))).toEqual({ banner: [120, 100, 101, 102, 103, 104, 105, 106] }); // no NUL
  });

  it('refuses what it cannot format', () => {
    expect(() => formatValue(btf, FLOW, new Uint8Array(10))).toThrow(/^value: 10 bytes, but struct flow needs 176$/);
    expect(() => formatValue(btf, typeId('fwd_struct'), new Uint8Array(8))).toThrow(XdplabError);
    expect(() => formatValue(btf, typeId('xdp_kinds'), new Uint8Array(8))).toThrow(/FUNC has no size/);
  });

  it('is total on random bytes: a value or an XdplabError for every type', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: btf.types.length - 1 }), fc.uint8Array({ minLength: 200, maxLength: 200 }), (id, bytes) => {
      try {
        formatValue(btf, id, bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(XdplabError);
      }
    }), { numRuns: 300 });
  });
});

describe('parseValue', () => {
  it('rebuilds the sample from its formatted view', () => {
    expect(parseValue(btf, FLOW, SAMPLE_FORMATTED)).toEqual(sampleFlow());
  });

  it('round-trips random values through formatValue', () => {
    const endpoint = typeId('endpoint');
    fc.assert(fc.property(fc.constantFrom(FLOW, endpoint, typeId('bits')), fc.uint8Array({ minLength: 176, maxLength: 176 }), (id, bytes) => {
      const shown = formatValue(btf, id, bytes);
      expect(formatValue(btf, id, parseValue(btf, id, JSON.parse(JSON.stringify(shown))))).toEqual(shown);
    }), { numRuns: 200 });
  });

  it('accepts the conveniences', () => {
    const bits = typeId('bits');
    const a = parseValue(btf, bits, { a: 5, c: -1, f: '0xffffffffff', g: -2 });
    expect(formatValue(btf, bits, a)).toMatchObject({ a: '0x5', c: '0xf', f: '0xffffffffff', g: '0xffffe', e: 0 });
    const flow = parseValue(btf, FLOW, { inner_y: 9, color: 5, big: 'BIG_SMALL', cv: 18446744073709551615n, ends: [{ name: 'lo' }] });
    expect(formatValue(btf, FLOW, flow)).toMatchObject({ '': { inner_x: 0, inner_y: 9 }, color: 'GREEN', big: 'BIG_SMALL', cv: '18446744073709551615', ends: [{ name: 'lo' }, { name: '' }] });
    const bss = btf.datasec('.rodata')!;
    const laid = btf.withDatasecLayout('.rodata', 12, new Map([['default_color', 0], ['banner', 4]]));
    expect(formatValue(laid, bss.id, parseValue(laid, bss.id, { banner: 'hi', default_color: 'RED' })))
      .toEqual({ '.rodata': [{ default_color: 'RED' }, { banner: 'hi' }] });
    expect(formatValue(laid, bss.id, parseValue(laid, bss.id, { '.rodata': [{ default_color: 'BLUE' }, { banner: 'x' }] })))
      .toEqual({ '.rodata': [{ default_color: 'BLUE' }, { banner: 'x' }] });
  });

  it.each<[string, number, unknown, RegExp]>([
    ['an int out of range', FLOW, { ends: [{ addr: { bytes: [1, 2, 300] } }] }, /^value\.ends\[0\]\.addr\.bytes\[2\]: 300 does not fit u8$/],
    ['a negative unsigned', FLOW, { id: -1 }, /^value\.id: -1 does not fit u32$/],
    ['a bitfield too wide', FLOW, { bits: { a: 8 } }, /^value\.bits\.a: 8 does not fit u3 bitfield$/],
    ['a signed bitfield too small', FLOW, { bits: { c: -9 } }, /^value\.bits\.c: -9 does not fit s4 bitfield$/],
    ['an unknown member', FLOW, { nope: 1 }, /^value\.nope: struct flow has no member 'nope' \(members: ends, id, /],
    ['an unknown enumerator', FLOW, { color: 'PINK' }, /^value\.color: PINK is not an enumerator of enum color \(RED, GREEN, BLUE\)$/],
    ['an array too long', FLOW, { matrix: [[1], [2], [3]] }, /^value\.matrix: 3 elements do not fit __u8\[2\]\[3\]$/],
    ['a string too long', FLOW, { ends: [{ name: 'abcdefg' }] }, /^value\.ends\[0\]\.name: string of 7 characters does not fit char\[6\]$/],
    ['a non-integer', FLOW, { s: 1.5 }, /^value\.s: 1\.5 is not an integer \(s16\)$/],
    ['a rounded number', FLOW, { cv: 2 ** 60 }, /^value\.cv: 1152921504606847000 is beyond 2\^53/],
    ['an object for an int', FLOW, { id: {} }, /^value\.id: an object is not an integer \(u32\)$/],
    ['a number for a struct', FLOW, 7, /^value: expected an object for struct flow, got 7$/],
    ['an unknown variable', btf.datasec('.bss')!.id, { nope: 1 }, /^value\.nope: \.bss has no variable 'nope'$/],
  ])('names the path of %s', (_, id, json, pattern) => {
    let error: unknown;
    try {
      parseValue(btf, id, json);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(XdplabError);
    expect((error as XdplabError).code).toBe('BAD_INPUT');
    expect((error as XdplabError).message).toMatch(pattern);
  });
});

// ---- against bpftool, on a loaded object ----------------------------------------------------

/** JSON.parse that keeps integers beyond 2^53 exact, as decimal strings (like formatValue). */
function parseJsonExact(text: string): unknown {
  let out = '';
  for (let i = 0; i < text.length;) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i))![0];
      out += /^-?\d{16,}$/.test(m) ? `"\\u0000${m}"` : m;
      i += m.length;
    } else {
      out += c;
      i++;
    }
  }
  return JSON.parse(out, (_, v) => {
    if (typeof v !== 'string' || !v.startsWith('\u0000')) return v;
    const n = Number(v.slice(1));
    return Number.isSafeInteger(n) ? n : v.slice(1);
  });
}

const hexBytes = (list: string[]): Uint8Array => Uint8Array.from(list, (h) => parseInt(h, 16));
const hexArgs = (bytes: Uint8Array): string[] => Array.from(bytes, (b) => b.toString(16).padStart(2, '0'));

/** Deterministic pseudo-random bytes. */
function pseudoRandom(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** The key and value type ids of a BTF-defined map in `.maps`. */
function mapTypes(name: string): { key: number; value: number } {
  const sec = btf.datasec('.maps')!;
  const v = sec.vars.map((x) => btf.typeById(x.type)).find((t) => t.name === name)!;
  const def = btf.resolve(v.kind === BTF_KIND_VAR ? v.type : 0) as BtfComposite;
  const pointee = (member: string): number => {
    const ptr = btf.typeById(def.members.find((m) => m.name === member)!.type);
    return ptr.kind === BTF_KIND_PTR ? ptr.type : 0;
  };
  return { key: pointee('key'), value: pointee('value') };
}

/** The object's BTF with a global section laid out from the ELF, as libbpf does before loading. */
function laidOut(section: string): { btf: Btf; id: number } {
  const s = elf.sectionByName(section)!;
  const offsets = new Map(elf.symbols.filter((sym) => sym.shndx === s.index && sym.name !== '').map((sym) => [sym.name, sym.value]));
  const laid = btf.withDatasecLayout(section, s.size, offsets);
  return { btf: laid, id: laid.datasec(section)!.id };
}

// What bpftool prints of the kernel's copy: live as root, else as recorded in
// test/fixtures/kernel/btf/format.json (support/kernel-record.ts).
describe('against bpftool, on the loaded btf-kinds object', () => {
  const pins = `/sys/fs/bpf/xdplab_btf_test_${process.pid}`;
  const mapPins = `${pins}_maps`;
  const record = KernelRecord.for(import.meta.url);

  beforeAll(() => {
    if (!record.live) return;
    // The kernel refusing the object is a failure of every test here, not a reason to skip.
    execFileSync('bpftool', ['prog', 'loadall', `${fixtureDir}/btf-kinds.bpf.o`, pins, 'pinmaps', mapPins], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  });
  afterAll(() => {
    rmSync(pins, { recursive: true, force: true });
    rmSync(mapPins, { recursive: true, force: true });
  });

  const update = (map: string, key: Uint8Array, value: Uint8Array): void => {
    record.step(`update ${map}`, digest(key, value));
    if (record.live) bpftool(['map', 'update', 'pinned', `${mapPins}/${map}`, 'key', 'hex', ...hexArgs(key), 'value', 'hex', ...hexArgs(value)]);
  };
  const dump = (map: string): { key: string[]; value: string[]; formatted: { key?: unknown; value: unknown } }[] =>
    // Sorted by key: a hash map's order changes with its seed from one load to the next.
    record.answer(record.step(`dump ${map} (sorted by key)`), () => (parseJsonExact(bpftool(['-j', 'map', 'dump', 'pinned', `${mapPins}/${map}`])) as { key: string[] }[])
      .sort((x, y) => x.key.join('').localeCompare(y.key.join(''))) as never);
  const live = (name: string, body: () => void) => it(name, body);

  live('array map of struct flow: the sample and pseudo-random bytes', () => {
    const { key, value } = mapTypes('flows');
    const u32 = (n: number) => Uint8Array.of(n, 0, 0, 0);
    update('flows', u32(0), sampleFlow());
    update('flows', u32(1), pseudoRandom(1, btf.sizeOf(value)));
    const entries = dump('flows');
    expect(entries).toHaveLength(2);
    expect(entries[0].formatted.value).toEqual(SAMPLE_FORMATTED);
    for (const e of entries) {
      expect({ key: formatValue(btf, key, hexBytes(e.key), 'key'), value: formatValue(btf, value, hexBytes(e.value)) }).toEqual(e.formatted);
    }
  });

  live('hash map with a struct key: pseudo-random keys and values', () => {
    const { key, value } = mapTypes('by_endpoint');
    for (let i = 0; i < 4; i++) update('by_endpoint', pseudoRandom(100 + i, btf.sizeOf(key)), pseudoRandom(200 + i, btf.sizeOf(value)));
    const named = parseValue(btf, key, { addr: { v4: 0x0100007f }, port: 53, proto: 17, name: 'dns' });
    update('by_endpoint', named, parseValue(btf, value, { a: 1, c: -1, g: -2 }));
    const entries = dump('by_endpoint');
    expect(entries).toHaveLength(5);
    for (const e of entries) {
      expect({ key: formatValue(btf, key, hexBytes(e.key), 'key'), value: formatValue(btf, value, hexBytes(e.value)) }).toEqual(e.formatted);
    }
    expect(entries.map((e) => e.formatted.key)).toContainEqual(expect.objectContaining({ name: 'dns', port: 53 }));
  });

  live('global data sections (DATASEC values), laid out as libbpf lays them out', () => {
    update('btf_kind_bss', Uint8Array.of(0, 0, 0, 0), pseudoRandom(7, elf.sectionByName('.bss')!.size));
    update('btf_kind_data', Uint8Array.of(0, 0, 0, 0), pseudoRandom(8, elf.sectionByName('.data')!.size));
    for (const [map, section] of [['btf_kind_bss', '.bss'], ['btf_kind_data', '.data'], ['btf_kind_rodata', '.rodata']]) {
      const { btf: laid, id } = laidOut(section);
      expect(laid.typeById(id).kind).toBe(BTF_KIND_DATASEC);
      const [e] = dump(map);
      expect({ value: formatValue(laid, id, hexBytes(e.value)) }).toEqual(e.formatted);
    }
    expect(dump('btf_kind_rodata')[0].formatted.value).toEqual({ '.rodata': [{ default_color: 'GREEN' }, { banner: 'xdplab' }] });
  });

  // Not formatValue, but the same loaded object: the kernel reports the .BTF.ext line info
  // libbpf gave it (xdp, then the .text subprogram appended), and bpftool prints it per
  // instruction with leading blanks trimmed. The verifier may drop the lines of dead code, so
  // the kernel's lines must be a subsequence of ours.
  live('line info the kernel reports is the one parseBtfExt reads', () => {
    const ext = parseBtfExt(sectionBytes(elf, '.BTF.ext'), btf);
    const ours = [...ext.lineInfo.get('xdp')!, ...ext.lineInfo.get('.text')!]
      .map((l) => `${l.file}:${l.line}:${l.column} ${l.text.trimStart()}`);
    const kernel = record.answer(record.step('prog dump xlated xdp_kinds linum'), () => {
      const xlated = JSON.parse(bpftool(['-j', 'prog', 'dump', 'xlated', 'pinned', `${pins}/xdp_kinds`, 'linum'])) as
        { src?: string; file?: string; line_num?: number; line_col?: number }[];
      return xlated.filter((i) => i.file !== undefined)// bpftool leaves out the zero line and column of compiler-made code.
        .map((i) => `${i.file}:${i.line_num ?? 0}:${i.line_col ?? 0} ${i.src ?? ''}`);
    });
    expect(kernel.length).toBeGreaterThan(10);
    let j = 0;
    for (const line of kernel) {
      while (j < ours.length && ours[j] !== line) j++;
      expect(j, `kernel line "${line}" not found in order`).toBeLessThan(ours.length);
      j++;
    }
  });
});
