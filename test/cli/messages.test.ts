/**
 * One error style (issue 10): a bad input is one line naming the file (once), the place in it
 * and what to fix — the same words for the same trouble in every command. Each case is the
 * exact line `xdplab` prints, and exit 2.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { XdplabError, withContext } from '../../src/errors.js';
import { cli } from '../support/cli.js';
import { repoRoot } from '../support/conformance.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-messages-'));
const put = (name: string, data: string | Uint8Array): string => {
  const p = path.join(dir, name);
  writeFileSync(p, data);
  return p;
};
const FIREWALL = path.join(repoRoot, 'topologies', 'edge-firewall', 'firewall.bpf.o');
const CAPTURE = path.join(repoRoot, 'pcaps', 'edge-firewall.pcapng');
const TEXT = put('topology.yaml', 'hello\n');
const MISSING = path.join(dir, 'missing');
const PACKET = put('packet.bin', new Uint8Array(64));

/** A classic pcap of the given link type with two 60-byte records, the second cut (captured 80 of a 60-byte body). */
function pcap(linkType: number, badSecond = false): string {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(linkType, 20);
  const record = (capLen: number): Buffer => {
    const r = Buffer.alloc(16 + 60);
    r.writeUInt32LE(capLen, 8);
    r.writeUInt32LE(60, 12);
    r.writeUInt16BE(0x0800, 16 + 12);
    return r;
  };
  return put(`lt${linkType}${badSecond ? '-bad' : ''}.pcap`, Buffer.concat([header, record(60), record(badSecond ? 300000 : 60)]));
}

/** `line:column` of `needle` in `file` (both counted from 1, as the YAML errors count them). */
function where(file: string, needle: string): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  const line = lines.findIndex((l) => l.includes(needle));
  return `${line + 1}:${lines[line].indexOf(needle) + 1}`;
}

/** The edge-firewall scenario with one line changed, written beside its objects. */
function topology(edit: (text: string) => string): string {
  const dirOf = path.join(repoRoot, 'topologies', 'edge-firewall');
  const text = readFileSync(path.join(dirOf, 'topology.yaml'), 'utf8')
    .replace('object: firewall.bpf.o', `object: ${FIREWALL}`)
    .replace('pcap: ../../pcaps/edge-firewall.pcapng', `pcap: ${CAPTURE}`);
  return put(`t${Math.random().toString(36).slice(2)}.yaml`, edit(text));
}

// [what, args, the line]
const CASES: Array<[string, () => string[], () => string]> = [
  ['not an ELF object: its name once', () => ['prog', 'show', TEXT], () => `${TEXT}: bad magic: not an ELF file (starts with 68 65 6c 6c)`],
  ['not an ELF object to run: its name once', () => ['prog', 'run', TEXT, 'p', 'data_in', PACKET], () => `${TEXT}: bad magic: not an ELF file (starts with 68 65 6c 6c)`],
  ['a directory as the topology', () => ['run', dir], () => `${dir}: is a directory, not a file`],
  ['a directory as the object', () => ['prog', 'show', dir], () => `${dir}: is a directory, not a file`],
  ['a directory as the capture', () => ['replay', FIREWALL, 'xdp_firewall', '--pcap', dir], () => `${dir}: is a directory, not a file`],
  ['a directory to disassemble', () => ['disasm', dir], () => `${dir}: is a directory, not a file`],
  ['a directory as data_in', () => ['prog', 'run', FIREWALL, 'xdp_firewall', 'data_in', dir], () => `${dir}: is a directory, not a file`],
  ['a missing topology', () => ['run', MISSING], () => `${MISSING}: no such file`],
  ['a missing object', () => ['prog', 'show', MISSING], () => `${MISSING}: no such file`],
  ['a missing capture', () => ['replay', FIREWALL, 'xdp_firewall', '--pcap', MISSING], () => `${MISSING}: no such file`],
  ['a missing --maps-in', () => ['replay', FIREWALL, 'xdp_firewall', '--pcap', CAPTURE, '--maps-in', MISSING], () => `${MISSING}: no such file`],
  ['a missing data_in', () => ['prog', 'run', FIREWALL, 'xdp_firewall', 'data_in', MISSING], () => `${MISSING}: no such file`],
  ['a link type the capture\'s file header gives', () => ['replay', FIREWALL, 'xdp_firewall', '--pcap', pcap(105)],
    () => `${path.join(dir, 'lt105.pcap')}: file header at byte offset 20: link type 105 (IEEE802_11), which xdplab does not read here (it reads 1 (ETHERNET), 113 (LINUX_SLL), 276 (LINUX_SLL2), 101 (RAW), 228 (IPV4), 229 (IPV6)): capture on an Ethernet device`],
  ['packets counted from 1, as Wireshark counts frames', () => ['replay', FIREWALL, 'xdp_firewall', '--pcap', pcap(1, true)],
    () => `${path.join(dir, 'lt1-bad.pcap')}: packet 2 at byte offset 100: captured length 300000 is larger than 262144: the file is corrupt (cannot find the next record)`],
];

describe('messages: one line, the file once, what to fix', () => {
  it.each(CASES)('%s', async (_what, args, line) => {
    const r = await cli(args());
    expect(r.stderr).toBe(`xdplab: ${line()}\n`);
    expect(r.code).toBe(2);
  });

  it('an LPM key with a prefix longer than its address: said so, at its line', async () => {
    const file = topology((t) => t.replace('key: 203.0.113.0/24', 'key: 10.0.0.0/33'));
    const r = await cli(['run', file, '--out', path.join(dir, 'out-lpm')]);
    expect(r.stderr).toBe(`xdplab: ${file}:${where(file, '10.0.0.0/33')}: programs[0].maps.blocklist_v4[0].key: 10.0.0.0/33: prefix length 33 is longer than the 32 bits of an IPv4 address (0..32)\n`);
    expect(r.code).toBe(2);
  });

  it('a traffic capture that is not there: at its line, before anything runs', async () => {
    const file = topology((t) => t.replace(`pcap: ${CAPTURE}`, 'pcap: none.pcap'));
    const r = await cli(['run', file, '--out', path.join(dir, 'out-none')]);
    expect(r.stderr).toBe(`xdplab: ${file}:${where(file, 'none.pcap')}: traffic[0].pcap: ${path.join(dir, 'none.pcap')}: no such file\n`);
    expect(r.code).toBe(2);
  });
});

describe('withContext adds a context once', () => {
  it.each([
    ['a reader that named its file already', 'f.o: bad magic', 'f.o', 'f.o: bad magic'],
    ['an assembler error at file:line:col', 'f.s:3:1: bad register', 'f.s', 'f.s:3:1: bad register'],
    ['a new context', 'bad magic', 'f.o', 'f.o: bad magic'],
    ['a name that only starts the same', 'f.o.bak: bad magic', 'f.o', 'f.o: f.o.bak: bad magic'],
  ])('%s', (_what, message, context, want) => {
    expect(withContext(new XdplabError('BAD_INPUT', message), context).message).toBe(want);
    expect(withContext(withContext(new Error(message), context), context).message).toBe(want);
  });
});

