import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-cli-'));
const file = (name: string, text: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

const SUM = 'mov %r0, 0\nldxb %r1, [%r1+0]\nloop:\nadd %r0, %r1\nsub %r1, 1\njne %r1, 0, loop\nexit\n';

describe('xdplab asm / disasm', () => {
  it('assembles to bytes that disassemble back to the same program in both syntaxes', async () => {
    const src = file('sum.s', SUM);
    const bin = path.join(dir, 'sum.bin');
    const asm = await cli(['asm', src, '-o', bin]);
    expect(asm.code).toBe(0);
    expect(readFileSync(bin).length).toBe(6 * 8);

    const llvm = await cli(['disasm', bin]);
    expect(llvm.stdout).toBe([
      '       0:\tr0 = 0', '       1:\tr1 = *(u8 *)(r1 + 0)', '       2:\tr0 += r1', '       3:\tr1 -= 1',
      '       4:\tif r1 != 0 goto -3', '       5:\texit', '',
    ].join('\n'));

    const text = (await cli(['disasm', bin, '--syntax', 'asm'])).stdout.replace(/^ *\d+:\t/gm, '');
    const again = path.join(dir, 'again.bin');
    expect((await cli(['asm', file('again.s', text), '-o', again])).code).toBe(0);
    expect(readFileSync(again)).toEqual(readFileSync(bin));
  });

  it('names file, line and column of a syntax error, exits 2 and writes nothing', async () => {
    const out = path.join(dir, 'bad.bin');
    const r = await cli(['asm', file('bad.s', 'mov %r0, 1\nadd %r0, %r11\nexit\n'), '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.s:2:\d+: .*r11/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('rejects undecodable bytes with the pc and exits 2', async () => {
    const r = await cli(['disasm', file('junk.bin', '\x07\x00\x00\x00\x01\x00\x00\x00\x18\x01\x00\x00\x00\x00\x00\x00')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pc 1: invalid BPF_LD_IMM insn');
  });

  it('says which file is missing', async () => {
    const r = await cli(['disasm', path.join(dir, 'nope.bin')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope.bin: no such file');
  });
});

describe('xdplab exec', () => {
  it('runs assembly on the given memory and prints r0', async () => {
    const r = await cli(['exec', file('sum2.s', SUM), '--mem', '04']);
    expect(r).toMatchObject({ code: 0, stdout: '0xa\n' });
  });

  it('prints JSON with the instruction count and the memory after the run', async () => {
    const r = await cli(['exec', file('store.s', 'stb [%r1+1], 0x7f\nmov %r0, %r2\nexit\n'), '--mem', '00 00 00', '--json']);
    expect(JSON.parse(r.stdout)).toEqual({ r0: '0x3', executed: 3, mem: '007f00' });
  });

  it('runs a .data test with its own memory', async () => {
    const data = file('t.data', '-- asm\nldxh %r0, [%r1+1]\nexit\n-- mem\n11 22 33\n-- result\n0x3322\n');
    expect((await cli(['exec', data])).stdout).toBe('0x3322\n');
  });

  it('exits 1 on a fault, naming the pc and instruction', async () => {
    const r = await cli(['exec', file('oob.s', 'ldxdw %r0, [%r1+0]\nexit\n'), '--mem', '01 02']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('pc 0 (r0 = *(u64 *)(r1 + 0)): invalid memory access');
  });

  it('rejects bad --mem hex with exit 2', async () => {
    const r = await cli(['exec', file('x.s', 'exit\n'), '--mem', '0g']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--mem');
  });
});

describe('xdplab demo (npm start)', () => {
  it('shows the filter dropping SSH and passing HTTP', async () => {
    const r = await cli(['demo']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/port 22 +-> XDP_DROP/);
    expect(r.stdout).toMatch(/port 80 +-> XDP_PASS/);
    expect(r.stdout).toContain('r3 = be16 r3');
  });
});

describe('xdplab disasm OBJ.o', () => {
  const object = path.resolve(__dirname, '..', 'fixtures', 'bpf', 'subprog.bpf.o');

  it('lists every program of a clang-built object as llvm-objdump does', async () => {
    const r = await cli(['disasm', object]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Disassembly of section xdp:');
    expect(r.stdout).toMatch(/^\s+\d+:\tcall -1$/m);
    expect(r.stdout).toMatch(/^\s+\d+:\texit$/m);
  });

  it('prints the assembler syntax on request', async () => {
    const r = await cli(['disasm', object, '--syntax', 'asm']);
    expect(r.stdout).toMatch(/^\s+\d+:\tcall local -1$/m);
  });

  it('names the file when the object is malformed', async () => {
    const bad = file('bad.o', '\x7fELF\x01\x01\x01');
    const r = await cli(['disasm', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad.o');
  });
});

describe('xdplab --version', () => {
  it.each([['--version'], ['-V']])('%s prints the package version and exits 0', async (flag) => {
    const { version } = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    const r = await cli([flag]);
    expect(r.stdout).toBe(`xdplab ${version}\n`);
    expect(r.code).toBe(0);
  });
});
