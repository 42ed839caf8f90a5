/**
 * Reading and writing an skb's bytes (net/core/filter.c): bpf_skb_load_bytes, _load_bytes_relative,
 * bpf_skb_store_bytes (with the checksum and hash updates its flags ask for), bpf_skb_pull_data.
 *
 * Each helper follows the kernel's checks in the kernel's order, because the error a program
 * sees is part of the semantics (docs/architecture.md: where a test run differs).
 */
import { argU32, type HelperCall } from '../vm/helper-table.js';
import { postpullRcsumAt, postpushRcsum } from './csum.js';
import { helper, type HelperDef } from './registry.js';
import type { SkBuff } from '../netcore/skbuff.js';
import { BPF_F_INVALIDATE_HASH, BPF_F_RECOMPUTE_CSUM, BPF_HDR_START_MAC, BPF_HDR_START_NET } from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import { argHi, memArg, onSkb } from './skb-call.js';

const INT_MAX = 0x7fffffff;

function loadBytes(skb: SkBuff, call: HelperCall): number {
  const offset = argU32(call, 2);
  const len = argU32(call, 4);
  const to = memArg(call, 3, len, true);
  const { u8 } = call.arena;
  if (offset > INT_MAX || offset + len > skb.len) {
    u8.fill(0, to, to + len);
    return -ERRNO.EFAULT;
  }
  u8.copyWithin(to, skb.data + offset, skb.data + offset + len);
  return 0;
}


function loadBytesRelative(skb: SkBuff, call: HelperCall): number {
  const offset = argU32(call, 2);
  const len = argU32(call, 4);
  const to = memArg(call, 3, len, true);
  const header = argU32(call, 5);
  const { u8 } = call.arena;
  let start = -1;
  if (offset <= 0xffff) {
    if (header === BPF_HDR_START_MAC) start = skb.macHeader;
    else if (header === BPF_HDR_START_NET) start = skb.networkHeader;
  }
  if (start < 0 || start + offset + len > skb.tail) {
    u8.fill(0, to, to + len);
    return -ERRNO.EFAULT;
  }
  u8.copyWithin(to, start + offset, start + offset + len);
  return 0;
}


function storeBytes(skb: SkBuff, call: HelperCall): number {
  const offset = argU32(call, 2);
  const len = argU32(call, 4);
  const from = memArg(call, 3, len, false);
  const flags = argU32(call, 5);
  if (flags & ~(BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH) || argHi(call, 5)) return -ERRNO.EINVAL;
  if (offset > INT_MAX) return -ERRNO.EFAULT;
  if (!skb.ensureWritable(offset + len)) return -ERRNO.EFAULT;
  const { u8 } = call.arena;
  const ptr = skb.data + offset;
  if (flags & BPF_F_RECOMPUTE_CSUM) postpullRcsumAt(skb, u8, ptr, len, offset);
  u8.copyWithin(ptr, from, from + len);
  if (flags & BPF_F_RECOMPUTE_CSUM) postpushRcsum(skb, u8, ptr, len, offset);
  if (flags & BPF_F_INVALIDATE_HASH) skb.clearHash();
  return 0;
}

function pullData(skb: SkBuff, call: HelperCall): number {
  const len = argU32(call, 2);
  return skb.ensureWritable(len || skb.len) ? 0 : -ERRNO.ENOMEM;
}

export const SKB_BYTES_HELPERS: readonly HelperDef[] = [
  helper('skb_load_bytes', onSkb(loadBytes)),
  helper('skb_load_bytes_relative', onSkb(loadBytesRelative)),
  helper('skb_store_bytes', onSkb(storeBytes)),
  helper('skb_pull_data', onSkb(pullData)),
];
