/**
 * parseBtfExt on the clang-built fixtures: function info against the ELF symbols, line info
 * against the C sources themselves, and the twelve CO-RE relocations btf-kinds.bpf.c makes
 * (one of each kind, in source order) against the instructions they patch.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseBtf, type Btf } from '../../src/btf/btf.js';
import { parseBtfExt, type BtfExt } from '../../src/btf/ext.js';
import * as K from '../../src/btf/types.js';
import { STT_FUNC } from '../../src/elf/constants.js';
import { XdplabError } from '../../src/errors.js';
import { BTF_FIXTURES, BtfWriter, fixtureDir, fixtureElf, root, sectionBytes } from './support.js';

function load(name: string): { btf: Btf; ext: BtfExt } {
  const elf = fixtureElf(name);
  const btf = parseBtf(sectionBytes(elf, '.BTF'), name);
  return { btf, ext: parseBtfExt(sectionBytes(elf, '.BTF.ext'), btf, `${name} .BTF.ext`) };
}

describe('parseBtfExt on clang-built objects', () => {
  describe.each(BTF_FIXTURES)('%s', (name) => {
    const { btf, ext } = load(name);
    const elf = fixtureElf(name);

    it('has a func_info record for every function symbol, naming its FUNC', () => {
      const fromSymbols = elf.symbols.filter((s) => s.type === STT_FUNC)
        .map((s) => `${elf.sections[s.shndx].name}+${s.value}:${s.name}`).sort();
      const fromBtf = [...ext.funcInfo].flatMap(([section, infos]) => infos.map((f) => {
        expect(btf.typeById(f.typeId).kind).toBe(K.BTF_KIND_FUNC);
        return `${section}+${f.insnOff}:${btf.name(f.typeId)}`;
      })).sort();
      expect(fromBtf).toEqual(fromSymbols);
    });

    it('line info quotes the source lines it names', () => {
      const source = readFileSync(`${root}/${fixtureDir}/${name.replace(/\.o$/, '.c')}`, 'utf8').split('\n');
      let checked = 0;
      for (const [section, lines] of ext.lineInfo) {
        expect(elf.sectionByName(section)).toBeDefined();
        for (const l of lines) {
          expect(l.file).toBe(`./${fixtureDir}/${name.replace(/\.o$/, '.c')}`);
          if (l.line === 0) continue; // compiler-generated code has line 0 and no text
          expect(l.text).toBe(source[l.line - 1]);
          expect(l.column).toBeLessThanOrEqual(source[l.line - 1].length + 1);
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(3);
    });
  });

  const { btf, ext } = load('btf-kinds.bpf.o');

  it('reads the header', () => {
    expect(ext.header).toMatchObject({ magic: 0xeb9f, version: 1, flags: 0, hdrLen: 32, funcInfoOff: 0 });
    expect(ext.header.coreReloLen).toBeGreaterThan(0);
  });

  it('has one CO-RE relocation of each kind, in source order', () => {
    const relos = ext.coreRelos.get('xdp')!;
    expect(relos.map((r) => r.kind)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(relos.map((r) => [btf.toString(r.typeId), r.accessStr])).toEqual([
      ['struct ethhdr___local', '0:2'], ['struct ethhdr___local', '0:2'],
      ['struct tcphdr___local', '0:5'], ['struct tcphdr___local', '0:5'], ['struct tcphdr___local', '0:5'], ['struct tcphdr___local', '0:5'],
      ['struct tcphdr___local', '0'], ['struct tcphdr___local', '0'],
      ['struct ethhdr___local', '0'], ['struct ethhdr___local', '0'],
      ['enum xdp_action', '3'], ['enum xdp_action', '3'],
    ]);
    expect(relos[0].access).toEqual([0, 2]);
    expect([...ext.coreRelos.keys()]).toEqual(['xdp']);
  });

  it('CO-RE relocations point at the instructions they patch', () => {
    // llvm-objdump's listing of the xdp section: "<index>:\t<instruction>".
    const listing = readFileSync(`${root}/${fixtureDir}/btf-kinds.bpf.objdump.txt`, 'utf8');
    const xdp = listing.slice(listing.indexOf('<xdp_kinds>:'));
    const insn = (byteOff: number): string => xdp.match(new RegExp(`\\n\\s+${byteOff / 8}:\\t([^\\n]*)`))![1];
    const relos = ext.coreRelos.get('xdp')!;
    // The h_proto load (offset 12 in ethhdr), then constants: field size 2, exists 1, signed 0, ...
    expect(insn(relos[K.BPF_CORE_FIELD_BYTE_OFFSET].insnOff)).toMatch(/= \*\(u16 \*\)\(r\d \+ 12\)/);
    expect(insn(relos[K.BPF_CORE_FIELD_BYTE_SIZE].insnOff)).toMatch(/= 2$/);
    expect(insn(relos[K.BPF_CORE_FIELD_EXISTS].insnOff)).toMatch(/= 1$/);
    expect(insn(relos[K.BPF_CORE_TYPE_SIZE].insnOff)).toMatch(/= 14$/);
    expect(insn(relos[K.BPF_CORE_ENUMVAL_VALUE].insnOff)).toMatch(/= 3 ll$/); // XDP_TX, in an ld_imm64
    // clang fills in the local type id, which is the relocation's own type.
    expect(insn(relos[K.BPF_CORE_TYPE_ID_LOCAL].insnOff)).toBe(`r2 = ${relos[K.BPF_CORE_TYPE_ID_LOCAL].typeId} ll`);
  });

  it('lineAt finds the line an instruction belongs to', () => {
    const lines = ext.lineInfo.get('xdp')!;
    const second = lines[1];
    expect(ext.lineAt('xdp', second.insnOff)).toEqual({ file: second.file, line: second.line, column: second.column, text: second.text });
    expect(ext.lineAt('xdp', lines[2].insnOff - 8)).toMatchObject({ line: second.line }); // between records
    expect(ext.lineAt('xdp', 1 << 20)).toMatchObject({ line: lines[lines.length - 1].line, text: '}' });
    expect(ext.lineAt('.text', 0)?.text).toBe('\treturn *where + fallback;');
    expect(ext.lineAt('tc', 0)).toBeUndefined();
  });

  it('lineAt is undefined before the first record', () => {
    const w = new BtfWriter();
    const file = w.str('a.c');
    const sec = w.str('xdp');
    const text = w.str('x = 1;');
    const btf2 = parseBtf(w.build());
    const bytes = extBlob({ lineInfo: [16, sec, 1, 8, file, text, (3 << 10) | 5] });
    const ext2 = parseBtfExt(bytes, btf2);
    expect(ext2.lineAt('xdp', 0)).toBeUndefined();
    expect(ext2.lineAt('xdp', 8)).toEqual({ file: 'a.c', line: 3, column: 5, text: 'x = 1;' });
    expect(ext2.lineAt('xdp', 800)).toEqual({ file: 'a.c', line: 3, column: 5, text: 'x = 1;' });
  });
});

/** A .BTF.ext blob with the given info sections, each [record size, (section name, count, records…)…]. */
function extBlob(s: { funcInfo?: number[]; lineInfo?: number[]; core?: number[]; hdrLen?: number; magic?: number }): Uint8Array {
  const hdrLen = s.hdrLen ?? 32;
  const parts = [s.funcInfo ?? [], s.lineInfo ?? [], s.core ?? []];
  const words = parts.flat();
  const out = new Uint8Array(hdrLen + words.length * 4);
  const v = new DataView(out.buffer);
  v.setUint16(0, s.magic ?? 0xeb9f, true);
  v.setUint8(2, 1);
  v.setUint32(4, hdrLen, true);
  let off = 0;
  parts.forEach((p, i) => {
    if (8 + i * 8 + 8 <= hdrLen) {
      v.setUint32(8 + i * 8, off, true);
      v.setUint32(12 + i * 8, p.length * 4, true);
    }
    off += p.length * 4;
  });
  words.forEach((w, i) => v.setUint32(hdrLen + i * 4, w >>> 0, true));
  return out;
}

describe('parseBtfExt on malformed input', () => {
  const w = new BtfWriter();
  const sec = w.str('xdp');
  const ac = w.str('0:1');
  const bad = w.str('x:1');
  w.type(K.BTF_KIND_INT, 'int', 4, [32]);
  const btf = parseBtf(w.build());

  it('parses a well-formed blob, old 24-byte header included', () => {
    const ext = parseBtfExt(extBlob({ funcInfo: [8, sec, 1, 0, 1], core: [16, sec, 1, 8, 1, ac, 0] }), btf);
    expect(ext.funcInfo.get('xdp')).toEqual([{ insnOff: 0, typeId: 1 }]);
    expect(ext.coreRelos.get('xdp')).toEqual([{ insnOff: 8, typeId: 1, accessStrOff: ac, accessStr: '0:1', access: [0, 1], kind: 0 }]);
    const old = parseBtfExt(extBlob({ hdrLen: 24, funcInfo: [8, sec, 1, 0, 1] }), btf);
    expect(old.header.coreReloLen).toBe(0);
    expect(old.coreRelos.size).toBe(0);
  });

  it('keeps records larger than it knows, reading the known prefix', () => {
    const ext = parseBtfExt(extBlob({ funcInfo: [12, sec, 2, 0, 1, 99, 8, 1, 99] }), btf);
    expect(ext.funcInfo.get('xdp')).toEqual([{ insnOff: 0, typeId: 1 }, { insnOff: 8, typeId: 1 }]);
  });

  it.each<[string, () => Uint8Array, RegExp]>([
    ['truncated', () => new Uint8Array(4), /truncated header: 4 bytes/],
    ['bad magic', () => extBlob({ magic: 0x1234 }), /bad magic 0x1234 at offset 0x0/],
    ['short header length', () => extBlob({ hdrLen: 16 }), /bad header length 16/],
    ['record size too small', () => extBlob({ funcInfo: [4, sec, 1, 0] }), /func_info record size 4 at offset 0x20 is invalid/],
    ['record size not a multiple of 4', () => extBlob({ lineInfo: [18, sec, 1, 0, 0, 0, 0, 0] }), /line_info record size 18/],
    ['group without records', () => extBlob({ funcInfo: [8, sec, 0] }), /func_info group for section 'xdp' at offset 0x24 has no records/],
    ['records past the end', () => extBlob({ funcInfo: [8, sec, 3, 0, 1] }), /3 records of 8 bytes run past the end/],
    ['truncated group header', () => extBlob({ funcInfo: [8, sec] }), /group at offset 0x24 is truncated/],
    ['section name out of range', () => extBlob({ funcInfo: [8, 999, 1, 0, 1] }), /func_info section name offset 0x3e7 at offset 0x24 is out of range/],
    ['type id out of range', () => extBlob({ funcInfo: [8, sec, 1, 0, 7] }), /func_info record 0 of section 'xdp': type id 7 at offset 0x30 is out of range/],
    ['line string out of range', () => extBlob({ lineInfo: [16, sec, 1, 0, 0, 999, 0] }), /line offset 0x3e7/],
    ['malformed access string', () => extBlob({ core: [16, sec, 1, 0, 1, bad, 0] }), /malformed access string 'x:1'/],
    ['section past the end', () => { const b = extBlob({ funcInfo: [8, sec, 1, 0, 1] }); new DataView(b.buffer).setUint32(12, 400, true); return b; }, /func_info section .* runs past the end/],
  ])('%s', (_, make, pattern) => {
    let error: unknown;
    try {
      parseBtfExt(make(), btf, 'broken.o .BTF.ext');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(XdplabError);
    expect((error as XdplabError).message).toMatch(/^broken\.o \.BTF\.ext: /);
    expect((error as XdplabError).message).toMatch(pattern);
  });
});
