/**
 * The value after the qualifiers (libpcap's gen_ncode, gen_scode, gen_mcode, gen_mcode6,
 * gen_ecode): a number, an IPv4 address or network (`10.1` is 10.1.0.0/16, `net 10` is
 * 10.0.0.0/8), an IPv6 address or prefix, an Ethernet address, or a name (a service, a
 * protocol, a port range `8000-8080`). Host names are not resolved: give addresses.
 */
import { parseIpv6 } from '../packet/address.js';
import type { Cond } from './ir.js';
import { filterError, parseNumber, type Token } from './lexer.js';
import type { Dir, Gen, Proto } from './gen.js';
import { ETHER_TYPES, IP_PROTOCOLS, SERVICES } from './names.js';

export interface Quals {
  readonly proto: Proto;
  readonly dir: Dir;
  readonly addr: 'default' | 'host' | 'net' | 'port' | 'portrange' | 'proto';
  /** Where the qualifiers began. */
  readonly col: number;
}

const MAX_PORT = 65535;

/** __pcap_atoin: a dotted IPv4 address of 1–4 parts, its value and how many bits were given. */
function atoin(t: Token): { v: number; bits: number } {
  // libpcap reads each dotted part in decimal (no octal 010, no hex 0x0a), as inet_aton does not.
  const texts = t.text.split('.');
  if (texts.some((p) => !/^[0-9]+$/.test(p))) throw filterError(t.col, `'${t.text}': invalid IPv4 address`);
  const parts = texts.map(Number);
  if (parts.some((p) => p > 255)) throw filterError(t.col, `'${t.text}' is not an IPv4 address`);
  return { v: parts.reduce((v, p) => ((v << 8) | p) >>> 0, 0), bits: 8 * parts.length };
}

const shl = (v: number, n: number): number => (n >= 32 ? 0 : (v << n) >>> 0);

function checkPort(port: number, t: Token): number {
  if (port > MAX_PORT) throw filterError(t.col, `illegal port number ${port} > ${MAX_PORT}`);
  return port;
}

function portQual(gen: Gen, q: Quals, range: [number, number]): Cond {
  return gen.port(range, q.proto, q.dir, q.addr);
}

/** gen_ncode: a number, or an IPv4 address with fewer than four parts filled in. */
function numeric(gen: Gen, q: Quals, t: Token, v: number, bits: number): Cond {
  switch (q.addr) {
    case 'default': case 'host': case 'net': {
      if (q.proto === 'link') throw filterError(t.col, 'illegal link layer address');
      let mask = 0xffffffff;
      if (t.kind === 'num' && q.addr === 'net') {
        while (v !== 0 && (v & 0xff000000) === 0) {
          v = shl(v, 8);
          mask = shl(mask, 8);
        }
      } else {
        v = shl(v, 32 - bits);
        mask = shl(mask, 32 - bits);
      }
      return gen.host4(v, mask, q.proto, q.dir, q.addr === 'net' ? 'net' : 'host');
    }
    case 'port': return portQual(gen, q, [checkPort(v, t), v]);
    case 'portrange': return portQual(gen, q, [checkPort(v, t), v]);
    case 'proto': return gen.proto(v, q.proto);
  }
}

/** gen_mcode: `net A/len`, `net A mask M`. */
function ipv4Net(gen: Gen, q: Quals, t: Token, suffix: { len?: Token; mask?: Token }): Cond {
  const { v, bits } = atoin(t);
  const n = shl(v, 32 - bits);
  let m: number;
  if (suffix.mask) {
    const mm = atoin(suffix.mask);
    m = shl(mm.v, 32 - mm.bits);
    if ((n & ~m) >>> 0) throw filterError(t.col, `non-network bits set in "${t.text} mask ${suffix.mask.text}"`);
  } else {
    const len = suffix.len!.value;
    if (len > 32) throw filterError(suffix.len!.col, 'mask length must be <= 32');
    m = len === 0 ? 0 : shl(0xffffffff, 32 - len);
    if ((n & ~m) >>> 0) throw filterError(t.col, `non-network bits set in "${t.text}/${len}"`);
  }
  if (q.addr !== 'net') throw filterError(t.col, 'Mask syntax for networks only');
  return gen.host4(n, m, q.proto, q.dir, 'net');
}

/** gen_mcode6: an IPv6 address (len 128) or prefix. */
function ipv6(gen: Gen, q: Quals, t: Token, len: number, lenTok?: Token): Cond {
  if (len > 128) throw filterError(lenTok?.col ?? t.col, 'mask length must be <= 128');
  const bytes = parseIpv6(t.text); // the lexer checked the syntax
  const words: number[] = [];
  const masks: number[] = [];
  for (let i = 0; i < 4; i++) {
    const bitsHere = Math.max(0, Math.min(32, len - 32 * i));
    const m = bitsHere === 0 ? 0 : shl(0xffffffff, 32 - bitsHere);
    const w = ((bytes[4 * i] << 24) | (bytes[4 * i + 1] << 16) | (bytes[4 * i + 2] << 8) | bytes[4 * i + 3]) >>> 0;
    if ((w & ~m) >>> 0) throw filterError(t.col, `non-network bits set in "${t.text}/${len}"`);
    words.push(w);
    masks.push(m);
  }
  if ((q.addr === 'default' || q.addr === 'host') && len !== 128) throw filterError(t.col, 'Mask syntax for networks only');
  if (q.addr !== 'default' && q.addr !== 'host' && q.addr !== 'net') throw filterError(t.col, 'invalid qualifier against IPv6 address');
  return gen.host6(words, masks, q.proto, q.dir, q.addr === 'net' ? 'net' : 'host');
}

/** gen_ecode: an Ethernet address, under `ether host/src/dst` only. */
function ether(gen: Gen, q: Quals, t: Token): Cond {
  if ((q.addr !== 'host' && q.addr !== 'default') || q.proto !== 'link') throw filterError(t.col, 'ethernet address used in non-ether expression');
  const bytes = /^[0-9a-fA-F]{4}\./.test(t.text) ? t.text.replace(/\./g, '').match(/../g)! : t.text.split(/[:.-]/);
  return gen.etherHost(Uint8Array.from(bytes.map((b) => parseInt(b, 16))), q.dir);
}

/** A port given as a number or a service name. */
function portNumber(text: string, t: Token, what: string): number {
  if (/^[0-9]/.test(text)) return checkPort(parseNumber(text, t.col), t);
  const port = SERVICES[text];
  if (port === undefined) throw filterError(t.col, `unknown ${what} '${t.text}'`);
  return port;
}

/** gen_scode: a name. */
function named(gen: Gen, q: Quals, t: Token): Cond {
  switch (q.addr) {
    case 'port': return portQual(gen, q, [portNumber(t.text, t, 'port'), portNumber(t.text, t, 'port')]);
    case 'portrange': {
      const m = /^([^-]+)-([^-]+)$/.exec(t.text);
      if (!m) throw filterError(t.col, `unknown port in range '${t.text}'`);
      const lo = portNumber(m[1], t, 'port in range');
      const hi = portNumber(m[2], t, 'port in range');
      return portQual(gen, q, lo <= hi ? [lo, hi] : [hi, lo]);
    }
    case 'proto': {
      const table = q.proto === 'link' ? ETHER_TYPES : IP_PROTOCOLS;
      const v = table[t.text];
      if (v === undefined) throw filterError(t.col, `unknown ${q.proto === 'link' ? 'ether' : 'ip'} proto '${t.text}'`);
      return gen.proto(v, q.proto);
    }
    case 'net': throw filterError(t.col, `unknown network '${t.text}' (give a network in numbers: 10.0.0.0/8)`);
    default: throw filterError(t.col, `unknown host '${t.text}' (xdplab does not resolve names: give an address)`);
  }
}

/** The condition for value token `t` under qualifiers `q`; `suffix` reads a `/len` or `mask M` after an address. */
export function idValue(gen: Gen, q: Quals, t: Token, suffix: () => { len?: Token; mask?: Token }): Cond {
  switch (t.kind) {
    case 'num': return numeric(gen, q, t, t.value, 32);
    case 'hid': {
      const s = suffix();
      if (s.len || s.mask) return ipv4Net(gen, q, t, s);
      if (q.addr !== 'default' && q.addr !== 'host' && q.addr !== 'net') throw filterError(t.col, `illegal qualifier of '${q.addr}': expected a number or name`);
      const { v, bits } = atoin(t);
      return numeric(gen, q, t, v, bits);
    }
    case 'hid6': {
      const s = suffix();
      if (s.mask) throw filterError(s.mask.col, 'an IPv6 prefix takes /len, not mask');
      return ipv6(gen, q, t, s.len ? s.len.value : 128, s.len);
    }
    case 'eid': return ether(gen, q, t);
    case 'id': return named(gen, q, t);
    default: throw filterError(t.col, `expected ${expectedAfter(q)}${t.kind === 'eof' ? ' (the expression ended)' : `, found '${t.text}'`}`);
  }
}

/** What an id under `q` should be, in words (`a port number after 'port'`). */
function expectedAfter(q: Quals): string {
  switch (q.addr) {
    case 'port': return 'a port number after \'port\'';
    case 'portrange': return 'a port range (like 8000-8080) after \'portrange\'';
    case 'proto': return 'a protocol number or name after \'proto\'';
    case 'net': return 'a network (like 10.0.0.0/8) after \'net\'';
    default: return q.proto === 'link' ? 'an Ethernet address' : 'an address';
  }
}
