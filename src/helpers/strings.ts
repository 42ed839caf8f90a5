/**
 * String helpers: bpf_strtol, bpf_strtoul (kernel/bpf/helpers.c, __bpf_strtoull) and
 * bpf_strncmp, with the kernel's parsing rules: leading white space, one '-', a 0 / 0x
 * prefix when the base is 0 (or 16), at most 63 characters looked at, ERANGE on overflow.
 */
import { ERRNO } from '../uapi/errno.js';
import { HELPER_CONTINUE, HelperError, argNumber, argU32, ret, type HelperCall } from '../vm/helper-table.js';
import { helper, type HelperDef } from './registry.js';

const { ERANGE } = ERRNO;
const BPF_STRTOX_BASE_MASK = 0x1f;
const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);

function digitValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x7a) return lower - 0x61 + 10;
  return 99;
}

/** __bpf_strtoull: consumed characters, or -errno; the value and sign through `out`. */
export function parseStrtoull(bytes: Uint8Array, flags: number, out: { value: bigint; negative: boolean }): number {
  if (bytes.length === 0) return -ERRNO.EINVAL;
  let base = flags & BPF_STRTOX_BASE_MASK;
  if (flags & ~BPF_STRTOX_BASE_MASK || (base !== 0 && base !== 8 && base !== 10 && base !== 16)) return -ERRNO.EINVAL;
  let i = 0;
  while (i < bytes.length && isSpace(bytes[i])) i++;
  out.negative = i < bytes.length && bytes[i] === 0x2d;
  if (out.negative) i++;
  const consumed = i;
  if (i >= bytes.length) return -ERRNO.EINVAL;
  // The kernel copies at most 63 characters into a NUL-terminated buffer and parses that.
  const str = bytes.subarray(i, Math.min(bytes.length, i + 63));
  let s = 0;
  const at = (k: number): number => (k < str.length ? str[k] : 0);
  if (base === 0) {
    if (at(0) === 0x30) base = (at(1) | 0x20) === 0x78 && digitValue(at(2)) < 16 ? 16 : 8;
    else base = 10;
  }
  if (base === 16 && at(0) === 0x30 && (at(1) | 0x20) === 0x78) s = 2;
  let value = 0n;
  let digits = 0;
  let overflow = false;
  for (; s + digits < str.length; digits++) {
    const c = str[s + digits];
    if (c === 0) break;
    const d = digitValue(c);
    if (d >= base) break;
    value = value * BigInt(base) + BigInt(d);
    if (value > 0xffffffffffffffffn) overflow = true;
  }
  if (overflow) return -ERANGE;
  if (digits === 0) return -ERRNO.EINVAL;
  out.value = value;
  return consumed + s + digits;
}

function readBuf(call: HelperCall): Uint8Array | undefined {
  const addr = argU32(call, 1);
  const len = argU32(call, 2);
  if (len === 0 || !call.arena.canAccess(addr, 0, len, 1)) return undefined;
  return call.arena.u8.subarray(addr, addr + len);
}

function writeResult(call: HelperCall, value: bigint): void {
  call.arena.view.setBigUint64(argU32(call, 4), BigInt.asUintN(64, value), true);
}

export const STRING_HELPERS: readonly HelperDef[] = [
  helper('strtol', (call) => {
    const bytes = readBuf(call);
    const out = { value: 0n, negative: false };
    let r = bytes ? parseStrtoull(bytes, argNumber(call, 3), out) : -ERRNO.EINVAL;
    if (r >= 0) {
      const signed = out.negative ? -out.value : out.value;
      if (signed < -(1n << 63n) || signed > (1n << 63n) - 1n) r = -ERANGE;
      else writeResult(call, signed);
    }
    ret(call, r);
    return HELPER_CONTINUE;
  }),
  helper('strtoul', (call) => {
    const bytes = readBuf(call);
    const out = { value: 0n, negative: false };
    let r = bytes ? parseStrtoull(bytes, argNumber(call, 3), out) : -ERRNO.EINVAL;
    if (r >= 0 && out.negative) r = -ERRNO.EINVAL;
    else if (r >= 0) writeResult(call, out.value);
    ret(call, r);
    return HELPER_CONTINUE;
  }),
  helper('strncmp', (call) => {
    const a = argU32(call, 1);
    const n = argU32(call, 2);
    const b = argU32(call, 3);
    const { u8 } = call.arena;
    let r = 0;
    for (let i = 0; i < n; i++) {
      if (!call.arena.canAccess(a + i, 0, 1, 1) || !call.arena.canAccess(b + i, 0, 1, 1)) throw new HelperError('bpf_strncmp: string outside memory');
      const c1 = u8[a + i], c2 = u8[b + i];
      if (c1 !== c2) {
        r = c1 < c2 ? -1 : 1;
        break;
      }
      if (c1 === 0) break;
    }
    ret(call, r);
    return HELPER_CONTINUE;
  }),
];
