/**
 * pcap-filter(7) parsed by recursive descent over libpcap's grammar (grammar.y), building
 * conditions as libpcap's actions do while it reduces (gen.ts): `and` and `or` have the same
 * precedence and group from the left; `not` binds tighter; a bare address after `and`/`or`
 * repeats the last qualifiers (`host a or b`, `tcp dst port 22 or 80`), inside parentheses too.
 */
import { and, guards, not, num, or, TRUE, type ArithOp, type Cond, type RelOp, type Size, type Value } from './ir.js';
import { filterError, tokenize, type Token } from './lexer.js';
import { Gen, type Dir, type Proto } from './gen.js';
import { idValue, type Quals } from './ids.js';

const PROTOS: Readonly<Record<string, Proto>> = {
  ether: 'link', link: 'link', ip: 'ip', ip6: 'ip6', arp: 'arp', rarp: 'rarp', tcp: 'tcp', udp: 'udp', sctp: 'sctp',
  icmp: 'icmp', icmp6: 'icmp6', igmp: 'igmp',
};
const ADDRS = new Set(['host', 'net', 'port', 'portrange', 'gateway', 'proto', 'protochain']);
/** Binary arithmetic operators by precedence (C's order; grammar.y's %left lines). */
const ARITH_LEVELS: ReadonlyArray<readonly string[]> = [['|'], ['^'], ['&'], ['<<', '>>'], ['+', '-'], ['*', '/', '%']];
const RELOPS: Readonly<Record<string, { op: RelOp; reversed: boolean }>> = {
  '>': { op: 'gt', reversed: false }, '>=': { op: 'ge', reversed: false }, '=': { op: 'eq', reversed: false },
  '==': { op: 'eq', reversed: false }, '<=': { op: 'gt', reversed: true }, '<': { op: 'ge', reversed: true },
  '!=': { op: 'eq', reversed: true },
};
const ARITH_OPS = new Set(ARITH_LEVELS.flat());

/** A condition and the qualifiers a following bare id would repeat (undefined: none may follow). */
interface Parsed {
  b: Cond;
  q: Quals | undefined;
}

export class FilterParser {
  private readonly tokens: Token[];
  private pos = 0;
  readonly gen = new Gen();

  constructor(readonly expr: string) {
    this.tokens = tokenize(expr);
  }

  /** The whole expression; an empty one matches every packet, as tcpdump's does. */
  parse(): Cond {
    if (this.peek().kind === 'eof') return TRUE;
    const { b } = this.expression(undefined);
    if (this.peek().kind !== 'eof') throw this.unexpected('expected \'and\', \'or\' or the end of the expression');
    return b;
  }

  // ---- tokens ------------------------------------------------------------------------------
  private peek(k = 0): Token {
    return this.tokens[Math.min(this.pos + k, this.tokens.length - 1)];
  }
  private next(): Token {
    return this.tokens[this.pos++];
  }
  private is(text: string, k = 0): boolean {
    const t = this.peek(k);
    return (t.kind === 'kw' || t.kind === 'op') && t.text === text;
  }
  private accept(text: string): boolean {
    if (!this.is(text)) return false;
    this.pos++;
    return true;
  }
  private expect(text: string, what: string): void {
    if (!this.accept(text)) throw this.unexpected(what);
  }
  private unexpected(what: string): Error {
    const t = this.peek();
    return filterError(t.col, `${what}${t.kind === 'eof' ? ' (the expression ended)' : `, found '${t.text}'`}`);
  }
  private isAnd(): boolean {
    return this.is('and') || this.is('&&');
  }
  private isOr(): boolean {
    return this.is('or') || this.is('||');
  }
  private isNot(k = 0): boolean {
    return this.is('not', k) || this.is('!', k);
  }

  // ---- boolean structure -------------------------------------------------------------------
  private expression(q0: Quals | undefined): Parsed {
    let left = this.term(q0);
    while (this.isAnd() || this.isOr()) {
      const join = this.isAnd() ? and : or;
      this.next();
      const right = this.startsId(0) ? this.id(left.q) : this.term(left.q);
      left = { b: join(left.b, right.b), q: right.q };
    }
    return left;
  }

  private term(q0: Quals | undefined): Parsed {
    if (this.isNot()) {
      this.next();
      const inner = this.term(q0);
      return { b: not(inner.b), q: inner.q };
    }
    return this.rterm(q0);
  }

  /** Whether the tokens from k on are a bare id (an address, number or name, maybe negated or parenthesized). */
  private startsId(k: number): boolean {
    const t = this.peek(k);
    if (this.isNot(k)) return this.startsId(k + 1);
    if (this.is('(', k)) return this.startsId(k + 1);
    if (t.kind === 'num') {
      const after = this.peek(k + 1);
      return !(after.kind === 'op' && (after.text in RELOPS || ARITH_OPS.has(after.text) || after.text === '['));
    }
    return t.kind === 'hid' || t.kind === 'hid6' || t.kind === 'eid' || t.kind === 'id';
  }

  private rterm(q0: Quals | undefined): Parsed {
    const t = this.peek();
    this.gen.col = t.col;
    if (this.is('(')) return this.parenthesized(q0);
    if (t.kind === 'kw' && t.text in PROTOS) return this.protoTerm(PROTOS[t.text]);
    if (t.kind === 'kw' && (ADDRS.has(t.text) || t.text === 'src' || t.text === 'dst')) return this.qualified('default');
    if (t.kind === 'kw') {
      const other = this.other(t);
      if (other) return { b: other, q: undefined };
    }
    if (t.kind === 'num' || this.is('len') || this.is('-')) return { b: this.relation(), q: undefined };
    if (t.kind === 'kw') throw filterError(t.col, `'${t.text}' is not supported by xdplab's filter compiler`);
    throw this.unexpected('expected a primitive (host, net, port, tcp, ip[…] > N, …)');
  }

  /** `( expr )`, or an arithmetic relation that starts with a parenthesis. */
  private parenthesized(q0: Quals | undefined): Parsed {
    const saved = { pos: this.pos, linktype: this.gen.linktype, linkpl: this.gen.linkpl };
    try {
      return { b: this.relation(), q: undefined };
    } catch {
      this.pos = saved.pos;
      this.gen.linktype = saved.linktype;
      this.gen.linkpl = saved.linkpl;
    }
    this.next();
    const inner = this.expression(q0);
    this.expect(')', 'expected \')\'');
    return { b: inner.b, q: q0 };
  }

  /** A protocol name: alone, indexed (`ip[8]`), qualifying (`tcp port 22`), or `ip multicast`. */
  private protoTerm(proto: Proto): Parsed {
    const after = this.peek(1);
    if (after.kind === 'op' && after.text === '[') return { b: this.relation(), q: undefined };
    if (after.kind === 'kw' && (ADDRS.has(after.text) || after.text === 'src' || after.text === 'dst')) {
      this.next();
      return this.qualified(proto);
    }
    this.next();
    if (this.accept('broadcast')) return { b: this.gen.broadcast(proto), q: undefined };
    if (this.accept('multicast')) return { b: this.gen.multicast(proto), q: undefined };
    return { b: this.gen.abbrev(proto), q: undefined };
  }

  /** `head id`: direction and address qualifiers after the protocol, then the id. */
  private qualified(proto: Proto): Parsed {
    const dir = this.direction();
    let addr: Quals['addr'] = 'default';
    const t = this.peek();
    if (t.kind === 'kw' && ADDRS.has(t.text)) {
      if (t.text === 'gateway' || t.text === 'protochain') throw filterError(t.col, `'${t.text}' is not supported by xdplab's filter compiler`);
      addr = t.text as Quals['addr'];
      this.next();
    }
    return this.id({ proto, dir, addr, col: this.gen.col }, this.gen.col);
  }

  private direction(): Dir {
    for (const [first, second] of [['src', 'dst'], ['dst', 'src']] as const) {
      if (!this.is(first)) continue;
      this.next();
      if ((this.is('or') || this.is('and')) && this.is(second, 1)) {
        const both = this.next().text === 'and' ? 'and' : 'or';
        this.next();
        return both;
      }
      return first;
    }
    return 'default';
  }

  /** An id under qualifiers `q`: `not id`, `( id and/or id … )`, or a value; `col`: the primitive's column, when the qualifiers were just given. */
  private id(q: Quals | undefined, col?: number): Parsed {
    if (this.isNot()) {
      this.next();
      const inner = this.id(q);
      return { b: not(inner.b), q: inner.q };
    }
    if (this.is('(')) {
      this.next();
      let left = this.id(q);
      while (this.isAnd() || this.isOr()) {
        const join = this.isAnd() ? and : or;
        this.next();
        const right = this.id(q);
        left = { b: join(left.b, right.b), q: right.q };
      }
      this.expect(')', 'expected \')\'');
      return left;
    }
    const t = this.next();
    if (!q) throw filterError(t.col, `'${t.text}' needs a qualifier before it (host, net, port, …)`);
    this.gen.col = col ?? t.col;
    return { b: idValue(this.gen, q, t, () => this.maskSuffix()), q };
  }

  /** What may follow an address: `/len` or `mask M`. */
  private maskSuffix(): { len?: Token; mask?: Token } {
    if (this.accept('/')) {
      const len = this.next();
      if (len.kind !== 'num') throw filterError(len.col, 'expected a mask length after \'/\'');
      return { len };
    }
    if (this.accept('mask')) {
      const mask = this.next();
      if (mask.kind !== 'hid' && mask.kind !== 'num') throw filterError(mask.col, 'expected a netmask after \'mask\'');
      return { mask };
    }
    return {};
  }

  /** vlan, less, greater, broadcast, multicast: the primitives that take no qualifiers. */
  private other(t: Token): Cond | undefined {
    const gen = this.gen;
    const number = (what: string): number => {
      const n = this.next();
      if (n.kind !== 'num') throw filterError(n.col, `expected ${what} after '${t.text}'`);
      return n.value;
    };
    switch (t.text) {
      case 'vlan': {
        this.next();
        const id = this.peek().kind === 'num' ? this.next().value : undefined;
        return gen.vlan(id);
      }
      case 'less': this.next(); return not(gen.rel('gt', { k: 'len' }, num(number('a length'))));
      case 'greater': this.next(); return gen.rel('ge', { k: 'len' }, num(number('a length')));
      case 'broadcast': this.next(); return gen.broadcast('default');
      case 'multicast': this.next(); return gen.multicast('default');
      default: return undefined;
    }
  }

  // ---- arithmetic ----------------------------------------------------------------------------
  /** `arth relop arth`: the values' guards first, then the comparison (gen_relation). */
  private relation(): Cond {
    const col = this.peek().col;
    const a = this.arith(0);
    const t = this.peek();
    const rel = t.kind === 'op' ? RELOPS[t.text] : undefined;
    if (!rel) throw this.unexpected('expected a comparison (=, !=, <, <=, >, >=)');
    this.next();
    const b = this.arith(0);
    this.gen.col = col;
    let test = this.gen.rel(rel.op, a.a, b.a);
    if (rel.reversed) test = not(test);
    const guard = guards(a, b);
    return guard ? and(guard, test) : test;
  }

  private arith(level: number): Value {
    if (level === ARITH_LEVELS.length) return this.unary();
    let left = this.arith(level + 1);
    while (this.peek().kind === 'op' && ARITH_LEVELS[level].includes(this.peek().text)) {
      const op = this.next().text as ArithOp;
      const rightTok = this.peek();
      const right = this.arith(level + 1);
      checkConstant(op, right, rightTok);
      left = { a: { k: 'bin', op, a: left.a, b: right.a }, guard: guards(left, right), first: left.first };
    }
    return left;
  }

  private unary(): Value {
    const t = this.next();
    if (t.kind === 'op' && t.text === '-') {
      const inner = this.unary();
      return { a: { k: 'neg', a: inner.a }, guard: inner.guard, first: inner.first };
    }
    if (t.kind === 'op' && t.text === '(') {
      const inner = this.arith(0);
      this.expect(')', 'expected \')\'');
      return inner;
    }
    if (t.kind === 'num') return { a: num(t.value), first: t.value };
    if (t.kind === 'kw' && t.text === 'len') return { a: { k: 'len' } };
    if (t.kind === 'kw' && t.text in PROTOS) return this.indexed(PROTOS[t.text], t);
    this.pos--;
    throw this.unexpected('expected a number, len or proto[offset]');
  }

  /** `proto[index]` or `proto[index : size]`. */
  private indexed(proto: Proto, t: Token): Value {
    this.expect('[', `expected '[' after '${t.text}'`);
    const index = this.arith(0);
    let size: Size = 1;
    if (this.accept(':')) {
      const s = this.next();
      if (s.kind !== 'num' || (s.value !== 1 && s.value !== 2 && s.value !== 4)) throw filterError(s.col, 'data size must be 1, 2, or 4');
      size = s.value;
    }
    this.expect(']', 'expected \']\'');
    const col = this.gen.col;
    this.gen.col = t.col;
    const v = this.gen.indexed(proto, index, size);
    this.gen.col = col;
    return { ...v, first: index.first };
  }
}

/**
 * gen_arth's checks of the right operand, as libpcap makes them: on the constant its code loads
 * first — a literal, but also the index of `ether[0]` (so `len / ether[0]` is "division by zero"
 * in tcpdump too).
 */
function checkConstant(op: ArithOp, right: Value, t: Token): void {
  const k = right.first;
  if (k === undefined) return;
  if (op === '/' && k === 0) throw filterError(t.col, 'division by zero');
  if (op === '%' && k === 0) throw filterError(t.col, 'modulus by zero');
  if ((op === '<<' || op === '>>') && k > 31) throw filterError(t.col, 'shift by more than 31 bits');
}

/** Parse a filter expression into its condition (errors name the column). */
export function parseFilter(expr: string): Cond {
  return new FilterParser(expr).parse();
}

