/**
 * `xdplab replay`: verdicts and output bytes against BPF_PROG_TEST_RUN of the same packets,
 * the clock (capture time from the first packet), CPUs by RSS hash, --out, malformed
 * captures (exit 2 naming file, record and offset; --skip-bad), faults (exit 1 with the
 * count), and the TC hooks' skb as the receive and transmit paths build it.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RssHasher, rssQueue } from '../../src/hooks/flow-hash.js';
import { testRun } from '../../src/hooks/test-run.js';
import { readCaptureSync } from '../../src/pcap/reader.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import {
  pcapBytes, pcapngBytes, pcapRecordOffset, tempDir, writeTemp, type PcapRecordSpec, type PcapSpec,
} from '../support/captures.js';
import { cli } from '../support/cli.js';
import { KernelRecord } from '../support/kernel-record.js';
import { repoRoot } from '../support/conformance.js';
import { ethernet, ip4, ipv4, mac, plainFrame, tcp4, tcp6, udp4 } from '../support/packets.js';
import { ETH_P_IP } from '../../src/uapi/if-ether.js';

const OBJECT = path.join(repoRoot, 'test', 'fixtures', 'bpf', 'replay.bpf.o');
const { dir, remove } = tempDir('xdplab-replay-');
afterAll(remove);

let fileNo = 0;
/** A nanosecond pcap of `frames`, the i-th captured at 1700000000 s + times[i] ns (default i ms). */
function capture(frames: Uint8Array[], times?: number[], extra: Partial<PcapSpec> = {}): string {
  const records: PcapRecordSpec[] = frames.map((data, i) => ({ tsSec: 1700000000 + Math.floor((times?.[i] ?? i * 1e6) / 1e9), tsFrac: (times?.[i] ?? i * 1e6) % 1e9, data }));
  return writeTemp(dir, `c${fileNo++}.pcap`, pcapBytes({ nanoseconds: true, records, ...extra }));
}

const icmp4 = (): Uint8Array => ethernet(ETH_P_IP, ipv4(1, Uint8Array.of(8, 0, 0xf7, 0xff, 0, 0, 0, 0)));
/** One of each kind xdp_verdicts tells apart. */
const MIXED = [tcp4(), udp4(), icmp4(), tcp6(), plainFrame(0x0806, 42), udp4({ sport: 9, ttl: 3 }), tcp4({ dport: 443 })];

interface PacketLine {
  index: number;
  cpu: number;
  retval?: number;
  verdict?: string;
  out?: string;
  trace?: string[];
  fault?: string;
}
const lines = (stdout: string): PacketLine[] => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as PacketLine);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** BPF_PROG_TEST_RUN of one packet in a fresh runtime (what `prog run` would say). */
function testRunOf(progName: string, data: Uint8Array): { retval: number; verdict: string; out: string } {
  const runtime = new Runtime();
  const collection = Collection.load(runtime, loadCollectionSpec(new Uint8Array(readFileSync(OBJECT)), OBJECT));
  const r = testRun(runtime, collection.program(progName), { data });
  return { retval: r.retval, verdict: r.verdict, out: hex(r.dataOut) };
}

/** stderr without the note that the object's xdp_fault is one the kernel's verifier refuses. */
const withoutSiblingNote = (stderr: string): string => stderr.replace(/^xdplab: note: the kernel's verifier would refuse program xdp_fault .*\n/m, '');

describe('xdplab replay: verdicts and bytes', () => {
  it('gives, packet by packet, the verdict and output bytes a test run of the same packet gives', async () => {
    const r = await cli(['replay', OBJECT, 'xdp_verdicts', '--pcap', capture(MIXED), '--json']);
    expect(r.code).toBe(0);
    const got = lines(r.stdout);
    expect(got.map((l) => l.index)).toEqual(MIXED.map((_, i) => i));
    expect(got.map((l) => l.verdict)).toEqual(['XDP_PASS', 'XDP_TX', 'XDP_DROP', 'XDP_PASS', 'XDP_PASS', 'XDP_TX', 'XDP_PASS']);
    MIXED.forEach((frame, i) => {
      expect({ retval: got[i].retval, verdict: got[i].verdict, out: got[i].out }).toEqual(testRunOf('xdp_verdicts', frame));
    });
    expect(got[1].out).not.toBe(hex(MIXED[1])); // the UDP packet was rewritten
    // Another program of the object, xdp_fault, is one the kernel refuses: said once, as libbpf would not load the object.
    expect(r.stderr).toMatch(/^xdplab: note: the kernel's verifier would refuse program xdp_fault of .*replay\.bpf\.o \(invalid access to packet.* at pc 1\); libbpf loads every program/m);
    expect(withoutSiblingNote(r.stderr)).toMatch(/^replay: 7 packets \(XDP_DROP 1, XDP_PASS 4, XDP_TX 2\), 0 faults, 0 skipped, 0 refused, \d+ packets\/s\n$/);
  });

  it('prints a summary by verdict without --json', async () => {
    const r = await cli(['replay', OBJECT, 'xdp_verdicts', '--pcap', capture(MIXED)]);
    expect(r.code).toBe(0);
    const rows = Object.fromEntries(r.stdout.trim().split('\n').map((l) => { const [k, v, share] = l.split(/\s{2,}/); return [k, [v, share]]; }));
    expect(rows.packets[0]).toBe('7');
    expect(rows.XDP_PASS).toEqual(['4', '57.1%']);
    expect(rows.XDP_TX).toEqual(['2', '28.6%']);
    expect(rows.XDP_DROP).toEqual(['1', '14.3%']);
    expect(rows.faults[0]).toBe('0');
    expect(rows.skipped[0]).toBe('0');
    expect(Number(rows['packets/s'][0])).toBeGreaterThan(0);
  });

  it('writes exactly the packets that go on (PASS, TX), as the program left them, with their timestamps', async () => {
    const out = path.join(dir, 'passed.pcap');
    const times = MIXED.map((_, i) => 5_000_000_123 + i * 1_000);
    const json = await cli(['replay', OBJECT, 'xdp_verdicts', '--pcap', capture(MIXED, times), '--json']);
    const r = await cli(['replay', OBJECT, 'xdp_verdicts', '--pcap', capture(MIXED, times), '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^written\s+6$/m);
    const written = readCaptureSync(new Uint8Array(readFileSync(out)), out).records;
    const passed = lines(json.stdout).filter((l) => l.verdict !== 'XDP_DROP');
    expect(written.map((w) => hex(w.data))).toEqual(passed.map((l) => l.out));
    expect(written.map((w) => [w.tsSec, w.tsNsec])).toEqual(passed.map((l) => [1700000005, 123 + l.index * 1000]));
  });

  it('runs frames past one page\'s 3520 linear bytes as multi-buffer frames, as a test run does, and writes them whole', async () => {
    const frames = [plainFrame(0x0806, 3521), udp4(), plainFrame(0x0806, 9000), plainFrame(0x0806, 60000)];
    const out = path.join(dir, 'jumbo.pcap');
    const r = await cli(['replay', OBJECT, 'xdp_verdicts', '--pcap', capture(frames), '--json', '--out', out]);
    expect(r.code).toBe(0);
    const got = lines(r.stdout);
    frames.forEach((frame, i) => {
      expect({ retval: got[i].retval, verdict: got[i].verdict, out: got[i].out }).toEqual(testRunOf('xdp_verdicts', frame));
    });
    const written = readCaptureSync(new Uint8Array(readFileSync(out)), out).records;
    expect(written.map((w) => w.data.length)).toEqual(got.filter((l) => l.verdict !== 'XDP_DROP').map((l) => l.out!.length / 2));
    expect(written.some((w) => w.data.length === 60000)).toBe(true);
  });

  it('is deterministic: the same capture and seed give the same bytes', async () => {
    const frames = Array.from({ length: 40 }, (_, i) => udp4({ sport: 1000 + i }));
    const [a, b] = [path.join(dir, 'det-a.pcap'), path.join(dir, 'det-b.pcap')];
    const ra = await cli(['replay', OBJECT, 'xdp_clock', '--pcap', capture(frames), '--cpus', '3', '--json', '--out', a]);
    const rb = await cli(['replay', OBJECT, 'xdp_clock', '--pcap', capture(frames), '--cpus', '3', '--json', '--out', b]);
    expect(ra.stdout).toBe(rb.stdout);
    expect(readFileSync(a)).toEqual(readFileSync(b));
  });
});

describe('xdplab replay: each packet as BPF_PROG_TEST_RUN hands it over (the kernel, packet by packet)', () => {
  // Programs whose return value is the context they were given: the device, the RX queue, the
  // skb's pkt_type, VLAN state, hash; frames tagged and untagged, to us and broadcast.
  const FRAMES = [
    tcp4(), udp4({ ethDst: mac('ff:ff:ff:ff:ff:ff') }), tcp4({ vlan: 0x2064 }), tcp6(), plainFrame(0x0806, 60),
    udp4({ vlan: 7, ethDst: mac('01:00:5e:00:00:01') }),
  ];
  const PROBE = path.join(repoRoot, 'test', 'fixtures', 'bpf', 'context-probe.bpf.o');
  const kernel = KernelRecord.for(import.meta.url).object(PROBE);

  for (const [prog, hook] of [['xdp_where', 'xdp'], ['tc_where', 'tc-ingress'], ['tc_where', 'tc-egress']] as const) {
    it(`${prog} at ${hook}: the same return value and bytes as the kernel's test run of each packet`, async () => {
      const r = await cli(['replay', PROBE, prog, '--hook', hook, '--pcap', capture(FRAMES), '--json', '--cpus', '4']);
      expect(r.code).toBe(0);
      const got = lines(r.stdout).map((l) => ({ retval: l.retval, out: l.out }));
      const want = kernel.runMany(prog, FRAMES).map((k) => ({ retval: k.retval, out: hex(k.dataOut) }));
      expect(got).toEqual(want);
    });
  }
});

describe('xdplab replay: a reader that goes away', () => {
  it('stops quietly with exit 0 when its standard output is closed (… --json | head)', async () => {
    const frames = Array.from({ length: 20000 }, (_, i) => udp4({ sport: 1000 + (i % 5000) }));
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'xdplab.js'), 'replay', OBJECT, 'xdp_verdicts', '--pcap', capture(frames), '--json']);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/EPIPE|Unhandled|internal error/);
    expect(code).toBe(0);
  });
});

describe('xdplab replay: clock and CPUs', () => {
  it('bpf_ktime_get_ns is the capture time since the first packet, never going back', async () => {
    // 0, +1 ms, +2.5 ms, an earlier stamp (reads the previous time again), +1 s + 7 ns, +2 days.
    const times = [0, 1_000_000, 3_500_000, 2_000_000, 1_000_000_007, 172_800_000_000_000].map((t) => t + 999_999_000);
    const frames = times.map(() => udp4());
    const r = await cli(['replay', OBJECT, 'xdp_clock', '--pcap', capture(frames, times), '--json']);
    expect(r.code).toBe(0);
    const clock = lines(r.stdout).map((l) => l.trace![0]);
    expect(clock).toEqual([
      'ns=0 delta=0',
      'ns=1000000 delta=1000000',
      'ns=3500000 delta=2500000',
      'ns=3500000 delta=0',
      'ns=1000000007 delta=996500007',
      'ns=172800000000000 delta=172798999999993',
    ]);
  });

  it('reads microsecond captures in whole microseconds', async () => {
    const records = [0, 1, 250].map((us, i) => ({ tsSec: 1600000000 + i, tsFrac: us, data: tcp4() }));
    const file = writeTemp(dir, 'us.pcap', pcapBytes({ records }));
    const r = await cli(['replay', OBJECT, 'xdp_clock', '--pcap', file, '--json']);
    expect(lines(r.stdout).map((l) => l.trace![0])).toEqual(['ns=0 delta=0', 'ns=1000001000 delta=1000001000', 'ns=2000250000 delta=1000249000']);
  });

  it('puts each packet on the CPU its flow\'s RSS hash picks, and per-CPU maps count there', async () => {
    const frames = Array.from({ length: 64 }, (_, i) => (i % 3 === 0 ? tcp4({ sport: 30000 + i, dst: ip4(`10.0.${i}.1`) }) : udp4({ sport: 2000 + 7 * i })));
    frames.push(plainFrame(0x0806, 60)); // not IP: hash 0, CPU 0
    const mapsOut = path.join(dir, 'cpus.json');
    const r = await cli(['replay', OBJECT, 'xdp_clock', '--pcap', capture(frames), '--cpus', '4', '--json', '--maps-out', mapsOut, '--path']);
    expect(r.code).toBe(0);
    const got = lines(r.stdout);
    const hasher = new RssHasher();
    const expected = frames.map((f) => rssQueue(hasher.hash(f, 0, f.length), 4));
    expect(got.map((l) => l.cpu)).toEqual(expected);
    expect(new Set(expected).size).toBe(4); // the flows do spread
    expect(expected.at(-1)).toBe(0);
    got.forEach((l, i) => expect(l.trace![1]).toBe(`cpu=${expected[i]} queue=${expected[i]} ifindex=2`));
    const maps = JSON.parse(readFileSync(mapsOut, 'utf8')) as Record<string, Array<{ formatted: { values: Array<{ cpu: number; value: number }> } }>>;
    const perCpu = maps.per_cpu[0].formatted.values.map((v) => v.value);
    expect(perCpu).toEqual([0, 1, 2, 3].map((cpu) => expected.filter((c) => c === cpu).length));
  });

  it('the same flow always lands on the same CPU', async () => {
    const frames = Array.from({ length: 10 }, (_, i) => tcp4({ seq: i, sport: 5555, dport: 80 }));
    const r = await cli(['replay', OBJECT, 'xdp_clock', '--pcap', capture(frames), '--cpus', '8', '--json']);
    expect(new Set(lines(r.stdout).map((l) => l.cpu)).size).toBe(1);
  });
});

describe('xdplab replay: bad input and faults', () => {
  const frames = [tcp4(), udp4(), tcp4({ dport: 22 }), udp4({ dport: 123 })];

  it('stops at a malformed record with exit 2, naming file, record and byte offset', async () => {
    const spec: PcapSpec = { nanoseconds: true, records: frames.map((data, i) => ({ tsSec: 1, tsFrac: i, data })) };
    spec.records[2] = { ...spec.records[2], inclLen: 300000 }; // a length that cannot be true
    const file = writeTemp(dir, 'bad.pcap', pcapBytes(spec));
    const out = path.join(dir, 'never.pcap');
    const r = await cli(['replay', OBJECT, 'xdp_verdicts', '--pcap', file, '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: packet 3 at byte offset ${pcapRecordOffset(spec, 2)}: captured length 300000 is larger than 262144`);
    expect(() => readFileSync(out)).toThrow(/ENOENT/);
  });

  it('reads a record captured past the snaplen, as tcpdump and Wireshark do, saying so once', async () => {
    const spec: PcapSpec = { nanoseconds: true, snaplen: 1000, records: frames.map((data, i) => ({ tsSec: 1, tsFrac: i, data })) };
    spec.records[1] = { ...spec.records[1], data: new Uint8Array(1200) };
    spec.records[3] = { ...spec.records[3], data: new Uint8Array(1100) };
    const file = writeTemp(dir, 'snaplen.pcap', pcapBytes(spec));
    const r = await cli(['replay', OBJECT, 'xdp_verdicts', '--pcap', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^packets\s+4$/m);
    expect(withoutSiblingNote(r.stderr)).toBe(`xdplab: ${file}: packet 2 at byte offset ${pcapRecordOffset(spec, 1)}: captured length 1200 exceeds the file's snaplen 1000; read all the same, as tcpdump and Wireshark read it (and 1 more packet)\n`);
  });

  it('--skip-bad goes on past malformed records and counts them', async () => {
    const { bytes, offsets } = pcapngBytes([
      { type: 'shb' }, { type: 'idb', linkType: 1 },
      ...frames.map((data, i) => ({ type: 'epb' as const, ifid: i === 1 ? 7 : 0, ticks: BigInt(i), data })),
    ]);
    const file = writeTemp(dir, 'skip.pcapng', bytes);
    const r = await cli(['replay', OBJECT, 'xdp_verdicts', '--pcap', file, '--skip-bad']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^packets\s+3$/m);
    expect(r.stdout).toMatch(/^skipped\s+1$/m);
    expect(r.stderr).toContain(`skipped ${file}: packet 2 at byte offset ${offsets[3]}: interface 7 is not described`);
  });

  it('a truncated capture: exit 2, or with --skip-bad the packets before the cut', async () => {
    const whole = pcapBytes({ nanoseconds: true, records: frames.map((data, i) => ({ tsSec: 1, tsFrac: i, data })) });
    const file = writeTemp(dir, 'cut.pcap', whole.subarray(0, whole.length - 10));
    const r = await cli(['replay', OBJECT, 'xdp_verdicts', '--pcap', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file}: packet 4 at byte offset \\d+: truncated record`));
    const skipped = await cli(['replay', OBJECT, 'xdp_verdicts', '--pcap', file, '--skip-bad', '--json']);
    expect(skipped.code).toBe(0);
    expect(lines(skipped.stdout)).toHaveLength(3);
    expect(skipped.stderr).toMatch(/3 packets .*1 skipped/);
  });

  it('a packet the hook cannot take is reported and counted, and the replay goes on', async () => {
    // An IPv4 EtherType with 10 bytes after the Ethernet header: BPF_PROG_TEST_RUN of a TC
    // program refuses it (EINVAL), so does the replay, for that packet only.
    const file = capture([tcp4(), plainFrame(0x0800, 24), udp4()]);
    const r = await cli(['replay', OBJECT, 'tc_probe', '--pcap', file, '--json']);
    expect(r.code).toBe(0);
    const got = lines(r.stdout) as Array<PacketLine & { refused?: string }>;
    expect(got.map((l) => l.index)).toEqual([0, 1, 2]);
    expect(got[1].refused).toMatch(/^24 bytes: too short for the IP header its EtherType announces/);
    expect(got[0].verdict).toBe('TC_ACT_OK');
    expect(r.stderr).toContain(`xdplab: refused ${file}: packet 2: 24 bytes`);
    const s = await cli(['replay', OBJECT, 'tc_probe', '--pcap', file]);
    expect(s.stdout).toMatch(/^packets\s+2$/m);
    expect(s.stdout).toMatch(/^refused\s+1$/m);
  });

  it('refuses, for that packet only, a TC frame larger than a test run takes (one page)', async () => {
    const file = capture([tcp4(), plainFrame(0x88b5, 4000)]);
    const r = await cli(['replay', OBJECT, 'tc_probe', '--pcap', file, '--json']);
    expect(r.code).toBe(0);
    const got = lines(r.stdout) as Array<PacketLine & { refused?: string }>;
    expect(got[1].refused).toMatch(/^4000 bytes: the tc-ingress hook takes frames of at most \d+ bytes/);
    const path = await cli(['replay', OBJECT, 'tc_probe', '--pcap', file, '--json', '--path']);
    expect((lines(path.stdout) as Array<PacketLine & { refused?: string }>)[1].refused).toBeUndefined();
  });

  it('refuses a capture that is not one, and a program of the wrong type for the hook', async () => {
    const notPcap = writeTemp(dir, 'text.pcap', new TextEncoder().encode('hello, this is not a capture'));
    const a = await cli(['replay', OBJECT, 'xdp_verdicts', '--pcap', notPcap]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/text\.pcap: file header at byte offset 0: bad magic/);
    const b = await cli(['replay', OBJECT, 'tc_probe', '--pcap', capture(frames), '--hook', 'xdp']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('tc_probe is not an XDP program');
    const c = await cli(['replay', OBJECT, 'xdp_verdicts', '--pcap', capture(frames), '--cpus', '0']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('--cpus 0');
  });

  it('a program that faults on some packets: exit 1 with the count, the other packets still run', async () => {
    const long = (b100: number): Uint8Array => { const f = plainFrame(0x0800, 128); f[100] = b100; return f; };
    const file = capture([long(0), plainFrame(0x0800, 60), long(1), plainFrame(0x0800, 100), long(2)]);
    // The kernel's verifier refuses it (it reads data[100] unchecked): xdplab too, unless told not to verify.
    const refused = await cli(['replay', OBJECT, 'xdp_fault', '--pcap', file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^xdplab: program xdp_fault: the kernel's verifier would refuse it \(EACCES\): invalid access to packet, off=100 size=1/m);
    expect(refused.stderr).toMatch(/^ {2}unchecked packet access: /m);
    const r = await cli(['replay', OBJECT, 'xdp_fault', '--pcap', file, '--no-verify']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^faults\s+2\s+40\.0%$/m);
    expect(r.stdout).toMatch(/^XDP_PASS\s+2/m);
    expect(r.stdout).toMatch(/^XDP_DROP\s+1/m);
    expect(r.stderr).toMatch(/packet 2: program xdp_fault: pc \d+ .*invalid memory access/);
    expect(r.stderr).toMatch(/invalid memory access: .*, in replay\.bpf\.c:\d+: return data\[100\]/); // the C line of the pc
    const j = await cli(['replay', OBJECT, 'xdp_fault', '--pcap', file, '--json', '--no-verify']);
    expect(j.code).toBe(1);
    expect(lines(j.stdout).map((l) => l.verdict ?? (l.fault ? 'fault' : '?'))).toEqual(['XDP_PASS', 'fault', 'XDP_DROP', 'fault', 'XDP_PASS']);
  });
});

describe('xdplab replay: TC hooks (--path: the skb of the kernel\'s own path)', () => {
  const DEV = '02:00:00:00:00:01';

  it('tc-ingress: the skb of the receive path (pkt_type by the device MAC, skb_iif, RX queue + 1, wire_len without the MAC header)', async () => {
    const toUs = tcp4({ ethDst: mac(DEV) });
    const other = tcp4({ ethDst: mac('02:aa:bb:cc:dd:ee') });
    const bcast = plainFrame(0x0806, 60, { ethDst: mac('ff:ff:ff:ff:ff:ff') });
    const r = await cli(['replay', OBJECT, 'tc_probe', '--pcap', capture([toUs, other, bcast, udp4({ ethDst: mac(DEV) })]), '--json', '--path']);
    expect(r.code).toBe(0);
    const got = lines(r.stdout);
    expect(got.map((l) => l.trace![0])).toEqual([
      'pkt_type=0 ifindex=2 ingress_ifindex=2', 'pkt_type=3 ifindex=2 ingress_ifindex=2',
      'pkt_type=1 ifindex=2 ingress_ifindex=2', 'pkt_type=0 ifindex=2 ingress_ifindex=2',
    ]);
    expect(got[0].trace![1]).toBe(`len=${toUs.length} wire_len=${toUs.length - 14} queue=1`);
    const hash = new RssHasher().hash(toUs, 0, toUs.length);
    expect(got[0].trace![2]).toBe(`hash=${hash} vlan=0 tci=0`);
    expect(got.map((l) => l.verdict)).toEqual(['TC_ACT_OK', 'TC_ACT_OK', 'TC_ACT_OK', 'TC_ACT_SHOT']);
  });

  it('tc-ingress takes an 802.1Q tag out of band, and --out puts it back', async () => {
    const tagged = tcp4({ ethDst: mac(DEV), vlan: 0x2064 });
    const out = path.join(dir, 'vlan.pcap');
    const r = await cli(['replay', OBJECT, 'tc_probe', '--pcap', capture([tagged]), '--json', '--out', out, '--path']);
    const [line] = lines(r.stdout);
    expect(line.trace![1]).toBe(`len=${tagged.length - 4} wire_len=${tagged.length - 18} queue=1`);
    expect(line.trace![2]).toMatch(/ vlan=1 tci=8292$/);
    expect(line.out).toBe(hex(tagged));
    expect(hex(readCaptureSync(new Uint8Array(readFileSync(out))).records[0].data)).toBe(hex(tagged));
  });

  it('tc-egress: the skb of the transmit path (PACKET_HOST, no skb_iif, wire_len = len); --out leaves out what was shot', async () => {
    const frames = [tcp4(), udp4(), tcp6()];
    const out = path.join(dir, 'egress.pcap');
    const r = await cli(['replay', OBJECT, 'tc_probe', '--pcap', capture(frames), '--hook', 'tc-egress', '--json', '--out', out, '--path']);
    expect(r.code).toBe(0);
    const got = lines(r.stdout);
    expect(got[0].trace).toEqual([
      'pkt_type=0 ifindex=2 ingress_ifindex=0',
      `len=${frames[0].length} wire_len=${frames[0].length} queue=0`,
      `hash=${new RssHasher().hash(frames[0], 0, frames[0].length)} vlan=0 tci=0`,
    ]);
    expect(got.map((l) => l.verdict)).toEqual(['TC_ACT_OK', 'TC_ACT_SHOT', 'TC_ACT_OK']);
    const written = readCaptureSync(new Uint8Array(readFileSync(out))).records.map((w) => hex(w.data));
    expect(written).toEqual([hex(frames[0]), hex(frames[2])]);
  });

  it('TC verdicts and bytes agree with a test run where the path does not matter', async () => {
    const frames = [tcp4(), udp4(), tcp6()];
    const r = await cli(['replay', OBJECT, 'tc_probe', '--pcap', capture(frames), '--json']);
    lines(r.stdout).forEach((l, i) => {
      const t = testRunOf('tc_probe', frames[i]);
      expect({ retval: l.retval, verdict: l.verdict, out: l.out }).toEqual(t);
    });
  });
});
