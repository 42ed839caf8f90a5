/**
 * C on the fly: BPF C compiled with the system's clang (cached by content), through the library
 * and every command that takes an object.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileC, compileCFile } from '../../src/spec/compile-c.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { verifyProgram } from '../../src/verifier/index.js';
import { cli } from '../support/cli.js';
import { repoRoot } from '../support/conformance.js';

const SOURCE = path.join(repoRoot, 'examples/port-filter.bpf.c');
const noClang = spawnSync('sh', ['-c', 'command -v clang && test -f /usr/include/bpf/bpf_helpers.h']).status !== 0
  ? 'clang or libbpf-dev is not installed (apt-get install clang libbpf-dev)' : undefined;
const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'xdplab-cc-'));

describe.skipIf(noClang)(`compiling BPF C on the fly${noClang ? ` — skipped: ${noClang}` : ''}`, () => {
  it('compiles a .c file into an object whose programs verify as the committed build', () => {
    const cacheDir = tmp();
    const spec = loadCollectionSpec(compileCFile(SOURCE, { cacheDir }), SOURCE);
    expect([...spec.programs.keys()].sort()).toEqual(['xdp_port_filter', 'xdp_port_filter_fixed']);
    expect(verifyProgram(spec, spec.programs.get('xdp_port_filter')!).accepted).toBe(false);
    expect(verifyProgram(spec, spec.programs.get('xdp_port_filter_fixed')!).accepted).toBe(true);
  });

  it('caches by content: the same source is compiled once, a changed flag compiles again', () => {
    const cacheDir = tmp();
    compileCFile(SOURCE, { cacheDir });
    const first = readdirSync(cacheDir).filter((f) => f.endsWith('.bpf.o'));
    const mtime = statSync(path.join(cacheDir, first[0])).mtimeMs;
    compileCFile(SOURCE, { cacheDir });
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.bpf.o'))).toEqual(first);
    expect(statSync(path.join(cacheDir, first[0])).mtimeMs).toBe(mtime);
    compileCFile(SOURCE, { cacheDir, cflags: ['-DXDPLAB_TEST=1'] });
    expect(readdirSync(cacheDir).filter((f) => f.endsWith('.bpf.o'))).toHaveLength(2);
  });

  it('source text too (compileC), and a compile error is clang\'s first error, one line', () => {
    const cacheDir = tmp();
    const ok = compileC('#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\nSEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }\nchar LICENSE[] SEC("license") = "GPL";\n', { cacheDir });
    expect(loadCollectionSpec(ok, 'pass.bpf.c').programs.has('pass')).toBe(true);
    expect(() => compileC('int f( {', { cacheDir, name: 'broken.bpf.c' })).toThrow(/broken\.bpf\.c:1:\d+: error: /);
  });

  it('the commands take a .c file where they take an object; no clang: what to install, exit 2', async () => {
    const verify = await cli(['verify', SOURCE, 'xdp_port_filter_fixed']);
    expect(verify.code, verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/^xdp_port_filter_fixed: accepted/);
    const run = await cli(['prog', 'run', SOURCE, 'xdp_port_filter_fixed', 'data_in', path.join(repoRoot, 'examples/ssh-syn.bin')]);
    expect(run.stdout).toMatch(/^Return value: 1,/); // port 22 is the blocked port
    const bad = path.join(tmp(), 'bad.bpf.c');
    writeFileSync(bad, 'int x = ;\n');
    const r = await cli(['verify', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.bpf\.c:1:\d+: error: expected expression/);
    const missing = spawnSync(process.execPath, [path.join(repoRoot, 'bin/xdplab.js'), 'verify', SOURCE], { encoding: 'utf8', env: { ...process.env, CLANG: '/nonexistent/clang' } });
    expect(missing.status).toBe(2);
    expect(missing.stderr.trim()).toMatch(/^xdplab: compiling C needs clang, and \/nonexistent\/clang cannot be run \(apt-get install clang libbpf-dev\)$/);
    const noCache = spawnSync(process.execPath, [path.join(repoRoot, 'bin/xdplab.js'), 'verify', SOURCE], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, XDG_CACHE_HOME: '/proc/xdplab-no-cache' } });
    expect(noCache.status).toBe(2); // at once: no recursive mkdir spinning under /proc
    expect(noCache.stderr.trim().split('\n')).toHaveLength(1);
    expect(noCache.stderr).toMatch(/\/proc\/xdplab-no-cache\/xdplab: cannot create/);
  });
});
