/**
 * Random expressions from the grammar, compiled and run in xdplab over every capture of
 * captures.ts, against tcpdump reading the same packets (a fast-check property; skipped, saying
 * so, where tcpdump is missing). An expression tcpdump refuses must be refused here too, except
 * one libpcap's optimizer proves matches nothing ("expression rejects all packets"): then no
 * packet may pass. xdplab follows libpcap's code as generated, which `tcpdump -O` runs: on every
 * packet it answers as `tcpdump -O`; as the optimized `tcpdump` on every packet not cut short
 * inside a header (the optimizer moves and drops loads, and a load past the end is observable).
 */
import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { compileFilter } from '../../src/filter/index.js';
import { createCaptureWriter } from '../../src/pcap/writer.js';
import { titled } from '../support/skip.js';
import { CAPTURES, TRUNCATED } from './captures.js';
import { FIRST_SECOND, tcpdumpMatches, tcpdumpMissing, xdplabPasses } from './run.js';

const noTcpdump = tcpdumpMissing();
const packets = Object.values(CAPTURES).flatMap((make) => make());
/** Indices (in `packets`) of the truncated frames. */
const truncated = new Set(Object.entries(CAPTURES).flatMap(([name], k, all) => {
  const from = all.slice(0, k).reduce((n, [, make]) => n + make().length, 0);
  return (TRUNCATED[name] ?? []).map((i) => from + i);
}));
let file = '';

beforeAll(async () => {
  file = path.join(mkdtempSync(path.join(os.tmpdir(), 'xdplab-filter-prop-')), 'all.pcap');
  const w = createCaptureWriter(file, { format: 'pcap' });
  packets.forEach((p, i) => w.write(p, FIRST_SECOND + i, 0));
  await w.close();
});

const pick = <T>(...xs: T[]): fc.Arbitrary<T> => fc.constantFrom(...xs);
const port = pick('22', '53', '80', '123', '443', '3868', '8080', '1000');
const host = pick('10.0.0.1', '10.0.0.2', '8.8.8.8', '192.168.1.5', '2001:db8::1', 'ff02::1');
const net = pick('10.0.0.0/8', '10.0.0.0/24', '192.168.0.0/16', '2001:db8::/32', 'fe80::/10', '224.0.0.0/4');
const dir = pick('', 'src ', 'dst ', 'src or dst ', 'src and dst ');
const rel = pick('=', '!=', '<', '<=', '>', '>=');
const small = fc.integer({ min: 0, max: 255 });

const primitive: fc.Arbitrary<string> = fc.oneof(
  pick('tcp', 'udp', 'icmp', 'icmp6', 'sctp', 'ip', 'ip6', 'arp', 'rarp', 'vlan', 'broadcast', 'multicast', 'ip multicast'),
  fc.tuple(pick('', 'tcp ', 'udp '), dir, port).map(([p, d, n]) => `${p}${d}port ${n}`),
  fc.tuple(dir, port, port).map(([d, a, b]) => `${d}portrange ${a}-${b}`),
  fc.tuple(dir, host).map(([d, h]) => `${d}host ${h}`),
  fc.tuple(dir, net).map(([d, n]) => `${d}net ${n}`),
  fc.integer({ min: 1, max: 100 }).map((v) => `vlan ${v}`),
  fc.tuple(fc.integer({ min: 0, max: 40 }), rel, small).map(([o, r, v]) => `ip[${o}] ${r} ${v}`),
  fc.tuple(fc.integer({ min: 0, max: 60 }), small, small).map(([o, m, v]) => `ether[${o}] & ${m} = ${v & m}`),
  fc.tuple(pick('tcp-syn', 'tcp-ack', 'tcp-fin|tcp-rst', 'tcp-push|tcp-urg', 'tcp-ece|tcp-cwr')).map(([f]) => `tcp[tcpflags] & (${f}) != 0`),
  fc.tuple(rel, fc.integer({ min: 0, max: 200 })).map(([r, n]) => `len ${r} ${n}`),
  fc.tuple(pick('+', '-', '*', '&', '|', '^', '%', '/', '<<', '>>'), fc.integer({ min: 1, max: 31 }), rel, small)
    .map(([op, k, r, v]) => `ether[12] ${op} ${k} ${r} ${v}`),
  fc.tuple(pick('udp[0:2]', 'tcp[2:2]', 'icmp[0]', 'icmp6[0]', 'ip6[6]'), rel, fc.integer({ min: 0, max: 9000 })).map(([l, r, v]) => `${l} ${r} ${v}`),
);

const expression = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    primitive,
    tie('e').map((e) => `not ${e}`),
    fc.tuple(tie('e'), pick('and', 'or', '&&', '||'), tie('e')).map(([a, op, b]) => `${a} ${op} ${b}`),
    tie('e').map((e) => `(${e})`),
  ),
})).e;

it.skipIf(noTcpdump !== undefined)(titled('random expressions: xdplab passes exactly what tcpdump prints', noTcpdump), () => {
  fc.assert(fc.property(expression, (expr) => {
    let exact: number[] | 'refused';
    let optimized: number[] = [];
    try {
      exact = tcpdumpMatches(file, expr, { unoptimized: true });
      optimized = tcpdumpMatches(file, expr);
    } catch (err) {
      exact = /rejects all packets/.test((err as Error).message) ? [] : 'refused';
    }
    if (exact === 'refused') {
      expect(() => compileFilter(expr), expr).toThrow();
      return;
    }
    const got = xdplabPasses(compileFilter(expr), packets);
    expect(got, `${expr} (tcpdump -O)`).toEqual(exact);
    const whole = (list: number[]): number[] => list.filter((i) => !truncated.has(i));
    expect(whole(got), `${expr} (tcpdump)`).toEqual(whole(optimized));
  }), { numRuns: Number(process.env.XDPLAB_FILTER_RUNS ?? 60), seed: Number(process.env.XDPLAB_FILTER_SEED ?? 15) });
}, 120_000);
