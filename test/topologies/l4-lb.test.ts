/**
 * topologies/l4-lb: the xdp_lb → lb_classify → lb_encap tail-call chain, with the topology's
 * VIPs, backends and Maglev tables.
 *
 * In xdplab, the whole capture: each packet's outcome as its comment names it, the backend of
 * each new flow checked against the Maglev table with an independent copy of the flow hash,
 * every later packet of a flow sent to the same backend, and the encapsulation checked byte
 * by byte (outer header and checksum, the inner packet untouched). Against the kernel: whole
 * flows and one packet of every other kind, then the connection table and the counters.
 */
import { describe, expect, it } from 'vitest';
import { testRun } from '../../src/hooks/test-run.js';
import type { Collection } from '../../src/runtime/collection.js';
import { KernelRecord } from '../support/kernel-record.js';
import {
  copyEntries, copyEntriesToKernel, expectSameWholeCapture, expectSameMaps, expectSameRuns, hex, ipv4HeaderValid, kernelSide, loadObject,
  loadScenario, macText, objectPath, readCapture, scenarioCollection, tableFromCapture, tally, xdplabEntries, xdplabSide, type MapView, type LabelledPacket,
} from './support.js';
import { XDP_DROP, XDP_PASS, XDP_TX } from '../../src/uapi/bpf.js';

const SCENARIO = 'l4-lb';
const OBJECT = 'lb.bpf.o';
const PROGRAM = 'xdp_lb';
const SEEDED = ['vips_v4', 'vips_v6', 'backends_v4', 'backends_v6', 'maglev_ring'];
const REASONS = [
  'LB_TX_NEW_FLOW', 'LB_TX_CONN_HIT', 'LB_PASS_NOT_VIP', 'LB_PASS_ICMP', 'LB_PASS_NON_IP', 'LB_DROP_MALFORMED', 'LB_DROP_FRAGMENT',
  'LB_DROP_NO_BACKEND', 'LB_DROP_TOO_BIG', 'LB_DROP_ERROR',
];
const RING_SIZE = 61;
const GW_MAC = '02:00:00:00:64:01';
const LB_MAC = '02:00:00:00:64:02';

/** The capture as the README counts it (XDP on lb/eth0). */
const EXPECTED = {
  LB_TX_NEW_FLOW: 120, LB_TX_CONN_HIT: 460, LB_PASS_NOT_VIP: 28, LB_PASS_ICMP: 15, LB_PASS_NON_IP: 6,
  LB_DROP_MALFORMED: 5, LB_DROP_FRAGMENT: 6, LB_DROP_NO_BACKEND: 15, LB_DROP_TOO_BIG: 6,
};
/** Packets each backend receives, by id (1-3: be1-be3 over IPv4, 4-6: over IPv6). */
const PER_BACKEND = { 1: 119, 2: 199, 3: 142, 4: 48, 5: 44, 6: 28 };

// ---- an independent copy of lb.bpf.c's flow hash (the kernel's jhash_3words) ---------------

const rol32 = (w: number, s: number): number => ((w << s) | (w >>> (32 - s))) >>> 0;

function jhash3(a: number, b: number, c: number, initval: number): number {
  const iv = (initval + 0xdeadbeef + 12) >>> 0;
  a = (a + iv) >>> 0;
  b = (b + iv) >>> 0;
  c = (c + iv) >>> 0;
  c = ((c ^ b) - rol32(b, 14)) >>> 0;
  a = ((a ^ c) - rol32(c, 11)) >>> 0;
  b = ((b ^ a) - rol32(a, 25)) >>> 0;
  c = ((c ^ b) - rol32(b, 16)) >>> 0;
  a = ((a ^ c) - rol32(c, 4)) >>> 0;
  b = ((b ^ a) - rol32(a, 14)) >>> 0;
  c = ((c ^ b) - rol32(b, 24)) >>> 0;
  return c;
}

interface Flow {
  key: string;
  v4: boolean;
  ring: number;
  hash: number;
}

/** The 5-tuple of a TCP/UDP packet to a VIP, and its hash as the program computes it. */
function flowOf(frame: Uint8Array): Flow {
  const b = Buffer.from(frame);
  const v4 = b.readUInt16BE(12) === 0x0800;
  const l3 = 14;
  const l4 = v4 ? l3 + (b[l3] & 15) * 4 : l3 + 40;
  const src = v4 ? [b.readUInt32LE(l3 + 12), 0, 0, 0] : [0, 1, 2, 3].map((i) => b.readUInt32LE(l3 + 8 + 4 * i));
  // The program loads the (big-endian) ports as little-endian u16s, as any x86 load does.
  const ports = ((b.readUInt16LE(l4) << 16) | b.readUInt16LE(l4 + 2)) >>> 0;
  const proto = v4 ? b[l3 + 9] : b[l3 + 6];
  const hash = jhash3(src[3], ports, proto, jhash3(src[0], src[1], src[2], 0x4c42));
  const dst = v4 ? hex(frame.subarray(30, 34)) : hex(frame.subarray(38, 54));
  const key = `${v4 ? hex(frame.subarray(26, 30)) : hex(frame.subarray(22, 38))}|${dst}|${hex(frame.subarray(l4, l4 + 4))}|${proto}`;
  return { key, v4, ring: -1, hash };
}

/** vip → ring number, from the seeded VIP maps (keys: address, port LE, proto, pad). */
function vipRings(c: Collection): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of ['vips_v4', 'vips_v6']) {
    for (const e of xdplabEntries(c.map(name))) out.set(e.key, Buffer.from(e.value!, 'hex').readUInt32LE(0));
  }
  return out;
}

function vipKeyOf(frame: Uint8Array): string {
  const v4 = frame[12] === 0x08;
  const l4 = v4 ? 14 + (frame[14] & 15) * 4 : 54;
  const port = (frame[l4 + 2] << 8) | frame[l4 + 3];
  const tail = hex(Uint8Array.of(port & 0xff, port >> 8, v4 ? frame[23] : frame[20], 0));
  return (v4 ? hex(frame.subarray(30, 34)) : hex(frame.subarray(38, 54))) + tail;
}

const capture = readCapture(SCENARIO);

describe('l4-lb: the chain over the whole capture (xdplab)', () => {
  it('the capture holds what the README says it holds', () => {
    expect(capture.length).toBe(661);
    expect(tally(capture)).toEqual(EXPECTED);
  });

  it('balances, passes and drops each packet as its comment says; Maglev picks, the table remembers', () => {
    const topo = loadScenario(SCENARIO);
    const { runtime, collection } = loadObject(SCENARIO, OBJECT);
    copyEntries(scenarioCollection(topo, SCENARIO, OBJECT), collection, SEEDED);
    const program = collection.program(PROGRAM);
    const rings = vipRings(collection);
    const ring = (n: number): number[] => [...collection.map('maglev_ring').lookup(Uint8Array.of(n, 0, 0, 0))!].reduce<number[]>((a, _, i, all) => (i % 4 ? a : [...a, all[i] | (all[i + 1] << 8)]), []);
    const addr4 = (id: number): string => hex(collection.map('backends_v4').lookup(Uint8Array.of(id, 0, 0, 0))!);
    const addr6 = (id: number): string => hex(collection.map('backends_v6').lookup(Uint8Array.of(id, 0, 0, 0))!);
    const totals = (name: string): number[] => xdplabEntries(collection.map(name)).map((e) => Number(Buffer.from(e.value!, 'hex').readBigUInt64LE(0)));
    const flows = new Map<string, number>();
    let before = totals('lb_stats');
    const wrong: string[] = [];
    const check = (p: LabelledPacket, ok: boolean, what: string): void => {
      if (!ok) wrong.push(`#${p.index} ${p.what}: ${what}`);
    };
    for (const p of capture) {
      const r = testRun(runtime, program, { data: p.frame });
      const after = totals('lb_stats');
      const reason = REASONS[after.findIndex((n, i) => n !== before[i])];
      before = after;
      const want = p.labels[0];
      const action = want.startsWith('LB_TX') ? XDP_TX : want.startsWith('LB_PASS') ? XDP_PASS : XDP_DROP;
      check(p, reason === want && r.retval === action, `${reason} ${r.verdict}, expected ${want}`);
      if (r.retval !== XDP_TX) {
        check(p, hex(r.dataOut) === hex(p.frame), 'changed but not sent');
        continue;
      }
      // Which backend: Maglev for a new flow, the same one again for a known flow.
      const flow = flowOf(p.frame);
      const table = ring(rings.get(vipKeyOf(p.frame))!);
      const backend = want === 'LB_TX_NEW_FLOW' ? table[flow.hash % RING_SIZE] : flows.get(flow.key);
      if (want === 'LB_TX_NEW_FLOW') flows.set(flow.key, backend!);
      const out = r.dataOut;
      const inner = p.frame.subarray(14);
      const o = Buffer.from(out);
      check(p, macText(out.subarray(0, 6)) === GW_MAC && macText(out.subarray(6, 12)) === LB_MAC, 'Ethernet header');
      if (flow.v4) {
        check(p, o.readUInt16BE(12) === 0x0800 && out[14] === 0x45 && out[23] === 4 && out[22] === 64, 'outer IPv4 header');
        check(p, o.readUInt16BE(16) === inner.length + 20 && ipv4HeaderValid(out, 14), 'outer length / checksum');
        check(p, hex(out.subarray(26, 30)) === '0a640002' && hex(out.subarray(30, 34)) === addr4(backend!), `outer addresses (backend ${backend})`);
        check(p, hex(out.subarray(34)) === hex(inner), 'inner packet');
      } else {
        check(p, o.readUInt16BE(12) === 0x86dd && out[14] >> 4 === 6 && out[20] === 41 && out[21] === 64, 'outer IPv6 header');
        check(p, o.readUInt16BE(18) === inner.length, 'outer payload length');
        check(p, hex(out.subarray(22, 38)) === 'fd000100000000000000000000000002' && hex(out.subarray(38, 54)) === addr6(backend!), `outer addresses (backend ${backend})`);
        check(p, hex(out.subarray(54)) === hex(inner), 'inner packet');
      }
    }
    expect(wrong).toEqual([]);
    expect(Object.fromEntries(REASONS.map((r, i) => [r, before[i]]).filter(([, n]) => n))).toEqual(EXPECTED);
    const perBackend = Object.fromEntries(totals('backend_stats').map((n, id) => [id, n]).filter(([, n]) => n));
    expect(perBackend).toEqual(PER_BACKEND);
    // One connection-table entry per flow that got a backend: 120 balanced, 5 whose
    // encapsulation found no address, 6 too big to encapsulate (the entry is made before).
    expect([...collection.map('conn_table').entries()].length).toBe(131);
  });
});

const record = KernelRecord.for(import.meta.url);

describe('l4-lb: xdplab agrees with the kernel (BPF_PROG_TEST_RUN)', () => {
  const kernel = record.object(objectPath(SCENARIO, OBJECT));

  it('xdp_lb and its tail calls: whole flows and one packet of every other kind, then the maps', () => {
    const seeded = scenarioCollection(loadScenario(SCENARIO), SCENARIO, OBJECT);
    const { runtime, collection } = loadObject(SCENARIO, OBJECT);
    copyEntries(seeded, collection, SEEDED);
    copyEntriesToKernel(seeded, kernel, SEEDED);
    // Every packet of a few flows (web, QUIC, IPv6: new, then known), one of each other kind.
    const flowIds = new Set<string>();
    const inFlow = (p: LabelledPacket): string | undefined => (p.labels[0].startsWith('LB_TX') ? p.what.replace(/ #\d+$/, '') : undefined);
    for (const prefix of ['tcp 192', 'quic', 'tcp6', 'the first web flow']) {
      for (const p of capture) {
        const f = inFlow(p);
        if (f?.startsWith(prefix) && [...flowIds].filter((x) => x.startsWith(prefix)).length < 2) flowIds.add(f);
      }
    }
    const table = [
      ...capture.filter((p) => flowIds.has(inFlow(p) ?? '')),
      ...tableFromCapture(capture, (p) => !p.labels[0].startsWith('LB_TX')),
    ].map((p) => ({ name: `${p.labels[0]}: ${p.what}`, data: p.frame }));
    expect(table.length).toBeGreaterThan(40);
    expectSameRuns(PROGRAM, table, xdplabSide(runtime, collection), kernelSide(kernel));
    expectSameMaps(collection, kernel, [['conn_table', 'entries'], ['lb_stats', 'entries'], ['backend_stats', 'entries']]);
  });

  it('xdp_lb and its tail calls: every packet of the capture, in order, then the maps', () => {
    const maps: [string, MapView][] = [['conn_table', 'entries'], ['lb_stats', 'entries'], ['backend_stats', 'entries']];
    expect(expectSameWholeCapture(record, SCENARIO, OBJECT, PROGRAM, capture, SEEDED, maps)).toBe(661);
  });
});
