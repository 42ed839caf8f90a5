import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BPF_PSEUDO_CALL, BPF_PSEUDO_MAP_VALUE } from '../../src/isa/opcodes.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { BPF_F_MMAPABLE, BPF_F_RDONLY_PROG, BPF_MAP_TYPE, BPF_PROG_TYPE } from '../../src/uapi/bpf.js';
import { XdplabError } from '../../src/errors.js';
import { repoRoot } from '../support/conformance.js';

const fixture = (name: string): string => path.join(repoRoot, 'test', 'fixtures', 'bpf', name);
const load = (name: string) => loadCollectionSpec(new Uint8Array(readFileSync(fixture(name))), fixture(name));

describe('loadCollectionSpec', () => {
  it('finds programs by section and links the .text subprogram into each', () => {
    const spec = load('subprog.bpf.o');
    expect([...spec.programs.keys()].sort()).toEqual(['tc_len', 'xdp_len']);
    const xdp = spec.programs.get('xdp_len')!;
    expect(xdp).toMatchObject({ sectionName: 'xdp', type: BPF_PROG_TYPE.BPF_PROG_TYPE_XDP, license: 'GPL' });
    expect(spec.programs.get('tc_len')!.type).toBe(BPF_PROG_TYPE.BPF_PROG_TYPE_SCHED_CLS);
    // The call now targets the appended copy of classify(), pc-relative.
    let pc = 0;
    const calls: number[] = [];
    for (const insn of xdp.instructions) {
      if (insn.info.kind === 'call' && insn.src === BPF_PSEUDO_CALL) calls.push(pc + 1 + insn.imm);
      pc += insn.width;
    }
    expect(calls).toHaveLength(1);
    expect(xdp.functions.get(calls[0])).toBe('classify');
    expect(xdp.instructions.at(-1)!.toString()).toBe('exit');
  });

  it('makes .data, .rodata and .bss into array maps named as libbpf names them', () => {
    const spec = load('globals.bpf.o');
    const data = spec.maps.get('globals.data')!;
    const rodata = spec.maps.get('globals.rodata')!;
    expect(data).toMatchObject({ type: BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY, keySize: 4, maxEntries: 1, flags: BPF_F_MMAPABLE });
    expect(rodata.flags).toBe(BPF_F_MMAPABLE | BPF_F_RDONLY_PROG);
    expect(spec.maps.get('globals.bss')!.initialValue!.every((b) => b === 0)).toBe(true);
    const prog = [...spec.programs.values()][0];
    expect(prog.mapReferences.map((r) => r.map).sort()).toEqual(expect.arrayContaining(['globals.data']));
    for (const ref of prog.mapReferences) expect(ref.kind).toBe('value');
  });

  it('gathers __kconfig externs into a read-only .kconfig map, laid out in libbpf\'s order', () => {
    const spec = load('kconfig.bpf.o');
    const kconfig = spec.maps.get('kconfig.kconfig')!;
    expect({ flags: kconfig.flags, valueSize: kconfig.valueSize }).toEqual({ flags: BPF_F_MMAPABLE | BPF_F_RDONLY_PROG, valueSize: 25 });
    // Alignment 4 before 1; then size ascending; then name.
    expect(Object.fromEntries([...kconfig.variables!].map(([n, v]) => [n, v.offset]))).toEqual({
      CONFIG_XDPLAB_NO_SUCH_OPTION: 0, LINUX_KERNEL_VERSION: 4, CONFIG_BPF_JIT: 8, CONFIG_XDPLAB_NO_SUCH_STRING: 9,
    });
    expect(Buffer.from(kconfig.initialValue!).toString('hex')).toBe(`00000000${'00120600'}01${'00'.repeat(16)}`);
  });

  it('resolves calls, function addresses and global offsets as libbpf does', () => {
    const spec = loadCollectionSpec(new Uint8Array(readFileSync(fixture('linking.bpf.o'))), 'linking.bpf.o');
    const p1 = spec.programs.get('p1')!;
    expect([...p1.functions.values()].sort()).toEqual(['cb', 'gsub', 'p1', 'sub2']);
    const p2 = spec.programs.get('p2')!;
    expect([...p2.functions.values()].sort()).toEqual(['p2', 'sub2']);
    const counter = p1.mapReferences.find((r) => r.map === 'linking.data')!;
    expect(counter).toMatchObject({ kind: 'value', offset: 0 });
    const insnAt = (prog: typeof p1, at: number) => {
      let pc = 0;
      for (const insn of prog.instructions) {
        if (pc === at) return insn;
        pc += insn.width;
      }
      throw new Error(`no instruction at ${at}`);
    };
    expect(insnAt(p1, counter.pc).src).toBe(BPF_PSEUDO_MAP_VALUE);
    expect(p2.mapReferences.find((r) => r.map === 'h')).toBeDefined();
  });

  it('rejects what is not a BPF object, naming the file', () => {
    expect(() => loadCollectionSpec(new Uint8Array(64), 'x.o')).toThrow(XdplabError);
    expect(() => loadCollectionSpec(new Uint8Array(64), 'x.o')).toThrow(/^x\.o: /);
  });
});

describe('names and sections as libbpf reads them', () => {
  it.each([
    ['globals.bpf.o', '.data', 'globals.data'],
    ['a_very_long_object_name.bpf.o', '.rodata', 'a_very_l.rodata'],
    ['obj.bpf.o', '.rodata.str1.1', '.rodata.str1.1'],
    ['obj.bpf.o', '.data.custom', '.data.custom'],
  ])('%s %s is map %s', async (source, section, name) => {
    const { internalMapNameForTest } = await import('../../src/spec/loader.js');
    expect(internalMapNameForTest(source, section)).toBe(name);
  });

  it.each([
    ['xdp', 'xdp'], ['xdp.frags', 'xdp.frags'], ['xdp/devmap', 'xdp/devmap'], ['xdp_stats1', 'xdp'],
    ['tc', 'tc'], ['tc/ingress', 'tc/ingress'], ['classifier_main', 'classifier'], ['tcx/egress', 'tcx/egress'],
  ])('section %s runs as %s', async (section, prefix) => {
    const { sectionDef } = await import('../../src/spec/section-names.js');
    expect(sectionDef(section)?.prefix).toBe(prefix);
  });
});
