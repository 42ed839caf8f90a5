// Live throughput: `xdplab replay --live` on one end of a veth pair between two network
// namespaces made here (and removed), while test/live/generate.mjs sends FRAMES frames into the
// other end as fast as it can; against the same frames replayed from the file the generator
// wrote. Reported: frames run, frames the kernel's ring dropped (exact, from pcap_stats), the
// live rate over the span of capture timestamps (first to last frame), and the file's rate.
// The live figure is bounded by the sender (one pcap_inject a frame from one process) as much
// as by xdplab: the ring dropping nothing at that rate is the point. Root and the libpcap
// binding needed; without them the section says why it is missing.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCaptureSync } from '../dist/pcap/reader.js';
import { fmt } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, '..');
const FRAMES = Number(process.env.XDPLAB_LIVE_FRAMES ?? 200_000);
const OBJECT = path.join(root, 'test', 'fixtures', 'bpf', 'xdp-count.bpf.o');
const CLI = path.join(root, 'bin', 'xdplab.js');

function unavailable() {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    createRequire(import.meta.url)('xdplab-libpcap');
  } catch {
    return 'the libpcap binding (xdplab-libpcap) is not built';
  }
  return undefined;
}

const ip = (...args) => execFileSync('ip', args, { stdio: 'ignore' });

function vethPair() {
  const gen = { ns: `xdplab-bg${process.pid}`, iface: `xbg${process.pid}` };
  const lab = { ns: `xdplab-bl${process.pid}`, iface: `xbl${process.pid}` };
  for (const end of [gen, lab]) {
    ip('netns', 'add', end.ns);
    execFileSync('ip', ['netns', 'exec', end.ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  ip('link', 'add', gen.iface, 'netns', gen.ns, 'type', 'veth', 'peer', 'name', lab.iface, 'netns', lab.ns);
  for (const end of [gen, lab]) ip('-n', end.ns, 'link', 'set', end.iface, 'up');
  return { gen, lab, remove: () => [gen, lab].forEach((e) => { try { ip('netns', 'del', e.ns); } catch { /* gone */ } }) };
}

/** Runs a command in a namespace; resolves to its output once it exits (or once `ready` shows, with `started`). */
function inNs(ns, command, ready) {
  const child = spawn('ip', ['netns', 'exec', ns, ...command], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => { out.stdout += d; });
  child.stderr.on('data', (d) => { out.stderr += d; });
  const exited = new Promise((resolve) => child.on('close', (code) => resolve({ code, ...out })));
  const started = ready ? new Promise((resolve, reject) => {
    const timer = setInterval(() => { if (ready.test(out.stderr)) { clearInterval(timer); resolve(); } }, 20);
    exited.then((r) => { clearInterval(timer); reject(new Error(`exited before ${ready}: ${r.stderr}`)); });
  }) : Promise.resolve();
  return { exited, started };
}

const row = (text, name) => Number(new RegExp(`^${name}\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);

export async function benchLive() {
  const title = 'Live capture (replay --live on a veth pair)';
  const header = ['source', 'frames run', 'dropped by kernel', 'frames/s'];
  const why = unavailable();
  if (why) return { title, header, rows: [], notes: [`Not measured: ${why}.`], raw: undefined };
  const pair = vethPair();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'xdplab-bench-live-'));
  try {
    const sent = path.join(dir, 'sent.pcap');
    const out = path.join(dir, 'run.pcapng');
    const xdplab = inNs(pair.lab.ns, [process.execPath, CLI, 'replay', OBJECT, 'xdp_count', '--live', pair.lab.iface,
      '--filter', 'ether src 02:00:00:00:00:aa', '--count', String(FRAMES), '--duration', '300', '--out', out], /capturing on/);
    await xdplab.started;
    const gen = await inNs(pair.gen.ns, [process.execPath, path.join(root, 'test', 'live', 'generate.mjs'), pair.gen.iface, String(FRAMES), sent]).exited;
    if (gen.code !== 0) throw new Error(`generator: ${gen.stderr}`);
    const live = await xdplab.exited;
    if (live.code !== 0) throw new Error(`xdplab: ${live.stderr}`);
    const records = readCaptureSync(readFileSync(out)).records;
    const t = (r) => r.tsSec + r.tsNsec / 1e9;
    const span = records.length > 1 ? t(records.at(-1)) - t(records[0]) : NaN;
    const packets = row(live.stdout, 'packets');
    const file = execFileSync(process.execPath, [CLI, 'replay', OBJECT, 'xdp_count', '--pcap', sent], { encoding: 'utf8' });
    const rows = [
      ['live, veth', fmt(packets, 0), fmt(row(live.stdout, 'dropped by kernel'), 0), fmt(packets / span, 0)],
      ['the same frames from a file', fmt(row(file, 'packets'), 0), '', fmt(row(file, 'packets/s'), 0)],
    ];
    const notes = [
      `${FRAMES.toLocaleString('en-US')} frames (60 to 300 bytes: IPv4 UDP, TCP, ICMP and ARP) sent by one process, one pcap_inject a frame; the live rate is frames over the span of their capture timestamps, bounded by that sender.`,
      'XDP program: test/fixtures/bpf/xdp-count.bpf.o (a per-protocol counter), the JIT engine, one CPU.',
    ];
    return { title, header, rows, notes, raw: { packets, span } };
  } finally {
    pair.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}
