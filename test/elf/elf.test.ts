import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { XdplabError } from '../../src/errors.js';
import {
  EM_BPF, ET_REL, SHF_ALLOC, SHF_EXCLUDE, SHF_EXECINSTR, SHF_INFO_LINK, SHF_MERGE, SHF_STRINGS, SHF_WRITE, SHN_ABS,
  SHT_NOBITS, SHT_PROGBITS, SHT_REL, SHT_STRTAB, SHT_SYMTAB, STB_GLOBAL, STB_LOCAL, STT_FILE, STT_FUNC, STT_NOTYPE,
  STT_OBJECT, STT_SECTION, STV_DEFAULT, R_BPF_64_32, R_BPF_64_64, R_BPF_64_ABS32, R_BPF_64_ABS64, R_BPF_64_NODYLD32,
} from '../../src/elf/constants.js';
import { parseElf, type ElfFile } from '../../src/elf/elf.js';
import { disassembleObject } from '../../src/spec/objdump.js';
import { titled } from '../support/skip.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(`${root}/test/fixtures/bpf/${name}`));
const FIXTURES = ['xdp-count.bpf.o', 'subprog.bpf.o', 'globals.bpf.o', 'objdump-edges.bpf.o'];

describe('parseElf on clang-built objects', () => {
  it('reads the header', () => {
    const elf = parseElf(fixture('subprog.bpf.o'), 'subprog.bpf.o');
    expect(elf).toMatchObject({ fileName: 'subprog.bpf.o', class: 2, data: 1, machine: EM_BPF, type: ET_REL });
  });

  it('reads the sections of the subprogram object', () => {
    const elf = parseElf(fixture('subprog.bpf.o'));
    const pick = (name: string) => {
      const s = elf.sectionByName(name)!;
      return { index: s.index, type: s.type, flags: s.flags, size: s.size, link: s.link, info: s.info, addralign: s.addralign, entsize: s.entsize };
    };
    const symtab = elf.sectionByName('.symtab')!;
    expect(pick('.text')).toEqual({ index: 2, type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, size: 0x38, link: 0, info: 0, addralign: 8, entsize: 0 });
    expect(pick('xdp')).toEqual({ index: 3, type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, size: 0x50, link: 0, info: 0, addralign: 8, entsize: 0 });
    expect(pick('.relxdp')).toEqual({ index: 4, type: SHT_REL, flags: SHF_INFO_LINK, size: 0x10, link: symtab.index, info: 3, addralign: 8, entsize: 16 });
    expect(pick('tc')).toMatchObject({ index: 5, size: 0x68 });
    expect(pick('license')).toMatchObject({ flags: SHF_WRITE | SHF_ALLOC, size: 4 });
    expect(symtab.type).toBe(SHT_SYMTAB);
    expect(elf.sections[symtab.link].type).toBe(SHT_STRTAB);
    expect(new TextDecoder().decode(elf.sectionByName('license')!.data)).toBe('GPL\0');
    expect(elf.sectionByName('xdp')!.data.length).toBe(0x50);
    expect(elf.sectionByName('no such section')).toBeUndefined();
  });

  it('reads the symbols', () => {
    const elf = parseElf(fixture('subprog.bpf.o'));
    const byName = (name: string) => elf.symbols.find((s) => s.name === name)!;
    expect(elf.symbols[0]).toEqual({ index: 0, name: '', value: 0, size: 0, type: STT_NOTYPE, bind: STB_LOCAL, visibility: STV_DEFAULT, shndx: 0 });
    expect(byName('subprog.bpf.c')).toMatchObject({ type: STT_FILE, shndx: SHN_ABS });
    expect(byName('classify')).toMatchObject({ value: 0, size: 56, type: STT_FUNC, bind: STB_LOCAL, shndx: 2 });
    expect(byName('xdp_len')).toMatchObject({ value: 0, size: 80, type: STT_FUNC, bind: STB_GLOBAL, shndx: 3 });
    expect(byName('tc_len')).toMatchObject({ size: 104, type: STT_FUNC, bind: STB_GLOBAL, shndx: 5 });
    expect(byName('LBB1_2')).toMatchObject({ value: 0x18, type: STT_NOTYPE, shndx: 2 });
    expect(byName('_license')).toMatchObject({ size: 4, type: STT_OBJECT, shndx: 7 });
    const sectionSymbol = elf.symbols.find((s) => s.type === STT_SECTION && s.shndx === 2)!;
    expect(sectionSymbol.name).toBe('');
    expect(elf.symbolName(sectionSymbol)).toBe('.text');
  });

  it('reads the relocations: a bpf-to-bpf call from xdp and from tc to .text', () => {
    const elf = parseElf(fixture('subprog.bpf.o'));
    for (const [rel, target, offset] of [['.relxdp', 'xdp', 0x20], ['.reltc', 'tc', 0x18]] as const) {
      const relocations = elf.relocations(elf.sectionByName(rel)!);
      expect(relocations).toHaveLength(1);
      const [r] = relocations;
      expect(r).toMatchObject({ offset, type: R_BPF_64_32 });
      expect(r.section.name).toBe(target);
      expect(elf.symbolName(elf.symbols[r.symbol])).toBe('.text');
      expect(elf.relocationsFor(elf.sectionByName(target)!)).toEqual(relocations);
    }
    expect(elf.relocations(elf.sectionByName('xdp')!)).toEqual([]);
  });

  it('reads map and global-data relocations', () => {
    const count = parseElf(fixture('xdp-count.bpf.o'));
    const [map] = count.relocationsFor(count.sectionByName('xdp')!);
    expect(map).toMatchObject({ offset: 0xa0, type: R_BPF_64_64 });
    expect(count.symbols[map.symbol]).toMatchObject({ name: 'proto_count', type: STT_OBJECT, size: 32, shndx: count.sectionByName('.maps')!.index });

    const globals = parseElf(fixture('globals.bpf.o'));
    const rels = globals.relocationsFor(globals.sectionByName('xdp')!);
    const named = rels.map((r) => {
      const sym = globals.symbols[r.symbol];
      return [r.offset, r.type, sym.name, globals.sections[sym.shndx].name, sym.value];
    });
    expect(named).toEqual([
      [0x20, R_BPF_64_64, 'scan_bytes', '.rodata', 0],
      [0x30, R_BPF_64_64, 'drop_byte', '.rodata', 4],
      [0x70, R_BPF_64_64, 'packets_seen', '.data', 0],
      [0x98, R_BPF_64_64, 'bytes_summed', '.bss', 0],
      [0xc8, R_BPF_64_64, 'last_len', '.bss', 8],
    ]);
    const bss = globals.sectionByName('.bss')!;
    expect(bss).toMatchObject({ type: SHT_NOBITS, size: 12 });
    expect(bss.data.length).toBe(0);
  });

  it('reads the debug-info relocation types', () => {
    const elf = parseElf(fixture('subprog.bpf.o'));
    const types = new Set(elf.sections.flatMap((s) => elf.relocations(s).map((r) => r.type)));
    expect([...types].sort((a, b) => a - b)).toEqual([R_BPF_64_ABS64, R_BPF_64_ABS32, R_BPF_64_NODYLD32, R_BPF_64_32]);
  });

  it('gives plain Uint8Array views of the input, never copies', () => {
    const buffer = readFileSync(`${root}/test/fixtures/bpf/subprog.bpf.o`);
    const xdp = parseElf(buffer).sectionByName('xdp')!;
    expect(Object.getPrototypeOf(xdp.data)).toBe(Uint8Array.prototype);
    expect(xdp.data.buffer).toBe(buffer.buffer);
  });
});

// ---- cross-check against llvm-readelf ---------------------------------------------------

function llvmReadelf(path: string): string | undefined {
  try {
    return execFileSync('llvm-readelf', ['-S', '-s', '-r', path], { encoding: 'utf8' });
  } catch {
    return undefined;
  }
}
const readelfMissing = llvmReadelf(`${root}/test/fixtures/bpf/subprog.bpf.o`) === undefined;

const SECTION_TYPES: Record<string, number> = { NULL: 0, PROGBITS: 1, SYMTAB: 2, STRTAB: 3, NOBITS: 8, REL: 9, LLVM_ADDRSIG: 0x6fff4c03 };
const FLAG_LETTERS: ReadonlyArray<readonly [number, string]> = [
  [SHF_WRITE, 'W'], [SHF_ALLOC, 'A'], [SHF_EXECINSTR, 'X'], [SHF_MERGE, 'M'], [SHF_STRINGS, 'S'], [SHF_INFO_LINK, 'I'], [SHF_EXCLUDE, 'E'],
];
const SYMBOL_TYPES = ['NOTYPE', 'OBJECT', 'FUNC', 'SECTION', 'FILE'];
const BINDS = ['LOCAL', 'GLOBAL', 'WEAK'];
const sortLetters = (s: string): string => [...s].sort().join('');

/** What llvm-readelf prints, rebuilt from our parse, in the same row shapes. */
function ourRows(elf: ElfFile) {
  const sections = elf.sections.map((s) => [
    s.index, s.name, s.type, s.addr, s.offset, s.size, s.entsize,
    sortLetters(FLAG_LETTERS.filter(([bit]) => s.flags & bit).map(([, l]) => l).join('')), s.link, s.info, s.addralign,
  ]);
  const symbols = elf.symbols.map((s) => [
    s.index, s.value, s.size, SYMBOL_TYPES[s.type], BINDS[s.bind], s.shndx === 0 ? 'UND' : s.shndx === SHN_ABS ? 'ABS' : String(s.shndx), elf.symbolName(s),
  ]);
  const relocations = elf.sections.flatMap((s) => elf.relocations(s).map((r) => [s.name, r.offset, r.symbol, r.type]));
  return { sections, symbols, relocations };
}

function readelfRows(text: string) {
  const sections: unknown[][] = [];
  const symbols: unknown[][] = [];
  const relocations: unknown[][] = [];
  const RELOC_TYPES: Record<string, number> = { R_BPF_64_64, R_BPF_64_ABS64, R_BPF_64_ABS32, R_BPF_64_NODYLD32, R_BPF_64_32 };
  let relSection = '';
  for (const line of text.split('\n')) {
    let m = /^\s*\[\s*(\d+)\] (.*?)\s+([A-Z_]+)\s+([0-9a-f]{16}) ([0-9a-f]+) ([0-9a-f]+) ([0-9a-f]+) +([A-Za-z]*) +(\d+) +(\d+) +(\d+)$/.exec(line);
    if (m) {
      sections.push([+m[1], m[2], SECTION_TYPES[m[3]], parseInt(m[4], 16), parseInt(m[5], 16), parseInt(m[6], 16), parseInt(m[7], 16), sortLetters(m[8]), +m[9], +m[10], +m[11]]);
      continue;
    }
    m = /^Relocation section '(.*)' at offset/.exec(line);
    if (m) relSection = m[1];
    m = /^([0-9a-f]{16})\s+([0-9a-f]{8})([0-9a-f]{8})\s+(R_BPF_\w+)/.exec(line);
    if (m) {
      relocations.push([relSection, parseInt(m[1], 16), parseInt(m[2], 16), RELOC_TYPES[m[4]]]);
      continue;
    }
    m = /^\s*(\d+): ([0-9a-f]{16})\s+(\d+) (\w+)\s+(\w+)\s+\w+\s+(\w+) ?(.*)$/.exec(line);
    if (m) symbols.push([+m[1], parseInt(m[2], 16), +m[3], m[4], m[5], m[6], m[7]]);
  }
  return { sections, symbols, relocations };
}

describe.skipIf(readelfMissing).each(FIXTURES)(titled('parseElf against llvm-readelf -S -s -r: %s', readelfMissing ? 'llvm-readelf is not on PATH' : undefined), (name) => {
  it('finds the same sections, symbols and relocations', () => {
    const expected = readelfRows(llvmReadelf(`${root}/test/fixtures/bpf/${name}`)!);
    const actual = ourRows(parseElf(fixture(name), name));
    expect(expected.sections.length).toBeGreaterThan(3);
    expect(actual.sections).toEqual(expected.sections);
    expect(actual.symbols).toEqual(expected.symbols);
    expect(actual.relocations).toEqual(expected.relocations);
  });
});

// ---- malformed input ----------------------------------------------------------------------

/** A writable copy of a fixture with the offsets of its parts, for building bad files. */
function patchable(name = 'subprog.bpf.o') {
  const bytes = fixture(name).slice();
  const view = new DataView(bytes.buffer);
  const shoff = Number(view.getBigUint64(40, true));
  const elf = parseElf(bytes);
  const shdr = (index: number): number => shoff + index * 64;
  return { bytes, view, shoff, elf, shdr, section: (n: string) => elf.sectionByName(n)! };
}

function parseError(bytes: Uint8Array): XdplabError {
  try {
    parseElf(bytes, 'bad.o');
  } catch (err) {
    expect(err).toBeInstanceOf(XdplabError);
    expect((err as XdplabError).code).toBe('BAD_INPUT');
    expect((err as XdplabError).message.startsWith('bad.o: ')).toBe(true);
    return err as XdplabError;
  }
  throw new Error('parseElf accepted the malformed input');
}

describe('parseElf on malformed input', () => {
  const cases: Array<[string, () => Uint8Array, RegExp]> = [
    ['bad magic', () => { const p = patchable(); p.bytes[1] = 0x46; return p.bytes; }, /bad magic: not an ELF file \(starts with 7f 46 4c 46\)/],
    ['an empty file', () => new Uint8Array(0), /bad magic: not an ELF file \(starts with nothing\)/],
    ['ELF32', () => { const p = patchable(); p.bytes[4] = 1; return p.bytes; }, /not ELF64: EI_CLASS is 1 \(ELF32\)/],
    ['big-endian', () => { const p = patchable(); p.bytes[5] = 2; return p.bytes; }, /not little-endian: EI_DATA is 2 \(big-endian, bpfeb\)/],
    ['a foreign machine', () => { const p = patchable(); p.view.setUint16(18, 62, true); return p.bytes; }, /machine 62 is not EM_BPF \(247\)/],
    ['a truncated header', () => fixture('subprog.bpf.o').slice(0, 40), /truncated ELF header: 40 bytes, an ELF64 header needs 64/],
    ['a section header table past the end', () => { const p = patchable(); p.view.setBigUint64(40, BigInt(p.bytes.length - 10), true); return p.bytes; }, /section header table at offset 0x[0-9a-f]+ is out of the file/],
    ['a file cut inside its section headers', () => { const p = patchable(); return p.bytes.slice(0, p.shoff + 100); }, /section header table \(offset 0x[0-9a-f]+, 29 entries of 64 bytes\) is out of the file \(0x[0-9a-f]+ bytes\)/],
    ['a bad section header entry size', () => { const p = patchable(); p.view.setUint16(58, 40, true); return p.bytes; }, /section header entry size 40 is not 64/],
    ['section data past the end', () => { const p = patchable(); p.view.setBigUint64(p.shdr(3) + 24, 0x100000n, true); return p.bytes; }, /section 3 'xdp': data \(offset 0x100000, size 0x50\) is out of the file/],
    ['a huge section size', () => { const p = patchable(); p.view.setBigUint64(p.shdr(5) + 32, 0xffffffffffffffffn, true); return p.bytes; }, /section 5: sh_size 0xffffffffffffffff is too large/],
    ['a string table index out of range', () => { const p = patchable(); p.view.setUint16(62, 200, true); return p.bytes; }, /bad string table index: e_shstrndx 200 is out of range \(29 sections\)/],
    ['a string table index naming code', () => { const p = patchable(); p.view.setUint16(62, 3, true); return p.bytes; }, /bad string table index: e_shstrndx 3 names a section of type 1, not SHT_STRTAB/],
    ['a section name out of range', () => { const p = patchable(); p.view.setUint32(p.shdr(3), 0x10000, true); return p.bytes; }, /section 3: name offset 0x10000 is out of range of the section name table/],
    ['a symbol name out of range', () => { const p = patchable(); p.view.setUint32(p.section('.symtab').offset + 4 * 24, 0xffff, true); return p.bytes; }, /section 28 '\.symtab': symbol 4: name offset 0xffff is out of range of string table section 1 '\.strtab'/],
    ['a symbol in no section', () => { const p = patchable(); p.view.setUint16(p.section('.symtab').offset + 4 * 24 + 6, 99, true); return p.bytes; }, /symbol 4 'classify': section index 99 is out of range \(29 sections\)/],
    ['a symbol table with a bad string table', () => { const p = patchable(); p.view.setUint32(p.shdr(28) + 40, 3, true); return p.bytes; }, /section 28 '\.symtab': bad string table index 3/],
    ['a relocation symbol index out of range', () => { const p = patchable(); p.view.setUint32(p.section('.relxdp').offset + 12, 999, true); return p.bytes; }, /section 4 '\.relxdp': relocation 0 at offset 0x20: symbol index 999 is out of range \(23 symbols\)/],
    ['a relocation offset past its section', () => { const p = patchable(); p.view.setBigUint64(p.section('.relxdp').offset, 0x50n, true); return p.bytes; }, /section 4 '\.relxdp': relocation 0 \(type 10\) at offset 0x50 is out of its section 3 'xdp' \(0x50 bytes\)/],
    ['a relocated field that overhangs its section', () => { const p = patchable(); p.view.setBigUint64(p.section('.relxdp').offset, 0x4cn, true); return p.bytes; }, /relocation 0 \(type 10\) at offset 0x4c is out of its section 3 'xdp'/],
    ['a relocation section for no section', () => { const p = patchable(); p.view.setUint32(p.shdr(4) + 44, 77, true); return p.bytes; }, /section 4 '\.relxdp': applies to section 77 \(sh_info\), which is out of range/],
    ['a relocation section with a bad symbol table', () => { const p = patchable(); p.view.setUint32(p.shdr(4) + 40, 1, true); return p.bytes; }, /section 4 '\.relxdp': bad symbol table index 1/],
    ['a relocation section of odd size', () => { const p = patchable(); p.view.setBigUint64(p.shdr(4) + 32, 0x11n, true); return p.bytes; }, /section 4 '\.relxdp': size 0x11 is not a multiple of 16/],
  ];

  it.each(cases)('%s', (_, build, message) => {
    expect(parseError(build()).message).toMatch(message);
  });

  it('never throws anything but XdplabError, and never writes to its input', () => {
    const valid = fixture('subprog.bpf.o');
    const { shoff } = patchable();
    const elf = parseElf(valid);
    const regions = [
      [0, 64],
      [shoff, valid.length],
      ...['.symtab', '.relxdp', '.reltc', '.strtab', 'xdp'].map((n) => {
        const s = elf.sectionByName(n)!;
        return [s.offset, s.offset + s.size];
      }),
    ];
    const position = fc.oneof(
      ...regions.map(([from, to]) => fc.integer({ min: from, max: to - 1 })),
      fc.integer({ min: 0, max: valid.length - 1 }),
    );
    const interesting = [0, 1, 2, 3, 8, 9, 0x10, 0x18, 0x40, 0x7f, 0x80, 0xfe, 0xff];
    const mutation = fc.oneof(
      fc.record({ at: position, byte: fc.oneof(fc.constantFrom(...interesting), fc.integer({ min: 0, max: 255 })) }),
      fc.record({ at: position, word: fc.constantFrom(0, 1, 0xff00, 0xffff, 0x7fffffff, 0xffffffff, valid.length, valid.length - 1) }),
    );
    const mutant = fc.record({
      mutations: fc.array(mutation, { minLength: 1, maxLength: 6 }),
      // A third of the mutants are also cut short, anywhere.
      cut: fc.oneof({ arbitrary: fc.constant(null), weight: 2 }, { arbitrary: fc.integer({ min: 0, max: valid.length }), weight: 1 }),
    });
    fc.assert(
      fc.property(mutant, ({ mutations, cut }) => {
        const bytes = valid.slice();
        const view = new DataView(bytes.buffer);
        for (const m of mutations) {
          if ('byte' in m) bytes[m.at] = m.byte;
          else if (m.at + 4 <= bytes.length) view.setUint32(m.at, m.word >>> 0, true);
        }
        const input = cut === null ? bytes : bytes.slice(0, cut);
        const before = Buffer.from(input);
        try {
          const parsed = parseElf(input, 'mutant.o');
          for (const s of parsed.sections) parsed.relocations(s);
          disassembleObject(parsed);
        } catch (err) {
          if (!(err instanceof XdplabError)) throw err;
        }
        // (compared with Buffer.equals: expect().toEqual on kilobytes is slow)
        if (!before.equals(input)) throw new Error('parseElf or disassembleObject wrote to its input');
      }),
      { numRuns: 3000 },
    );
  });
});
