/**
 * The flow hash that spreads packets over RX queues, and so over CPUs, as RSS does: FNV-1a
 * (32-bit) over the IPv4/IPv6 source and destination addresses, and for TCP, UDP and SCTP the
 * protocol and both ports; over the MAC addresses for anything else. Fixed and documented, so
 * runs are reproducible and per-CPU maps mean what they mean in the kernel (one CPU per flow).
 * queue = hash % rx_queues; cpu = queue % cpus.
 */
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnv(hash: number, bytes: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i], FNV_PRIME);
  return hash;
}

export function flowHash(frame: Uint8Array): number {
  let h = FNV_OFFSET;
  let l3 = 14;
  let type = frame.length >= 14 ? (frame[12] << 8) | frame[13] : 0;
  if ((type === 0x8100 || type === 0x88a8) && frame.length >= 18) {
    type = (frame[16] << 8) | frame[17];
    l3 = 18;
  }
  let proto = -1;
  let l4 = -1;
  if (type === 0x0800 && frame.length >= l3 + 20) {
    h = fnv(h, frame, l3 + 12, l3 + 20);
    proto = frame[l3 + 9];
    const fragmented = ((frame[l3 + 6] & 0x1f) << 8 | frame[l3 + 7]) !== 0 || (frame[l3 + 6] & 0x20) !== 0;
    if (!fragmented) l4 = l3 + (frame[l3] & 0x0f) * 4;
  } else if (type === 0x86dd && frame.length >= l3 + 40) {
    h = fnv(h, frame, l3 + 8, l3 + 40);
    proto = frame[l3 + 6];
    l4 = l3 + 40;
  } else {
    return fnv(h, frame, 0, Math.min(12, frame.length)) >>> 0;
  }
  if ((proto === 6 || proto === 17 || proto === 132) && l4 >= 0 && frame.length >= l4 + 4) {
    h = Math.imul(h ^ proto, FNV_PRIME);
    h = fnv(h, frame, l4, l4 + 4);
  }
  return h >>> 0;
}
