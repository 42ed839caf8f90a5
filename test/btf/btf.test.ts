/**
 * parseBtf and the Btf queries, on the clang-built fixtures (btf-kinds.bpf.c covers most
 * kinds) and on hand-written blobs for what clang 14 does not emit and for broken input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseBtf, type Btf } from '../../src/btf/btf.js';
import { dumpBtf } from '../../src/btf/dump.js';
import { formatValue } from '../../src/btf/format.js';
import { parseValue } from '../../src/btf/parse-value.js';
import * as K from '../../src/btf/types.js';
import { XdplabError } from '../../src/errors.js';
import { handmadeBtf } from './handmade.js';
import { BTF_FIXTURES, BtfWriter, fixtureElf, sectionBytes } from './support.js';

const load = (name: string): Btf => parseBtf(sectionBytes(fixtureElf(name), '.BTF'), `${name} .BTF`);
const kinds = load('btf-kinds.bpf.o');
const id = (name: string, kind?: K.BtfKind): number => {
  const t = kinds.findByName(name, kind);
  if (!t) throw new Error(`no type ${name}`);
  return t.id;
};

describe('kind constants', () => {
  it('keep the kernel numbers', () => {
    expect([K.BTF_KIND_INT, K.BTF_KIND_PTR, K.BTF_KIND_ARRAY, K.BTF_KIND_STRUCT, K.BTF_KIND_UNION, K.BTF_KIND_ENUM, K.BTF_KIND_FWD,
      K.BTF_KIND_TYPEDEF, K.BTF_KIND_VOLATILE, K.BTF_KIND_CONST, K.BTF_KIND_RESTRICT, K.BTF_KIND_FUNC, K.BTF_KIND_FUNC_PROTO,
      K.BTF_KIND_VAR, K.BTF_KIND_DATASEC, K.BTF_KIND_FLOAT, K.BTF_KIND_DECL_TAG, K.BTF_KIND_TYPE_TAG, K.BTF_KIND_ENUM64])
      .toEqual(Array.from({ length: 19 }, (_, i) => i + 1));
    expect([K.BPF_CORE_FIELD_BYTE_OFFSET, K.BPF_CORE_FIELD_BYTE_SIZE, K.BPF_CORE_FIELD_EXISTS, K.BPF_CORE_FIELD_SIGNED,
      K.BPF_CORE_FIELD_LSHIFT_U64, K.BPF_CORE_FIELD_RSHIFT_U64, K.BPF_CORE_TYPE_ID_LOCAL, K.BPF_CORE_TYPE_ID_TARGET,
      K.BPF_CORE_TYPE_EXISTS, K.BPF_CORE_TYPE_SIZE, K.BPF_CORE_ENUMVAL_EXISTS, K.BPF_CORE_ENUMVAL_VALUE])
      .toEqual(Array.from({ length: 12 }, (_, i) => i));
  });
});

describe('parseBtf on clang-built objects', () => {
  it.each(BTF_FIXTURES)('%s parses', (name) => {
    const btf = load(name);
    expect(btf.header).toMatchObject({ magic: 0xeb9f, version: 1, flags: 0, hdrLen: 24 });
    expect(btf.types[0]).toMatchObject({ id: 0, kind: K.BTF_KIND_UNKN });
    btf.types.forEach((t, i) => expect(t.id).toBe(i));
  });

  it('btf-kinds covers every kind clang 14 emits', () => {
    const seen = new Set(kinds.types.slice(1).map((t) => K.BTF_KIND_NAMES[t.kind]));
    expect([...seen].sort()).toEqual(['ARRAY', 'CONST', 'DATASEC', 'DECL_TAG', 'ENUM', 'FLOAT', 'FUNC', 'FUNC_PROTO', 'FWD', 'INT',
      'PTR', 'STRUCT', 'TYPEDEF', 'TYPE_TAG', 'UNION', 'VAR', 'VOLATILE']);
  });

  it('decodes ints, bitfields, enums and tags', () => {
    expect(kinds.typeById(id('unsigned __int128'))).toMatchObject({ kind: K.BTF_KIND_INT, size: 16, bits: 128, encoding: 0, bitOffset: 0 });
    expect(kinds.typeById(id('_Bool'))).toMatchObject({ kind: K.BTF_KIND_INT, encoding: K.BTF_INT_BOOL });
    const bits = kinds.typeById(id('bits', K.BTF_KIND_STRUCT));
    expect(bits).toMatchObject({ kind: K.BTF_KIND_STRUCT, size: 16, kindFlag: true });
    expect(bits.kind === K.BTF_KIND_STRUCT && bits.members.map((m) => [m.name, m.bitOffset, m.bitfieldSize])).toEqual([
      ['a', 0, 3], ['b', 3, 5], ['c', 8, 4], ['d', 12, 1], ['e', 16, 0], ['f', 64, 40], ['g', 104, 20],
    ]);
    const color = kinds.typeById(id('color'));
    expect(color.kind === K.BTF_KIND_ENUM && color.values.map((v) => [v.name, v.value])).toEqual([['RED', 0], ['GREEN', 5], ['BLUE', 4294967295]]);
    expect(kinds.findByName('fwd_union')).toMatchObject({ kind: K.BTF_KIND_FWD, union: true });
    expect(kinds.findByName('peek')).toMatchObject({ kind: K.BTF_KIND_FUNC, linkage: K.BTF_FUNC_STATIC });
    expect(kinds.findByName('flow-id')).toMatchObject({ kind: K.BTF_KIND_DECL_TAG, type: id('flow'), componentIdx: 1 });
    expect(kinds.findByName('user')).toMatchObject({ kind: K.BTF_KIND_TYPE_TAG });
    expect(kinds.findByName('next_id')).toMatchObject({ kind: K.BTF_KIND_VAR, type: id('flow_id_t'), linkage: K.BTF_VAR_GLOBAL_ALLOCATED });
  });

  it('decodes what clang 14 cannot emit, from a hand-written blob', () => {
    const btf = parseBtf(handmadeBtf(), 'handmade');
    expect(btf.findByName('wide')).toMatchObject({ kind: K.BTF_KIND_ENUM64, size: 8, signed: false });
    const wide = btf.findByName('wide');
    expect(wide?.kind === K.BTF_KIND_ENUM64 && wide.values.map((v) => v.value)).toEqual([1n, 0x0123456789abcdefn, 0xffffffffffffffffn]);
    const swide = btf.findByName('swide');
    expect(swide?.kind === K.BTF_KIND_ENUM64 && swide.values[0].value).toBe(-2n);
    const sign = btf.findByName('sign');
    expect(sign?.kind === K.BTF_KIND_ENUM && sign.values.map((v) => v.value)).toEqual([-5, 7]);
    expect(btf.findByName('printk')).toMatchObject({ linkage: K.BTF_FUNC_EXTERN });
    expect(btf.findByName('u24')).toMatchObject({ bitOffset: 4, bits: 24 });
  });
});

describe('Btf queries', () => {
  it('typeById, name and findByName', () => {
    expect(kinds.typeById(0).kind).toBe(K.BTF_KIND_UNKN);
    expect(kinds.name(id('xdp_md'))).toBe('xdp_md');
    expect(kinds.findByName('int')?.kind).toBe(K.BTF_KIND_INT);
    expect(kinds.findByName('flow', K.BTF_KIND_DATASEC)).toBeUndefined();
    expect(kinds.findByName('no such type')).toBeUndefined();
    expect(() => kinds.typeById(kinds.types.length)).toThrow(/type id \d+ is out of range/);
    expect(() => kinds.typeById(-1)).toThrow(XdplabError);
  });

  it('resolve skips typedefs, const, volatile and type tags', () => {
    expect(kinds.resolve(id('flow_id_t'))).toMatchObject({ kind: K.BTF_KIND_INT, name: 'unsigned int' });
    expect(kinds.resolve(id('user'))).toMatchObject({ name: 'unsigned int' });
    const cv = kinds.typeById(id('flow')).kind === K.BTF_KIND_STRUCT ? (kinds.typeById(id('flow')) as K.BtfComposite).members.find((m) => m.name === 'cv')! : undefined;
    expect(kinds.resolve(cv!.type)).toMatchObject({ name: 'unsigned long long' });
    expect(kinds.resolve(id('flow')).id).toBe(id('flow'));
  });

  it.each([
    ['flow', 176], ['endpoint', 28], ['addr', 16], ['bits', 16], ['flow_id_t', 4], ['__u64', 8], ['unsigned __int128', 16],
    ['next_id', 4], ['numbers', 16], ['double', 8],
  ])('sizeOf(%s) = %d', (name, size) => {
    expect(kinds.sizeOf(id(name))).toBe(size);
  });

  it('sizeOf pointers, arrays of structs, and errors for what has no size', () => {
    const f = kinds.typeById(id('flow')) as K.BtfComposite;
    const member = (name: string) => f.members.find((m) => m.name === name)!.type;
    expect(kinds.sizeOf(member('callback'))).toBe(8);
    expect(kinds.sizeOf(member('ends'))).toBe(56);
    expect(kinds.sizeOf(member('matrix'))).toBe(6);
    expect(() => kinds.sizeOf(0)).toThrow(/type \[0\]: UNKNOWN has no size/);
    expect(() => kinds.sizeOf(id('xdp_kinds'))).toThrow(/type \[\d+\] at offset 0x[0-9a-f]+: FUNC has no size/);
    expect(() => kinds.sizeOf(id('fwd_struct'))).toThrow(/FWD has no size/);
  });

  it('datasec finds the global sections', () => {
    expect(kinds.datasec('.bss')?.vars.map((v) => kinds.name(v.type))).toEqual(['core_sum', 'endpoints', 'last_port', 'numbers_ptr']);
    expect(kinds.datasec('.rodata')?.vars.map((v) => kinds.name(v.type))).toEqual(['default_color', 'banner']);
    expect(kinds.datasec('.maps')?.vars.map((v) => kinds.name(v.type))).toEqual(['flows', 'by_endpoint']);
    expect(kinds.datasec('flow')).toBeUndefined();
  });

  it('withDatasecLayout sets the size and offsets a loader finds', () => {
    const laid = kinds.withDatasecLayout('.rodata', 12, new Map([['default_color', 0], ['banner', 4]]));
    expect(laid.datasec('.rodata')).toMatchObject({ size: 12, vars: [{ offset: 0, size: 4 }, { offset: 4, size: 8 }] });
    expect(kinds.datasec('.rodata')?.size).toBe(0);
    expect(() => kinds.withDatasecLayout('.rodata', 12, new Map([['banner', 4]]))).toThrow(/no offset given for variable 'default_color'/);
    expect(() => kinds.withDatasecLayout('.rodata', 8, new Map([['default_color', 0], ['banner', 4]]))).toThrow(/lies past the section's 8 bytes/);
  });

  it.each([
    ['id', 448, 0, 'flow_id_t'],
    ['ends[1].port', 224 + 128, 0, '__u16'],
    ['ends[1].addr.bytes[3]', 224 + 24, 0, '__u8'],
    ['inner_y', 832 + 8, 0, '__u8'],
    ['bits.g', 704 + 104, 20, '__s64'],
    ['either.as_s16[1]', 864 + 16, 0, '__s16'],
    ['matrix[1][2]', 896 + 40, 0, '__u8'],
  ])('memberOffset(struct flow, %s)', (path, bitOffset, bitfieldSize, type) => {
    const loc = kinds.memberOffset(id('flow'), path);
    expect(loc).toMatchObject({ bitOffset, bitfieldSize });
    expect(kinds.toString(loc.type)).toBe(type);
  });

  it('memberOffset takes parts and explains bad paths', () => {
    expect(kinds.memberOffset(id('flow'), ['ends', 1, 'port']).bitOffset).toBe(352);
    expect(() => kinds.memberOffset(id('flow'), 'nope')).toThrow(/struct flow \(struct flow\) has no member 'nope'/);
    expect(() => kinds.memberOffset(id('flow'), 'ends[2]')).toThrow(/struct flow\.ends\[2\] is out of range \(2 elements\)/);
    expect(() => kinds.memberOffset(id('flow'), 'id.x')).toThrow(/struct flow\.id is not a struct or union/);
    expect(() => kinds.memberOffset(id('flow'), 'id[0]')).toThrow(/is not an array/);
    expect(() => kinds.memberOffset(id('flow'), 'bits.a.b')).toThrow(/is a bitfield/);
    expect(() => kinds.memberOffset(id('flow'), 'ends..x')).toThrow(/bad member path/);
  });

  it.each([
    ['xdp_md', 'struct xdp_md'],
    ['__u32', '__u32'],
    ['flow_id_t', 'flow_id_t'],
    ['color', 'enum color'],
    ['fwd_union', 'union fwd_union'],
    ['next_id', 'flow_id_t next_id'],
    ['banner', 'const volatile char banner[8]'],
    ['endpoints', 'struct endpoint endpoints[3]'],
    ['xdp_kinds', 'int xdp_kinds(struct xdp_md *ctx)'],
    ['peek', '__u32 peek(__attribute__((btf_type_tag("user"))) __u32 *where, __u32 fallback)'],
    ['.bss', 'SEC(".bss")'],
    ['flow-struct', '__attribute__((btf_decl_tag("flow-struct")))'],
  ])('toString(%s) = %s', (name, text) => {
    expect(kinds.toString(id(name))).toBe(text);
  });

  it('toString spells pointers, arrays and function pointers as C does', () => {
    const f = kinds.typeById(id('flow')) as K.BtfComposite;
    const member = (name: string) => kinds.toString(f.members.find((m) => m.name === name)!.type);
    expect(member('ends')).toBe('struct endpoint[2]');
    expect(member('matrix')).toBe('__u8[2][3]');
    expect(member('callback')).toBe('int (*)(struct xdp_md *, __u32 *)');
    expect(member('cv')).toBe('const volatile __u64');
    expect(member('')).toBe('struct (anon)');
    expect(kinds.toString(0)).toBe('void');
    const hand = parseBtf(handmadeBtf());
    expect(hand.toString(20)).toBe('struct pair *restrict');
    expect(hand.toString(13)).toBe('int (char, ...)');
    expect(hand.toString(32)).toBe('int (*)(char, ...)');
    expect(hand.toString(33)).toBe('unsigned int[2][3]');
    expect(String(hand)).toBe('Btf(.BTF: 33 types)');
  });
});

/** Errors must be XdplabError('BAD_INPUT') naming the source, and the type and offset when a type is at fault. */
function expectBad(bytes: Uint8Array, pattern: RegExp): void {
  let error: unknown;
  try {
    parseBtf(bytes, 'broken.o .BTF');
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(XdplabError);
  expect((error as XdplabError).code).toBe('BAD_INPUT');
  expect((error as XdplabError).message).toMatch(/^broken\.o \.BTF: /);
  expect((error as XdplabError).message).toMatch(pattern);
}

function withWriter(fill: (w: BtfWriter) => void): Uint8Array {
  const w = new BtfWriter();
  fill(w);
  return w.build();
}

describe('parseBtf on malformed input', () => {
  const good = (): Uint8Array => withWriter((w) => { w.type(K.BTF_KIND_INT, 'int', 4, [0x01000020]); });
  const patch = (bytes: Uint8Array, at: number, value: number): Uint8Array => {
    const copy = bytes.slice();
    new DataView(copy.buffer).setUint32(at, value, true);
    return copy;
  };

  it.each<[string, () => Uint8Array, RegExp]>([
    ['empty input', () => new Uint8Array(0), /truncated BTF header: 0 bytes/],
    ['bad magic', () => new Uint8Array(24).fill(0x41), /bad magic 0x4141 at offset 0x0: not BTF/],
    ['big-endian BTF', () => { const b = good(); b[0] = 0xeb; b[1] = 0x9f; return b; }, /big-endian BTF/],
    ['truncated header', () => good().subarray(0, 20), /truncated BTF header: 20 bytes/],
    ['version 2', () => { const b = good(); b[2] = 2; return b; }, /unsupported BTF version 2/],
    ['header length past the end', () => patch(good(), 4, 1000), /bad header length 1000 at offset 0x4/],
    ['type section past the end', () => patch(good(), 12, 1000), /type section .* runs past the end/],
    ['string section past the end', () => patch(good(), 20, 1000), /string section .* runs past the end/],
    ['misaligned type section', () => patch(good(), 8, 2), /not aligned to 4 bytes|overlap|runs past/],
    ['string section not starting with NUL', () => { const b = good(); b[b.length - 5] = 0x41; return b; }, /does not start with the empty string/],
    ['string section not ending with NUL', () => { const b = good(); b[b.length - 1] = 0x41; return b; }, /does not end with NUL/],
    ['truncated type record', () => patch(good(), 12, 8), /type \[1\] at offset 0x18: truncated: 8 bytes left/],
    ['unknown kind', () => withWriter((w) => { w.type(25, '', 0); }), /type \[1\] at offset 0x18: unknown kind 25/],
    ['kind 0', () => withWriter((w) => { w.type(0, '', 0); }), /type \[1\] at offset 0x18: unknown kind 0/],
    ['name offset out of range', () => withWriter((w) => { w.type(K.BTF_KIND_INT, 999, 4, [32]); }), /type \[1\] at offset 0x18: name offset 0x3e7 is out of range/],
    ['member name out of range', () => withWriter((w) => { w.type(K.BTF_KIND_STRUCT, 's', 4, [999, 0, 0], { vlen: 1 }); }), /type \[1\] at offset 0x18: member 0: name offset 0x3e7/],
    ['struct members past the end', () => withWriter((w) => { w.type(K.BTF_KIND_STRUCT, 's', 4, [0, 0, 0], { vlen: 2 }); }), /type \[1\] at offset 0x18: truncated STRUCT 's': needs 36 bytes \(vlen 2\)/],
    ['type id out of range', () => withWriter((w) => { w.type(K.BTF_KIND_INT, 'int', 4, [32]); w.type(K.BTF_KIND_PTR, '', 7); }), /type \[2\] at offset 0x28: PTR '': referenced type id 7 is out of range \(2 types\)/],
    ['member type out of range', () => withWriter((w) => { w.type(K.BTF_KIND_STRUCT, 's', 4, [0, 5, 0], { vlen: 1 }); }), /type \[1\] at offset 0x18: STRUCT 's': member 0 '' type id 5 is out of range/],
    ['array index type out of range', () => withWriter((w) => { w.type(K.BTF_KIND_ARRAY, '', 0, [0, 9, 1]); }), /type \[1\].*index type id 9/],
    ['datasec var out of range', () => withWriter((w) => { w.type(K.BTF_KIND_DATASEC, '.data', 4, [3, 0, 4], { vlen: 1 }); }), /type \[1\].*variable 0 type id 3/],
    ['FUNC naming a non-prototype', () => withWriter((w) => { w.type(K.BTF_KIND_INT, 'int', 4, [32]); w.type(K.BTF_KIND_FUNC, 'f', 1); }), /type \[2\] at offset 0x28: FUNC 'f': type id 1 is a INT, not a FUNC_PROTO/],
  ])('%s', (_, make, pattern) => {
    expectBad(make(), pattern);
  });

  it('a typedef or modifier loop is an error of the query, not of the parse', () => {
    const btf = parseBtf(withWriter((w) => {
      w.type(K.BTF_KIND_TYPEDEF, 'a', 2); w.type(K.BTF_KIND_TYPEDEF, 'b', 1);
      w.type(K.BTF_KIND_CONST, '', 4); w.type(K.BTF_KIND_VOLATILE, '', 3);
      w.type(K.BTF_KIND_STRUCT, 'self', 4, [w.str('me'), 5, 0], { vlen: 1 });
    }), 'loop');
    expect(() => btf.resolve(1)).toThrow(/^loop: type \[1\] at offset 0x18: more than 32 typedefs/);
    expect(() => btf.sizeOf(1)).toThrow(XdplabError);
    expect(btf.toString(1)).toBe('a');
    expect(() => btf.toString(3)).toThrow(/^loop: type \[3\] at offset 0x30: type nests more than 64 deep/);
    expect(() => formatValue(btf, 1, new Uint8Array(8))).toThrow(XdplabError);
    expect(() => formatValue(btf, 5, new Uint8Array(8))).toThrow(/value(\.me)+: types nest more than 64 deep/);
  });

  it('accepts a longer header and an empty type section', () => {
    const w = new BtfWriter();
    const btf = parseBtf(w.build({ hdrLen: 32 }));
    expect(btf.types).toHaveLength(1);
    expect(btf.header.hdrLen).toBe(32);
  });
});

/** Run every query on every type: each must answer or throw XdplabError, nothing else. */
function exercise(btf: Btf, bytes: Uint8Array): void {
  const typed = (f: () => unknown): void => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof XdplabError)) throw e;
    }
  };
  typed(() => dumpBtf(btf));
  for (let i = 0; i < btf.types.length; i++) {
    typed(() => btf.resolve(i));
    typed(() => btf.sizeOf(i));
    typed(() => btf.toString(i));
    typed(() => btf.memberOffset(i, 'a.b[1]'));
    typed(() => {
      const v = formatValue(btf, i, bytes);
      parseValue(btf, i, v);
    });
  }
}

describe('no untyped throws on any bytes', () => {
  const parsesOrBadInput = (bytes: Uint8Array): void => {
    let btf: Btf;
    try {
      btf = parseBtf(bytes, 'fuzz');
    } catch (e) {
      expect(e).toBeInstanceOf(XdplabError);
      expect((e as XdplabError).code).toBe('BAD_INPUT');
      return;
    }
    exercise(btf, new Uint8Array(512).fill(0xa5));
  };

  it('arbitrary bytes, with and without a valid header', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => parsesOrBadInput(bytes)), { numRuns: 300 });
    const header = new BtfWriter().build().subarray(0, 24);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.nat(200), fc.nat(200), (tail, typeLen, strLen) => {
      const bytes = new Uint8Array(24 + tail.length);
      bytes.set(header);
      bytes.set(tail, 24);
      const v = new DataView(bytes.buffer);
      v.setUint32(12, typeLen, true);
      v.setUint32(16, typeLen, true);
      v.setUint32(20, strLen, true);
      parsesOrBadInput(bytes);
    }), { numRuns: 300 });
  });

  it('a fixture and the hand-written blob with words overwritten', () => {
    const seeds = [sectionBytes(fixtureElf('btf-kinds.bpf.o'), '.BTF'), handmadeBtf()];
    fc.assert(fc.property(
      fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.oneof(fc.nat(40), fc.integer({ min: 0, max: 0xffffffff }))), { minLength: 1, maxLength: 4 }),
      (seed, edits) => {
        const bytes = seed.slice();
        const v = new DataView(bytes.buffer);
        for (const [at, value] of edits) v.setUint32((at % (bytes.length >> 2)) * 4, value, true);
        parsesOrBadInput(bytes);
      },
    ), { numRuns: 150 });
  });
});
