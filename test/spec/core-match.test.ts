import { describe, expect, it } from 'vitest';
import { essentialName, kernelBtf } from '../../src/spec/core-match.js';
import { BTF_KIND_STRUCT, type BtfComposite } from '../../src/btf/types.js';

describe('CO-RE candidates', () => {
  it('strip the last flavor suffix as libbpf does (bpf_core_essential_name_len)', () => {
    expect(essentialName('iphdr___partial')).toBe('iphdr');
    expect(essentialName('__sk_buff___new')).toBe('__sk_buff');
    expect(essentialName('a___b___c')).toBe('a___b');
    expect(essentialName('plain')).toBe('plain');
    expect(essentialName('x____y')).toBe('x____y'); // four underscores: not a flavor separator
  });

  it('the kernel types are the uapi layouts: contexts and packet headers with their members', () => {
    const btf = kernelBtf();
    const skb = btf.findByName('__sk_buff', BTF_KIND_STRUCT) as BtfComposite;
    expect(skb.members.find((m) => m.name === 'mark')?.bitOffset).toBe(8 * 8);
    const ip = btf.findByName('iphdr', BTF_KIND_STRUCT) as BtfComposite;
    expect(ip.members.find((m) => m.name === 'ttl')?.bitOffset).toBe(8 * 8);
    expect(btf.findByName('bpf_func_id')).toBeDefined();
  });
});
