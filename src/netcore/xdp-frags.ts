/**
 * An XDP frame's fragments past its linear part (struct skb_shared_info's frags,
 * include/linux/skbuff.h), as BPF_PROG_TEST_RUN fills them: one page each, in one arena region
 * programs cannot address (no access flags) — a program reaches them only through helpers
 * (helpers/xdp-frags.ts), and a direct access past data_end faults.
 */
import type { Arena, Region } from '../vm/arena.js';

/** MAX_SKB_FRAGS (CONFIG_MAX_SKB_FRAGS's default). */
export const MAX_SKB_FRAGS = 17;
/** rxq->frag_size in a test run: PAGE_SIZE, the room of each fragment. */
export const XDP_FRAG_SIZE = 4096;

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
  /** A scratch region for a flat copy of the frame (bpf_xdp_event_output), made when first needed. */
  flatCopy: Region | undefined;

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
