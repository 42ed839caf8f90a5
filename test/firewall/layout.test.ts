/** src/firewall/layout.ts is the C's layout: struct offsets from the object's BTF, map sizes from its specs. */
import { describe, expect, it } from 'vitest';
import { FIREWALL_OBJECT } from '../../src/firewall/firewall.js';
import {
  FW_CLASSES, FW_CONFIG, FW_COUNTER_SIZE, FW_LOG_SIZE, FW_MAPS, FW_MAX_ENTRIES, FW_MAX_INDEX, FW_PROGRAMS, FW_RANGE, FW_RULE,
} from '../../src/firewall/layout.js';
import { readObjectFile } from '../../src/spec/compile-c.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { verifyProgram } from '../../src/verifier/index.js';

const spec = loadCollectionSpec(readObjectFile(FIREWALL_OBJECT), FIREWALL_OBJECT);
const btf = spec.btf!.btf;

const byteOffset = (struct: string, field: string): number => {
  const t = btf.findByName(struct)!;
  return btf.memberOffset(t.id, field).bitOffset / 8;
};

describe('the rules program\'s layout', () => {
  it('struct fw_rule and fw_config', () => {
    expect(btf.sizeOf(btf.findByName('fw_rule')!.id)).toBe(FW_RULE.size);
    const fields: Array<[keyof typeof FW_RULE, string]> = [
      ['src', 'src'], ['srcMask', 'src_mask'], ['dst', 'dst'], ['dstMask', 'dst_mask'], ['sportLo', 'sport_lo'], ['sportHi', 'sport_hi'],
      ['dportLo', 'dport_lo'], ['dportHi', 'dport_hi'], ['family', 'family'], ['proto', 'proto'], ['flags', 'flags'], ['action', 'action'], ['rule', 'rule'],
    ];
    for (const [ts, c] of fields) expect(byteOffset('fw_rule', c), c).toBe(FW_RULE[ts]);
    expect(btf.sizeOf(btf.findByName('fw_config')!.id)).toBe(FW_CONFIG.size);
    expect(btf.sizeOf(btf.findByName('fw_range')!.id)).toBe(FW_RANGE.size);
    expect(byteOffset('fw_range', 'start')).toBe(FW_RANGE.start);
    expect(byteOffset('fw_range', 'count')).toBe(FW_RANGE.count);
    expect(byteOffset('fw_config', 'default_action')).toBe(FW_CONFIG.defaultAction);
    expect(byteOffset('fw_config', 'non_ip_action')).toBe(FW_CONFIG.nonIpAction);
  });

  it('the maps and programs', () => {
    const map = (name: string): { valueSize: number; maxEntries: number } => spec.maps.get(name)!;
    expect(map(FW_MAPS.rules)).toMatchObject({ valueSize: FW_RULE.size, maxEntries: FW_MAX_ENTRIES });
    expect(map(FW_MAPS.config)).toMatchObject({ valueSize: FW_CONFIG.size, maxEntries: 1 });
    expect(map(FW_MAPS.index)).toMatchObject({ valueSize: 4, maxEntries: FW_MAX_INDEX });
    expect(map(FW_MAPS.classes)).toMatchObject({ valueSize: FW_RANGE.size, maxEntries: FW_CLASSES });
    expect(map(FW_MAPS.hits)).toMatchObject({ valueSize: FW_COUNTER_SIZE, maxEntries: FW_MAX_ENTRIES + 3 });
    expect(map(FW_MAPS.log)).toMatchObject({ valueSize: 4, maxEntries: FW_LOG_SIZE });
    expect(map(FW_MAPS.seq)).toMatchObject({ valueSize: 8, maxEntries: 1 });
    expect([...spec.programs.keys()].sort()).toEqual(Object.values(FW_PROGRAMS).sort());
  });

  it('every program loads as root and with CAP_BPF + CAP_NET_ADMIN alone (the kernel\'s answers: test/verifier/shipped.test.ts)', () => {
    for (const program of spec.programs.values()) {
      for (const caps of ['root', 'bpf'] as const) expect(verifyProgram(spec, program, { caps, cpus: 2 }).accepted, `${program.name} ${caps}`).toBe(true);
    }
  });
});
