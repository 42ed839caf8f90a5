/**
 * The Internet checksum (RFC 1071) and the TCP/UDP/ICMPv6 pseudo-header sums (RFC 793,
 * RFC 768, RFC 8200 §8.1). A sum is kept unfolded while it is built (a JS number holds far
 * more than any packet's words) and folded to 16 bits at the end.
 */

/** The ones'-complement sum of bytes[start, end) as big-endian 16-bit words, added to `sum`; unfolded. */
export function onesSum(bytes: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  const even = end - ((end - start) & 1);
  for (; i < even; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (i < end) sum += bytes[i] << 8;
  return sum;
}

/** Fold a sum to 16 bits with end-around carry. */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return sum;
}

/** The checksum to store: the complement of the folded sum of bytes[start, end) (and `sum`). */
export function internetChecksum(bytes: Uint8Array, start = 0, end = bytes.length, sum = 0): number {
  return ~foldSum(onesSum(bytes, start, end, sum)) & 0xffff;
}

/** The IPv4 pseudo-header sum for an L4 segment of `length` bytes, addresses read from the IPv4 header at `ip`. */
export function ipv4PseudoSum(bytes: Uint8Array, ip: number, protocol: number, length: number): number {
  return onesSum(bytes, ip + 12, ip + 20) + protocol + length;
}

/** The IPv6 pseudo-header sum, addresses read from the IPv6 header at `ip`. */
export function ipv6PseudoSum(bytes: Uint8Array, ip: number, nextHeader: number, length: number): number {
  return onesSum(bytes, ip + 8, ip + 40) + Math.floor(length / 65536) + (length & 0xffff) + nextHeader;
}

/** The pseudo-header sum of the IPv4 or IPv6 header at `ip` (by its version nibble). */
export function pseudoHeaderSum(bytes: Uint8Array, ip: number, protocol: number, length: number): number {
  return bytes[ip] >> 4 === 6 ? ipv6PseudoSum(bytes, ip, protocol, length) : ipv4PseudoSum(bytes, ip, protocol, length);
}

/** True when bytes[start, end) with `sum` (a pseudo-header) check out: their sum folds to all ones. */
export function checksumOk(bytes: Uint8Array, start: number, end: number, sum = 0): boolean {
  return foldSum(onesSum(bytes, start, end, sum)) === 0xffff;
}
