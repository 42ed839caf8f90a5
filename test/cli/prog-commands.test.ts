import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { repoRoot } from '../support/conformance.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-prog-'));
const fixture = (name: string): string => path.join(repoRoot, 'test', 'fixtures', 'bpf', name);
const file = (name: string, data: Uint8Array | string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, data);
  return p;
};

/** Ethernet + IPv4 header with the given protocol, 64 bytes. */
function ipv4(protocol: number): Uint8Array {
  const f = new Uint8Array(64);
  f[12] = 0x08; f[14] = 0x45; f[23] = protocol;
  return f;
}

const COUNT = fixture('xdp-count.bpf.o');

describe('xdplab prog run (bpftool-compatible)', () => {
  it('prints bpftool\'s line and writes data_out', async () => {
    const out = path.join(dir, 'out.bin');
    const r = await cli(['prog', 'run', COUNT, 'xdp_count', 'data_in', file('tcp.bin', ipv4(6)), 'data_out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Return value: 2, duration: \d+ns\n$/);
    expect(readFileSync(out)).toEqual(Buffer.from(ipv4(6)));
  });

  it('takes section/name, repeats with an average, and counts in the map', async () => {
    const mapsOut = path.join(dir, 'maps.json');
    const r = await cli(['prog', 'run', COUNT, 'xdp/xdp_count', 'data_in', file('udp.bin', ipv4(17)), 'repeat', '5', '--maps-out', mapsOut]);
    expect(r.stdout).toMatch(/^Return value: 2, duration \(average\): \d+ns\n$/);
    const maps = JSON.parse(readFileSync(mapsOut, 'utf8')) as Record<string, Array<{ key: string; value: string }>>;
    expect(maps.proto_count.find((e) => e.key === '11000000')?.value).toBe('0500000000000000');
  });

  it('runs a frame past 3520 bytes as a multi-buffer frame: data_out whole, ctx_out data_end the linear part', async () => {
    // xdp-frags.bpf.c: op 3 at byte 0 is bpf_xdp_adjust_tail(a = bytes 2..5), then the length.
    const frame = Uint8Array.from({ length: 9000 }, (_, i) => (i * 7 + 3) & 0xff);
    frame.set([3, 0, 100, 0, 0, 0]);
    const ctx = new Uint8Array(24);
    ctx[4] = 100; // data_end 100: the rest in fragments
    const [out, ctxOut] = [path.join(dir, 'frags.bin'), path.join(dir, 'frags-ctx.bin')];
    const r = await cli(['prog', 'run', fixture('xdp-frags.bpf.o'), 'xdp_frags', 'data_in', file('frags-in.bin', frame), 'data_out', out,
      'ctx_in', file('frags-ctx-in.bin', ctx), 'ctx_out', ctxOut]);
    expect(r.stdout).toMatch(/^Return value: 9100, duration: \d+ns\n$/);
    const want = new Uint8Array(9100);
    want.set(frame);
    expect(readFileSync(out)).toEqual(Buffer.from(want));
    expect([...readFileSync(ctxOut).subarray(0, 8)]).toEqual([0, 0, 0, 0, 100, 0, 0, 0]);
  });

  it('loads --maps-in before the run and prints JSON on request', async () => {
    const mapsIn = file('in.json', JSON.stringify({ proto_count: [{ key: '06000000', value: '2a00000000000000' }] }));
    const mapsOut = path.join(dir, 'after.json');
    const r = await cli(['prog', 'run', COUNT, 'xdp_count', 'data_in', file('tcp2.bin', ipv4(6)), '--maps-in', mapsIn, '--maps-out', mapsOut, '--json']);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ retval: 2, verdict: 'XDP_PASS', data_out: Buffer.from(ipv4(6)).toString('hex') });
    const maps = JSON.parse(readFileSync(mapsOut, 'utf8')) as Record<string, Array<{ key: string; value: string }>>;
    expect(maps.proto_count.find((e) => e.key === '06000000')?.value).toBe('2b00000000000000');
  });

  it.each([
    [['prog', 'run', COUNT, 'nope', 'data_in', '/dev/null'], /no program nope .*it has: xdp_count/],
    [['prog', 'run', COUNT, 'xdp_count'], /missing required argument|data_in/],
    [['prog', 'run', COUNT, 'xdp_count', 'data_in', '/dev/null', 'bogus', '1'], /unknown argument "bogus"/],
    [['prog', 'run', COUNT, 'xdp_count', 'data_in', '/dev/null', 'repeat', 'x'], /repeat x is not a count/],
    [['prog', 'run', '/nonexistent.o', 'p', 'data_in', '/dev/null'], /nonexistent\.o: no such file/],
  ])('refuses bad usage: %j', async (args, message) => {
    const r = await cli(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message as RegExp);
  });

  it('reads binary data_in from standard input and dumps data_out - as bpftool\'s hex_print does', () => {
    const packet = ipv4(6);
    packet.set([0xc9, 0xff, 0x80, 0x41], 40);
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'xdplab.js'), 'prog', 'run', COUNT, 'xdp_count', 'data_in', '-', 'data_out', '-'],
      { input: Buffer.from(packet) });
    expect(r.status).toBe(0);
    const lines = r.stdout.toString('latin1').split('\n');
    expect(lines[0]).toBe('0000000\t0000 0000 0000 0000 0000 0000 0800 4500 | ........ ......E.');
    expect(lines[2]).toBe('0000020\t0000 0000 0000 0000 c9ff 8041 0000 0000 | ........ ...A....');
    expect(lines[4]).toMatch(/^Return value: 2, duration: \d+ns$/);
  });

  it('fails with ENOSPC when data_out does not fit data_size_out, as the kernel does', async () => {
    const r = await cli(['prog', 'run', COUNT, 'xdp_count', 'data_in', file('nospc.bin', ipv4(6)), 'data_out', path.join(dir, 'nospc.out'), 'data_size_out', '20']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('data_out: 64 bytes do not fit data_size_out 20 (the kernel fails the run with ENOSPC)');
    expect(existsSync(path.join(dir, 'nospc.out'))).toBe(false);
    const fits = await cli(['prog', 'run', COUNT, 'xdp_count', 'data_in', file('fits.bin', ipv4(6)), 'data_out', path.join(dir, 'fits.out'), 'data_size_out', '64']);
    expect(fits.code).toBe(0);
  });

  it('refuses a packet shorter than an Ethernet header, as the kernel does', async () => {
    const r = await cli(['prog', 'run', COUNT, 'xdp_count', 'data_in', file('short.bin', new Uint8Array(10))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('Ethernet header');
  });

  it('--maps-in gives one value of a per-CPU map to every CPU, as bpftool map update does', async () => {
    const seed = file('percpu.json', JSON.stringify({ per_cpu: [{ key: '00000000', value: '0500000000000000' }] }));
    const mapsOut = path.join(dir, 'percpu-out.json');
    const r = await cli(['prog', 'run', fixture('replay.bpf.o'), 'xdp_clock', 'data_in', file('pc.bin', ipv4(17)),
      '--cpus', '2', '--cpu', '1', '--maps-in', seed, '--maps-out', mapsOut]);
    expect(r.code).toBe(0);
    const entry = JSON.parse(readFileSync(mapsOut, 'utf8')).per_cpu[0];
    expect(entry.formatted.values).toEqual([{ cpu: 0, value: 5 }, { cpu: 1, value: 6 }]);
    // Raw: the syscall's layout (8 bytes a CPU), and each CPU's value_size bytes as bpftool lists them.
    expect(entry.value).toBe('0500000000000000' + '0600000000000000');
    expect(entry.values).toEqual([{ cpu: 0, value: '0500000000000000' }, { cpu: 1, value: '0600000000000000' }]);
  });

  it('refuses a malformed --maps-in, naming the entry, and writes no --maps-out', async () => {
    const mapsOut = path.join(dir, 'never.json');
    const bad = file('bad.json', JSON.stringify({ proto_count: [{ key: '06', value: '00' }] }));
    const r = await cli(['prog', 'run', COUNT, 'xdp_count', 'data_in', file('p.bin', ipv4(6)), '--maps-in', bad, '--maps-out', mapsOut]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.json: proto_count\[0\].*key is 1 bytes/);
    expect(existsSync(mapsOut)).toBe(false);
  });
});

describe('programs xdplab cannot run are refused alone, saying what and why (exit 2)', () => {
  const REFUSALS = fixture('rt-refusals.bpf.o');
  const pkt = (): string => file('refusal.bin', ipv4(17));

  it('a kfunc call names the program, section, pc and kernel function', async () => {
    const r = await cli(['prog', 'run', REFUSALS, 'uses_kfunc', 'data_in', pkt()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('program uses_kfunc (section xdp): pc 3: calls kernel function (kfunc) bpf_dynptr_from_xdp');
  });

  it('the address of a kernel symbol (bpf_ksym_exists) names the symbol', async () => {
    const r = await cli(['prog', 'run', REFUSALS, 'ksym_probe', 'data_in', pkt()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/program ksym_probe \(section tc\): pc \d+: loads the address of kernel symbol bpf_dynptr_from_skb/);
  });

  it('a map type xdplab lacks refuses the programs using it, naming the map', async () => {
    const r = await cli(['prog', 'run', REFUSALS, 'uses_sk_storage', 'data_in', pkt()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('program uses_sk_storage (section tc): map sk_store: map type sk_storage is not supported');
    const seed = file('sk.json', JSON.stringify({ sk_store: [{ key: '00000000', value: '0000000000000000' }] }));
    const mapsIn = await cli(['prog', 'run', REFUSALS, 'plain', 'data_in', pkt(), '--maps-in', seed]);
    expect(mapsIn.code).toBe(2);
    expect(mapsIn.stderr).toContain('sk.json: map sk_store: map type sk_storage is not supported');
  });

  it('a program type outside XDP and TC names its section', async () => {
    const r = await cli(['prog', 'run', REFUSALS, 'probe', 'data_in', pkt()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('program probe (section kprobe/do_sys_openat2)');
    expect(r.stderr).toContain('not a program type xdplab runs');
  });

  it('the object\'s other programs still run, as the kernel loads them all', async () => {
    const r = await cli(['prog', 'run', REFUSALS, 'plain', 'data_in', pkt()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Return value: 2,/); // 64 bytes > 60: XDP_PASS
  });

  it('replay refuses the same way', async () => {
    const r = await cli(['replay', REFUSALS, 'uses_kfunc', '--pcap', path.join(repoRoot, 'pcaps', 'edge-firewall.pcapng')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('kfunc) bpf_dynptr_from_xdp');
  });
});

describe('xdplab prog show', () => {
  it('lists programs and maps like bpftool', async () => {
    const r = await cli(['prog', 'show', fixture('rt-tailcall.bpf.o')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^prog xdp {2}name entry {2}section xdp {2}gpl$/m);
    expect(r.stdout).toMatch(/^map prog_array {2}name jmp {2}flags 0x0\n\tkey 4B {2}value 4B {2}max_entries 4$/m);
    const json = (await cli(['prog', 'show', fixture('rt-tailcall.bpf.o'), '--json'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(json.filter((o) => o.kind === 'program').map((o) => o.name).sort()).toEqual(['entry', 'self_loop', 'stage2']);
  });
});

describe('--maps-out decodes values through BTF, as bpftool map dump does', () => {
  it('shows global sections as their variables', async () => {
    const mapsOut = path.join(dir, 'globals.json');
    const p = new Uint8Array(64);
    p[0] = 3;
    await cli(['prog', 'run', fixture('globals.bpf.o'), 'xdp_scan', 'data_in', file('g.bin', p), '--maps-out', mapsOut]);
    const maps = JSON.parse(readFileSync(mapsOut, 'utf8'));
    expect(maps['globals.data'][0].formatted).toEqual({ key: 0, value: { '.data': [{ packets_seen: 2 }] } });
    expect(maps['globals.bss'][0].formatted.value['.bss']).toEqual([{ bytes_summed: 3 }, { last_len: 64 }]);
  });

  it('dumps a queue, whose elements have no key, oldest first', async () => {
    const mapsOut = path.join(dir, 'queue.json');
    const r = await cli(['prog', 'run', fixture('rt-maps.bpf.o'), 'queue_ops', 'data_in', file('q.bin', ipv4(17)), '--maps-out', mapsOut]);
    expect(r.code).toBe(0);
    const queue = JSON.parse(readFileSync(mapsOut, 'utf8')).queue;
    expect(queue.map((e: { key: string; formatted: { key: unknown; value: unknown } }) => [e.key, e.formatted.key, e.formatted.value]))
      .toEqual([['', null, 3], ['', null, 9]]);
  });
});
