/**
 * bpf_check_mtu (net/core/filter.c) for both hooks: the skb's or the XDP frame's length against a
 * device's MTU.
 *
 * Each helper follows the kernel's checks in the kernel's order, because the error a program
 * sees is part of the semantics (docs/architecture.md: where a test run differs).
 */
import { HELPER_CONTINUE, argU32, ret, type HelperCall } from '../vm/helper-table.js';
import { envOf } from './env.js';
import { helper, type HelperDef } from './registry.js';
import { deviceByIndex } from '../netcore/net-device.js';
import { BPF_MTU_CHK_RET_FRAG_NEEDED, BPF_MTU_CHK_RET_SUCCESS, BPF_MTU_CHK_SEGS } from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import { argHi, argS32, memArg } from './skb-call.js';

/** bpf_check_mtu for both hooks; `dev` is skb->dev (TC) or the receiving device (XDP). */
function checkMtu(call: HelperCall): number {
  const env = envOf(call);
  const ifindex = argU32(call, 2);
  const mtuLenAddr = memArg(call, 3, 4, true);
  const lenDiff = argS32(call, 4);
  const flags = argU32(call, 5);
  const hiFlags = argHi(call, 5);
  const { view } = call.arena;
  const mtuIn = view.getUint32(mtuLenAddr, true);
  const skb = env.skb;
  let result: number;
  let mtu = 0;
  const current = skb ? skb.dev : deviceByIndex(env.devices, env.ingressIfindex || 1);
  const dev = ifindex ? deviceByIndex(env.devices, ifindex) : current;
  if (skb) {
    skb.loadCtx();
    if (flags & ~BPF_MTU_CHK_SEGS || hiFlags) result = -ERRNO.EINVAL;
    else if (flags & BPF_MTU_CHK_SEGS && (lenDiff || mtuIn)) result = -ERRNO.EINVAL;
    else if (!dev) result = -ERRNO.ENODEV;
    else {
      mtu = dev.mtu;
      const devLen = (mtu + dev.hardHeaderLen) | 0;
      const skbLen = ((mtuIn ? (mtuIn + dev.hardHeaderLen) | 0 : skb.len) + lenDiff) | 0;
      if (skbLen <= devLen) result = BPF_MTU_CHK_RET_SUCCESS;
      else if (skb.isGso) result = BPF_MTU_CHK_RET_SUCCESS; // segments are checked only with BPF_MTU_CHK_SEGS (not emulated)
      else result = BPF_MTU_CHK_RET_FRAG_NEEDED;
    }
  } else {
    const packet = env.packet;
    if (flags || hiFlags) result = -ERRNO.EINVAL;
    else if (!dev) result = -ERRNO.ENODEV;
    else {
      mtu = dev.mtu;
      const devLen = (mtu + dev.hardHeaderLen) | 0;
      let xdpLen = packet ? packet.length : 0;
      if (mtuIn) xdpLen = (mtuIn + dev.hardHeaderLen) | 0;
      xdpLen = (xdpLen + lenDiff) | 0;
      result = xdpLen > devLen ? BPF_MTU_CHK_RET_FRAG_NEEDED : BPF_MTU_CHK_RET_SUCCESS;
    }
  }
  // On an error *mtu_len is left as it was (checked on 6.18).
  if (result >= 0) view.setUint32(mtuLenAddr, mtu, true);
  return result;
}

export const CHECK_MTU_HELPERS: readonly HelperDef[] = [
  helper('check_mtu', (call) => {
    ret(call, checkMtu(call));
    envOf(call).skb?.storeCtx();
    return HELPER_CONTINUE;
  }),
];
