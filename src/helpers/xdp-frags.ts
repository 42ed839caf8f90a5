/**
 * XDP multi-buffer frames: the fragment-aware halves of the XDP helpers (net/core/filter.c)
 * over the frame's fragments (netcore/xdp-frags.ts).
 */
import type { Arena } from '../vm/arena.js';
import { MAX_SKB_FRAGS, XDP_FRAG_SIZE, type LinearPart, type XdpFrags } from '../netcore/xdp-frags.js';
import { ERRNO } from '../uapi/errno.js';
import { ETH_HLEN } from '../uapi/if-ether.js';

const { EINVAL, EFAULT } = ERRNO;

/** xdp_get_buff_len: the linear part and, while the frame has fragments, their bytes. */
export function xdpGetBuffLen(linear: LinearPart, frags: XdpFrags | undefined): number {
  const len = linear.dataEnd - linear.data;
  return frags?.hasFrags ? len + frags.fragsSize : len;
}

/**
 * bpf_xdp_load_bytes / bpf_xdp_store_bytes over the whole frame (bpf_xdp_pointer's checks,
 * then bpf_xdp_copy_buf): `flush` copies buf into the frame.
 */
export function xdpCopyBytes(
  u8: Uint8Array, linear: LinearPart, frags: XdpFrags | undefined, offset: number, buf: number, len: number, flush: boolean,
): number {
  if (offset > 0xffff || len > 0xffff) return -EFAULT;
  if (offset + len > xdpGetBuffLen(linear, frags)) return -EINVAL;
  xdpCopyBuf(u8, linear, frags, offset, buf, len, flush);
  return 0;
}

/** bpf_xdp_copy_buf: [offset, offset+len) of the frame (checked by the caller) from or to buf. */
export function xdpCopyBuf(
  u8: Uint8Array, linear: LinearPart, frags: XdpFrags | undefined, offset: number, buf: number, len: number, flush: boolean,
): void {
  let ptr = linear.data;
  let ptrLen = linear.dataEnd - linear.data;
  let ptrOff = 0;
  for (let next = 0; ; next++) {
    if (offset < ptrOff + ptrLen) {
      const at = ptr + offset - ptrOff;
      const n = Math.min(len, ptrLen - (offset - ptrOff));
      if (flush) u8.copyWithin(at, buf, buf + n);
      else u8.copyWithin(buf, at, at + n);
      offset += n;
      len -= n;
      buf += n;
    }
    if (len === 0 || !frags || next === frags.nrFrags) return;
    ptrOff += ptrLen;
    ptr = frags.address(next);
    ptrLen = frags.size[next];
  }
}

/** bpf_xdp_frags_increase_tail: the last fragment grows into the rest of its page, zeroed. */
export function xdpFragsIncreaseTail(u8: Uint8Array, frags: XdpFrags, offset: number): number {
  const i = frags.nrFrags - 1;
  const tailroom = XDP_FRAG_SIZE - frags.size[i] - frags.off[i];
  if (offset > tailroom) return -EINVAL;
  const end = frags.address(i) + frags.size[i];
  u8.fill(0, end, end + offset);
  frags.size[i] += offset;
  frags.fragsSize += offset;
  return 0;
}

/**
 * bpf_xdp_frags_shrink_tail: fragments shrink from the last one, those emptied are released;
 * when none is left the frame is linear again and the linear part gives up the rest.
 * Returns 0 or -EINVAL, and the bytes the linear part must still lose (`linearShrink`).
 */
export function xdpFragsShrinkTail(linear: LinearPart, frags: XdpFrags, offset: number): { ret: number; linearShrink: number } {
  if (offset > xdpGetBuffLen(linear, frags) - ETH_HLEN) return { ret: -EINVAL, linearShrink: 0 };
  let freed = 0;
  let lenFree = 0;
  for (let i = frags.nrFrags - 1; i >= 0 && offset > 0; i--) {
    const shrink = Math.min(offset, frags.size[i]);
    lenFree += shrink;
    offset -= shrink;
    // bpf_xdp_shrink_data: an emptied fragment is released, another one loses its tail.
    if (shrink === frags.size[i]) freed++;
    else frags.size[i] -= shrink;
  }
  frags.nrFrags -= freed;
  frags.fragsSize -= lenFree;
  if (frags.nrFrags === 0) {
    frags.hasFrags = false;
    return { ret: 0, linearShrink: offset };
  }
  return { ret: 0, linearShrink: 0 };
}

/**
 * The frame's first `len` bytes (at most its length) in one place, for bpf_xdp_event_output
 * (bpf_xdp_copy): a scratch region programs cannot address. Returns its address.
 */
export function xdpFlatten(frags: XdpFrags, arena: Arena, linear: LinearPart, len: number): number {
  const flat = (frags.flatCopy ??= arena.alloc(XDP_FRAG_SIZE * (MAX_SKB_FRAGS + 2), 'helper', 'xdp frame copy', 0));
  xdpCopyBuf(arena.u8, linear, frags, 0, flat.base, len, false);
  return flat.base;
}

