import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Fib } from '../../src/netcore/fib.js';
import { BPF_FIB_LKUP_RET } from '../../src/uapi/bpf.js';
import { testRun } from '../../src/hooks/test-run.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { repoRoot } from '../support/conformance.js';

const object = path.join(repoRoot, 'test', 'fixtures', 'bpf', 'rt-fib.bpf.o');
const mac = (last: number): Uint8Array => Uint8Array.of(2, 0, 0, 0, 0, last);

/** Router: eth1 (ifindex 2) in, eth2 (3) out; 10.9.0.0/16 via 192.168.1.1 on eth2; 10.66/16 blackholed. */
const FIB: Fib = {
  device: (i) => (i === 2 ? { mac: mac(2), mtu: 1500, forwarding: true }
    : i === 3 ? { mac: mac(3), mtu: 900, forwarding: true }
    : i === 4 ? { mac: mac(4), mtu: 1500, forwarding: false } : undefined),
  route: (_family, dst) => (dst[0] === 10 && dst[1] === 9 ? { type: 'unicast', ifindex: 3, gateway: Uint8Array.of(192, 168, 1, 1), metric: 20, mtu: 1400 }
    : dst[0] === 10 && dst[1] === 66 ? { type: 'blackhole', ifindex: 3, metric: 0 } : undefined),
  neighbour: (ifindex, addr) => (ifindex === 3 && addr.join('.') === '192.168.1.1' ? mac(0x99) : undefined),
};

function lookup(dst: number[], ifindex: number, flags = 0, fib: Fib | null = FIB) {
  const runtime = new Runtime();
  runtime.fib = fib ?? undefined;
  const collection = Collection.load(runtime, loadCollectionSpec(new Uint8Array(readFileSync(object)), object));
  const packet = new Uint8Array(64);
  packet.set([0, ifindex, flags], 0);
  packet[12] = 0x08; packet[14] = 0x45;
  packet.set(dst, 30);
  testRun(runtime, collection.program('fib'), { data: packet });
  const value = collection.map('out').lookup(new Uint8Array(4))!;
  const view = new DataView(value.buffer);
  return { ret: Number(view.getBigInt64(0, true)), ifindex: view.getUint32(8, true), mtu: view.getUint16(12, true), smac: value.slice(14, 20), dmac: value.slice(20, 26) };
}

describe('bpf_fib_lookup over a node\'s tables', () => {
  it('forwards: egress ifindex, source MAC of the egress device, next hop\'s MAC', () => {
    expect(lookup([10, 9, 8, 7], 2)).toEqual({ ret: BPF_FIB_LKUP_RET.SUCCESS, ifindex: 3, mtu: 1000, smac: mac(3), dmac: mac(0x99) });
  });
  it('says FRAG_NEEDED with the route MTU when the packet is too big', () => {
    // rt-fib asks with tot_len 1000; route MTU 1400 passes, so shrink it through the device.
    const small: Fib = { ...FIB, route: (f, d, i) => ({ ...FIB.route(f, d, i)!, mtu: 600 }) };
    expect(lookup([10, 9, 8, 7], 2, 0, small)).toMatchObject({ ret: BPF_FIB_LKUP_RET.FRAG_NEEDED, mtu: 600 });
  });
  it.each([
    ['no route', [172, 16, 0, 1], 2, 0, BPF_FIB_LKUP_RET.NOT_FWDED],
    ['a blackhole route', [10, 66, 0, 1], 2, 0, BPF_FIB_LKUP_RET.BLACKHOLE],
    ['forwarding off on the ingress device', [10, 9, 8, 7], 4, 0, BPF_FIB_LKUP_RET.FWD_DISABLED],
    ['forwarding off, even with BPF_FIB_LOOKUP_OUTPUT', [10, 9, 8, 7], 4, 2, BPF_FIB_LKUP_RET.FWD_DISABLED],
    ['no such device', [10, 9, 8, 7], 77, 0, -19],
  ])('%s', (_name, dst, ifindex, flags, ret) => {
    expect(lookup(dst as number[], ifindex as number, flags as number).ret).toBe(ret);
  });
  it('NO_NEIGH without a neighbour entry, and SKIP_NEIGH skips it', () => {
    const noNeigh: Fib = { ...FIB, neighbour: () => undefined };
    expect(lookup([10, 9, 8, 7], 2, 0, noNeigh)).toMatchObject({ ret: BPF_FIB_LKUP_RET.NO_NEIGH, ifindex: 3, smac: mac(3) });
    expect(lookup([10, 9, 8, 7], 2, 4, noNeigh).ret).toBe(BPF_FIB_LKUP_RET.SUCCESS);
  });
  it('knows only loopback, with forwarding off, without a network', () => {
    expect(lookup([10, 9, 8, 7], 1, 0, null).ret).toBe(BPF_FIB_LKUP_RET.FWD_DISABLED);
  });
});
