/**
 * Packets for people: a one-line summary of a frame's headers, and the differences between two
 * frames field by field (MAC, VLAN, IP, ports, flags, checksums, payload) — what a failing
 * packet assertion shows instead of two hex dumps.
 */
import { parsePacket, type Layer } from '../packet/index.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

/** A field's value as text: numbers in decimal (checksums and types in hex), bytes in hex. */
function show(field: string, v: unknown): string {
  if (v instanceof Uint8Array) return v.length > 32 ? `${hex(v.subarray(0, 32))}… (${v.length} bytes)` : `${hex(v)} (${v.length} bytes)`;
  if (typeof v === 'number' && /checksum|^type$|^tpid$/.test(field)) return `0x${v.toString(16).padStart(4, '0')}`;
  return String(v);
}

/** `eth 02:…:fe > 02:…:01 | ipv4 192.0.2.10 > 198.51.100.1 ttl 64 | tcp 40000 > 22 [S]`. */
export function describePacket(bytes: Uint8Array): string {
  return parsePacket(bytes).map(describeLayer).join(' | ') || `${bytes.length} bytes`;
}

function describeLayer(l: Layer): string {
  switch (l.kind) {
    case 'eth': return `eth ${l.src} > ${l.dst}`;
    case 'vlan': return `vlan ${l.vid}`;
    case 'arp': return `arp ${l.op === 1 ? 'who-has' : 'reply'} ${l.targetIp} tell ${l.senderIp}`;
    case 'ipv4': return `ipv4 ${l.src} > ${l.dst} ttl ${l.ttl}`;
    case 'ipv6': return `ipv6 ${l.src} > ${l.dst} hlim ${l.hopLimit}`;
    case 'tcp': return `tcp ${l.sport} > ${l.dport} [${l.flags}]`;
    case 'udp': return `udp ${l.sport} > ${l.dport}`;
    case 'icmp': return `icmp type ${l.type} code ${l.code}`;
    case 'icmpv6': return `icmpv6 type ${l.type} code ${l.code}`;
    case 'payload': return `payload ${l.data.length} bytes`;
    case 'padding': return `padding ${l.data.length} bytes`;
  }
}

/**
 * Every difference between two frames, one line each: `ipv4.ttl: expected 64, got 63`,
 * `tcp: expected, missing` when one has a layer the other lacks. Empty when they are equal
 * byte for byte.
 */
export function diffPackets(expected: Uint8Array, actual: Uint8Array): string[] {
  if (Buffer.from(expected).equals(Buffer.from(actual))) return [];
  const want = parsePacket(expected);
  const got = parsePacket(actual);
  const lines: string[] = [];
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    const w = want[i];
    const g = got[i];
    const name = (w ?? g)!.kind + (want.filter((l, j) => j < i && l.kind === (w ?? g)!.kind).length ? `#${i}` : '');
    if (!w) lines.push(`${name}: not expected, got ${describeLayer(g!)}`);
    else if (!g) lines.push(`${name}: expected ${describeLayer(w)}, missing`);
    else if (w.kind !== g.kind) lines.push(`layer ${i + 1}: expected ${describeLayer(w)}, got ${describeLayer(g)}`);
    else lines.push(...diffFields(name, w as unknown as Record<string, unknown>, g as unknown as Record<string, unknown>));
  }
  // Same headers but different bytes (a field the parser does not show): say where.
  if (lines.length === 0) {
    let at = 0;
    while (at < Math.min(expected.length, actual.length) && expected[at] === actual[at]) at++;
    lines.push(`bytes differ from offset ${at}: expected ${expected.length} bytes, got ${actual.length}`);
  }
  return lines;
}

function diffFields(layer: string, w: Record<string, unknown>, g: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const field of new Set([...Object.keys(w), ...Object.keys(g)])) {
    if (field === 'kind') continue;
    const a = w[field];
    const b = g[field];
    const same = a instanceof Uint8Array && b instanceof Uint8Array ? Buffer.from(a).equals(Buffer.from(b)) : a === b;
    if (!same) out.push(`${layer}.${field}: expected ${show(field, a)}, got ${show(field, b)}`);
  }
  return out;
}
