/**
 * The tokens of a filter expression, as libpcap's scanner.l cuts them: the longest match wins,
 * and on a tie a number, an address or a keyword beats a name (so `8000-8080` is one name, the
 * way `portrange` reads it, and `tcp-syn` is a keyword). Every token keeps its column (from 1).
 */
import { isIPv6 } from 'node:net';
import { XdplabError } from '../errors.js';
import { KEYWORDS, NUMBER_KEYWORDS } from './names.js';

export type TokenKind = 'num' | 'hid' | 'hid6' | 'eid' | 'id' | 'kw' | 'op' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  /** A number's value (num tokens, numeric keywords included). */
  readonly value: number;
  /** Column of the token's first character, from 1. */
  readonly col: number;
}

/** A bad expression: one line naming the column. */
export function filterError(col: number, message: string): XdplabError {
  return new XdplabError('BAD_INPUT', `filter: column ${col}: ${message}`);
}

const OPERATORS = ['&&', '||', '<<', '>>', '<=', '>=', '!=', '==', '!', '(', ')', '[', ']', ':', '=', '<', '>', '+', '-', '*', '/', '%', '&', '|', '^'];
const N = '(?:0[xX][0-9a-fA-F]+|[0-9]+)';
const NUM_OR_HID = new RegExp(`^${N}(?:\\.${N}){0,3}`);
const ID = /^[A-Za-z0-9](?:[-_.A-Za-z0-9]*[.A-Za-z0-9])?/;
const B = '[0-9a-fA-F]{1,2}';
const MAC = new RegExp(`^(?:${B}:${B}:${B}:${B}:${B}:${B}|${B}-${B}-${B}-${B}-${B}-${B}|${B}\\.${B}\\.${B}\\.${B}\\.${B}\\.${B}|[0-9a-fA-F]{4}\\.[0-9a-fA-F]{4}\\.[0-9a-fA-F]{4})`);
const V6 = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*/;

/** A number as libpcap reads one: 0x… hex, 0… octal, else decimal; at most 32 bits. */
export function parseNumber(text: string, col: number): number {
  const value = /^0[xX]/.test(text) ? parseInt(text.slice(2), 16) : /^0[0-7]+$/.test(text) ? parseInt(text, 8) : /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (Number.isNaN(value)) throw filterError(col, `'${text}' is not a number`);
  if (value > 0xffffffff) throw filterError(col, `number ${text} overflows 32 bits`);
  return value;
}

/** The longest word starting at `rest`, classified. */
function word(rest: string, col: number): Token {
  const candidates: Array<[TokenKind, string]> = [];
  const mac = MAC.exec(rest)?.[0];
  if (mac) candidates.push(['eid', mac]);
  const v6 = V6.exec(rest)?.[0];
  if (v6 && isIPv6(v6)) candidates.push(['hid6', v6]);
  const hid = NUM_OR_HID.exec(rest)?.[0];
  if (hid) candidates.push([hid.includes('.') ? 'hid' : 'num', hid]);
  const id = ID.exec(rest)?.[0];
  if (id) candidates.push(['id', id]);
  if (candidates.length === 0) throw filterError(col, `unexpected character '${rest[0]}'`);
  // Longest first; a stable sort keeps the earlier kind on a tie.
  const [kind, text] = candidates.sort((a, b) => b[1].length - a[1].length)[0];
  if (kind === 'num') return { kind, text, value: parseNumber(text, col), col };
  if (kind === 'id' && text in NUMBER_KEYWORDS) return { kind: 'num', text, value: NUMBER_KEYWORDS[text], col };
  if (kind === 'id' && KEYWORDS.has(text)) return { kind: 'kw', text, value: 0, col };
  return { kind, text, value: 0, col };
}

export function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    if (/\s/.test(expr[i])) {
      i++;
      continue;
    }
    const col = i + 1;
    const rest = expr.slice(i);
    const escaped = /^\\[^ !()\n\t]+/.exec(rest)?.[0];
    // An IPv6 address may start with '::', which is not the ':' of `ip[6:2]`.
    const op = rest.startsWith('::') ? undefined : OPERATORS.find((o) => rest.startsWith(o));
    const token: Token = escaped ? { kind: 'id', text: escaped.slice(1), value: 0, col }
      : op ? { kind: 'op', text: op, value: 0, col }
        : word(rest, col);
    tokens.push(token);
    i += escaped ? escaped.length : token.text.length;
  }
  tokens.push({ kind: 'eof', text: '', value: 0, col: expr.length + 1 });
  return tokens;
}
