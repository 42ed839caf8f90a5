/**
 * The assembler reads LLVM's syntax (issue 10: `asm` could not read the `r0 = 0` that `disasm`
 * prints by default): a listing of every shipped object assembles back to its sections' bytes —
 * except where LLVM's text does not say (a local call with a known offset prints as `call N`,
 * as helper N's does, and reads back as the helper call) — and to the same listing; each form
 * of LLVM's syntax gives what the conformance syntax gives.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseElf } from '../../src/elf/elf.js';
import { assemble } from '../../src/isa/asm.js';
import { disassembleLines } from '../../src/isa/disasm.js';
import { decodeProgram } from '../../src/isa/instruction.js';
import { disassembleObject } from '../../src/spec/objdump.js';
import { repoRoot } from '../support/conformance.js';

const dirs = ['test/fixtures/bpf', 'topologies/edge-firewall', 'topologies/l3-router', 'topologies/l4-lb', 'topologies/tc-nat-vlan', 'bench/programs'];
// The hand-written object of llvm-objdump's corner cases holds data and undecodable bytes.
const objects = dirs.flatMap((d) => readdirSync(path.join(repoRoot, d)).filter((f) => f.endsWith('.bpf.o') && f !== 'objdump-edges.bpf.o').map((f) => `${d}/${f}`));

describe('asm reads LLVM\'s syntax: every shipped object round-trips', () => {
  it.each(objects)('%s', (file) => {
    const elf = parseElf(new Uint8Array(readFileSync(path.join(repoRoot, file))), file);
    const listing = disassembleObject(elf);
    const parts = listing.split(/\nDisassembly of section (.*):\n/);
    expect(parts.length).toBeGreaterThan(1);
    for (let i = 1; i < parts.length; i += 2) {
      const data = elf.sectionByName(parts[i])!.data;
      const bytes = assemble(parts[i + 1]); // the section's listing, symbol lines, labels and all
      expect(bytes.length, parts[i]).toBe(data.length);
      for (let at = 0; at < data.length; at += 8) {
        if (bytes[at] === data[at] && bytes.subarray(at, at + 8).every((b, k) => b === data[at + k])) continue;
        // Only a local call with a known offset may differ: its src (BPF_PSEUDO_CALL), which the text does not show.
        expect([data[at], data[at + 1] >> 4, bytes[at + 1] >> 4], `${parts[i]} slot ${at / 8}`).toEqual([0x85, 1, 0]);
        expect(bytes.subarray(at + 2, at + 8)).toEqual(data.subarray(at + 2, at + 8));
      }
    }
    // And the listing of what was assembled is the listing.
    expect(assemble(listing).length).toBe(parts.filter((_, i) => i % 2 === 1).reduce((n, s) => n + elf.sectionByName(s)!.data.length, 0));
  });

  it('a raw program\'s listing, with or without its bytes, assembles to the program', () => {
    const program = assemble(readFileSync(path.join(repoRoot, 'examples', 'ssh-filter.s'), 'utf8'));
    for (const raw of [undefined, program]) {
      const listing = disassembleLines(decodeProgram(program), 'llvm', raw).join('\n');
      expect(assemble(listing)).toEqual(program);
    }
  });
});

// [LLVM's syntax, the conformance syntax of the same instruction]
const FORMS: Array<[string, string]> = [
  ['r0 = 0', 'mov %r0, 0'], ['w0 = 1', 'mov32 %r0, 1'], ['r1 = r6', 'mov %r1, %r6'], ['w2 = w3', 'mov32 %r2, %r3'],
  ['r1 += -4', 'add %r1, -4'], ['w2 -= w1', 'sub32 %r2, %r1'], ['r3 s>>= 2', 'arsh %r3, 2'], ['r1 s/= r2', 'sdiv %r1, %r2'],
  ['w1 s%= 3', 'smod32 %r1, 3'], ['r1 = -r1', 'neg %r1'], ['r1 = (s8)r2', 'movsx864 %r1, %r2'], ['r1 = be16 r1', 'be16 %r1'],
  ['r2 = bswap64 r2', 'bswap64 %r2'], ['if r1 > r2 goto +24 <LBB0_7>', 'jgt %r1, %r2, +24'], ['if w2 s< -1 goto -3', 'jslt32 %r2, -1, -3'],
  ['if r0 & 0x10 goto +1', 'jset %r0, 0x10, +1'], ['goto -9 <LBB0_1>', 'ja -9'], ['gotol +70000', 'ja32 +70000'],
  ['r1 = 0 ll', 'lddw %r1, 0x0'], ['r2 = -1 ll', 'lddw %r2, 0xffffffffffffffff'], ['ld_pseudo\tr1, 2, 7', 'lddw %r1, map_value 7, 0'],
  ['r2 = *(u32 *)(r1 + 4)', 'ldxw %r2, [%r1+4]'], ['r3 = *(s16 *)(r10 - 8)', 'ldxsh %r3, [%r10-8]'], ['*(u64 *)(r10 - 8) = r1', 'stxdw [%r10-8], %r1'],
  ['*(u8 *)(r2 + 1) = 7', 'stb [%r2+1], 7'], ['r0 = *(u16 *)skb[12]', 'ldabsh 12'], ['r0 = *(u8 *)skb[r3]', 'ldindb %r3, 0'],
  ['lock *(u64 *)(r0 + 0) += r1', 'lock add [%r0+0], %r1'], ['lock *(u32 *)(r5 + 0) += r2', 'lock add32 [%r5+0], %r2'],
  ['r1 = atomic_fetch_or((u64 *)(r2 + 8), r1)', 'lock fetch or [%r2+8], %r1'], ['r3 = xchg_64(r1 + 0, r3)', 'lock xchg [%r1+0], %r3'],
  ['w0 = cmpxchg32_32(r1 - 4, w0, w2)', 'lock cmpxchg32 [%r1-4], %r2'], ['call 1', 'call 1'], ['r0 = 0\ncall -1', 'mov %r0, 0\ncall local -1'], // a local call among LLVM lines
  ['call -1', 'call -1'], // alone, the suite's helper -1
  ['callx r5', 'call %r5'], ['exit', 'exit'],
  ['      12:\tb7 00 00 00 00 00 00 00\tr0 = 0', 'mov %r0, 0'], // a listing line: address and bytes ignored
];

describe('LLVM\'s syntax, form by form', () => {
  it.each(FORMS)('%s', (llvm, conformance) => {
    expect(assemble(llvm)).toEqual(assemble(conformance));
  });

  it.each([
    ['r0 = = 1', "1:1: 'r0 = = 1' is not an instruction in LLVM's syntax"],
    ['if r1 ~ r2 goto +1', "1:1: unknown comparison '~'"],
  ])('refuses %j with line and column', (text, message) => {
    expect(() => assemble(text)).toThrow(message);
  });
});
