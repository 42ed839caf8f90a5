// The live tests' traffic generator, run inside the generator's network namespace:
//   node test/live/generate.mjs IFACE COUNT [OUT.pcap]
// Builds COUNT deterministic Ethernet frames (IPv4 UDP, TCP and ICMP, ARP; 60 to 300 bytes,
// source MAC 02:00:00:00:00:aa), writes them to OUT.pcap (what a --pcap replay of the same
// frames reads), then injects them onto IFACE as fast as it can (xdplab's libpcap binding).
// Prints "sent N" when done.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const [iface, countText, out] = process.argv.slice(2);
const count = Number(countText);
const libpcap = createRequire(import.meta.url)('xdplab-libpcap');

const SRC = [0x02, 0, 0, 0, 0, 0xaa];
const DST = [0x02, 0, 0, 0, 0, 0xbb];

function arp(f, i) {
  f.writeUInt16BE(0x0806, 12);
  f.writeUInt16BE(1, 14);
  f.writeUInt16BE(0x0800, 16);
  f[18] = 6;
  f[19] = 4;
  f.writeUInt16BE(1, 20);
  f.writeUInt32BE(i, 38);
}

function ipv4(f, i, protocol) {
  f.writeUInt16BE(0x0800, 12);
  f[14] = 0x45;
  f.writeUInt16BE(f.length - 14, 16);
  f.writeUInt16BE(i & 0xffff, 18);
  f[22] = 64;
  f[23] = protocol;
  f.writeUInt32BE(0x0a000001, 26);
  f.writeUInt32BE(0x0a000002 + (i % 200), 30);
  f.writeUInt16BE(1024 + (i % 5000), 34);
  f.writeUInt16BE(protocol === 1 ? i & 0xffff : 53, 36);
  f.writeUInt32BE(i, 38);
}

function frame(i) {
  const kind = i % 4;
  const f = Buffer.alloc(kind === 3 ? 60 : 60 + ((i * 37) % 241));
  f.set(DST, 0);
  f.set(SRC, 6);
  if (kind === 3) arp(f, i);
  else ipv4(f, i, [17, 6, 1][kind]);
  return f;
}

function pcap(frames) {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  const parts = [header];
  frames.forEach((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000 + Math.floor(i / 1000), 0);
    r.writeUInt32LE((i % 1000) * 1000, 4);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    parts.push(r, f);
  });
  return Buffer.concat(parts);
}

const frames = Array.from({ length: count }, (_, i) => frame(i));
if (out) writeFileSync(out, pcap(frames));
// A handle only to inject with: its filter matches nothing that arrives.
const handle = libpcap.open(iface, 'ether proto 0x88b5', 1 << 20, 2048);
for (const f of frames) libpcap.inject(handle, f);
libpcap.close(handle);
console.log(`sent ${count}`);
