/**
 * Every example in README.md, docs/ and the scenarios' READMEs runs as written (issue 10: the README's library example
 * named a map, a global and a program the shipped firewall does not have). Code blocks are
 * taken from the files themselves:
 * - ```sh: each `xdplab …` line runs through the built CLI (bin/xdplab.js as `xdplab` on PATH),
 *   in order, in a scratch directory that sees the repository's topologies/, pcaps/ and
 *   examples/; each must exit 0, or the status its trailing `# exit N` comment says;
 * - ```ts: the library example runs as a module of another project, which has the package in
 *   its node_modules and imports it by name, as `npm install` would leave it;
 * - ```yaml in docs/topology.md: the topology runs beside the edge-firewall scenario's files.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { stripVTControlCharacters } from 'node:util';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './support/conformance.js';

/** The fenced code blocks of a markdown file: language and text. */
function codeBlocks(file: string): Array<{ lang: string; text: string }> {
  const text = readFileSync(path.join(repoRoot, file), 'utf8');
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], text: m[2] }));
}

/** A scratch directory that sees the repository's shipped files, and `xdplab` on its PATH. */
function scratch(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-docs-'));
  for (const name of ['topologies', 'pcaps', 'examples']) symlinkSync(path.join(repoRoot, name), path.join(dir, name));
  const bin = path.join(dir, '.bin');
  mkdirSync(bin);
  writeFileSync(path.join(bin, 'xdplab'), `#!/bin/sh\nexec "${process.execPath}" "${path.join(repoRoot, 'bin', 'xdplab.js')}" "$@"\n`);
  chmodSync(path.join(bin, 'xdplab'), 0o755);
  return { dir, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } };
}

/** The scenarios' READMEs show their command as an indented block. */
const scenarioCommands = (): string[] => readdirSync(path.join(repoRoot, 'topologies')).flatMap((name) =>
  readFileSync(path.join(repoRoot, 'topologies', name, 'README.md'), 'utf8').split('\n').filter((l) => /^ {4}xdplab /.test(l)));

/** The `xdplab` command lines of the README's shell blocks (comments and other commands left out), then the scenarios'. */
const commands = [...codeBlocks('README.md').filter((b) => b.lang === 'sh').flatMap((b) => b.text.split('\n')), ...scenarioCommands()]
  .map((line) => line.trim()) // bash reads the trailing comments as comments
  .filter((line) => /^(echo .*\| )?xdplab /.test(line));

describe('README and docs examples run as written', () => {
  it('the README has its examples', () => {
    expect(commands.length).toBeGreaterThan(15);
    expect(codeBlocks('README.md').filter((b) => b.lang === 'ts')).toHaveLength(1);
  });

  it('every xdplab command of the README, in order', () => {
    const { dir, env } = scratch();
    const failures: string[] = [];
    for (const line of commands) {
      const r = spawnSync('bash', ['-c', line], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
      const expected = Number(/# exit (\d+)\b/.exec(line)?.[1] ?? 0); // a line may say the status it ends with
      if (r.status !== expected) failures.push(`${line}\n  exit ${r.status} (expected ${expected}): ${r.stderr.trim().split('\n')[0]}`);
    }
    expect(failures).toEqual([]);
  }, 240_000);

  it('the library example, imported by name from another project', () => {
    const { dir } = scratch();
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(repoRoot, path.join(dir, 'node_modules', 'xdplab'));
    const example = codeBlocks('README.md').find((b) => b.lang === 'ts')!.text;
    writeFileSync(path.join(dir, 'example.mjs'), example);
    const r = spawnSync(process.execPath, ['example.mjs'], { cwd: dir, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('2 XDP_PASS 54\n'); // as its last comment says
  });

  it('the test suite of docs/testing.md, in another project that imports xdplab/testing by name', () => {
    const { dir } = scratch();
    mkdirSync(path.join(dir, 'node_modules'));
    symlinkSync(repoRoot, path.join(dir, 'node_modules', 'xdplab'));
    symlinkSync(path.join(repoRoot, 'node_modules', 'vitest'), path.join(dir, 'node_modules', 'vitest'));
    const suite = codeBlocks('docs/testing.md').find((b) => b.lang === 'ts')!.text;
    writeFileSync(path.join(dir, 'firewall.test.ts'), suite);
    const vitest = path.join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs');
    const r = spawnSync(process.execPath, [vitest, 'run', '--root', dir], { cwd: dir, encoding: 'utf8', env: { ...process.env, CI: '1', NO_COLOR: '1', FORCE_COLOR: '0' } });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(stripVTControlCharacters(r.stdout)).toMatch(/Tests\s+2 passed/);
  }, 120_000);

  it('the topology of docs/topology.md', () => {
    const { dir, env } = scratch();
    const yaml = codeBlocks('docs/topology.md').find((b) => b.lang === 'yaml')!.text;
    // Beside the scenario's files, as a topology of its own would be.
    const here = path.join(dir, 'scenario', 'edge-firewall');
    mkdirSync(here, { recursive: true });
    symlinkSync(path.join(repoRoot, 'topologies', 'edge-firewall', 'firewall.bpf.o'), path.join(here, 'firewall.bpf.o'));
    writeFileSync(path.join(here, 'topology.yaml'), yaml);
    const r = spawnSync('xdplab', ['run', path.join(here, 'topology.yaml')], { cwd: dir, env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^edge-firewall: \d+ packets/);
  });
});
