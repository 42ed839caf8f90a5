/**
 * `xdplab verify`: the kernel's load verdicts offline, explained; and the verifier at every
 * load (`prog run`, `replay`, `run` refuse what the kernel refuses, unless --no-verify).
 * The verdicts are checked against the kernel's recorded answers (test/fixtures/verifier).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { repoRoot } from '../support/conformance.js';

const CORPUS = path.join(repoRoot, 'test/fixtures/verifier');
const PACKET = path.join(CORPUS, 'packet.bpf.o');
const PTR_LEAK = path.join(CORPUS, 'ptr_leak.bpf.o');
const REPLAY = path.join(repoRoot, 'test/fixtures/bpf/replay.bpf.o');

interface KernelAnswer { accepted: boolean; errno: number; error: string }
const recorded = JSON.parse(readFileSync(path.join(CORPUS, 'kernel.json'), 'utf8')) as { programs: Record<string, { root: KernelAnswer; bpf: KernelAnswer }> };

const jsonLines = (text: string): Record<string, unknown>[] => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'xdplab-verify-'));

describe('xdplab verify', () => {
  it('gives, for every program of an object, the verdict, errno and error line the kernel gave (as root and with CAP_BPF alone)', async () => {
    for (const caps of ['root', 'bpf'] as const) {
      const r = await cli(['verify', PACKET, '--json', '--caps', caps]);
      expect(r.code).toBe(1); // some are refused
      const got = jsonLines(r.stdout);
      const expected = Object.entries(recorded.programs).filter(([k]) => k.startsWith('packet.bpf.o/'));
      expect(expected.length).toBeGreaterThan(10);
      expect(got.length).toBe(expected.length);
      for (const [key, answer] of expected) {
        const ours = got.find((g) => `packet.bpf.o/${String(g.program)}` === key)!;
        expect({ key, accepted: ours.accepted, errno: ours.errno, error: ours.error ?? '' }).toEqual({ key, accepted: answer[caps].accepted, errno: answer[caps].errno, error: answer[caps].error });
      }
    }
  });

  it('explains a refusal in plain words at the C line, with the instructions that led there and the fix', async () => {
    const r = await cli(['verify', PACKET, 'pkt_xdp_c_parse_missing_check_bad']);
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^pkt_xdp_c_parse_missing_check_bad: refused \(EACCES\): invalid access to packet, off=23 size=1, R1\(id=0,off=23,r=14\) at pc \d+, packet\.bpf\.c:766: return ip->protocol == IPPROTO_UDP/);
    expect(r.stdout).toMatch(/unchecked packet access: the program reads or writes 1 byte\(s\) at offset 23 of the packet through R1, but on this path it has only proved 14 byte\(s\)/);
    expect(r.stdout).toMatch(/Because:\n.*packet\.bpf\.c:757: void \*data = .*sets R1/);
    expect(r.stdout).toMatch(/packet\.bpf\.c:762: if \(\(void \*\)\(eth \+ 1\) > data_end\) .*the check against data_end this path passed \(after it, 14 byte\(s\) are proved/);
    expect(r.stdout).toMatch(/Fix: .*if \(data \+ 24 > data_end\) return XDP_DROP;/);
  });

  it('a header at a variable offset: the fix names the moved pointer, and the corrected program loads (examples/port-filter)', async () => {
    const example = path.join(repoRoot, 'examples/port-filter.bpf.o');
    const refused = await cli(['verify', example, 'xdp_port_filter']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^xdp_port_filter: refused \(EACCES\): invalid access to packet, off=16 size=2, R2\(id=1,off=16,r=0\)/);
    expect(refused.stdout).toMatch(/a packet pointer moved by a variable amount/);
    expect(refused.stdout).toMatch(/port-filter\.bpf\.c:\d+: tcp = \(void \*\)ip \+ ip->ihl \* 4;.*sets R2/);
    expect(refused.stdout).toMatch(/Fix: .*if \(\(void \*\)\(tcp \+ 1\) > data_end\)/);
    const fixed = await cli(['verify', example, 'xdp_port_filter_fixed']);
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toMatch(/^xdp_port_filter_fixed: accepted/);
  });

  it('says a program loads, with the counts the kernel prints', async () => {
    const r = await cli(['verify', PACKET, 'pkt_xdp_c_parse_ok']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^pkt_xdp_c_parse_ok: accepted \(\d+ insns processed, \d+ states, stack 0 bytes\)\n$/);
  });

  it('--caps bpf: what a loader with CAP_BPF alone is refused', async () => {
    const root = await cli(['verify', PTR_LEAK, 'leak_ctx_into_map_priv']);
    expect(root.code).toBe(0);
    const bpf = await cli(['verify', PTR_LEAK, 'leak_ctx_into_map_priv', '--caps', 'bpf']);
    expect(bpf.code).toBe(1);
    expect(bpf.stdout).toMatch(/refused \(EACCES\): R6 leaks addr into map at pc \d+/);
    expect(bpf.stdout).toMatch(/pointer leak: /);
  });

  it('--log-level 1 prints the kernel-format log of the failing path', async () => {
    const r = await cli(['verify', PACKET, 'pkt_xdp_c_parse_missing_check_bad', '--log-level', '1']);
    expect(r.stdout).toMatch(/^0: R1=ctx\(\) R10=fp0$/m);
    expect(r.stdout).toMatch(/^; return ip->protocol == IPPROTO_UDP \? XDP_TX : XDP_PASS; @ packet\.bpf\.c:766$/m);
    expect(r.stdout).toMatch(/^processed \d+ insns \(limit 1000000\) max_states_per_insn \d+ total_states \d+ peak_states \d+ mark_read 0$/m);
  });

  it('--witness: a packet the refused program faults on when run unverified, which prog run --no-verify confirms', async () => {
    const r = await cli(['verify', PACKET, 'pkt_xdp_c_parse_missing_check_bad', '--witness', '--json']);
    const [v] = jsonLines(r.stdout) as [{ witness: { frame: string; fault: string } }];
    expect(v.witness.fault).toMatch(/invalid memory access/);
    const frame = Buffer.from(v.witness.frame, 'hex');
    expect(frame.readUInt16BE(12)).toBe(0x0800); // it gets past the EtherType check
    expect(frame.length).toBeLessThan(24); // and the IPv4 protocol byte is past its end
    const dir = tmp();
    writeFileSync(path.join(dir, 'frame.bin'), frame);
    const run = await cli(['prog', 'run', PACKET, 'pkt_xdp_c_parse_missing_check_bad', 'data_in', path.join(dir, 'frame.bin'), '--no-verify']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/invalid memory access.*packet\.bpf\.c:766/);
  });

  it('--witness says when none of the packets it tried faults (the refusal is about what cannot be proved)', async () => {
    const r = await cli(['verify', PTR_LEAK, 'leak_ctx_into_map_priv', '--caps', 'bpf', '--witness']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Witness: none among \d+ packets tried/);
  });

  it('bad input: one line naming what is wrong, exit 2', async () => {
    const dir = tmp();
    for (const [args, message] of [
      [['verify', path.join(dir, 'missing.o')], /missing\.o/],
      [['verify', PACKET, 'no_such_prog'], /no program no_such_prog in .*packet\.bpf\.o/],
      [['verify', PACKET, '--log-level', '3'], /--log-level 3: expected 0, 1 or 2/],
      [['verify', PACKET, '--pcap', path.join(dir, 'x.pcap')], /--pcap gives frames to --witness/],
      [['verify', PACKET, '--caps', 'nobody'], /--caps/],
    ] as const) {
      const r = await cli([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
  });
});

describe('the verifier at every load', () => {
  it('prog run refuses a program the kernel refuses, explained; --no-verify runs it with every run-time check', async () => {
    const dir = tmp();
    writeFileSync(path.join(dir, 'eth.bin'), Buffer.from('0200000000020200000000010800', 'hex'));
    const refused = await cli(['prog', 'run', REPLAY, 'xdp_fault', 'data_in', path.join(dir, 'eth.bin')]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^xdplab: program xdp_fault: the kernel's verifier would refuse it \(EACCES\): invalid access to packet, off=100 size=1, R1\(id=0,off=100,r=0\) at pc 1 \(replay\.bpf\.c:80: /);
    expect(refused.stderr).toMatch(/^ {2}unchecked packet access: /m);
    expect(refused.stderr).toMatch(/--no-verify runs it anyway/);
    const run = await cli(['prog', 'run', REPLAY, 'xdp_fault', 'data_in', path.join(dir, 'eth.bin'), '--no-verify']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/pc 1 .*invalid memory access/);
  });

  it('run: a topology naming a refused program fails at its YAML line, with the explanation; --no-verify loads it', async () => {
    const dir = tmp();
    const topology = path.join(dir, 'topology.yaml');
    writeFileSync(topology, [
      'name: refused',
      'nodes:',
      '  - name: h',
      '    interfaces:',
      '      - { name: eth0, mac: "02:00:00:00:00:01", ipv4: [10.0.0.1/24] }',
      'programs:',
      `  - { name: f, object: ${REPLAY}, program: xdp_fault }`,
      'attach:',
      '  - { program: f, interface: h/eth0, hook: xdp }',
    ].join('\n') + '\n');
    const r = await cli(['run', topology, '--out', path.join(dir, 'out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/topology\.yaml:7:.*the kernel's verifier would refuse it \(EACCES\)/);
    expect(r.stderr).toMatch(/unchecked packet access/);
    const unverified = await cli(['run', topology, '--out', path.join(dir, 'out'), '--no-verify']);
    expect(unverified.code).toBe(0);
  });
});
