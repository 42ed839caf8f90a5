/**
 * XDP helpers: moving the packet's head, tail and metadata, loading and storing bytes, and
 * redirecting (bpf_redirect, bpf_redirect_map). Bounds are the kernel's (net/core/filter.c)
 * for a frame of one page, as BPF_PROG_TEST_RUN and most drivers give it.
 */
import { ERRNO } from '../uapi/errno.js';
import { HELPER_CONTINUE, HelperError, argNumber, argU32, ret, type HelperCall } from '../vm/helper-table.js';
import { envOf, type RunEnv } from './env.js';
import { PacketState } from '../netcore/packet-state.js';
import { mapArg } from './maps.js';
import { helper, type HelperDef } from './registry.js';
import { xdpCopyBytes, xdpFragsIncreaseTail, xdpFragsShrinkTail, xdpGetBuffLen } from './xdp-frags.js';
import {
  BPF_F_BROADCAST, BPF_F_EXCLUDE_INGRESS, BPF_F_INGRESS, BPF_MAP_TYPE, BPF_PROG_TYPE, XDP_ABORTED, XDP_REDIRECT,
} from '../uapi/bpf.js';
import { ETH_HLEN } from '../uapi/if-ether.js';
import { TC_ACT_REDIRECT, TC_ACT_SHOT } from '../uapi/pkt-cls.js';

/** sizeof(struct xdp_frame), which the head may not grow into. */
export const XDP_FRAME_SIZE = 40;
/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)): the reserved end of the frame. */
export const XDP_TAILROOM = 320;
/** The frame: one page. */
export const XDP_FRAME_BYTES = 4096;
/**
 * Metadata must be a multiple of 4 bytes and at most XDP_META_MAX (xdp_metalen_invalid):
 * type_max(skb_shared_info.meta_len) = 255 since Linux 6.x (it was 32 before), checked on 6.18.
 */
export const XDP_META_MAX = 255;

function packetOf(call: HelperCall): PacketState {
  const packet = envOf(call).packet;
  if (!packet) throw new HelperError('this helper needs a packet');
  return packet;
}

function adjustHead(call: HelperCall): number {
  const p = packetOf(call);
  const offset = argNumber(call, 2) | 0;
  const metalen = p.data - p.dataMeta;
  const data = p.data + offset;
  if (data < p.bufferStart + XDP_FRAME_SIZE + metalen || data > p.dataEnd - ETH_HLEN) return -ERRNO.EINVAL;
  const { u8, view } = call.arena;
  if (metalen) u8.copyWithin(p.dataMeta + offset, p.dataMeta, p.data);
  p.set(p.dataMeta + offset, data, p.dataEnd, view);
  return 0;
}

function adjustMeta(call: HelperCall): number {
  const p = packetOf(call);
  const meta = p.dataMeta + (argNumber(call, 2) | 0);
  if (meta < p.bufferStart + XDP_FRAME_SIZE || meta > p.data) return -ERRNO.EINVAL;
  const metalen = p.data - meta;
  if (metalen & 3 || metalen > XDP_META_MAX) return -13; // -EACCES
  p.set(meta, p.data, p.dataEnd, call.arena.view);
  return 0;
}

/** bpf_xdp_adjust_tail: a frame with fragments grows or shrinks them, else its linear part. */
function adjustTail(call: HelperCall): number {
  const p = packetOf(call);
  const offset = argNumber(call, 2) | 0;
  const frags = p.frags;
  if (frags?.hasFrags) {
    if (offset >= 0) return xdpFragsIncreaseTail(call.arena.u8, frags, offset);
    const { ret: r, linearShrink } = xdpFragsShrinkTail(p, frags, -offset);
    if (linearShrink) p.set(p.dataMeta, p.data, p.dataEnd - linearShrink, call.arena.view);
    return r;
  }
  const dataEnd = p.dataEnd + offset;
  if (dataEnd > p.bufferStart + XDP_FRAME_BYTES - XDP_TAILROOM || dataEnd < p.data + ETH_HLEN) return -ERRNO.EINVAL;
  if (offset > 0) call.arena.u8.fill(0, p.dataEnd, dataEnd);
  p.set(p.dataMeta, p.data, dataEnd, call.arena.view);
  return 0;
}

/** bpf_xdp_load_bytes / store_bytes: [offset, offset+len) of the frame, across its fragments. */
function copyBytes(call: HelperCall, store: boolean): number {
  const p = packetOf(call);
  const offset = argU32(call, 2);
  const buf = argU32(call, 3);
  const len = argU32(call, 4);
  if (len === 0 || !call.arena.canAccess(buf, 0, len, store ? 1 : 2)) return -ERRNO.EINVAL;
  return xdpCopyBytes(call.arena.u8, p, p.frags, offset, buf, len, store);
}

const isXdp = (env: RunEnv): boolean => env.progType === BPF_PROG_TYPE.BPF_PROG_TYPE_XDP;

/** bpf_redirect(ifindex, flags): XDP_REDIRECT / TC_ACT_REDIRECT, or the kernel's refusal. */
function redirect(call: HelperCall): number {
  const env = envOf(call);
  const ifindex = argU32(call, 1);
  const flags = argNumber(call, 2);
  if (isXdp(env)) {
    if (flags !== 0) return XDP_ABORTED;
    env.redirect = { kind: 'ifindex', target: ifindex, flags: 0 };
    return XDP_REDIRECT;
  }
  if (flags & ~BPF_F_INGRESS) return TC_ACT_SHOT;
  env.redirect = { kind: 'ifindex', target: ifindex, flags };
  return TC_ACT_REDIRECT;
}

/** bpf_redirect_map(map, key, flags): the low two flag bits are the verdict when the key is absent. */
function redirectMap(call: HelperCall): number {
  const env = envOf(call);
  const map = mapArg(call);
  const key = argU32(call, 2);
  const flags = argNumber(call, 3);
  const fallback = flags & 3;
  if (flags & ~(3 | BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS)) return XDP_ABORTED;
  const { type } = map.spec;
  const view = call.arena.view;
  const scratch = map.scratchKey(key);
  if (type === BPF_MAP_TYPE.BPF_MAP_TYPE_DEVMAP || type === BPF_MAP_TYPE.BPF_MAP_TYPE_DEVMAP_HASH) {
    if (flags & BPF_F_BROADCAST) {
      env.redirect = { kind: 'devmap', target: 0, flags, map };
      return XDP_REDIRECT;
    }
    const value = map.lookupElem(scratch, env.cpu);
    if (!value) return fallback;
    const progId = map.spec.valueSize >= 8 ? view.getUint32(value + 4, true) : 0;
    env.redirect = { kind: 'devmap', target: view.getUint32(value, true), flags, entryProgramId: progId || undefined };
    return XDP_REDIRECT;
  }
  if (type === BPF_MAP_TYPE.BPF_MAP_TYPE_CPUMAP) {
    const value = key < map.spec.maxEntries ? map.lookupElem(scratch, env.cpu) : 0;
    if (!value) return fallback;
    const progId = map.spec.valueSize >= 8 ? view.getUint32(value + 4, true) : 0;
    env.redirect = { kind: 'cpumap', target: key, flags, entryProgramId: progId || undefined };
    return XDP_REDIRECT;
  }
  if (type === BPF_MAP_TYPE.BPF_MAP_TYPE_XSKMAP) {
    if (!map.lookupElem(scratch, env.cpu)) return fallback;
    env.redirect = { kind: 'xskmap', target: key, flags };
    return XDP_REDIRECT;
  }
  return fallback;
}


export const XDP_HELPERS: readonly HelperDef[] = [
  helper('xdp_adjust_head', (call) => {
    ret(call, adjustHead(call));
    return HELPER_CONTINUE;
  }),
  helper('xdp_adjust_meta', (call) => {
    ret(call, adjustMeta(call));
    return HELPER_CONTINUE;
  }),
  helper('xdp_adjust_tail', (call) => {
    ret(call, adjustTail(call));
    return HELPER_CONTINUE;
  }),
  helper('xdp_get_buff_len', (call) => {
    const p = packetOf(call);
    ret(call, xdpGetBuffLen(p, p.frags));
    return HELPER_CONTINUE;
  }),
  helper('xdp_load_bytes', (call) => {
    ret(call, copyBytes(call, false));
    return HELPER_CONTINUE;
  }),
  helper('xdp_store_bytes', (call) => {
    ret(call, copyBytes(call, true));
    return HELPER_CONTINUE;
  }),
  helper('redirect', (call) => {
    ret(call, redirect(call));
    return HELPER_CONTINUE;
  }),
  helper('redirect_map', (call) => {
    ret(call, redirectMap(call));
    return HELPER_CONTINUE;
  }),
];
