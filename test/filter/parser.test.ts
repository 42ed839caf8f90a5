/** The lexer and parser: what an expression means (as libpcap's grammar reads it) and its errors, by column. */
import { describe, expect, it } from 'vitest';
import { parseFilter } from '../../src/filter/index.js';
import { tokenize } from '../../src/filter/lexer.js';
import type { Arith, Cond } from '../../src/filter/ir.js';

/** A condition as a short string: (a & b), (a | b), !a, and tests as `size@offset op value`. */
function show(c: Cond): string {
  switch (c.k) {
    case 'and': return `(${show(c.a)} & ${show(c.b)})`;
    case 'or': return `(${show(c.a)} | ${show(c.b)})`;
    case 'not': return `!${show(c.a)}`;
    case 'const': return String(c.v);
    case 'rel': return `${arith(c.a)} ${c.op} ${arith(c.b)}`;
  }
}
function arith(a: Arith): string {
  switch (a.k) {
    case 'num': return `0x${a.v.toString(16)}`;
    case 'len': return 'len';
    case 'neg': return `-${arith(a.a)}`;
    case 'bin': return `(${arith(a.a)} ${a.op} ${arith(a.b)})`;
    case 'load': return `${a.size}@${a.at}${a.ihlAt !== undefined ? `+ihl${a.ihlAt}` : ''}${a.index ? `[${arith(a.index)}]` : ''}`;
  }
}
const p = (expr: string): string => show(parseFilter(expr));

describe('lexer', () => {
  it.each([
    ['host 10.0.0.1', ['kw:host', 'hid:10.0.0.1']],
    ['portrange 8000-8080', ['kw:portrange', 'id:8000-8080']],
    ['tcp[tcpflags] & tcp-syn != 0', ['kw:tcp', 'op:[', 'num:tcpflags', 'op:]', 'op:&', 'num:tcp-syn', 'op:!=', 'num:0']],
    ['ether host 02:00:00:00:00:0a', ['kw:ether', 'kw:host', 'eid:02:00:00:00:00:0a']],
    ['host ::1 or fe80::/10', ['kw:host', 'hid6:::1', 'kw:or', 'hid6:fe80::', 'op:/', 'num:10']],
    ['ip proto \\tcp', ['kw:ip', 'kw:proto', 'id:tcp']],
    ['0x1f 017 9', ['num:0x1f', 'num:017', 'num:9']],
    ['ip[6:2]&&!x', ['kw:ip', 'op:[', 'num:6', 'op::', 'num:2', 'op:]', 'op:&&', 'op:!', 'id:x']],
  ])('%s', (expr, want) => {
    expect(tokenize(expr).filter((t) => t.kind !== 'eof').map((t) => `${t.kind}:${t.text}`)).toEqual(want);
  });

  it('numbers keep their values (hex, octal, keywords) and columns count from 1', () => {
    const t = tokenize('  0x10 010 tcp-ack');
    expect(t.map((x) => x.value).slice(0, 3)).toEqual([16, 8, 16]);
    expect(t.map((x) => x.col)).toEqual([3, 8, 12, 19]);
  });
});

describe('parser', () => {
  it('an empty expression matches everything', () => {
    expect(p('')).toBe('true');
  });

  it('ip is the EtherType; tcp is IPv4 or IPv6 (with one fragment header), as gen_proto', () => {
    expect(p('ip')).toBe('2@12 eq 0x800');
    expect(p('tcp')).toBe('((2@12 eq 0x800 & 1@23 eq 0x6) | (2@12 eq 0x86dd & (1@20 eq 0x6 | (1@20 eq 0x2c & 1@54 eq 0x6))))');
  });

  it('and/or have one precedence and group from the left; not binds tighter', () => {
    expect(p('arp or rarp and ip')).toBe('((2@12 eq 0x806 | 2@12 eq 0x8035) & 2@12 eq 0x800)');
    expect(p('not arp and ip')).toBe('(!2@12 eq 0x806 & 2@12 eq 0x800)');
    expect(p('!(arp || rarp) && ip')).toBe(p('not (arp or rarp) and ip'));
  });

  it('a bare id repeats the last qualifiers, negated and in parentheses too', () => {
    expect(p('host 10.0.0.1 or 10.0.0.2')).toBe(p('host 10.0.0.1 or host 10.0.0.2'));
    expect(p('tcp dst port 22 or 80')).toBe(p('tcp dst port 22 or tcp dst port 80'));
    expect(p('tcp port 80 and not 8080')).toBe(p('tcp port 80 and not tcp port 8080'));
    expect(p('ip host 10.0.0.1 and (10.0.0.2 or 10.0.0.3)')).toBe(p('ip host 10.0.0.1 and (ip host 10.0.0.2 or ip host 10.0.0.3)'));
  });

  it('ports: IPv4 in first fragments only, after the header length; IPv6 at the fixed header', () => {
    expect(p('tcp src port 22')).toBe('((2@12 eq 0x86dd & (1@20 eq 0x6 & 2@54 eq 0x16)) | (2@12 eq 0x800 & ((1@23 eq 0x6 & (2@20 & 0x1fff) eq 0x0) & 2@14+ihl14 eq 0x16)))');
  });

  it('vlan moves the offsets of what follows it, not of what came before', () => {
    expect(p('vlan 10 and ip')).toBe('((((2@12 eq 0x8100 | 2@12 eq 0x88a8) | 2@12 eq 0x9100) & (2@14 & 0xfff) eq 0xa) & 2@16 eq 0x800)');
    expect(p('ip or vlan')).toMatch(/^\(2@12 eq 0x800 \| /);
    expect(p('vlan and vlan and ip')).toMatch(/2@20 eq 0x800\)$/);
  });

  it('host without a protocol also matches ARP and RARP; net masks; IPv6 words under a zero mask test nothing', () => {
    expect(p('src host 1.2.3.4')).toBe('(((2@12 eq 0x800 & 4@26 eq 0x1020304) | (2@12 eq 0x806 & 4@28 eq 0x1020304)) | (2@12 eq 0x8035 & 4@28 eq 0x1020304))');
    expect(p('ip dst net 10.0.0.0/8')).toBe('(2@12 eq 0x800 & (4@30 & 0xff000000) eq 0xa000000)');
    expect(p('ip net 10')).toBe(p('ip net 10.0.0.0/8'));
    expect(p('ip net 172.16')).toBe(p('ip net 172.16.0.0/16'));
    expect(p('ip6 src net fe80::/10')).toBe('(2@12 eq 0x86dd & (4@22 & 0xffc00000) eq 0xfe800000)');
  });

  it('dotted IPv4 parts are decimal, as libpcap reads them (010 is ten, 0x0a is refused)', () => {
    expect(p('ip host 010.0.0.1')).toBe(p('ip host 10.0.0.1'));
    expect(p('ip net 012.1')).toBe(p('ip net 12.1.0.0/16'));
    expect(() => parseFilter('host 0x0a.0.0.1')).toThrow(/column 6: '0x0a\.0\.0\.1': invalid IPv4 address/);
  });

  it('relations: < and <= and != are the negations of >=, > and =; loads carry their protocol test first', () => {
    expect(p('ip[8] < 64')).toBe('(2@12 eq 0x800 & !1@14[0x8] ge 0x40)');
    expect(p('len <= 100')).toBe('!len gt 0x64');
    expect(p('ether[0] & 1 != 0')).toBe('!(1@0[0x0] & 0x1) eq 0x0');
    expect(p('tcp[13] = 2')).toBe(`((2@12 eq 0x800 & (${p('tcp')} & (2@20 & 0x1fff) eq 0x0)) & 1@14+ihl14[0xd] eq 0x2)`);
  });

  it('arithmetic: C precedence (| ^ & shifts + - * / %), unary minus, parentheses', () => {
    expect(p('len - 1 * 2 = 0')).toBe('(len - (0x1 * 0x2)) eq 0x0');
    expect(p('len | 1 ^ 2 & 3 = 0')).toBe('(len | (0x1 ^ (0x2 & 0x3))) eq 0x0');
    expect(p('(len + 1) << 2 = 0')).toBe('((len + 0x1) << 0x2) eq 0x0');
    expect(p('-len % 7 = 0')).toBe('(-len % 0x7) eq 0x0');
  });

  it('names: services, protocols, EtherTypes', () => {
    expect(p('udp port domain')).toBe(p('udp port 53'));
    expect(p('ip proto \\udp')).toBe(p('ip proto 17'));
    expect(p('ether proto \\arp')).toBe('2@12 eq 0x806');
    expect(p('portrange http-8080')).toBe(p('portrange 80-8080'));
  });
});

describe('errors name the column', () => {
  it.each([
    ['tcp dst port', 'filter: column 13: expected a port number after \'port\' (the expression ended)'],
    ['tcp dst port and ip', 'filter: column 14: expected a port number after \'port\', found \'and\''],
    ['port 70000', 'filter: column 6: illegal port number 70000 > 65535'],
    ['net 10.1.2.3/8', 'filter: column 5: non-network bits set in "10.1.2.3/8"'],
    ['host 10.0.0.0/8', 'filter: column 6: Mask syntax for networks only'],
    ['ip[0:3] = 1', 'filter: column 6: data size must be 1, 2, or 4'],
    ['ip[0] / 0 = 1', 'filter: column 9: division by zero'],
    ['len % ether[0] = 1', 'filter: column 7: modulus by zero'],
    ['ip[0] << 32 = 1', 'filter: column 10: shift by more than 31 bits'],
    ['tcp or 80', 'filter: column 8: \'80\' needs a qualifier before it (host, net, port, …)'],
    ['host foo.example', 'filter: column 6: unknown host \'foo.example\' (xdplab does not resolve names: give an address)'],
    ['vlan 5000', 'filter: column 1: VLAN tag 5000 greater than maximum 4095'],
    ['ip port 80', 'filter: column 1: illegal qualifier of \'port\''],
    ['ether host 10.0.0.1', 'filter: column 12: illegal link layer address'],
    ['host 02:00:00:00:00:01', 'filter: column 6: ethernet address used in non-ether expression'],
    ['(tcp', 'filter: column 5: expected \')\' (the expression ended)'],
    ['tcp tcp', 'filter: column 5: expected \'and\', \'or\' or the end of the expression, found \'tcp\''],
    ['mpls', 'filter: column 1: \'mpls\' is not supported by xdplab\'s filter compiler'],
    ['ip[8] ~ 1', 'filter: column 7: unexpected character \'~\''],
  ])('%s', (expr, message) => {
    expect(() => parseFilter(expr)).toThrow(message);
  });
});
