/**
 * Tunnel metadata, cgroup and socket queries, bpf_clone_redirect and bpf_check_mtu (TC and
 * XDP), through test/fixtures/bpf/tc-meta.bpf.c in xdplab and the kernel (live as root, else
 * as recorded in test/fixtures/kernel/helpers/skb-meta.json).
 * Where a test run has no host state (cgroups, routes), xdplab answers what the kernel's test
 * run answers; the socket cookie is a counter of the kernel's that only its shape can match.
 */
import { describe, expect, it } from 'vitest';
import { SK_BUFF_FIELDS as SK_BUFF, SK_BUFF_SIZE } from '../../src/uapi/prog-types.js';
import { XdpHook } from '../../src/hooks/xdp.js';
import { ip6, plainFrame, udp4 } from '../support/packets.js';
import { TcFixture, hex, type Outcome, type RunInput } from '../support/tc-harness.js';
import { titled } from '../support/skip.js';

const fx = new TcFixture(import.meta.url, 'tc-meta.bpf.o');

const agree = (program: string, input: RunInput): Outcome => fx.agree(program, input);

function ctxWith(cb: number[]): Uint8Array {
  const ctx = new Uint8Array(SK_BUFF_SIZE);
  const v = new DataView(ctx.buffer);
  cb.forEach((x, i) => v.setUint32(SK_BUFF.cb + 4 * i, x >>> 0, true));
  return ctx;
}

const cbOf = (o: Outcome): number[] => {
  if (!o.ok) throw new Error(`refused: errno ${o.errno}`);
  const b = Buffer.from(o.ctx, 'hex');
  return Array.from({ length: 5 }, (_, i) => b.readInt32LE(SK_BUFF.cb + 4 * i));
};

// ---- tunnel keys -------------------------------------------------------------------------------

const TUNINFO_IPV6 = 1;
const ZERO_CSUM_TX = 2;
const DONT_FRAGMENT = 4;
const SEQ_NUMBER = 8;
const NO_TUNNEL_KEY = 16;
const TUNINFO_FLAGS = 16;
const NONE = 0xffff;

/** A struct bpf_tunnel_key followed by 64 option bytes, as the packet carries them. */
function keyPacket(k: { id?: number; remote4?: number; remote6?: Uint8Array; tos?: number; ttl?: number; ext?: number; label?: number; local4?: number; local6?: Uint8Array }): Uint8Array {
  const payload = new Uint8Array(44 + 64);
  const v = new DataView(payload.buffer);
  v.setUint32(0, k.id ?? 0x01020304, true);
  if (k.remote6) payload.set(k.remote6, 4);
  else v.setUint32(4, k.remote4 ?? 0xc0000201, true);
  payload[20] = k.tos ?? 0x10;
  payload[21] = k.ttl ?? 0x40;
  v.setUint16(22, k.ext ?? 0, true);
  v.setUint32(24, k.label ?? 0, true);
  if (k.local6) payload.set(k.local6, 28);
  else v.setUint32(28, k.local4 ?? 0xc6336407, true);
  for (let i = 0; i < 64; i++) payload[44 + i] = i + 1;
  const frame = plainFrame(0x88b5, 14 + payload.length);
  frame.set(payload, 14);
  return frame;
}

const v4key = keyPacket({});
const v6key = keyPacket({ remote6: ip6('2001:db8::5'), local6: ip6('2001:db8::6'), label: 0xfff12345 });

describe('bpf_skb_get_tunnel_key / bpf_skb_set_tunnel_key / tunnel options', () => {
  it.each([
    ['get without a key: EINVAL, the buffer cleared', v4key, [0, 0, 0, 44, NONE]],
    ['get without a key, IPv6', v4key, [0, 0, TUNINFO_IPV6, 44, NONE]],
    ['set and get IPv4', v4key, [0, 44, 0, 44, NONE]],
    ['set IPv4, get IPv6: EPROTO', v4key, [0, 44, TUNINFO_IPV6, 44, NONE]],
    ['set IPv4, get with the flags', v4key, [0, 44, TUNINFO_FLAGS, 44, NONE]],
    ['set flags, get them', v4key, [ZERO_CSUM_TX | DONT_FRAGMENT | SEQ_NUMBER, 44, TUNINFO_FLAGS, 44, NONE]],
    ['set without the key bit', v4key, [NO_TUNNEL_KEY, 44, TUNINFO_FLAGS, 44, NONE]],
    ['set an unknown flag', v4key, [32, 44, 0, 44, NONE]],
    ['get an unknown flag', v4key, [0, 44, 2, 44, NONE]],
    ['set IPv4 with a label: EINVAL', keyPacket({ label: 5 }), [0, 44, 0, 44, NONE]],
    ['set with tunnel_ext: EINVAL', keyPacket({ ext: 1 }), [0, 44, 0, 44, NONE]],
    ['set and get IPv6 (the label is 20 bits)', v6key, [TUNINFO_IPV6, 44, TUNINFO_IPV6, 44, NONE]],
    ['set IPv6, get IPv4: EPROTO', v6key, [TUNINFO_IPV6, 44, 0, 44, NONE]],
    ['set IPv6, get 8 bytes: EINVAL', v6key, [TUNINFO_IPV6, 44, TUNINFO_IPV6, 8, NONE]],
    ...[28, 24, 22, 8, 12, 40].flatMap((size) => [
      [`set ${size} bytes`, v4key, [0, size, 0, 44, NONE]],
      [`get ${size} bytes`, v4key, [0, 44, 0, size, NONE]],
    ] as Array<[string, Uint8Array, number[]]>),
    ['options without a key: EINVAL, then ENOENT', v4key, [0, 0, 0, 0, 8]],
    ['options after a key', v4key, [0, 44, 0, 0, 8]],
    ['64 option bytes', v4key, [0, 44, 0, 0, 64]],
    ['options of 6 bytes: EINVAL', v4key, [0, 44, 0, 0, 6]],
    ['a key, no options: ENOENT', v4key, [0, 44, 0, 0, 0]],
  ] as Array<[string, Uint8Array, number[]]>)('%s', (_, data, cb) => {
    agree('tunnel', { data, ctx: ctxWith(cb) });
  });

  it('the IPv4 key round trip in detail', () => {
    const o = agree('tunnel', { data: v4key, ctx: ctxWith([0, 44, TUNINFO_FLAGS, 44, NONE]) });
    expect(cbOf(o).slice(0, 2)).toEqual([0, 0]);
    const key = Buffer.from(o.ok ? o.data : '', 'hex').subarray(14, 58);
    expect(key.readUInt32LE(0)).toBe(0x01020304); // tunnel_id
    // set_tunnel_key puts remote_ipv4 in key.u.ipv4.dst and local_ipv4 in .src; get_tunnel_key
    // reads .src into remote_ipv4 and .dst into local_ipv4 (a receive key's view): they swap.
    expect(key.readUInt32LE(4)).toBe(0xc6336407);
    expect(key.readUInt32LE(28)).toBe(0xc0000201);
    expect([key[20], key[21]]).toEqual([0x10, 0x40]);
    expect(key.readUInt16BE(22)).toBe(0x2005); // TUNNEL_NOCACHE | TUNNEL_KEY | TUNNEL_CSUM, big-endian
  });

  it('a second key replaces the first; no route realm', () => {
    const o = agree('tunnel_twice', { data: plainFrame(0x88b5, 100) });
    expect(o.ok && o.retval).toBe(0);
  });
});

// ---- cgroups, sockets ------------------------------------------------------------------------

describe('cgroup and socket queries', () => {
  it('classids 0, the cgroup of the process that ran the test, no route realm, a stable cookie', () => {
    const o = agree('cgroup_sock', { data: udp4(), ctx: ctxWith([]) });
    const cb = cbOf(o);
    expect(cb[0]).toBe(0);
    expect(cb[1]).toBe(0);
    expect(cb[2] + cb[3] * 2 ** 32).toBe(fx.cgroupId);
    expect(cb[4]).toBe(0);
    expect(Buffer.from(o.ok ? o.ctx : '', 'hex').readUInt32LE(SK_BUFF.mark)).toBe(3);
  });

  it('(xdplab) each test run gets a new socket, so a new cookie', () => {
    const cookie = (): number => {
      const r = fx.xdplabRun('cgroup_sock', { data: udp4() });
      if (r instanceof Error) throw r;
      return r.skb.sk!.cookie;
    };
    const a = cookie();
    expect(cookie()).not.toBe(a);
  });
});

// ---- clone_redirect --------------------------------------------------------------------------

describe('bpf_clone_redirect', () => {
  // Frames with a local-experimental EtherType: delivered to the loopback, nothing takes them.
  const data = plainFrame(0x88b5, 100);
  const down = [...fx.devices.values()].find((d) => !d.up);

  it.each([
    ['egress to the loopback', [1, 0, 0], 0],
    ['ingress to the loopback', [1, 1, 0], 0],
    ['no such device', [99999, 0, 0], -22],
    ['an unknown flag', [1, 2, 0], -22],
    ['a flag in the high word', [1, 0, 1], -22],
  ])('%s', (_, cb, ret) => {
    const o = agree('clone', { data, ctx: ctxWith(cb) });
    expect(cbOf(o)[0]).toBe(ret);
  });

  it.skipIf(!down)(titled('a device that is down: NET_XMIT_CN out, NET_RX_DROP in', down ? undefined : 'the machine has no network device that is down'), () => {
    expect(cbOf(agree('clone', { data, ctx: ctxWith([down!.ifindex, 0, 0]) }))[0]).toBe(2);
    expect(cbOf(agree('clone', { data, ctx: ctxWith([down!.ifindex, 1, 0]) }))[0]).toBe(1);
  });

  it('(xdplab) the clone is recorded as it left, before the original changed', () => {
    const r = fx.xdplabRun('clone', { data, ctx: ctxWith([1, 1, 0]) });
    if (r instanceof Error) throw r;
    expect(r.clones).toHaveLength(1);
    expect(r.clones[0]).toMatchObject({ ifindex: 1, flags: 1 });
    expect(hex(r.clones[0].data)).toBe(hex(data));
    expect(r.dataOut[0]).toBe(0xee);
  });
});

// ---- check_mtu -------------------------------------------------------------------------------

describe('bpf_check_mtu', () => {
  const data = plainFrame(0x88b5, 100);
  const eth = [...fx.devices.values()].find((d) => d.ifindex > 1 && d.mtu < 65536);
  const cases: Array<[string, number[]]> = [
    ['the loopback, the skb\'s length', [0, 0, 0, 0]],
    ['an L3 length of 1500', [0, 1500, 0, 0]],
    ['an L3 length at the MTU', [0, 65536, 0, 0]],
    ['one byte over', [0, 65537, 0, 0]],
    ['a negative len_diff', [0, 65600, -100, 0]],
    ['an mtu_len that overflows', [0, 0xffffffff, 0, 0]],
    ['no such device', [99999, 0, 0, 0]],
    ['no such device: mtu_len untouched', [99999, 1500, 0, 0]],
    ['an unknown flag: mtu_len untouched', [0, 1500, 0, 2]],
    ['BPF_MTU_CHK_SEGS', [0, 0, 0, 1]],
    ['BPF_MTU_CHK_SEGS with a len_diff', [0, 0, 5, 1]],
    ['BPF_MTU_CHK_SEGS with an mtu_len', [0, 10, 0, 1]],
    ['an unknown flag', [0, 0, 0, 2]],
  ];
  if (eth) {
    cases.push([`${eth.name}: at its MTU`, [eth.ifindex, eth.mtu, 0, 0]], [`${eth.name}: over it`, [eth.ifindex, eth.mtu + 1, 0, 0]], [`${eth.name}: len_diff over it`, [eth.ifindex, 0, eth.mtu + 14 - 100 + 1, 0]]);
  }
  it.each(cases)('TC: %s', (_, cb) => {
    agree('mtu', { data, ctx: ctxWith(cb) });
  });

  it('TC: a GSO skb over the MTU passes without BPF_MTU_CHK_SEGS', () => {
    const ctx = ctxWith([0, 70000, 0, 0]);
    new DataView(ctx.buffer).setUint32(SK_BUFF.gso_size, 1000, true);
    expect(cbOf(agree('mtu', { data, ctx }))[0]).toBe(0);
  });

  // XDP: the same helper on the receiving device (the loopback in a test run).
  const xdpKernel = fx.kernel;
  const xdp = new XdpHook(fx.runtime);
  xdp.env.devices = fx.devices;
  const xdpProgram = (name: string) => fx.collection.program(name);
  const xdpArgs = (ifindex: number, mtuLen: number, lenDiff: number, flags: number, length = 100): Uint8Array => {
    const frame = plainFrame(0x88b5, length);
    const v = new DataView(frame.buffer);
    [ifindex, mtuLen, lenDiff, flags, 0, 0].forEach((x, i) => v.setUint32(14 + 4 * i, x >>> 0, true));
    return frame;
  };
  const xdpCases: Array<[string, Uint8Array]> = [
    ['the loopback', xdpArgs(0, 0, 0, 0)],
    ['an mtu_len over the MTU', xdpArgs(0, 65537, 0, 0)],
    ['len_diff over it', xdpArgs(0, 0, 65536 + 14 - 100 + 1, 0)],
    ['no such device', xdpArgs(99999, 1500, 0, 0)],
    ['any flag', xdpArgs(0, 1500, 0, 1)],
  ];
  if (eth) xdpCases.push([`${eth.name}`, xdpArgs(eth.ifindex, eth.mtu + 1, 0, 0)]);
  it.each(xdpCases)('XDP: %s', (_, frame) => {
    const got = xdp.testRun(xdpProgram('xdp_mtu'), { data: frame });
    fx.agreeWith('xdp_mtu', { data: frame }, { retval: got.retval, data: hex(got.dataOut) }, () => {
      const want = xdpKernel!.run('xdp_mtu', { data: frame });
      if (!want.ok) throw new Error(want.message);
      return { retval: want.retval, data: hex(want.dataOut) };
    });
  });

  it.each([
    ['4 and 4', 4, 4, 0],
    ['odd sizes', 3, 7, 0x1234],
    ['from only', 12, 0, 0],
    ['to only', 0, 31, 0xffffffff],
    ['neither', 0, 0, 0xabcdef01],
  ])('XDP bpf_csum_diff: %s', (_, fromSize, toSize, seed) => {
    const frame = plainFrame(0x88b5, 100);
    frame[14] = fromSize;
    frame[15] = toSize;
    new DataView(frame.buffer).setUint32(16, seed, true);
    const got = xdp.testRun(xdpProgram('xdp_csum_diff'), { data: frame });
    fx.agreeWith('xdp_csum_diff', { data: frame }, { retval: got.retval, data: hex(got.dataOut) }, () => {
      const want = xdpKernel!.run('xdp_csum_diff', { data: frame });
      if (!want.ok) throw new Error(want.message);
      return { retval: want.retval, data: hex(want.dataOut) };
    });
  });
});

