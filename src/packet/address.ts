/**
 * Address text ⇄ bytes: MAC (aa:bb:cc:dd:ee:ff), IPv4 dotted quads, IPv6 (RFC 4291 text,
 * written back in the RFC 5952 canonical form: lower case, the longest run of two or more
 * zero groups as "::", ::ffff:a.b.c.d for IPv4-mapped addresses — as tshark prints them).
 */
import { XdplabError } from '../errors.js';

const bad = (kind: string, text: string, why?: string): never => {
  throw new XdplabError('BAD_INPUT', `bad ${kind} address '${text}'${why ? `: ${why}` : ''}`);
};

const HEX = /^[0-9a-fA-F]{1,2}$/;

export function parseMac(text: string): Uint8Array {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || !parts.every((p) => HEX.test(p))) bad('MAC', text, 'six hex bytes separated by colons expected');
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

const hex2 = (v: number): string => (v < 16 ? '0' : '') + v.toString(16);

export function formatMac(bytes: Uint8Array, offset = 0): string {
  let s = hex2(bytes[offset]);
  for (let i = 1; i < 6; i++) s += ':' + hex2(bytes[offset + i]);
  return s;
}

const DEC = /^(0|[1-9][0-9]{0,2})$/;

/** Write the IPv4 address `text` into out[offset..offset+4); returns false when it is not one. */
function ipv4Into(text: string, out: Uint8Array, offset: number): boolean {
  const parts = text.split('.');
  if (parts.length !== 4) return false;
  for (let i = 0; i < 4; i++) {
    if (!DEC.test(parts[i])) return false;
    const v = Number(parts[i]);
    if (v > 255) return false;
    out[offset + i] = v;
  }
  return true;
}

export function parseIpv4(text: string): Uint8Array {
  const out = new Uint8Array(4);
  if (!ipv4Into(text, out, 0)) bad('IPv4', text, 'four decimal bytes expected');
  return out;
}

export function formatIpv4(bytes: Uint8Array, offset = 0): string {
  return `${bytes[offset]}.${bytes[offset + 1]}.${bytes[offset + 2]}.${bytes[offset + 3]}`;
}

const GROUP = /^[0-9a-fA-F]{1,4}$/;

export function parseIpv6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  const halves = text.split('::');
  if (halves.length > 2) bad('IPv6', text, "'::' more than once");
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  // A dotted quad may end the address: 32 bits.
  const all = halves.length === 2 ? tail : head;
  let v4: string | undefined;
  if (all.length > 0 && all[all.length - 1].includes('.')) v4 = all.pop();
  const words = head.length + tail.length + (v4 !== undefined ? 2 : 0);
  if (halves.length === 2 ? words > 7 : words !== 8) bad('IPv6', text, 'eight 16-bit groups expected');
  const put = (g: string, i: number): void => {
    if (!GROUP.test(g)) bad('IPv6', text, `bad group '${g}'`);
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  };
  head.forEach((g, i) => put(g, i));
  const tailStart = 8 - tail.length - (v4 !== undefined ? 2 : 0);
  tail.forEach((g, i) => put(g, tailStart + i));
  if (v4 !== undefined && !ipv4Into(v4, out, 12)) bad('IPv6', text, `bad embedded IPv4 '${v4}'`);
  return out;
}

export function formatIpv6(bytes: Uint8Array, offset = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((bytes[offset + 2 * i] << 8) | bytes[offset + 2 * i + 1]);
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return `::ffff:${formatIpv4(bytes, offset + 12)}`;
  }
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]): string => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(w);
  return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}
