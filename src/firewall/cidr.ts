/**
 * CIDRs of a rules file: `10.0.0.0/8`, `2001:db8::/32`, or a bare address (one host: /32,
 * /128). Host bits set after the prefix are an error, as Python's ipaddress and Cilium refuse
 * them, rather than a silent widening (`10.0.0.1/8` is not `10.0.0.0/8` by accident).
 */
import { XdplabError } from '../errors.js';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from '../packet/address.js';

export interface Cidr {
  family: 4 | 6;
  /** The network's bytes (4 or 16), host bits zero. */
  addr: Uint8Array;
  prefix: number;
}

/** A CIDR or a bare address; throws an XdplabError whose message says what is wrong. */
export function parseCidr(text: string): Cidr {
  const [host, len, extra] = text.trim().split('/');
  if (extra !== undefined) throw new XdplabError('BAD_INPUT', `${JSON.stringify(text)}: one / at most`);
  const family = host.includes(':') ? 6 : 4;
  let addr: Uint8Array;
  try {
    addr = family === 4 ? parseIpv4(host) : parseIpv6(host);
  } catch {
    throw new XdplabError('BAD_INPUT', `${JSON.stringify(text)}: not an IPv4 or IPv6 address or CIDR`);
  }
  const bits = addr.length * 8;
  const prefix = len === undefined ? bits : /^\d+$/.test(len) ? Number(len) : NaN;
  if (!(prefix >= 0 && prefix <= bits)) throw new XdplabError('BAD_INPUT', `${JSON.stringify(text)}: prefix length must be 0..${bits}`);
  const network = maskBytes(addr, prefix);
  if (!network.every((b, i) => b === addr[i])) {
    throw new XdplabError('BAD_INPUT', `${text}: host bits set after /${prefix} (did you mean ${formatCidr({ family, addr: network, prefix })}?)`);
  }
  return { family, addr: network, prefix };
}

/** The first `prefix` bits of `addr`, the rest zero. */
function maskBytes(addr: Uint8Array, prefix: number): Uint8Array {
  return addr.map((b, i) => b & prefixMaskByte(prefix, i));
}

/** Byte i of the mask of a /prefix. */
export const prefixMaskByte = (prefix: number, i: number): number => {
  const bits = Math.max(0, Math.min(8, prefix - 8 * i));
  return (0xff00 >> bits) & 0xff;
};

const formatCidr = (c: Cidr): string => `${c.family === 4 ? formatIpv4(c.addr) : formatIpv6(c.addr)}/${c.prefix}`;
