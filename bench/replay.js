// Replay throughput: `xdplab replay` of a 1,000,000-packet capture through a firewall-like XDP
// program (bench/programs/fw.bpf.c: Ethernet/IPv4/TCP|UDP parsing, an LPM lookup of the source
// address, a per-CPU counter), end to end from the pcap file, against what a user would do
// without xdplab: the same object in the kernel, one BPF_PROG_TEST_RUN per packet
// (bench/kernel-replay.c with libbpf, built here with gcc when root and libbpf-dev allow).
// The capture and the rules are generated deterministically into os.tmpdir().
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openCapture } from '../dist/pcap/reader.js';
import { fmt, prng } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const OBJECT = path.join(here, 'programs', 'fw.bpf.o');
const PROGRAM = 'xdp_fw';
const KERNEL_SOURCE = path.join(here, 'kernel-replay.c');

export const PACKETS = Number(process.env.XDPLAB_REPLAY_PACKETS ?? 1_000_000);
const RULES = 4096;
const CPUS = 4;
const RUNS = 3;
const XDP_DROP = 1;
const XDP_PASS = 2;
const PORTS = [22, 23, 53, 80, 443, 3389];


/** The firewall's rules: RULES prefixes /16../32; 3 in 4 drop (a third of those for one port only), the rest allow. */
export function makeRules(r) {
  const rules = [];
  for (let i = 0; i < RULES; i++) {
    const len = 16 + (r() % 17);
    const mask = len === 32 ? 0xffffffff : ~(0xffffffff >>> len) >>> 0;
    const addr = (r() & mask) >>> 0;
    const action = r() % 4 === 0 ? XDP_PASS : XDP_DROP;
    const port = action === XDP_DROP && r() % 3 === 0 ? PORTS[r() % PORTS.length] : 0;
    rules.push({ len, mask, addr, action, port });
  }
  return rules;
}

export const ruleKey = (rule) => {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(rule.len, 0);
  b.writeUInt32BE(rule.addr, 4);
  return b;
};
export const ruleValue = (rule) => {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(rule.action, 0);
  b.writeUInt16LE(rule.port, 4);
  return b;
};

/**
 * Write the capture: PACKETS frames, 1 µs apart (ns pcap). 60% TCP, 30% UDP, 5% ICMP over IPv4,
 * 3% UDP over IPv6, 2% ARP; 30% of the IPv4 sources fall inside a rule's prefix; 80% of the
 * frames carry 0..32 bytes of payload, 20% 64..1400.
 */
function writeCapture(file, rules, r) {
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(8 << 20);
  let n = 0;
  let bytes = 0;
  const flush = () => {
    writeSync(fd, buf, 0, n);
    n = 0;
  };
  buf.writeUInt32LE(0xa1b23c4d, 0);
  buf.writeUInt16LE(2, 4);
  buf.writeUInt16LE(4, 6);
  buf.writeUInt32LE(65535, 16);
  buf.writeUInt32LE(1, 20);
  n = 24;
  for (let i = 0; i < PACKETS; i++) {
    if (n > buf.length - 2048) flush();
    const kind = r() % 100;
    const payload = r() % 5 === 0 ? 64 + (r() % 1337) : r() % 33;
    const at = n + 16;
    let len;
    // Ethernet: dst 02:00:00:00:00:01 (the replay device), src from the flow.
    buf.writeUInt32BE(0x02000000, at);
    buf.writeUInt16BE(0x0001, at + 4);
    buf.writeUInt32BE(0x0a000000 | (r() & 0xffff), at + 6);
    buf.writeUInt16BE(0x0002, at + 10);
    if (kind < 95) {
      const proto = kind < 60 ? 6 : kind < 90 ? 17 : 1;
      const l4 = proto === 6 ? 20 : 8;
      buf.writeUInt16BE(0x0800, at + 12);
      const ip = at + 14;
      const total = 20 + l4 + payload;
      buf.writeUInt32BE(0x45000000 | total, ip);
      buf.writeUInt32BE((0x00004000 | ((i & 0xffff) << 16)) >>> 0, ip + 4);
      buf.writeUInt32BE(0x40000000 | (proto << 16), ip + 8);
      let src = r();
      if (r() % 10 < 3) {
        const rule = rules[r() % rules.length];
        src = ((rule.addr & rule.mask) | (src & ~rule.mask)) >>> 0;
      }
      buf.writeUInt32BE(src, ip + 12);
      buf.writeUInt32BE((0xc0a80000 | (r() & 0xffff)) >>> 0, ip + 16);
      const l4at = ip + 20;
      buf.writeUInt16BE(1024 + (r() % 64512), l4at);
      buf.writeUInt16BE(r() % 2 ? PORTS[r() % PORTS.length] : r() & 0xffff, l4at + 2);
      buf.fill(0, l4at + 4, l4at + l4);
      if (proto === 6) buf.writeUInt16BE(0x5018, l4at + 12);
      else buf.writeUInt16BE(8 + payload, l4at + 4);
      buf.fill(i & 0xff, l4at + l4, l4at + l4 + payload);
      len = 14 + total;
    } else if (kind < 98) {
      buf.writeUInt16BE(0x86dd, at + 12);
      const ip = at + 14;
      buf.writeUInt32BE(0x60000000, ip);
      buf.writeUInt32BE(((8 + payload) << 16) | (17 << 8) | 64, ip + 4);
      for (let w = 0; w < 8; w++) buf.writeUInt32BE(w === 0 || w === 4 ? 0x20010db8 : r(), ip + 8 + w * 4);
      buf.writeUInt32BE(((1024 + (r() % 64512)) << 16 | 53) >>> 0, ip + 40);
      buf.writeUInt32BE((8 + payload) << 16, ip + 44);
      buf.fill(7, ip + 48, ip + 48 + payload);
      len = 14 + 40 + 8 + payload;
    } else {
      buf.writeUInt16BE(0x0806, at + 12);
      buf.fill(0, at + 14, at + 60);
      buf.writeUInt32BE(0x00010800, at + 14);
      buf.writeUInt32BE(0x06040001, at + 18);
      len = 60;
    }
    if (len < 60) {
      buf.fill(0, at + len, at + 60);
      len = 60;
    }
    buf.writeUInt32LE(1700000000 + Math.floor(i / 1e6), n);
    buf.writeUInt32LE((i % 1e6) * 1000, n + 4);
    buf.writeUInt32LE(len, n + 8);
    buf.writeUInt32LE(len, n + 12);
    n += 16 + len;
    bytes += len;
  }
  flush();
  closeSync(fd);
  return bytes;
}

/** Capture, rules (xdplab's --maps-in JSON and the kernel's raw entries) in a temporary directory. */
export function prepare(dir) {
  const r = prng(0x0dd5eed);
  const rules = makeRules(r);
  const capture = path.join(dir, 'replay-1m.pcap');
  const bytes = writeCapture(capture, rules, r);
  const mapsIn = path.join(dir, 'rules.json');
  writeFileSync(mapsIn, JSON.stringify({ rules: rules.map((rule) => ({ key: ruleKey(rule).toString('hex'), value: ruleValue(rule).toString('hex') })) }));
  const raw = path.join(dir, 'rules.bin');
  writeFileSync(raw, Buffer.concat(rules.flatMap((rule) => [ruleKey(rule), ruleValue(rule)])));
  return { capture, bytes, mapsIn, raw };
}

/** `xdplab replay` as a user runs it: its summary, the process's wall time, and the stats map summed over CPUs. */
function runXdplab(files, dir) {
  const mapsOut = path.join(dir, 'stats.json');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'xdplab.js'), 'replay', OBJECT, PROGRAM, '--pcap', files.capture,
    '--cpus', String(CPUS), '--maps-in', files.mapsIn, '--maps-out', mapsOut], { encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`xdplab replay failed (${r.status}): ${r.stderr}`);
  const row = (name) => Number(new RegExp(`^${name}\\s+(\\d+)`, 'm').exec(r.stdout)?.[1]);
  const stats = JSON.parse(readFileSync(mapsOut, 'utf8')).stats.map((e) => {
    const sum = (field) => e.formatted.values.reduce((s, v) => s + Number(v.value[field]), 0);
    return [sum('packets'), sum('bytes')];
  });
  return {
    pps: row('packets/s'), packets: row('packets'), seconds: Number(/^seconds\s+([\d.]+)/m.exec(r.stdout)?.[1]), wall,
    verdicts: { [XDP_DROP]: row('XDP_DROP') || 0, [XDP_PASS]: row('XDP_PASS') || 0 }, stats,
  };
}

const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Build bench/kernel-replay.c; the binary's path, or why it cannot be run here. */
function buildKernelReplay(dir) {
  if (process.getuid?.() !== 0) return { why: 'not root: BPF_PROG_TEST_RUN needs CAP_BPF and CAP_NET_ADMIN' };
  if (!which('gcc')) return { why: 'gcc is not installed' };
  if (!existsSync('/usr/include/bpf/libbpf.h')) return { why: 'libbpf-dev is not installed (apt-get install libbpf-dev)' };
  const binary = path.join(dir, 'kernel-replay');
  try {
    execFileSync('gcc', ['-O2', '-o', binary, KERNEL_SOURCE, '-lbpf'], { stdio: 'pipe' });
  } catch (err) {
    return { why: `gcc failed: ${String(err.stderr ?? err.message).trim().split('\n')[0]}` };
  }
  return { binary };
}

function runKernel(binary, files) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(binary, [OBJECT, PROGRAM, files.capture, '--map', 'rules', files.raw, '--sum', 'stats'], { encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`kernel-replay failed (${r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout);
  return { pps: out.pps, packets: out.packets, seconds: out.seconds, wall, verdicts: out.verdicts, stats: out.stats };
}

/** The capture reader alone, in this process: records/s of forEach over the same file. */
async function readerOnly(file) {
  const reader = await openCapture(file);
  let sum = 0;
  const t0 = process.hrtime.bigint();
  const n = await reader.forEach((rec) => { sum += rec.data.length; });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { pps: n / s, sum };
}

const best = (runs) => runs.reduce((a, b) => (b.pps > a.pps ? b : a));

export async function benchReplay() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-replay-bench-'));
  try {
    const files = prepare(dir);
    const xdplab = best(Array.from({ length: RUNS }, () => runXdplab(files, dir)));
    const reader = await readerOnly(files.capture);
    const build = buildKernelReplay(dir);
    const kernel = build.binary ? best(Array.from({ length: RUNS }, () => runKernel(build.binary, files))) : undefined;

    const million = (pps) => `${fmt(pps / 1e6, 2)} M/s`;
    const rows = [
      ['xdplab replay (CLI, end to end from the pcap file)', million(xdplab.pps), `${fmt(xdplab.seconds, 2)} s (process ${fmt(xdplab.wall, 2)} s)`,
        kernel ? `${fmt(xdplab.pps / kernel.pps, 2)}×` : 'kernel not measured'],
    ];
    if (kernel) {
      rows.push(['kernel: one BPF_PROG_TEST_RUN per packet (bench/kernel-replay.c, libbpf)', million(kernel.pps),
        `${fmt(kernel.seconds, 2)} s (process ${fmt(kernel.wall, 2)} s)`, '1.00×']);
    }
    rows.push(['capture reader alone (xdplab, forEach, in-process)', million(reader.pps), '', '']);

    const avgBytes = files.bytes / PACKETS;
    const notes = [
      `${PACKETS.toLocaleString('en-US')} packets (${fmt(avgBytes, 0)} bytes on average; TCP, UDP, ICMP, IPv6, ARP) generated deterministically; ` +
        `${RULES} LPM rules; xdplab with --cpus ${CPUS} (packets spread by RSS hash), --maps-in and --maps-out; best of ${RUNS} runs each.`,
      `xdplab verdicts: ${xdplab.verdicts[XDP_PASS].toLocaleString('en-US')} XDP_PASS, ${xdplab.verdicts[XDP_DROP].toLocaleString('en-US')} XDP_DROP.`,
      `Packets/s are each tool's own figure, from opening the capture to the last verdict; "process" is the whole command (start-up, loading the object and the rules, writing the maps).`,
    ];
    if (kernel) {
      const sameVerdicts = kernel.verdicts[XDP_PASS] === xdplab.verdicts[XDP_PASS] && kernel.verdicts[XDP_DROP] === xdplab.verdicts[XDP_DROP];
      const sameStats = JSON.stringify(kernel.stats) === JSON.stringify(xdplab.stats);
      notes.push(`The kernel ${sameVerdicts ? 'gave the same verdict counts' : `gave different verdicts: ${JSON.stringify(kernel.verdicts)}`} and ` +
        `${sameStats ? 'the same per-outcome packet and byte counts (the per-CPU map summed over CPUs)' : `different counts: kernel ${JSON.stringify(kernel.stats)}, xdplab ${JSON.stringify(xdplab.stats)}`}.`);
      if (!sameVerdicts || !sameStats) throw new Error('replay bench: xdplab and the kernel disagree');
    } else {
      notes.push(`Kernel figures skipped: ${build.why}.`);
    }
    return { title: 'Replay: 1M packets through a firewall XDP program', header: ['path', 'packets/s', 'time', 'vs kernel path'], rows, notes,
      raw: { xdplabPps: xdplab.pps, kernelPps: kernel?.pps } };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run alone: node bench/replay.js (after npm run build). XDPLAB_REPLAY_PACKETS=N for a smaller capture.
if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchReplay();
  console.log(result.title);
  for (const row of result.rows) console.log('  ' + row.join('  '));
  for (const note of result.notes) console.log('  ' + note);
}
