/**
 * The interpreter's atomic instructions (BPF_ATOMIC: the extended opcodes ATOMIC32_ADD and
 * ATOMIC64_ADD + the index in ATOMIC_OPS, isa/xop.ts): read-modify-write of memory at an address
 * already checked, with the fetching forms' old value into the source register and cmpxchg's
 * into r0.
 */

/**
 * Atomic read-modify-write at `a` (single-threaded: atomicity is trivially kept). `R` is the
 * register file as (low, high) pairs, `s` the source register's index in it.
 */
export function atomic(R: Int32Array, dv: DataView, xop: number, a: number, s: number): void {
  const wide = xop >= 0x130; // ATOMIC64_ADD, the first 64-bit form
  const oldLo = dv.getInt32(a, true);
  const oldHi = wide ? dv.getInt32(a + 4, true) : 0;
  let lo = R[s], hi = wide ? R[s + 1] : 0;
  let store = true;
  const op = xop & 0x0f; // index in ATOMIC_OPS
  switch (op) {
    case 0: case 4: { const r = (oldLo + lo) | 0; hi = (oldHi + hi + (r >>> 0 < oldLo >>> 0 ? 1 : 0)) | 0; lo = r; break; } // add
    case 1: case 5: lo |= oldLo; hi |= oldHi; break; // or
    case 2: case 6: lo &= oldLo; hi &= oldHi; break; // and
    case 3: case 7: lo ^= oldLo; hi ^= oldHi; break; // xor
    case 8: break; // xchg: store src
    case 9: { // cmpxchg: compare with r0, store src if equal; r0 gets the old value
      store = wide ? R[0] === oldLo && R[1] === oldHi : R[0] === oldLo;
      R[0] = oldLo;
      R[1] = oldHi;
      break;
    }
  }
  if (store) {
    dv.setInt32(a, lo, true);
    if (wide) dv.setInt32(a + 4, hi, true);
  }
  const fetch = op >= 4 && op <= 8;
  if (fetch) {
    R[s] = oldLo;
    R[s + 1] = oldHi;
  }
}
