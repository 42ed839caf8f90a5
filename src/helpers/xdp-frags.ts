/**
 * XDP multi-buffer frames: the fragments a frame carries past its linear part (struct
 * skb_shared_info's frags, include/linux/skbuff.h), and the fragment-aware halves of the
 * XDP helpers (net/core/filter.c). BPF_PROG_TEST_RUN fills fragments of one page each.
 *
 * The fragments live in one arena region programs cannot address (no access flags): a program
 * reaches them only through helpers, and a direct access past data_end faults as before.
 */
import type { Arena, Region } from '../vm/arena.js';
import { ERRNO } from '../uapi/errno.js';
import { ETH_HLEN } from '../uapi/if-ether.js';

/** MAX_SKB_FRAGS (CONFIG_MAX_SKB_FRAGS's default). */
export const MAX_SKB_FRAGS = 17;
/** rxq->frag_size in a test run: PAGE_SIZE, the room of each fragment. */
export const XDP_FRAG_SIZE = 4096;
const { EINVAL, EFAULT } = ERRNO;

/**
 * An XDP frame's fragments (skb_shared_info: nr_frags, xdp_frags_size, and for each skb_frag_t
 * where its bytes start in its page, off, and how many there are, size). Fragment i lives in
 * page i of the region.
 */
export class XdpFrags {
  nrFrags = 0;
  /** sinfo->xdp_frags_size: the bytes of all fragments. */
  fragsSize = 0;
  /** XDP_FLAGS_HAS_FRAGS: cleared when bpf_xdp_adjust_tail releases the last fragment. */
  hasFrags = false;
  readonly size = new Uint32Array(MAX_SKB_FRAGS);
  readonly off = new Uint32Array(MAX_SKB_FRAGS);
  private flat: Region | undefined;

  constructor(readonly region: Region) {
    region.setBounds(region.base, region.base);
  }

  static alloc(arena: Arena): XdpFrags {
    return new XdpFrags(arena.alloc(MAX_SKB_FRAGS * XDP_FRAG_SIZE, 'packet', 'xdp frags', 0));
  }

  /** skb_frag_address: the arena address of fragment i's first byte. */
  address(i: number): number {
    return this.region.base + i * XDP_FRAG_SIZE + this.off[i];
  }

  /**
   * The frame's first `len` bytes (at most its length) in one place, for bpf_xdp_event_output
   * (bpf_xdp_copy): a scratch region programs cannot address. Returns its address.
   */
  flatten(arena: Arena, linear: LinearPart, len: number): number {
    const flat = (this.flat ??= arena.alloc(XDP_FRAG_SIZE * (MAX_SKB_FRAGS + 2), 'helper', 'xdp frame copy', 0));
    xdpCopyBuf(arena.u8, linear, this, 0, flat.base, len, false);
    return flat.base;
  }

  /** Drop every fragment (a new frame). */
  clear(): void {
    this.nrFrags = 0;
    this.fragsSize = 0;
    this.hasFrags = false;
  }

  /**
   * bpf_prog_test_run_xdp's fill loop: `data` in page-sized fragments. The caller keeps to
   * MAX_SKB_FRAGS pages (more is the kernel's ENOMEM).
   */
  fill(u8: Uint8Array, data: Uint8Array): void {
    this.clear();
    for (let at = 0; at < data.length; at += XDP_FRAG_SIZE) {
      const i = this.nrFrags++;
      const len = Math.min(XDP_FRAG_SIZE, data.length - at);
      this.off[i] = 0;
      this.size[i] = len;
      u8.set(data.subarray(at, at + len), this.address(i));
      this.fragsSize += len;
    }
    this.hasFrags = this.nrFrags > 0;
  }

  /** The fragments' bytes in order, written to `out` at `at`. */
  copyOut(u8: Uint8Array, out: Uint8Array, at: number): void {
    for (let i = 0; i < this.nrFrags; i++) {
      const a = this.address(i);
      out.set(u8.subarray(a, a + this.size[i]), at);
      at += this.size[i];
    }
  }
}

/** The linear part of a frame, as helpers see it (PacketState's data and data_end). */
export interface LinearPart {
  data: number;
  dataEnd: number;
}

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
