/**
 * Outputs that cannot be written (issue 10): every command that writes ends at once with one
 * line naming the path and the reason, exit 2, and leaves nothing behind — no hang, no stack
 * trace, no half-written file. As root, the kernel's refusals are made with a read-only bind
 * mount (EROFS), chattr +i (EPERM) and a tiny tmpfs (ENOSPC); see support/restricted-dirs.ts.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, spawnCli } from '../support/cli.js';
import { repoRoot } from '../support/conformance.js';
import { immutableDir, readOnlyDir, restrictedSkipReason, tinyDir, type Restricted } from '../support/restricted-dirs.js';
import { titled } from '../support/skip.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-outputs-'));
const TOPOLOGY = path.join(repoRoot, 'topologies', 'edge-firewall', 'topology.yaml');
const FIREWALL = path.join(repoRoot, 'topologies', 'edge-firewall', 'firewall.bpf.o');
const CAPTURE = path.join(repoRoot, 'pcaps', 'edge-firewall.pcapng');
const COUNT = path.join(repoRoot, 'test', 'fixtures', 'bpf', 'xdp-count.bpf.o');
const A_FILE = path.join(dir, 'a-file');
const PACKET = path.join(dir, 'packet.bin');
const ASM = path.join(dir, 'prog.s');
writeFileSync(A_FILE, 'not a directory');
writeFileSync(PACKET, new Uint8Array(64));
writeFileSync(ASM, 'mov %r0, 1\nexit\n');

/** Files in `d` (recursively): nothing may be left behind, temporary files included. */
function filesUnder(d: string): string[] {
  if (!existsSync(d)) return [];
  return readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
}

const UNDER_FILE = `${A_FILE} is a file, not a directory`;

// [command, args, the one line on stderr]
const CASES: Array<[string, string[], string]> = [
  ['run --out an existing file', ['run', TOPOLOGY, '--out', A_FILE], `${A_FILE}: cannot create the output directory: a file of that name exists`],
  ['run --out under a file', ['run', TOPOLOGY, '--out', `${A_FILE}/out`], `${A_FILE}/out: cannot create the output directory: ${UNDER_FILE}`],
  ['prog run data_out under a file', ['prog', 'run', COUNT, 'xdp_count', 'data_in', PACKET, 'data_out', `${A_FILE}/x`], `${A_FILE}/x: cannot write: ${UNDER_FILE}`],
  ['prog run data_out a directory', ['prog', 'run', COUNT, 'xdp_count', 'data_in', PACKET, 'data_out', dir], `${dir}: cannot write: is a directory`],
  ['prog run ctx_out under a file', ['prog', 'run', COUNT, 'xdp_count', 'data_in', PACKET, 'ctx_in', PACKET, 'ctx_out', `${A_FILE}/x`], `${A_FILE}/x: cannot write: ${UNDER_FILE}`],
  ['prog run --maps-out under a file', ['prog', 'run', COUNT, 'xdp_count', 'data_in', PACKET, '--maps-out', `${A_FILE}/x`], `${A_FILE}/x: cannot write: ${UNDER_FILE}`],
  ['prog run data_out in a missing directory', ['prog', 'run', COUNT, 'xdp_count', 'data_in', PACKET, 'data_out', path.join(dir, 'none', 'x')], `${path.join(dir, 'none', 'x')}: cannot write: no directory ${path.join(dir, 'none')}`],
  ['replay --out under a file', ['replay', FIREWALL, 'xdp_firewall', '--pcap', CAPTURE, '--out', `${A_FILE}/x`], `${A_FILE}/x: cannot write: ${UNDER_FILE}`],
  ['replay --maps-out under a file', ['replay', FIREWALL, 'xdp_firewall', '--pcap', CAPTURE, '--maps-out', `${A_FILE}/x`], `${A_FILE}/x: cannot write: ${UNDER_FILE}`],
  ['asm -o under a file', ['asm', ASM, '-o', `${A_FILE}/x`], `${A_FILE}/x: cannot write: ${UNDER_FILE}`],
];

describe('outputs that cannot be written: one line, exit 2, nothing left', () => {
  it.each(CASES)('%s', async (_what, args, line) => {
    const before = filesUnder(dir);
    const r = await cli(args);
    expect(r.stderr).toBe(`xdplab: ${line}\n`);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(filesUnder(dir)).toEqual(before);
  });

  it('prog run writes no data_out when its ctx_out cannot be written', async () => {
    const out = path.join(dir, 'data-out.bin');
    const r = await cli(['prog', 'run', COUNT, 'xdp_count', 'data_in', PACKET, 'data_out', out, 'ctx_in', PACKET, 'ctx_out', `${A_FILE}/x`]);
    expect(r.code).toBe(2);
    expect(existsSync(out)).toBe(false);
  });

  it('run --out in /proc ends at once (Node\'s recursive mkdir loops there for ever)', () => {
    const r = spawnCli(['run', TOPOLOGY, '--out', '/proc/xdplab-out'], '', 20_000);
    expect(r.stderr).toBe('xdplab: /proc/xdplab-out: cannot create the output directory: /proc takes no new directories\n');
    expect(r.code).toBe(2);
  });

  it('run --out in /sys: refused by the file system', async () => {
    const r = await cli(['run', TOPOLOGY, '--out', '/sys/xdplab-out']);
    expect(r.stderr).toMatch(/^xdplab: \/sys\/xdplab-out: cannot create the output directory: (operation not permitted|permission denied)\n$/);
    expect(r.code).toBe(2);
  });
});

const skipReason = restrictedSkipReason();

describe.skipIf(skipReason !== undefined)(titled('as root, where the kernel refuses (read-only, immutable, full)', skipReason), () => {
  let ro: Restricted;
  let immutable: Restricted;
  beforeAll(() => {
    ro = readOnlyDir();
    immutable = immutableDir();
  });
  afterAll(() => {
    ro?.release();
    immutable?.release();
  });

  it.each([
    ['run --out in a read-only file system', () => ['run', TOPOLOGY, '--out', path.join(ro.dir, 'out')], () => `${path.join(ro.dir, 'out')}: cannot create the output directory: read-only file system`],
    ['run --out a read-only directory', () => ['run', TOPOLOGY, '--out', ro.dir], () => `${ro.dir}: cannot write into the output directory: read-only file system`],
    ['run --out an immutable directory', () => ['run', TOPOLOGY, '--out', immutable.dir], () => `${immutable.dir}: cannot write into the output directory: operation not permitted`],
    ['prog run data_out in a read-only directory', () => ['prog', 'run', COUNT, 'xdp_count', 'data_in', PACKET, 'data_out', path.join(ro.dir, 'x')], () => `${path.join(ro.dir, 'x')}: cannot write: read-only file system`],
    ['asm -o in an immutable directory', () => ['asm', ASM, '-o', path.join(immutable.dir, 'x')], () => `${path.join(immutable.dir, 'x')}: cannot write: operation not permitted`],
  ])('%s', async (_what, args, line) => {
    const r = await cli(args());
    expect(r.stderr).toBe(`xdplab: ${line()}\n`);
    expect(r.code).toBe(2);
  });

  it('a disk that fills up during run: exit 2, and neither files nor the directory it made are left', async () => {
    const tiny = tinyDir(64 * 1024);
    try {
      const out = path.join(tiny.dir, 'out');
      const r = await cli(['run', TOPOLOGY, '--out', out]);
      expect(r.stderr).toMatch(new RegExp(`^xdplab: ${out}/[a-z0-9-]+\\.[a-z]+\\.pcapng: cannot write: no space left on device\\n$`));
      expect(r.code).toBe(2);
      expect(readdirSync(tiny.dir)).toEqual([]);
      mkdirSync(out); // the file system is usable again: nothing of the run occupies it
    } finally {
      tiny.release();
    }
  });
});
