/**
 * The TC hook's BPF_PROG_TEST_RUN: what it accepts and refuses, the skb it builds, the context
 * a program reads and writes, data_out and ctx_out — each case run in xdplab and in the
 * kernel (bpftool prog run as root, else its answers recorded in test/fixtures/kernel/hooks/tc.json),
 * which must agree byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { TestRunError, tcActionName } from '../../src/hooks/tc.js';
import { TC_ACT } from '../../src/uapi/pkt-cls.js';
import { SK_BUFF_FIELDS as SK_BUFF, SK_BUFF_SIZE } from '../../src/uapi/prog-types.js';
import { testRun } from '../../src/hooks/test-run.js';
import { mac, plainFrame, tcp6, udp4, withVlan } from '../support/packets.js';
import { ETH_P_8021AD, ETH_P_8021Q, ETH_P_IP, ETH_P_IPV6 } from '../../src/uapi/if-ether.js';
import { TcFixture, type Outcome, type RunInput } from '../support/tc-harness.js';
import { titled } from '../support/skip.js';

const fx = new TcFixture(import.meta.url, 'tc-ctx.bpf.o');

const agree = (program: string, input: RunInput): Outcome => fx.agree(program, input);

/** A __sk_buff with some fields set. */
function skbCtx(fields: Partial<Record<keyof typeof SK_BUFF, number | bigint | number[]>>, size: number = SK_BUFF_SIZE): Uint8Array {
  const ctx = new Uint8Array(Math.max(size, SK_BUFF_SIZE));
  const view = new DataView(ctx.buffer);
  for (const [name, value] of Object.entries(fields)) {
    const off = SK_BUFF[name as keyof typeof SK_BUFF];
    if (Array.isArray(value)) value.forEach((v, i) => view.setUint32(off + 4 * i, v, true));
    else if (typeof value === 'bigint') view.setBigUint64(off, value, true);
    else view.setUint32(off, value, true);
  }
  return ctx.subarray(0, size);
}

/** ctx_dump's record, read back from data_out. */
function dumped(o: Outcome): Record<string, number | bigint> {
  if (!o.ok) throw new Error(`refused: errno ${o.errno}`);
  const b = Buffer.from(o.data, 'hex');
  const names = ['len', 'pkt_type', 'mark', 'queue_mapping', 'protocol', 'vlan_present', 'vlan_tci', 'vlan_proto', 'priority',
    'ingress_ifindex', 'ifindex', 'tc_index', 'cb0', 'cb1', 'cb2', 'cb3', 'cb4', 'hash', 'tc_classid', 'data_len', 'napi_id',
    'meta_len', 'wire_len', 'gso_segs', 'gso_size', 'has_sk'];
  const out: Record<string, number | bigint> = {};
  names.forEach((n, i) => { out[n] = b.readUInt32LE(14 + 4 * i); });
  out.tstamp = b.readBigUInt64LE(14 + 104);
  out.hwtstamp = b.readBigUInt64LE(14 + 112);
  out.tstamp_type = b.readUInt32LE(14 + 120);
  return out;
}

const big = (type = ETH_P_IP, o: { ethDst?: Uint8Array } = {}): Uint8Array => plainFrame(type, 200, o);

describe('data_in: sizes', () => {
  it.each([
    ['13 bytes', plainFrame(0x88b5, 13), 22],
    ['14 bytes', plainFrame(0x88b5, 14), 0],
    ['IPv4 EtherType, 33 bytes', plainFrame(ETH_P_IP, 33), 22],
    ['IPv4 EtherType, 34 bytes', plainFrame(ETH_P_IP, 34), 0],
    ['IPv6 EtherType, 53 bytes', plainFrame(ETH_P_IPV6, 53), 22],
    ['IPv6 EtherType, 54 bytes', plainFrame(ETH_P_IPV6, 54), 0],
    ['802.1Q, 14 bytes', plainFrame(ETH_P_8021Q, 14), 0],
    ['3712 bytes', plainFrame(0x88b5, 3712), 0],
    ['3713 bytes', plainFrame(0x88b5, 3713), 22],
  ])('%s', (_, data, errno) => {
    const o = agree('verdict', { data });
    expect(o.ok ? 0 : o.errno).toBe(errno);
    if (o.ok) expect(o.data).toBe(Buffer.from(data).toString('hex'));
  });
});

describe('the skb eth_type_trans builds', () => {
  it.each([
    ['00:00:00:00:00:00', 0], // the loopback's own address: PACKET_HOST
    ['ff:ff:ff:ff:ff:ff', 2], // the loopback's broadcast address is zero: MULTICAST
    ['01:00:5e:00:00:01', 2],
    ['33:33:00:00:00:01', 2],
    ['02:00:00:00:00:02', 3], // OTHERHOST
    ['00:00:00:00:00:01', 3],
  ])('destination %s: pkt_type %d', (dst, pktType) => {
    const d = dumped(agree('ctx_dump', { data: big(ETH_P_IP, { ethDst: mac(dst) }) }));
    expect(d.pkt_type).toBe(pktType);
  });

  it.each([
    [ETH_P_IP, 0x0008],
    [ETH_P_IPV6, 0xdd86],
    [ETH_P_8021Q, 0x0081],
    [ETH_P_8021AD, 0xa888],
    [0x0806, 0x0608],
    [0x0600, 0x0006],
    [0x05dc, 0x0400], // a length: ETH_P_802_2
    [0x05ff, 0x0400],
  ])('EtherType 0x%s: protocol 0x%s as the program loads it', (type, protocol) => {
    expect(dumped(agree('ctx_dump', { data: big(type) })).protocol).toBe(protocol);
  });

  it('a raw 802.3 frame (0xffff after a length) is ETH_P_802_3', () => {
    const data = big(0x0040);
    data[14] = 0xff;
    data[15] = 0xff;
    expect(dumped(agree('ctx_dump', { data })).protocol).toBe(0x0100);
  });

  it('without ctx_in: loopback, no wire_len, a socket, nothing else', () => {
    const d = dumped(agree('ctx_dump', { data: big() }));
    expect(d).toMatchObject({ len: 200, data_len: 200, ifindex: 1, ingress_ifindex: 0, wire_len: 0, has_sk: 1, hash: 0, mark: 0, vlan_present: 0, meta_len: 0 });
  });

  it('a VLAN-tagged frame keeps its tag in the packet (no hardware acceleration in a test run)', () => {
    const d = dumped(agree('ctx_dump', { data: withVlan(big(), 0x0123) }));
    expect(d).toMatchObject({ vlan_present: 0, vlan_tci: 0, protocol: 0x0081, len: 204 });
  });
});

describe('ctx_in', () => {
  const data = big();

  it('an all-zero context: wire_len becomes len; ctx_out has ifindex and wire_len', () => {
    const o = agree('ctx_dump', { data, ctx: new Uint8Array(SK_BUFF_SIZE) });
    expect(dumped(o).wire_len).toBe(200);
    expect(o.ok && o.ctx).toBe(Buffer.from(skbCtx({ ifindex: 1, wire_len: 200 })).toString('hex'));
  });

  it('(xdplab only: bpftool passes ctx_out only with ctx_in) ctx_out without ctx_in runs with a zeroed context', () => {
    const o = fx.xdplab('ctx_dump', { data, ctxOut: true });
    expect(dumped(o).wire_len).toBe(200);
    expect(o.ok && o.ctx).toBe(Buffer.from(skbCtx({ ifindex: 1, wire_len: 200 })).toString('hex'));
  });

  const ACCEPTED = new Set([8, 32, 36, 40, 48, 52, 56, 60, 64, 152, 156, 164, 176, 184, 188]);
  it.each(Array.from({ length: SK_BUFF_SIZE / 4 }, (_, i) => i * 4))('a 1 at byte %d', (off) => {
    const ctx = new Uint8Array(SK_BUFF_SIZE);
    ctx[off] = 1;
    const o = agree('ctx_dump', { data, ctx });
    expect(o.ok).toBe(ACCEPTED.has(off));
    if (!o.ok) expect(o.errno).toBe(22);
  });

  it('every settable field reaches the program and comes back', () => {
    const ctx = skbCtx({
      mark: 5, priority: 6, ingress_ifindex: 7, ifindex: 1, cb: [1, 2, 3, 4, 5], tstamp: 1000n, wire_len: 300, gso_segs: 9, gso_size: 1400, hwtstamp: 77n,
    });
    const o = agree('ctx_dump', { data, ctx });
    expect(dumped(o)).toMatchObject({ mark: 5, priority: 6, ingress_ifindex: 7, ifindex: 1, cb0: 1, cb4: 5, tstamp: 1000n, wire_len: 300, gso_segs: 9, gso_size: 1400, hwtstamp: 77n });
  });

  it.each([
    ['wire_len = len', { wire_len: 200 }, 0],
    ['wire_len < len', { wire_len: 199 }, 22],
    ['wire_len = 65536', { wire_len: 65536 }, 0],
    ['wire_len > 65536', { wire_len: 65537 }, 22],
    ['gso_segs = 65535', { gso_segs: 65535 }, 0],
    ['gso_segs > 65535', { gso_segs: 65536 }, 22],
    ['gso_size 0xffffffff (u16 in the skb, untouched in ctx_out)', { gso_size: 0xffffffff }, 0],
    ['ingress_ifindex of no device', { ingress_ifindex: 999 }, 0],
    ['ifindex of no device', { ifindex: 9999 }, 19],
  ])('%s', (_, fields, errno) => {
    const o = agree('ctx_dump', { data, ctx: skbCtx(fields) });
    expect(o.ok ? 0 : o.errno).toBe(errno);
  });

  const other = [...fx.devices.values()].find((d) => d.ifindex > 1);
  it.skipIf(!other)(titled('ifindex of another device: that device, pkt_type against its address', other ? undefined : 'the machine has no device but the loopback'), () => {
    if (!other) throw new Error('unreachable');
    const d = dumped(agree('ctx_dump', { data, ctx: skbCtx({ ifindex: other.ifindex }) }));
    expect(d.ifindex).toBe(other.ifindex);
    expect(d.pkt_type).toBe(3);
  });

  it.each([4, 12, 100, 191, 196, 256])('a %d-byte context (zero past the struct) is fine', (size) => {
    expect(agree('ctx_dump', { data, ctx: new Uint8Array(size) }).ok).toBe(true);
  });

  it('a non-zero byte past the struct is E2BIG', () => {
    const ctx = new Uint8Array(SK_BUFF_SIZE + 1);
    ctx[SK_BUFF_SIZE] = 1;
    expect(agree('ctx_dump', { data, ctx })).toEqual({ ok: false, errno: 7 });
  });

  it('a short context sets the fields it covers', () => {
    const ctx = new Uint8Array(9);
    ctx[8] = 9;
    expect(dumped(agree('ctx_dump', { data, ctx })).mark).toBe(9);
  });
});

describe('the program writes the context', () => {
  it('every writable field: mark, priority, cb and tstamp come back in ctx_out; all are read back', () => {
    const o = agree('ctx_write', { data: big(), ctx: new Uint8Array(SK_BUFF_SIZE) });
    expect(dumped(o)).toMatchObject({ mark: 0x11223344, priority: 7, tc_index: 0x55, tc_classid: 0x1002, queue_mapping: 3, tstamp: 123456789n, cb0: 0xa0, cb4: 0xa4 });
  });

  it('without a context the writes still reach the program', () => {
    expect(dumped(agree('ctx_write', { data: big() })).tc_index).toBe(0x55);
  });

  it('the kernel\'s widths: tc_index and tc_classid are u16, a queue_mapping of 0xffff is ignored', () => {
    const d = dumped(agree('ctx_write_wide', { data: big(), ctx: new Uint8Array(SK_BUFF_SIZE) }));
    expect(d).toMatchObject({ queue_mapping: 5, tc_index: 0x2345, tc_classid: 0xcdef, mark: 0xffffffff });
  });

  it('(xdplab only) before the next helper call a program reads back what it stored', () => {
    // The kernel rewrites context stores into sk_buff stores of the field's width; xdplab's
    // context is plain memory, so the narrowing shows only once a helper (or the end) syncs it.
    const r = fx.xdplabRun('ctx_write_wide', { data: big() });
    if (r instanceof TestRunError) throw r;
    expect(new DataView(r.skb.arena.memory.buffer).getUint32(r.skb.ctxAddr + SK_BUFF.tc_classid, true)).toBe(0xcdef);
  });
});

describe('the test socket (skb->sk)', () => {
  const words = (o: Outcome): number[] => {
    if (!o.ok) throw new Error('refused');
    const b = Buffer.from(o.data, 'hex');
    return Array.from({ length: 12 }, (_, i) => b.readUInt32LE(14 + 4 * i));
  };

  it('IPv4: AF_INET with the packet\'s addresses, TCP_CLOSE', () => {
    const w = words(agree('sk_dump', { data: udp4({ payload: new Uint8Array(64) }) }));
    expect(w[0]).toBe(2);
    expect(w[1]).toBe(0x010200c0); // 192.0.2.1 as loaded
    expect(w[11]).toBe(7);
  });

  it('IPv6: AF_INET6', () => {
    expect(words(agree('sk_dump', { data: tcp6() }))[0]).toBe(10);
  });

  it('ARP: AF_UNSPEC', () => {
    expect(words(agree('sk_dump', { data: plainFrame(0x0806, 100) }))[0]).toBe(0);
  });
});

describe('verdicts, repeat and legacy loads', () => {
  it.each([-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 100])('return value %d', (v) => {
    const data = big(0x88b5);
    new DataView(data.buffer).setInt32(14, v, true);
    for (const program of ['verdict', 'act_verdict']) {
      const o = agree(program, { data });
      expect(o.ok && o.retval).toBe(v >>> 0);
    }
  });

  it('names', () => {
    expect(tcActionName(0xffffffff)).toBe('TC_ACT_UNSPEC');
    expect(tcActionName(TC_ACT.TC_ACT_REDIRECT)).toBe('TC_ACT_REDIRECT');
    expect(tcActionName(100)).toBe('TC_ACT_UNKNOWN(100)');
    const r = testRun(fx.runtime, fx.collection.program('verdict'), { data: new Uint8Array(64) });
    expect(r.verdict).toBe('TC_ACT_OK');
  });

  it('repeat runs the program on the same skb', () => {
    const o = agree('count_runs', { data: big(), ctx: new Uint8Array(SK_BUFF_SIZE), repeat: 5 });
    expect(o.ok && o.retval).toBe(5);
  });

  it.each([0, 14, 196, 197])('LD_ABS / LD_IND at %d', (off) => {
    const o = agree('ld_abs', { data: big(), ctx: skbCtx({ cb: [off] }) });
    expect(o.ok).toBe(true);
  });
});
