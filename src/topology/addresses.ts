/** IP addresses, CIDRs and MACs written as text in topology files, as bytes (network order). */
import { Address4, Address6 } from 'ip-address';
import type { Cidr } from '../net/nic.js';

export interface IpAddress {
  family: 4 | 6;
  bytes: Uint8Array;
}

/** An IPv4 or IPv6 address, or undefined when the text is neither. */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes('/')) return undefined;
  if (Address4.isValid(text)) return { family: 4, bytes: Uint8Array.from(new Address4(text).toArray()) };
  if (Address6.isValid(text)) return { family: 6, bytes: v6Bytes(new Address6(text)) };
  return undefined;
}

function v6Bytes(a: Address6): Uint8Array {
  const raw = a.toUnsignedByteArray();
  const out = new Uint8Array(16);
  out.set(raw, 16 - raw.length);
  return out;
}

/** `10.0.0.0/8`, `2001:db8::/32` (the address keeps its host bits, as `ip addr` does). */
export function parseCidr(text: string): Cidr | undefined {
  const [addr, len, extra] = text.split('/');
  if (extra !== undefined || len === undefined || !/^\d+$/.test(len)) return undefined;
  const ip = parseIp(addr);
  if (!ip) return undefined;
  const prefixLength = Number(len);
  if (prefixLength > ip.bytes.length * 8) return undefined;
  return { family: ip.family, address: ip.bytes, prefixLength, text };
}

/** `02:00:00:00:00:01` (or with dashes). */
export function parseMac(text: string): Uint8Array | undefined {
  const parts = text.split(/[:-]/);
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) return undefined;
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

export const formatMac = (mac: Uint8Array): string => [...mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
