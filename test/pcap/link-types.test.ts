/**
 * Captures that common tools write (issue 10), read rather than refused:
 * - Linux cooked captures (`tcpdump -i any`: LINUX_SLL, LINUX_SLL2) and raw IP (RAW, IPV4,
 *   IPV6) become the Ethernet frames an Ethernet device would have received, said once a file;
 * - a record captured past the snaplen is read, as tcpdump and Wireshark read it, with a note;
 * - what xdplab writes names its interface and carries the input's packet comments (tshark
 *   reads them back, when it is installed).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCaptureSync } from '../../src/pcap/reader.js';
import { cli } from '../support/cli.js';
import { repoRoot } from '../support/conformance.js';
import { pcapBytes, pcapngBytes, pcapRecordOffset, tempDir, tsharkFields, tsharkMissing, writeTemp } from '../support/captures.js';
import { titled } from '../support/skip.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

const HOST = Uint8Array.of(2, 0, 0, 0, 0, 1);
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/[\s:]/g, ''), 'hex'));
const IPV4 = (dst: string): Uint8Array => hex(`45000014 00000000 40060000 c000020a ${dst}`); // 20 bytes, to dst
const IPV6 = (dst: string): Uint8Array => hex(`60000000 00003b40 20010db8000000000000000000000001 ${dst}`); // 40 bytes
const TO_US = 'c6336401', MCAST4 = 'e00000fb', BCAST4 = 'ffffffff';
const ALLNODES6 = 'ff020000000000000000000000000001', UNICAST6 = '20010db8000000000000000000000002';
const SRC = '0200000000fe';

/** SLL: packet type, ARPHRD type, address length, address (8 bytes), protocol. */
const sll = (pkt: number, hatype: number, proto: number, payload: Uint8Array): Uint8Array =>
  Uint8Array.from([...hex(`${pkt.toString(16).padStart(4, '0')}${hatype.toString(16).padStart(4, '0')}0006${SRC}0000${proto.toString(16).padStart(4, '0')}`), ...payload]);
/** SLL2: protocol, reserved, ifindex, ARPHRD type, packet type, address length, address. */
const sll2 = (pkt: number, proto: number, payload: Uint8Array): Uint8Array =>
  Uint8Array.from([...hex(`${proto.toString(16).padStart(4, '0')}0000 00000003 0001 ${pkt.toString(16).padStart(2, '0')} 06 ${SRC}0000`), ...payload]);

// [what, link type, packet, the Ethernet header it gets: destination, source, EtherType]
const CASES: Array<[string, number, Uint8Array, string]> = [
  ['SLL, to this host', 113, sll(0, 1, 0x0800, IPV4(TO_US)), `020000000001 ${SRC} 0800`],
  ['SLL, broadcast', 113, sll(1, 1, 0x0800, IPV4(BCAST4)), `ffffffffffff ${SRC} 0800`],
  ['SLL, multicast: the IPv4 group\'s MAC', 113, sll(2, 1, 0x0800, IPV4(MCAST4)), `01005e0000fb ${SRC} 0800`],
  ['SLL, to another host', 113, sll(3, 1, 0x0800, IPV4(TO_US)), `020000000000 ${SRC} 0800`],
  ['SLL, sent by this host', 113, sll(4, 1, 0x0800, IPV4(TO_US)), `020000000001 ${SRC} 0800`],
  ['SLL, from the loopback (no Ethernet source)', 113, sll(0, 772, 0x0800, IPV4(TO_US)), '020000000001 020000000000 0800'],
  ['SLL, ARP', 113, sll(1, 1, 0x0806, new Uint8Array(28)), `ffffffffffff ${SRC} 0806`],
  ['SLL2, to this host', 276, sll2(0, 0x86dd, IPV6(UNICAST6)), `020000000001 ${SRC} 86dd`],
  ['SLL2, multicast: the IPv6 group\'s MAC', 276, sll2(2, 0x86dd, IPV6(ALLNODES6)), `333300000001 ${SRC} 86dd`],
  ['RAW, IPv4', 101, IPV4(TO_US), '020000000001 020000000000 0800'],
  ['RAW, IPv6', 101, IPV6(UNICAST6), '020000000001 020000000000 86dd'],
  ['RAW, IPv4 broadcast', 101, IPV4(BCAST4), 'ffffffffffff 020000000000 0800'],
  ['IPV4', 228, IPV4(MCAST4), '01005e0000fb 020000000000 0800'],
  ['IPV6, multicast', 229, IPV6(ALLNODES6), '333300000001 020000000000 86dd'],
];

describe('Linux cooked and raw IP captures become Ethernet frames', () => {
  it.each(CASES)('%s', (_what, linkType, packet, header) => {
    const bytes = pcapBytes({ linkType, records: [{ tsSec: 1, tsFrac: 0, data: packet, origLen: packet.length + 100 }] });
    const r = readCaptureSync(bytes, 'in.pcap', { linkTypes: [1], ethernet: { destination: HOST } });
    const cut = linkType === 113 ? 16 : linkType === 276 ? 20 : 0;
    expect(Buffer.from(r.records[0].data).toString('hex')).toBe(header.replace(/ /g, '') + Buffer.from(packet.subarray(cut)).toString('hex'));
    expect(r.records[0].linkType).toBe(1);
    expect(r.records[0].capLen).toBe(packet.length - cut + 14);
    expect(r.records[0].origLen).toBe(packet.length + 100 - cut + 14);
    expect(r.notes).toHaveLength(1);
  });

  it('says so once a file, naming the file, the link type and the destination', () => {
    const packets = [sll(0, 1, 0x0800, IPV4(TO_US)), sll(1, 1, 0x0800, IPV4(BCAST4))];
    const r = readCaptureSync(pcapBytes({ linkType: 113, records: packets.map((data) => ({ tsSec: 1, tsFrac: 0, data })) }), 'any.pcap', { linkTypes: [1], ethernet: { destination: HOST } });
    expect(r.records).toHaveLength(2);
    expect(r.notes).toEqual([
      "any.pcap: link type 113 (LINUX_SLL), a Linux cooked capture (tcpdump -i any): each packet gets the Ethernet header the kernel would have seen on an Ethernet device (destination 02:00:00:00:00:01, the receiving interface's, for a packet to this host) (and 1 more packet)",
    ]);
  });

  it('a pcapng file with a cooked interface beside an Ethernet one', () => {
    const { bytes } = pcapngBytes([
      { type: 'shb' }, { type: 'idb', linkType: 1 }, { type: 'idb', linkType: 113 },
      { type: 'epb', ifid: 0, ticks: 0n, data: hex(`020000000001${SRC}0800`) },
      { type: 'epb', ifid: 1, ticks: 1n, data: sll(0, 1, 0x0800, IPV4(TO_US)) },
    ]);
    const r = readCaptureSync(bytes, 'mixed.pcapng', { linkTypes: [1], ethernet: { destination: HOST } });
    expect(r.records.map((x) => Buffer.from(x.data.subarray(0, 14)).toString('hex'))).toEqual([`020000000001${SRC}0800`, `020000000001${SRC}0800`]);
  });

  it.each([
    ['SLL shorter than its header', 113, new Uint8Array(10), '10 bytes: shorter than the 16-byte cooked header'],
    ['raw IP of no IP version', 101, hex('50000000'), 'raw IP packet of IP version 5'],
  ])('refuses %s, naming the packet', (_what, linkType, data, reason) => {
    const spec = { linkType, records: [{ tsSec: 1, tsFrac: 0, data }] };
    expect(() => readCaptureSync(pcapBytes(spec), 'bad.pcap', { linkTypes: [1], ethernet: { destination: HOST } }))
      .toThrow(`bad.pcap: packet 1 at byte offset ${pcapRecordOffset(spec, 0)}: ${reason}`);
  });

  it('replay of a tcpdump -i any capture: the verdicts of its packets, and the note on stderr', async () => {
    const file = writeTemp(tmp.dir, 'any.pcap', pcapBytes({ linkType: 113, records: [{ tsSec: 1, tsFrac: 0, data: sll(0, 1, 0x0800, hex('45000028000000004006 8e91 c000020a c6336401 9c400016 00000000 00000000 50020000 00000000')) }] }));
    const r = await cli(['replay', path.join(repoRoot, 'topologies/edge-firewall/firewall.bpf.o'), 'xdp_firewall', '--pcap', file, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).verdict).toBe('XDP_DROP'); // TCP to port 22, which the firewall does not allow
    expect(r.stderr).toMatch(new RegExp(`\\nxdplab: ${file}: link type 113 \\(LINUX_SLL\\), a Linux cooked capture \\(tcpdump -i any\\): .*destination 02:00:00:00:00:01`));
  });
});

describe('a record past the snaplen is read, with a note', () => {
  it('pcap', () => {
    const spec = { snaplen: 64, records: [60, 100, 64, 65].map((n) => ({ tsSec: 1, tsFrac: 0, data: new Uint8Array(n) })) };
    const r = readCaptureSync(pcapBytes(spec), 'big.pcap');
    expect(r.records.map((x) => x.capLen)).toEqual([60, 100, 64, 65]);
    expect(r.skipped).toEqual([]);
    expect(r.notes).toEqual([`big.pcap: packet 2 at byte offset ${pcapRecordOffset(spec, 1)}: captured length 100 exceeds the file's snaplen 64; read all the same, as tcpdump and Wireshark read it (and 1 more packet)`]);
  });

  it('pcapng', () => {
    const { bytes, offsets } = pcapngBytes([{ type: 'shb' }, { type: 'idb', snaplen: 100 }, ...[100, 101, 10].map((n, i) => ({ type: 'epb' as const, ifid: 0, ticks: BigInt(i), data: new Uint8Array(n) }))]);
    const r = readCaptureSync(bytes, 'big.pcapng');
    expect(r.records.map((x) => x.capLen)).toEqual([100, 101, 10]);
    expect(r.notes).toEqual([`big.pcapng: packet 2 at byte offset ${offsets[3]}: captured length 101 exceeds interface 0's snaplen 100; read all the same, as tcpdump and Wireshark read it`]);
  });
});

const missing = tsharkMissing();
describe('outputs name their interface and carry the input\'s comments', () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'xdplab-outputs-named-'));

  it('run: each file names its interface; every packet keeps the capture\'s comment, a drop adds why', async () => {
    const r = await cli(['run', path.join(repoRoot, 'topologies/edge-firewall/topology.yaml'), '--out', out]);
    expect(r.code).toBe(0);
    const file = path.join(out, 'edge-wan0.dropped.pcapng');
    const records = readCaptureSync(new Uint8Array(readFileSync(file)), file).records;
    // The capture comments each packet with the outcome it should get (scripts/gen-pcaps.mjs): a
    // label line, then its expectations in xdplab's words; the drop's own comment comes after.
    expect(records.every((x) => /^FW_DROP_\w+ \| .*\n(expect: .*\n)+xdp: program fw \(xdp_firewall\) returned XDP_DROP at pc \d+/.test(x.comment ?? ''))).toBe(true);
    const delivered = readCaptureSync(new Uint8Array(readFileSync(path.join(out, 'server-eth0.delivered.pcapng'))), 'd').records;
    expect(delivered.every((x) => /^FW_PASS_\w+ \| /.test(x.comment ?? ''))).toBe(true);
  });

  it.skipIf(missing !== undefined)(titled('tshark shows the interface name and both comments', missing), () => {
    const rows = tsharkFields(path.join(out, 'edge-wan0.dropped.pcapng'), ['frame.interface_name', 'frame.interface_description', 'frame.comment']);
    expect(rows.length).toBeGreaterThan(0);
    for (const [name, description, comment] of rows) {
      expect(name).toBe('edge/wan0');
      expect(description).toBe('packets dropped at edge/wan0, each commented with why');
      expect(comment).toMatch(/^FW_DROP_\w+ \| .*\|xdp: program fw/); // tshark joins the two with |
    }
  });

  it.skipIf(missing !== undefined)(titled('replay --out x.pcapng: the interface eth0 and the input\'s comments', missing), async () => {
    const file = path.join(out, 'passed.pcapng');
    const r = await cli(['replay', path.join(repoRoot, 'topologies/edge-firewall/firewall.bpf.o'), 'xdp_firewall', '--pcap', path.join(repoRoot, 'pcaps/edge-firewall.pcapng'), '--out', file]);
    expect(r.code).toBe(0);
    const rows = tsharkFields(file, ['frame.interface_name', 'frame.comment']);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every(([name, comment]) => name === 'eth0' && /^FW_PASS_\w+ \| /.test(comment))).toBe(true);
  });
});
