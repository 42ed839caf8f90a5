/**
 * pcapng timestamps: an interface's if_tsresol (10^-n or 2^-n seconds a tick) and
 * if_tsoffset, and a block's 64-bit tick count turned into whole seconds and nanoseconds —
 * exactly, without BigInt (a 64-bit count of nanoseconds does not fit a JS number).
 */

/** A pcapng interface as its IDB described it, with its timestamp conversion worked out. */
export interface Interface {
  /** Byte offset of its description block in the file. */
  offset: number;
  linkType: number;
  snaplen: number;
  /** 'dec': ticks of 10^-exp s; 'bin': ticks of 2^-exp s. */
  base: 'dec' | 'bin';
  exp: number;
  /** if_tsoffset, in seconds. */
  offsetSec: number;
  /** 'dec' with exp ≤ 9: 10^exp ticks a second, 10^(9-exp) ns a tick. */
  divisor: number;
  nsPerTick: number;
  /** The last timestamp high word seen, and hi·2^32 as whole seconds and remaining ticks. */
  cacheHi: number;
  cacheSec: number;
  cacheRem: number;
  /** Where divU64 leaves its results for this interface (so the hot path allocates nothing). */
  quotient: Quotient;
}

/** A 64-bit quotient (hi, lo) and its remainder. */
export interface Quotient {
  hi: number;
  lo: number;
  rem: number;
}

/**
 * Divide the unsigned 64-bit (hi, lo) by d (an integer, 1 ≤ d < 2^37) into `q`.
 * Schoolbook division by 16-bit digits keeps every intermediate below 2^53, so it is exact
 * without BigInt.
 */
function divU64(q: Quotient, hi: number, lo: number, d: number): void {
  let r = 0;
  let x = hi >>> 16;
  let q3 = Math.floor(x / d);
  r = x - q3 * d;
  if (r < 0) { q3--; r += d; }
  x = r * 65536 + (hi & 0xffff);
  let q2 = Math.floor(x / d);
  r = x - q2 * d;
  if (r < 0) { q2--; r += d; }
  x = r * 65536 + (lo >>> 16);
  let q1 = Math.floor(x / d);
  r = x - q1 * d;
  if (r < 0) { q1--; r += d; }
  x = r * 65536 + (lo & 0xffff);
  let q0 = Math.floor(x / d);
  r = x - q0 * d;
  if (r < 0) { q0--; r += d; }
  q.hi = q3 * 65536 + q2;
  q.lo = q1 * 65536 + q0;
  q.rem = r;
}

export const POW10 = Array.from({ length: 20 }, (_, i) => 10 ** i);

/** Set rec.tsSec / rec.tsNsec from a pcapng timestamp (hi, lo) in the interface's units. */
export function setTimestamp(rec: { tsSec: number; tsNsec: number }, ifc: Interface, hi: number, lo: number): void {
  let sec: number;
  let nsec: number;
  const e = ifc.exp;
  if (ifc.base === 'dec') {
    if (e <= 9) {
      // ticks = hi·2^32 + lo, and hi·2^32 = cacheSec·d + cacheRem worked out once per high
      // word (it changes every 4.3 s of nanosecond ticks): what is left is small and exact.
      const d = ifc.divisor;
      if (hi !== ifc.cacheHi) {
        const q = ifc.quotient;
        divU64(q, hi, 0, d);
        ifc.cacheHi = hi;
        ifc.cacheSec = q.hi * 4294967296 + q.lo;
        ifc.cacheRem = q.rem;
      }
      const t = ifc.cacheRem + lo;
      let extra = Math.floor(t / d);
      let rem = t - extra * d;
      if (rem < 0) { extra--; rem += d; }
      sec = ifc.cacheSec + extra;
      nsec = rem * ifc.nsPerTick;
    } else {
      // Finer than 1 ns: first down to whole nanoseconds (truncating), then to seconds.
      const q = ifc.quotient;
      divU64(q, hi, lo, POW10[e - 9]);
      divU64(q, q.hi, q.lo, 1e9);
      sec = q.hi * 4294967296 + q.lo;
      nsec = q.rem;
    }
  } else if (e === 0) {
    sec = hi * 4294967296 + lo;
    nsec = 0;
  } else if (e < 32) {
    sec = hi * 2 ** (32 - e) + (lo >>> e);
    const frac = (lo & ((1 << e) - 1)) >>> 0;
    nsec = e <= 9 ? frac * (1e9 / 2 ** e) : Math.floor((frac * 1953125) / 2 ** (e - 9));
  } else if (e === 32) {
    sec = hi;
    nsec = Math.floor((lo * 1953125) / 2 ** 23);
  } else {
    // 2^-33 … 2^-63: exact to the second, to within a nanosecond below.
    const s = e - 32;
    sec = hi >>> s;
    const frac = (hi & (2 ** s - 1)) * 4294967296 + lo;
    nsec = Math.min(999999999, Math.floor((frac / 2 ** e) * 1e9));
  }
  sec += ifc.offsetSec;
  rec.tsSec = sec;
  rec.tsNsec = nsec;
}
