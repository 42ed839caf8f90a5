/**
 * The compiled filter as an object and as a door: a BPF ELF object with BTF that xdplab's
 * loader and verifier (and, as root, the kernel through bpftool) take; `xdplab filter` (the
 * disassembly, -o, --pcap through replay, one-line errors with exit 2); `filter:` on a topology
 * attachment.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_PTR, BTF_KIND_STRUCT, type BtfFunc, type BtfFuncProto, type BtfRef } from '../../src/btf/types.js';
import { EM_BPF, STT_FUNC } from '../../src/elf/constants.js';
import { parseElf } from '../../src/elf/elf.js';
import { compileFilter } from '../../src/filter/index.js';
import { kernelMissing } from '../../src/kernel/bpftool.js';
import { NULL_SINK } from '../../src/net/recorder.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { loadTopology } from '../../src/topology/load.js';
import { BPF_PROG_TYPE } from '../../src/uapi/bpf.js';
import { verifyCollection } from '../../src/verifier/index.js';
import { cli } from '../support/cli.js';
import { titled } from '../support/skip.js';
import { CAPTURES, writeCaptures } from './captures.js';

const BIG = 'vlan and (tcp[tcpflags] & (tcp-syn|tcp-ack) = tcp-syn or udp dst portrange 1000-2000) and not src net 10.0.0.0/8 and ether[len - 1] != 0 and len / 2 > 30';
const scratch = (): string => mkdtempSync(path.join(os.tmpdir(), 'xdplab-filter-obj-'));

describe('the object', () => {
  it.each(['xdp', 'tc'] as const)('%s: ELF64 EM_BPF, the program section, a global function symbol, license', (hook) => {
    const c = compileFilter('tcp port 22', { hook });
    const elf = parseElf(c.object, 'f.o');
    expect(elf.machine).toBe(EM_BPF);
    expect(elf.sections.map((s) => s.name)).toEqual(['', hook, 'license', '.BTF', '.BTF.ext', '.symtab', '.strtab']);
    const sym = elf.symbols.find((s) => s.name === c.program)!;
    expect(sym.type).toBe(STT_FUNC);
    expect(elf.sections[sym.shndx].name).toBe(hook);
    const spec = c.spec();
    expect(spec.license).toBe('Dual MIT/GPL');
    expect(spec.programs.get(c.program)!.type).toBe(hook === 'xdp' ? BPF_PROG_TYPE.BPF_PROG_TYPE_XDP : BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_CLS);
  });

  it('BTF: FUNC → FUNC_PROTO (int, ctx: a pointer to struct xdp_md / __sk_buff); func_info and line info into the expression', () => {
    for (const [hook, ctx] of [['xdp', 'xdp_md'], ['tc', '__sk_buff']] as const) {
      const c = compileFilter('ip and udp port 53', { hook });
      const btf = loadCollectionSpec(c.object, 'f.o').btf!;
      const func = btf.btf.types.find((t) => t.kind === BTF_KIND_FUNC && t.name === c.program) as BtfFunc;
      const proto = btf.btf.typeById(func.type) as BtfFuncProto;
      expect(proto.kind).toBe(BTF_KIND_FUNC_PROTO);
      const ptr = btf.btf.typeById(proto.params[0].type) as BtfRef;
      expect(ptr.kind).toBe(BTF_KIND_PTR);
      const struct = btf.btf.typeById(ptr.type);
      expect([struct.kind, struct.name]).toEqual([BTF_KIND_STRUCT, ctx]);
      expect(btf.ext!.funcInfo.get(hook)).toEqual([{ insnOff: 0, typeId: func.id }]);
      const lines = btf.ext!.lineInfo.get(hook)!;
      expect(new Set(lines.map((l) => l.text))).toEqual(new Set(['ip and udp port 53']));
      expect(new Set(lines.map((l) => l.column))).toEqual(new Set([1, 8]));
    }
  });

  it.each(['xdp', 'tc'] as const)('%s: the verifier accepts it as root; with CAP_BPF alone, constant offsets', (hook) => {
    const check = (expr: string, caps: 'root' | 'bpf'): void => {
      const [r] = verifyCollection(loadCollectionSpec(compileFilter(expr, { hook }).object, 'f.o'), { caps });
      expect(r.accepted, `${expr} (${caps}): ${r.error ?? ''}`).toBe(true);
    };
    for (const expr of [BIG, 'ip[0xffffffff] = 1', 'ether[70000] = 1', '', 'ether[ether[ether[0]]] + ether[ether[1] + ether[2] * ether[3]] = len']) check(expr, 'root');
    // A variable offset added to the packet pointer needs CAP_PERFMON too (Spectre v1), as clang's code does.
    for (const expr of ['ip and ip[8] < 64 or ip6 src net fe80::/10 or arp host 10.0.0.1', 'len > 100 and ether[0] & 1 = 0', 'vlan 10 and ip']) check(expr, 'bpf');
  });

  const noKernel = process.env.XDPLAB_NO_KERNEL ? 'XDPLAB_NO_KERNEL is set' : kernelMissing();
  it.skipIf(noKernel !== undefined)(titled('bpftool prog load takes the XDP and TC objects (the kernel\'s verifier, BTF and line info)', noKernel), () => {
    const dir = scratch();
    for (const hook of ['xdp', 'tc'] as const) {
      const file = path.join(dir, `${hook}.o`);
      writeFileSync(file, compileFilter(BIG, { hook }).object);
      const pin = `/sys/fs/bpf/xdplab_filter_test_${process.pid}_${hook}`;
      const r = spawnSync('bpftool', ['prog', 'load', file, pin], { encoding: 'utf8' });
      const dump = spawnSync('bpftool', ['prog', 'dump', 'xlated', 'pinned', pin, 'linum'], { encoding: 'utf8' });
      spawnSync('rm', ['-f', pin]);
      expect(r.status, r.stderr).toBe(0);
      expect(dump.stdout).toContain(`; ${BIG} [file:filter line_num:1 line_col:1]`);
    }
  });
});

describe('xdplab filter', () => {
  it('prints the disassembly with no -o', async () => {
    const r = await cli(['filter', 'tcp port 22']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^xdp\/xdp_filter: tcp port 22\n\s+0:\tr6 = r1\n/);
    expect(r.stdout).toContain('exit');
  });

  it('-o writes the object; --hook tc and --action drop choose the section and the verdicts', async () => {
    const file = path.join(scratch(), 'f.bpf.o');
    const r = await cli(['filter', 'icmp', '-o', file, '--hook', 'tc', '--action', 'drop']);
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(readFileSync(file)).toEqual(Buffer.from(compileFilter('icmp', { hook: 'tc', action: 'drop' }).object));
  });

  it('--pcap runs it as replay does (--json, --out), --action drop drops what matches', async () => {
    const files = await writeCaptures();
    const out = path.join(scratch(), 'passed.pcap');
    const r = await cli(['filter', 'icmp', '--pcap', files.ipv4, '--json', '--action', 'drop', '--out', out]);
    expect(r.code).toBe(0);
    const verdicts = r.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { verdict: string }).verdict);
    expect(verdicts).toEqual(CAPTURES.ipv4().map((_, i) => ([10, 11, 12].includes(i) ? 'XDP_DROP' : 'XDP_PASS')));
    expect(existsSync(out)).toBe(true);
    const summary = await cli(['filter', 'vlan 10', '--hook', 'tc', '--pcap', files.vlan]);
    expect(summary.stdout).toMatch(/^TC_ACT_OK\s+3\s/m);
  });

  it.each([
    ['tcp dst port', 'xdplab: filter: column 13: expected a port number after \'port\' (the expression ended)\n'],
    ['host 10.0.0.1 or', 'xdplab: filter: column 17: expected a primitive (host, net, port, tcp, ip[…] > N, …) (the expression ended)\n'],
    ['('.repeat(20000) + 'tcp' + ')'.repeat(20000), 'xdplab: filter: the expression (40003 characters) nests too deeply to compile\n'],
    ['not '.repeat(20000) + 'tcp', 'xdplab: filter: the expression (80003 characters) nests too deeply to compile\n'],
  ])('a bad expression: one line naming the column, exit 2 (%#)', async (expr, err) => {
    expect(await cli(['filter', expr])).toEqual({ code: 2, stdout: '', stderr: err });
  });
});

describe('filter: on a topology attachment', () => {
  const topology = (attach: string): string => `name: t
nodes:
  - name: a
    kind: host
    interfaces:
      - { name: eth0, mac: 02:00:00:00:00:01, ipv4: [10.0.0.1/24] }
attach:
${attach}
`;
  it('compiles the expression for the hook and attaches it', () => {
    const file = path.join(scratch(), 'topology.yaml');
    writeFileSync(file, topology("  - { filter: 'tcp port 22', action: drop, interface: a/eth0, hook: xdp }\n  - { filter: 'not udp', interface: a/eth0, hook: tc-ingress }"));
    const t = loadTopology(file, NULL_SINK);
    const nic = t.network.interfaces.find((n) => n.id === 'a/eth0')!;
    expect(nic.xdp!.name).toBe("filter 'tcp port 22'");
    expect(nic.xdp!.program.type).toBe(BPF_PROG_TYPE.BPF_PROG_TYPE_XDP);
  });

  it('a bad expression is reported at its YAML line, with its column', () => {
    const file = path.join(scratch(), 'topology.yaml');
    writeFileSync(file, topology("  - filter: 'tcp dst port'\n    interface: a/eth0\n    hook: xdp"));
    expect(() => loadTopology(file, NULL_SINK)).toThrow(`${file}:8:13: attach[0].filter: filter: column 13: expected a port number after 'port' (the expression ended)`);
  });
});
