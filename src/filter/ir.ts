/**
 * What a filter expression means, as the parser builds it (the way libpcap's gencode.c builds
 * blocks as its grammar reduces): conditions over 32-bit unsigned values read from the packet.
 *
 * A load reads `size` bytes, big-endian, at `at` plus, for a transport header, the IPv4 header
 * length (4 × the low nibble of the byte at `ihlAt`) plus an index expression, as classic BPF's
 * `ldb [x + k]` does. A load outside the packet ends the whole filter with "no match", as in
 * classic BPF (a `not` around it does not turn that into a match).
 */

export type Size = 1 | 2 | 4;
export type ArithOp = '+' | '-' | '*' | '/' | '%' | '&' | '|' | '^' | '<<' | '>>';
/** Classic BPF's jumps: the others are these negated. */
export type RelOp = 'eq' | 'gt' | 'ge' | 'set';

export type Arith =
  | { readonly k: 'num'; readonly v: number }
  | { readonly k: 'len' }
  | { readonly k: 'load'; readonly size: Size; readonly at: number; readonly ihlAt?: number; readonly index?: Arith }
  | { readonly k: 'bin'; readonly op: ArithOp; readonly a: Arith; readonly b: Arith }
  | { readonly k: 'neg'; readonly a: Arith };

export type Cond =
  | { readonly k: 'and' | 'or'; readonly a: Cond; readonly b: Cond }
  | { readonly k: 'not'; readonly a: Cond }
  | { readonly k: 'const'; readonly v: boolean }
  /** `a op b`, unsigned 32-bit; `col` is the expression's column the test came from (line info). */
  | { readonly k: 'rel'; readonly op: RelOp; readonly a: Arith; readonly b: Arith; readonly col: number };

export const num = (v: number): Arith => ({ k: 'num', v: v >>> 0 });
export const and = (a: Cond, b: Cond): Cond => ({ k: 'and', a, b });
export const or = (a: Cond, b: Cond): Cond => ({ k: 'or', a, b });
export const not = (a: Cond): Cond => ({ k: 'not', a });
export const TRUE: Cond = { k: 'const', v: true };

/** The conditions joined left to right with `and` (or `or`). */
export const all = (...conds: Cond[]): Cond => conds.reduce((x, y) => and(x, y));
export const any = (...conds: Cond[]): Cond => conds.reduce((x, y) => or(x, y));

/** An arithmetic value and the conditions its loads need first (`ip[8]` needs "is IPv4"). */
export interface Value {
  readonly a: Arith;
  readonly guard?: Cond;
  /**
   * The constant classic BPF code for this value would load first (`ld #k`: a literal, or the
   * index of `ether[k]`, leftmost): libpcap's checks of a divisor or shift count read it.
   */
  readonly first?: number;
}

/** The guards of two values, `x`'s first; undefined when neither has one. */
export function guards(x: Value, y: Value): Cond | undefined {
  if (x.guard && y.guard) return and(x.guard, y.guard);
  return x.guard ?? y.guard;
}
