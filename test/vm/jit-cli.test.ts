/** `--engine jit|interp` on the commands that run programs: same output from both engines. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { repoRoot } from '../support/conformance.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-jit-cli-'));
const asm = path.join(dir, 'loop.s');
writeFileSync(asm, 'mov %r0, 0\nmov %r2, 100\nloop:\nadd %r0, %r2\nsub %r2, 1\njne %r2, 0, loop\nldxb %r3, [%r1+1]\nadd %r0, %r3\nexit\n');
const frame = Buffer.from('02000000000202000000000108004500001c0001000040110000c0000201c0000202', 'hex').toString('latin1');

describe('--engine', () => {
  it('exec gives the same r0 and count in both engines', async () => {
    const runs = await Promise.all(['jit', 'interp'].map((engine) => cli(['exec', asm, '--mem', '05 07', '--json', '--engine', engine])));
    expect(runs[0].code).toBe(0);
    expect(runs[0].stdout).toBe(runs[1].stdout);
    expect(JSON.parse(runs[0].stdout)).toMatchObject({ r0: '0x13c1', executed: 305 }) // 5050 + mem[1]; 2 + 3 × 100 + 3;
  });

  it('prog run gives the same verdict and bytes in both engines', async () => {
    const obj = path.join(repoRoot, 'bench/programs/macswap.bpf.o');
    const runs = [];
    for (const engine of ['jit', 'interp']) {
      runs.push(await cli(['prog', 'run', obj, 'xdp_macswap', 'data_in', '-', 'data_out', '-', '--json', '--engine', engine], frame));
    }
    expect(runs[0].code).toBe(0);
    const strip = (out: string): unknown => ({ ...JSON.parse(out.split('\n')[0]), duration: undefined });
    expect(strip(runs[0].stdout)).toEqual(strip(runs[1].stdout));
  });

  it('refuses an unknown engine with exit 2', async () => {
    const r = await cli(['exec', asm, '--engine', 'llvm']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('jit, interp');
  });

  it('XDPLAB_ENGINE names the default engine; one it does not know is refused, saying so, with exit 2', async () => {
    const saved = process.env.XDPLAB_ENGINE;
    try {
      process.env.XDPLAB_ENGINE = 'foo';
      const r = await cli(['exec', asm]);
      expect(r).toMatchObject({ code: 2, stderr: 'xdplab: XDPLAB_ENGINE=foo: unknown engine (jit or interp)\n' });
      process.env.XDPLAB_ENGINE = 'interp';
      expect((await cli(['exec', asm, '--mem', '05 07', '--json'])).code).toBe(0);
    } finally {
      if (saved === undefined) delete process.env.XDPLAB_ENGINE;
      else process.env.XDPLAB_ENGINE = saved;
    }
  });

  it('conformance-plugin --jit runs the JIT', async () => {
    const r = await cli(['conformance-plugin', '--jit'], 'b7000000050000009500000000000000');
    expect(r).toMatchObject({ code: 0, stdout: '0x5\n' });
  });
});
