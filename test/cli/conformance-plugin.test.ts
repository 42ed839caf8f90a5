import { describe, expect, it } from 'vitest';
import { cli, spawnCli } from '../support/cli.js';
import { haveConformance, loadVectors, missingConformance } from '../support/conformance.js';
import { titled } from '../support/skip.js';

/** The runner's encodings: each byte as two hex digits followed by two spaces. */
const runnerHex = (hex: string): string => (hex.match(/../g) ?? []).map((b) => `${b}  `).join('');

describe('conformance plugin protocol', () => {
  it('prints r0 in hex and exits 0', async () => {
    const r = await cli(['conformance-plugin'], runnerHex('b700000007000000' + '9500000000000000') + '\n');
    expect(r).toEqual({ code: 0, stdout: '0x7\n', stderr: '' });
  });

  it('takes the memory as its first argument', async () => {
    const r = await cli(['conformance-plugin', runnerHex('aabb1122')], runnerHex('6110000000000000' + '9500000000000000') + '\n');
    expect(r.stdout).toBe('0x2211bbaa\n');
  });

  it('exits non-zero with a message on a fault or a bad program', async () => {
    const fault = await cli(['conformance-plugin', runnerHex('aabb')], runnerHex('6110000000000000' + '9500000000000000'));
    expect(fault.code).not.toBe(0);
    expect(fault.stderr).toMatch(/pc 0 .*invalid memory access/);
    const bad = await cli(['conformance-plugin'], runnerHex('ff00000000000000'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('unknown opcode 0xff');
  });

  it('works as a real process, the way bpf_conformance_runner starts it', () => {
    const r = spawnCli(['conformance-plugin', runnerHex('0102030405060708')], runnerHex('79100000000000009500000000000000') + '\n');
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('0x807060504030201\n');
    expect(r.code).toBe(0);
  });
});

describe.skipIf(!haveConformance)(titled('the whole conformance suite through the plugin', missingConformance), () => {
  it.each(loadVectors().map((v) => [v.test, v] as const))('%s', async (_name, v) => {
    const args = v.mem ? ['conformance-plugin', runnerHex(v.mem)] : ['conformance-plugin'];
    const r = await cli(args, runnerHex(v.program) + '\n');
    expect(r.stderr).toBe('');
    expect(BigInt(r.stdout.trim())).toBe(BigInt.asUintN(64, BigInt(v.result!)));
  });
});
