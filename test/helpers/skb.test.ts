/**
 * The skb helpers, through clang-built programs (test/fixtures/bpf/tc-skb.bpf.c): each case
 * runs in xdplab and in the kernel, which must agree on the return value, data_out and
 * ctx_out: the live kernel as root, elsewhere its answers recorded in
 * test/fixtures/kernel/helpers/skb.json (a case without a record fails).
 */
import { describe, expect, it } from 'vitest';
import { SK_BUFF_FIELDS as SK_BUFF, SK_BUFF_SIZE } from '../../src/uapi/prog-types.js';
import { plainFrame, tcp4, tcp6, udp4, udp6, withVlan } from '../support/packets.js';
import { ETH_P_8021AD, ETH_P_IP, ETH_P_IPV6 } from '../../src/uapi/if-ether.js';
import { TcFixture, type Outcome, type RunInput } from '../support/tc-harness.js';

const fx = new TcFixture(import.meta.url, 'tc-skb.bpf.o');

const agree = (program: string, input: RunInput): Outcome => fx.agree(program, input);

function ctxWith(cb: number[], extra: { mark?: number; priority?: number } = {}): Uint8Array {
  const ctx = new Uint8Array(SK_BUFF_SIZE);
  const v = new DataView(ctx.buffer);
  cb.forEach((x, i) => v.setUint32(SK_BUFF.cb + 4 * i, x >>> 0, true));
  v.setUint32(SK_BUFF.mark, extra.mark ?? 0, true);
  v.setUint32(SK_BUFF.priority, extra.priority ?? 0, true);
  return ctx;
}

const retval = (o: Outcome): number => (o.ok ? o.retval | 0 : NaN);
const cbOut = (o: Outcome): number[] => {
  if (!o.ok) throw new Error(`refused: errno ${o.errno}`);
  const b = Buffer.from(o.ctx, 'hex');
  return Array.from({ length: 5 }, (_, i) => b.readUInt32LE(SK_BUFF.cb + 4 * i));
};
const dataOut = (o: Outcome): Buffer => (o.ok ? Buffer.from(o.data, 'hex') : Buffer.alloc(0));

describe('bpf_skb_load_bytes', () => {
  const data = udp4({ payload: new Uint8Array(40).map((_, i) => i + 1) });
  it.each([
    [0, 4, 0], [0, 20, 0], [data.length - 4, 4, 0], [data.length - 3, 4, -14], [data.length, 1, -14],
    [0x7fffffff, 1, -14], [0x80000000, 1, -14], [0xffffffff, 4, -14], [13, 7, 0],
  ])('offset %d, %d bytes: %d', (off, len, r) => {
    const o = agree('load_bytes', { data, ctx: ctxWith([off, len]) });
    expect(retval(o)).toBe(r);
    const buf = Buffer.alloc(20);
    cbOut(o).forEach((w, i) => buf.writeUInt32LE(w, 4 * i));
    if (r === 0) expect(buf.subarray(0, len)).toEqual(Buffer.from(data.subarray(off, off + len)));
    else expect(buf.subarray(0, len)).toEqual(Buffer.alloc(len)); // cleared on failure
  });
});

describe('bpf_skb_load_bytes_relative', () => {
  const data = tcp4({ payload: new Uint8Array(30).fill(7) });
  it.each([
    ['MAC + 0', 0, 4, 0, 0],
    ['MAC + 12', 12, 4, 0, 0],
    ['NET + 0', 0, 20, 1, 0],
    ['NET + 9', 9, 1, 1, 0],
    ['NET past the end', data.length - 14 - 3, 4, 1, -14],
    ['NET to the end', data.length - 14 - 4, 4, 1, 0],
    ['offset 0xffff', 0xffff, 1, 0, -14],
    ['offset 0x10000', 0x10000, 1, 0, -14],
    ['header 2', 0, 4, 2, -14],
  ])('%s', (_, off, len, hdr, r) => {
    expect(retval(agree('load_bytes_relative', { data, ctx: ctxWith([off, len, hdr]) }))).toBe(r);
  });
});

describe('bpf_skb_store_bytes', () => {
  const data = udp4();
  const bytes = [0x44332211, 0x88776655];
  it.each([
    ['4 bytes at 0', 0, 4, 0, 0, 0],
    ['12 bytes at the end', data.length - 12, 12, 0, 0, 0],
    ['one byte past the end', data.length - 11, 12, 0, 0, -14],
    ['offset above INT_MAX', 0x80000000, 1, 0, 0, -14],
    ['BPF_F_RECOMPUTE_CSUM', 20, 4, 1, 0, 0],
    ['BPF_F_INVALIDATE_HASH', 20, 4, 2, 0, 0],
    ['an unknown flag', 20, 4, 4, 0, -22],
    ['a flag in the high word', 20, 4, 0, 1, -22],
  ])('%s', (_, off, len, flags, flagsHi, r) => {
    const o = agree('store_bytes', { data, ctx: ctxWith([off, len, flags, ...bytes], { mark: flagsHi, priority: 0xccbbaa99 }) });
    expect(retval(o)).toBe(r);
    const out = dataOut(o);
    if (r === 0) {
      const want = Buffer.from(Uint32Array.of(bytes[0], bytes[1], 0xccbbaa99).buffer).subarray(0, len);
      expect(out.subarray(off, off + len)).toEqual(want);
      expect(cbOut(o)[0]).toBe(flags & 2 ? 0 : 0x1234); // the hash, invalidated or not
    } else {
      expect(out).toEqual(Buffer.from(data));
    }
  });
});

// ---- operation sequences (the `ops` program) ------------------------------------------------

const OP = {
  PUSH: 1, POP: 2, CHANGE_HEAD: 3, CHANGE_TAIL: 4, CHANGE_PROTO: 5, CHANGE_TYPE: 6, PULL: 7, PUSH_RAW: 8, ADJUST: 9, ADJUST_L2: 10,
  CHANGE_HEAD_FLAGS: 11, CHANGE_TAIL_FLAGS: 12, CHANGE_PROTO_FLAGS: 13, SET_HASH: 14, HASH_INVALID: 15, HASH_RECALC: 16, PUSH_BIG_TCI: 17,
} as const;
const op = (code: number, arg = 0): number => ((code << 24) | (arg & 0xffffff)) >>> 0;
const push = (tci: number, ad = false): number => op(OP.PUSH, tci | (ad ? 0x10000 : 0));
const pop = op(OP.POP);
/** bpf_skb_adjust_room(diff, mode, flags) for flags below bit 10. */
const adjust = (diff: number, mode: number, flags = 0): number => op(OP.ADJUST, (diff & 0x1fff) | (mode << 13) | (flags << 14));
const adjustL2 = (diff: number, mode: number, flags: number, l2: number): number => op(OP.ADJUST_L2, diff | (mode << 8) | (flags << 9) | (l2 << 16));

const F = { FIXED_GSO: 1, ENCAP_L3_IPV4: 2, ENCAP_L3_IPV6: 4, ENCAP_L4_GRE: 8, ENCAP_L4_UDP: 16, NO_CSUM_RESET: 32, ENCAP_L2_ETH: 64, DECAP_L3_IPV4: 128, DECAP_L3_IPV6: 256 };
const NET = 0;
const MAC = 1;

interface State {
  results: number[];
  len: number;
  protocol: number;
  vlanProto: number;
  vlanPresent: number;
  vlanTci: number;
  pktType: number;
  dataLen: number;
  net: number;
}

function state(o: Outcome, n: number): State {
  if (!o.ok) throw new Error(`refused: errno ${o.errno}`);
  const ctx = Buffer.from(o.ctx, 'hex');
  const cb = cbOut(o);
  const tstamp = ctx.readBigUInt64LE(SK_BUFF.tstamp);
  return {
    results: Array.from({ length: n }, (_, i) => Number((tstamp >> BigInt(8 * i)) & 0xffn)),
    len: cb[0], protocol: cb[1] & 0xffff, vlanProto: cb[1] >>> 16, vlanPresent: cb[2] >>> 16, vlanTci: cb[2] & 0xffff,
    pktType: cb[3] & 0xff, dataLen: cb[3] >>> 8, net: ctx.readUInt32LE(SK_BUFF.mark),
  };
}

function runOps(data: Uint8Array, ops: number[]): { o: Outcome; s: State } {
  const o = agree('ops', { data, ctx: ctxWith(ops) });
  const s = state(o, ops.length);
  expect(s.dataLen).toBe(s.len); // data_end - data follows every change
  return { o, s };
}

const v4 = udp4({ payload: new Uint8Array(32).fill(0x11) });
const v6 = tcp6({ payload: new Uint8Array(20).fill(0x22) });

describe('bpf_skb_vlan_push / bpf_skb_vlan_pop', () => {
  it('push on an untagged frame: the tag goes to the skb, not the packet', () => {
    const { o, s } = runOps(v4, [push(0x123)]);
    expect(s).toMatchObject({ results: [0], vlanPresent: 1, vlanTci: 0x123, vlanProto: 0x0081, protocol: 0x0008, len: v4.length });
    expect(dataOut(o)).toEqual(Buffer.from(v4));
  });

  it('a second push moves the first tag into the packet', () => {
    const { o, s } = runOps(v4, [push(0x111), push(0x222)]);
    expect(s).toMatchObject({ vlanTci: 0x222, protocol: 0x0081, len: v4.length + 4 });
    expect(dataOut(o)).toEqual(Buffer.from(withVlan(v4, 0x111)));
  });

  it.each([
    ['802.1ad', [push(5, true), push(6)]],
    ['three pushes', [push(1), push(2), push(3)]],
    ['an unknown vlan_proto becomes 802.1Q', [op(OP.PUSH_RAW, 0x3412), push(9)]],
    ['vlan_proto 802.1ad as stored', [op(OP.PUSH_RAW, 0xa888), push(9)]],
    ['a TCI wider than 16 bits', [op(OP.PUSH_BIG_TCI, 5)]],
    ['push then pop', [push(1), pop]],
    ['pop on an untagged frame', [pop]],
    ['push, push, pop, pop', [push(1), push(2), pop, pop]],
    ['push, push, pop: the inner tag comes back out of the packet', [push(1), push(2), pop]],
  ])('%s', (_, ops) => {
    runOps(v4, ops);
  });

  it('pop on a tagged frame takes the tag out of the packet', () => {
    const { o, s } = runOps(withVlan(v4, 0x64), [pop]);
    expect(s).toMatchObject({ results: [0], vlanPresent: 0, protocol: 0x0008, len: v4.length });
    expect(dataOut(o)).toEqual(Buffer.from(v4));
  });

  it('pop on a double-tagged frame: the outer tag leaves, the inner one moves to the skb', () => {
    const { s } = runOps(withVlan(withVlan(v4, 10), 20, ETH_P_8021AD), [pop]);
    expect(s).toMatchObject({ vlanPresent: 1, vlanTci: 10, vlanProto: 0x0081, protocol: 0x0008, len: v4.length });
  });

  it.each([
    ['a tagged frame too short for its tag', plainFrame(0x8100, 16), [pop]],
    ['a tag over an 802.3 length', withVlan(plainFrame(0x0500, 60), 3), [pop]],
    ['a tag over 0xffff after an 802.3 length', withVlan(plainFrame(0x0500, 60).fill(0xff, 14, 16), 3), [pop]],
    ['a triple-tagged frame, twice', withVlan(withVlan(withVlan(v4, 1), 2), 3), [pop, pop]],
    ['a tagged IPv6 frame', withVlan(v6, 0xfff), [pop, push(7), push(8)]],
  ])('%s', (_, data, ops) => {
    runOps(data, ops);
  });
});

describe('bpf_skb_change_head / bpf_skb_change_tail', () => {
  it('change_head prepends zeros and moves the MAC header', () => {
    const { o, s } = runOps(v4, [op(OP.CHANGE_HEAD, 14)]);
    expect(s.len).toBe(v4.length + 14);
    expect(dataOut(o)).toEqual(Buffer.concat([Buffer.alloc(14), Buffer.from(v4)]));
  });

  it.each([
    ['0 bytes', [op(OP.CHANGE_HEAD, 0)]],
    ['up to BPF_SKB_MAX_LEN', [op(OP.CHANGE_HEAD, 16064 - v4.length)]],
    ['one byte more', [op(OP.CHANGE_HEAD, 16064 - v4.length + 1)]],
    ['with flags', [op(OP.CHANGE_HEAD_FLAGS, 4)]],
    ['head, then a VLAN pop', [op(OP.CHANGE_HEAD, 4), pop]],
  ])('change_head: %s', (_, ops) => {
    runOps(v4, ops);
  });

  it.each([
    ['grow to 200', [op(OP.CHANGE_TAIL, 200)]],
    ['shrink to 60', [op(OP.CHANGE_TAIL, 60)]],
    ['shrink to the network header (14)', [op(OP.CHANGE_TAIL, 14)]],
    ['shrink below it', [op(OP.CHANGE_TAIL, 13)]],
    ['the same length', [op(OP.CHANGE_TAIL, v4.length)]],
    ['BPF_SKB_MAX_LEN', [op(OP.CHANGE_TAIL, 16064)]],
    ['one byte more', [op(OP.CHANGE_TAIL, 16065)]],
    ['with flags', [op(OP.CHANGE_TAIL_FLAGS, 100)]],
    ['after an encapsulating adjust_room', [adjust(20, MAC, F.ENCAP_L3_IPV4), op(OP.CHANGE_TAIL, 100)]],
    ['after change_head', [op(OP.CHANGE_HEAD, 30), op(OP.CHANGE_TAIL, 40)]],
  ])('change_tail: %s', (_, ops) => {
    runOps(v4, ops);
  });

  it('grown tails are zeros', () => {
    const { o } = runOps(v4, [op(OP.CHANGE_TAIL, 100)]);
    expect(dataOut(o)).toEqual(Buffer.concat([Buffer.from(v4), Buffer.alloc(100 - v4.length)]));
  });
});

describe('bpf_skb_change_proto / bpf_skb_change_type / bpf_skb_pull_data', () => {
  it('IPv4 to IPv6 inserts 20 zero bytes after the MAC header', () => {
    const { o, s } = runOps(v4, [op(OP.CHANGE_PROTO, ETH_P_IPV6)]);
    expect(s.protocol).toBe(0xdd86);
    expect(dataOut(o)).toEqual(Buffer.concat([Buffer.from(v4.subarray(0, 14)), Buffer.alloc(20), Buffer.from(v4.subarray(14))]));
  });

  it('IPv6 to IPv4 removes 20 bytes after the MAC header', () => {
    const { o, s } = runOps(v6, [op(OP.CHANGE_PROTO, ETH_P_IP)]);
    expect(s.protocol).toBe(0x0008);
    expect(dataOut(o)).toEqual(Buffer.concat([Buffer.from(v6.subarray(0, 14)), Buffer.from(v6.subarray(34))]));
  });

  it.each([
    ['IPv4 to IPv4', v4, [op(OP.CHANGE_PROTO, ETH_P_IP)]],
    ['IPv4 to IPv6 and back', v4, [op(OP.CHANGE_PROTO, ETH_P_IPV6), op(OP.CHANGE_PROTO, ETH_P_IP)]],
    ['with flags', v4, [op(OP.CHANGE_PROTO_FLAGS, ETH_P_IPV6)]],
    ['a VLAN-tagged frame', withVlan(v4, 1), [op(OP.CHANGE_PROTO, ETH_P_IPV6)]],
    ['ARP', plainFrame(0x0806, 60), [op(OP.CHANGE_PROTO, ETH_P_IPV6)]],
    ['to an unknown protocol', v6, [op(OP.CHANGE_PROTO, 0x1234)]],
  ])('change_proto: %s', (_, data, ops) => {
    runOps(data, ops);
  });

  it.each([[0], [1], [2], [3], [4], [0xffffff]])('change_type %d', (t) => {
    runOps(v4, [op(OP.CHANGE_TYPE, t)]);
  });

  it('change_type from a multicast frame', () => {
    runOps(udp4({ ethDst: Uint8Array.of(1, 0, 0x5e, 0, 0, 1) }), [op(OP.CHANGE_TYPE, 0)]);
  });

  it.each([[0], [14], [v4.length], [v4.length + 1], [0xffffff]])('pull_data %d', (n) => {
    runOps(v4, [op(OP.PULL, n)]);
  });
});

describe('bpf_skb_adjust_room', () => {
  it('growing at the network header inserts zeros after the IP header', () => {
    const { o } = runOps(v4, [adjust(8, NET)]);
    expect(dataOut(o)).toEqual(Buffer.concat([Buffer.from(v4.subarray(0, 34)), Buffer.alloc(8), Buffer.from(v4.subarray(34))]));
  });

  it('shrinking at the MAC header removes bytes after the Ethernet header', () => {
    const { o } = runOps(v4, [adjust(-8, MAC)]);
    expect(dataOut(o)).toEqual(Buffer.concat([Buffer.from(v4.subarray(0, 14)), Buffer.from(v4.subarray(22))]));
  });

  it.each([
    ['grow 20 at MAC', v4, [adjust(20, MAC)]],
    ['grow 4095', v4, [adjust(4095, NET)]],
    ['shrink 4096: EFAULT', v4, [adjust(-4096, NET)]],
    ['shrink to the IPv4 minimum', v4, [adjust(-(v4.length - 14 - 20), MAC)]],
    ['shrink below it', v4, [adjust(-(v4.length - 14 - 20 + 1), MAC)]],
    ['shrink everything', v4, [adjust(-(v4.length - 14), NET)]],
    ['IPv6 NET grow', v6, [adjust(16, NET)]],
    ['IPv6 shrink to the minimum', v6, [adjust(-(v6.length - 54), MAC)]],
    ['ARP', plainFrame(0x0806, 60), [adjust(4, MAC)]],
    ['a VLAN-tagged frame', withVlan(v4, 2), [adjust(4, MAC)]],
    ['an unknown flag', v4, [adjust(4, MAC, 1 << 9)]],
    ['FIXED_GSO and NO_CSUM_RESET', v4, [adjust(8, NET, F.FIXED_GSO | F.NO_CSUM_RESET)]],
    ['encap IPv4 in IPv4', v4, [adjust(20, MAC, F.ENCAP_L3_IPV4)]],
    ['encap twice: EALREADY', v4, [adjust(20, MAC, F.ENCAP_L3_IPV4), adjust(20, MAC, F.ENCAP_L3_IPV4)]],
    ['encap IPv4 and IPv6 at once', v4, [adjust(20, MAC, F.ENCAP_L3_IPV4 | F.ENCAP_L3_IPV6)]],
    ['encap GRE and UDP at once', v4, [adjust(28, MAC, F.ENCAP_L3_IPV4 | F.ENCAP_L4_GRE | F.ENCAP_L4_UDP)]],
    ['encap UDP', v4, [adjust(28, MAC, F.ENCAP_L3_IPV4 | F.ENCAP_L4_UDP)]],
    ['encap GRE over IPv6 changes the protocol', v4, [adjust(44, MAC, F.ENCAP_L3_IPV6 | F.ENCAP_L4_GRE)]],
    ['encap IPv4 over an IPv6 packet', v6, [adjust(20, MAC, F.ENCAP_L3_IPV4)]],
    ['encap with a shrink: EINVAL', v4, [adjust(-4, MAC, F.ENCAP_L3_IPV4)]],
    ['decap IPv6 to IPv4', udp6({ payload: new Uint8Array(40) }), [adjust(-20, MAC, F.DECAP_L3_IPV4)]],
    ['decap IPv4 to IPv6', v4, [adjust(-20, MAC, F.DECAP_L3_IPV6)]],
    ['decap with both flags', v6, [adjust(-20, MAC, F.DECAP_L3_IPV4 | F.DECAP_L3_IPV6)]],
    ['decap while growing', v6, [adjust(20, MAC, F.DECAP_L3_IPV4)]],
    ['grow, then shrink back', v4, [adjust(12, NET), adjust(-12, NET)]],
    ['after a VLAN push', v4, [push(4), push(5), adjust(8, MAC)]],
    ['after change_proto', v4, [op(OP.CHANGE_PROTO, ETH_P_IPV6), adjust(8, NET)]],
  ])('%s', (_, data, ops) => {
    runOps(data, ops);
  });

  it.each([
    ['an inner Ethernet header (ENCAP_L2_ETH with L2 length 14)', [adjustL2(34, MAC, F.ENCAP_L3_IPV4 | F.ENCAP_L4_GRE | F.ENCAP_L2_ETH, 14)]],
    ['ENCAP_L2_ETH with an L2 length under 14', [adjustL2(34, MAC, F.ENCAP_L3_IPV4 | F.ENCAP_L2_ETH, 10)]],
    ['an L2 length longer than the room', [adjustL2(20, MAC, F.ENCAP_L3_IPV4, 30)]],
    ['an L2 length without encapsulation', [adjustL2(20, MAC, 0, 4)]],
    ['an L2 length on a shrink', [adjust(-4, MAC), adjustL2(4, MAC, 0, 4)]],
  ])('%s', (_, ops) => {
    runOps(v4, ops);
  });

  it('grows beyond BPF_SKB_MAX_LEN are refused', () => {
    runOps(v4, [op(OP.CHANGE_TAIL, 16064 - 10), adjust(11, NET)]);
  });
});

describe('the flow hash', () => {
  it.each([
    ['set_hash', [op(OP.SET_HASH, 0x123456)]],
    ['set_hash_invalid', [op(OP.HASH_INVALID)]],
    ['set, then invalidate', [op(OP.SET_HASH, 77), op(OP.HASH_INVALID)]],
    ['recalc keeps the hash', [op(OP.HASH_RECALC)]],
    ['recalc, invalidate, recalc', [op(OP.HASH_RECALC), op(OP.HASH_INVALID), op(OP.HASH_RECALC)]],
    ['change_proto clears it', [op(OP.SET_HASH, 5), op(OP.CHANGE_PROTO, ETH_P_IPV6)]],
  ])('%s', (_, ops) => {
    for (const data of [v4, v6, tcp4(), plainFrame(0x0806, 60)]) runOps(data, ops);
  });

  it('(xdplab) a flow has one hash, and different flows differ', () => {
    const hashOf = (data: Uint8Array): number => {
      const r = fx.xdplabRun('ops', { data, ctx: ctxWith([op(OP.HASH_RECALC)]) });
      if (r instanceof Error) throw r;
      return r.skb.hash;
    };
    expect(hashOf(tcp4({ sport: 1 }))).toBe(hashOf(tcp4({ sport: 1, payload: new Uint8Array(5) })));
    expect(hashOf(tcp4({ sport: 1 }))).not.toBe(hashOf(tcp4({ sport: 2 })));
  });
});

describe('repeat', () => {
  it('runs again on the changed skb and context (the ops come from cb, which the first run rewrote)', () => {
    agree('ops', { data: v4, ctx: ctxWith([push(3)]), repeat: 3 });
  });
});
