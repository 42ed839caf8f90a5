/**
 * dumpBtf against `bpftool btf dump file X` (raw format), compared as whole texts: the outputs
 * recorded with bpftool v7.1 in test/btf/expected/ always, and the live bpftool when it is on
 * PATH. The hand-written blob (written to a temporary raw BTF file for bpftool) covers the
 * kinds and encodings clang 14 does not emit: ENUM64, signed enums, CHAR/BOOL/unknown int
 * encodings, extern and unknown linkages, an empty name at a non-zero offset.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBtf, type Btf } from '../../src/btf/btf.js';
import { dumpBtf } from '../../src/btf/dump.js';
import { handmadeBtf } from './handmade.js';
import { BTF_FIXTURES, bpftool, bpftoolMissing, fixtureDir, fixtureElf, root, sectionBytes } from './support.js';
import { titled } from '../support/skip.js';

const skipReason = bpftoolMissing();

const recorded = (name: string): string => readFileSync(`${root}/test/btf/expected/${name}.btf.txt`, 'utf8');
const fixtureBtf = (name: string): Btf => parseBtf(sectionBytes(fixtureElf(name), '.BTF'), name);

describe('dumpBtf', () => {
  describe.each(BTF_FIXTURES)('%s', (name) => {
    it('equals the recorded bpftool output', () => {
      expect(dumpBtf(fixtureBtf(name))).toBe(recorded(name.replace(/\.bpf\.o$/, '')));
    });

    it.skipIf(skipReason !== undefined)(titled('equals bpftool btf dump file', skipReason), () => {
      expect(dumpBtf(fixtureBtf(name))).toBe(bpftool(['btf', 'dump', 'file', `${fixtureDir}/${name}`]));
    });
  });

  describe('hand-written blob', () => {
    it('equals the recorded bpftool output', () => {
      expect(dumpBtf(parseBtf(handmadeBtf()))).toBe(recorded('handmade'));
    });

    it.skipIf(skipReason !== undefined)(titled('equals bpftool btf dump file on the raw blob', skipReason), () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'xdplab-btf-'));
      try {
        const file = path.join(dir, 'handmade.btf');
        writeFileSync(file, handmadeBtf());
        expect(dumpBtf(parseBtf(handmadeBtf()))).toBe(bpftool(['btf', 'dump', 'file', file]));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  // The quirks, spelled out, so a failure says which one broke.
  it('prints bpftool quirks', () => {
    const text = dumpBtf(parseBtf(handmadeBtf()));
    expect(text).toContain("[26] VAR 'counter' type_id=9, linkage=static\n");
    expect(text).toContain("[14] FUNC 'printk' type_id=13 linkage=extern\n");
    expect(text).toContain("[28] VAR '' type_id=20, linkage=(unknown)\n");
    expect(text).toContain("\t'NEG' val=-5\n");
    expect(text).toContain("\t'W_TOP' val=18446744073709551615ULL\n");
    expect(text).toContain("\t'S_MINUS' val=-2LL\n");
    expect(text).toContain("\t'bits' type_id=1 bits_offset=104 bitfield_size=5\n");
    expect(text).toContain("\ttype_id=28 offset=16 size=8 (VAR '')\n");
    expect(text).toContain("\t'(anon)' type_id=0\n");
    expect(dumpBtf(parseBtf(new Uint8Array([0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])))).toBe('');
  });
});
