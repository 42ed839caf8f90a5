/**
 * Tunnel metadata on an skb (net/core/filter.c): bpf_skb_get_tunnel_key / _set_tunnel_key and
 * bpf_skb_get_tunnel_opt / _set_tunnel_opt, over struct ip_tunnel_info (netcore/skbuff.ts).
 *
 * Each helper follows the kernel's checks in the kernel's order, because the error a program
 * sees is part of the semantics (docs/architecture.md: where a test run differs).
 */
import { argU32, type HelperCall } from '../vm/helper-table.js';
import { helper, type HelperDef } from './registry.js';
import type { SkBuff } from '../netcore/skbuff.js';
import {
  BPF_F_DONT_FRAGMENT, BPF_F_NO_TUNNEL_KEY, BPF_F_SEQ_NUMBER, BPF_F_TUNINFO_FLAGS, BPF_F_TUNINFO_IPV6, BPF_F_ZERO_CSUM_TX,
} from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import { argHi, memArg, onSkb } from './skb-call.js';

const IP_TUNNEL_INFO_TX = 1;
const IP_TUNNEL_INFO_IPV6 = 2;
const TUNNEL_CSUM = 1 << 0;
const TUNNEL_KEY = 1 << 2;
const TUNNEL_SEQ = 1 << 3;
const TUNNEL_DONT_FRAGMENT = 1 << 8;
const TUNNEL_NOCACHE = 1 << 13;
/** TUNNEL_GENEVE_OPT | TUNNEL_VXLAN_OPT | TUNNEL_ERSPAN_OPT | TUNNEL_GTP_OPT */
const TUNNEL_OPTIONS_PRESENT = (1 << 11) | (1 << 12) | (1 << 14) | (1 << 15);
const IP_TUNNEL_OPTS_MAX = 252;

/** struct bpf_tunnel_key: its size and the older sizes the kernel still accepts. */
const TUNNEL_KEY_SIZE = 44;
const TK = { tunnel_id: 0, remote: 4, tos: 20, ttl: 21, ext: 22, label: 24, local: 28 } as const;
const COMPAT_SIZES: readonly number[] = [TK.local, TK.label, TK.ext];
const COMPAT_V4_ONLY = 8; // offsetof(remote_ipv6[1])

function getTunnelKey(skb: SkBuff, call: HelperCall): number {
  const size = argU32(call, 3);
  const to = memArg(call, 2, size, true);
  const flags = argU32(call, 4);
  const { u8 } = call.arena;
  const info = skb.tunnel;
  const fail = (err: number): number => {
    u8.fill(0, to, to + size);
    return err;
  };
  if (!info || flags & ~(BPF_F_TUNINFO_IPV6 | BPF_F_TUNINFO_FLAGS) || argHi(call, 4)) return fail(-ERRNO.EINVAL);
  const infoV6 = (info.mode & IP_TUNNEL_INFO_IPV6) !== 0;
  if (infoV6 !== ((flags & BPF_F_TUNINFO_IPV6) !== 0)) return fail(-ERRNO.EPROTO);
  if (size !== TUNNEL_KEY_SIZE && !COMPAT_SIZES.includes(size) && !(size === COMPAT_V4_ONLY && !infoV6)) return fail(-ERRNO.EINVAL);
  const key = new Uint8Array(TUNNEL_KEY_SIZE);
  const kv = new DataView(key.buffer);
  kv.setUint32(TK.tunnel_id, info.tunIdLo, true);
  key[TK.tos] = info.tos;
  key[TK.ttl] = info.ttl;
  if (flags & BPF_F_TUNINFO_FLAGS) kv.setUint16(TK.ext, info.tunFlags & 0xffff, false);
  if (flags & BPF_F_TUNINFO_IPV6) {
    key.set(info.src, TK.remote);
    key.set(info.dst, TK.local);
    kv.setUint32(TK.label, info.label, true);
  } else {
    kv.setUint32(TK.remote, new DataView(info.src.buffer, info.src.byteOffset).getUint32(0, false), true);
    kv.setUint32(TK.local, new DataView(info.dst.buffer, info.dst.byteOffset).getUint32(0, false), true);
  }
  // Bytes of the caller's buffer past what the kernel writes (compat sizes) are left alone;
  // a full-size key has every byte written.
  u8.set(key.subarray(0, size), to);
  return 0;
}

function setTunnelKey(skb: SkBuff, call: HelperCall): number {
  const size = argU32(call, 3);
  const from = memArg(call, 2, size, false);
  const flags = argU32(call, 4);
  const allowed = BPF_F_TUNINFO_IPV6 | BPF_F_ZERO_CSUM_TX | BPF_F_DONT_FRAGMENT | BPF_F_SEQ_NUMBER | BPF_F_NO_TUNNEL_KEY;
  if (flags & ~allowed || argHi(call, 4)) return -ERRNO.EINVAL;
  if (size !== TUNNEL_KEY_SIZE && !COMPAT_SIZES.includes(size) && size !== COMPAT_V4_ONLY) return -ERRNO.EINVAL;
  const key = new Uint8Array(TUNNEL_KEY_SIZE);
  key.set(call.arena.u8.subarray(from, from + size));
  const kv = new DataView(key.buffer);
  const ipv6 = (flags & BPF_F_TUNINFO_IPV6) !== 0;
  const label = kv.getUint32(TK.label, true);
  if ((!ipv6 && label) || kv.getUint16(TK.ext, true)) return -ERRNO.EINVAL;
  let tunFlags = TUNNEL_NOCACHE;
  if (flags & BPF_F_DONT_FRAGMENT) tunFlags |= TUNNEL_DONT_FRAGMENT;
  if (!(flags & BPF_F_ZERO_CSUM_TX)) tunFlags |= TUNNEL_CSUM;
  if (flags & BPF_F_SEQ_NUMBER) tunFlags |= TUNNEL_SEQ;
  if (!(flags & BPF_F_NO_TUNNEL_KEY)) tunFlags |= TUNNEL_KEY;
  const src = new Uint8Array(16);
  const dst = new Uint8Array(16);
  if (ipv6) {
    dst.set(key.subarray(TK.remote, TK.remote + 16));
    src.set(key.subarray(TK.local, TK.local + 16));
  } else {
    new DataView(dst.buffer).setUint32(0, kv.getUint32(TK.remote, true), false);
    new DataView(src.buffer).setUint32(0, kv.getUint32(TK.local, true), false);
  }
  skb.tunnel = {
    mode: IP_TUNNEL_INFO_TX | (ipv6 ? IP_TUNNEL_INFO_IPV6 : 0),
    tunIdHi: 0,
    tunIdLo: kv.getUint32(TK.tunnel_id, true),
    tos: key[TK.tos],
    ttl: key[TK.ttl],
    tunFlags,
    label: ipv6 ? label & 0xfffff : 0,
    src,
    dst,
    options: undefined,
  };
  return 0;
}

function getTunnelOpt(skb: SkBuff, call: HelperCall): number {
  const size = argU32(call, 3);
  const to = memArg(call, 2, size, true);
  const { u8 } = call.arena;
  const info = skb.tunnel;
  if (!info || !(info.tunFlags & TUNNEL_OPTIONS_PRESENT) || !info.options) {
    u8.fill(0, to, to + size);
    return -ERRNO.ENOENT;
  }
  if (size < info.options.length) {
    u8.fill(0, to, to + size);
    return -ERRNO.ENOMEM;
  }
  u8.set(info.options, to);
  u8.fill(0, to + info.options.length, to + size);
  return info.options.length;
}

function setTunnelOpt(skb: SkBuff, call: HelperCall): number {
  const size = argU32(call, 3);
  const from = memArg(call, 2, size, false);
  const info = skb.tunnel;
  // Options go only on the metadata bpf_skb_set_tunnel_key attached (mode TX).
  if (!info || !(info.mode & IP_TUNNEL_INFO_TX) || size & 3) return -ERRNO.EINVAL;
  if (size > IP_TUNNEL_OPTS_MAX) return -ERRNO.ENOMEM;
  info.options = call.arena.u8.slice(from, from + size);
  info.tunFlags = (info.tunFlags & ~TUNNEL_OPTIONS_PRESENT) | (size ? TUNNEL_OPTIONS_PRESENT : 0);
  return 0;
}

export const SKB_TUNNEL_HELPERS: readonly HelperDef[] = [
  helper('skb_get_tunnel_key', onSkb(getTunnelKey)),
  helper('skb_set_tunnel_key', onSkb(setTunnelKey)),
  helper('skb_get_tunnel_opt', onSkb(getTunnelOpt)),
  helper('skb_set_tunnel_opt', onSkb(setTunnelOpt)),
];
