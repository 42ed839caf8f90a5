/**
 * bpf_clone_redirect (net/core/filter.c): a copy of the skb sent to a device's ingress or egress,
 * recorded in RunEnv.clones with the result the kernel gives for that device.
 *
 * Each helper follows the kernel's checks in the kernel's order, because the error a program
 * sees is part of the semantics (docs/architecture.md: where a test run differs).
 */
import { argU32, type HelperCall } from '../vm/helper-table.js';
import { envOf } from './env.js';
import { helper, type HelperDef } from './registry.js';
import { deviceByIndex, type NetDevice } from '../netcore/net-device.js';
import type { SkBuff } from '../netcore/skbuff.js';
import { BPF_F_INGRESS } from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import { VLAN_HLEN } from '../uapi/if-ether.js';
import { argHi, onSkb } from './skb-call.js';

const NET_RX_DROP = 1;
const NET_XMIT_CN = 2;

/** Whether `dev` takes the frame (is_skb_forwardable). */
function forwardable(dev: NetDevice, skb: SkBuff): boolean {
  if (!dev.up) return false;
  const max = dev.mtu + dev.hardHeaderLen + VLAN_HLEN;
  return skb.len <= max || skb.isGso;
}

function cloneRedirect(skb: SkBuff, call: HelperCall): number {
  const env = envOf(call);
  const ifindex = argU32(call, 2);
  const flags = argU32(call, 3);
  if (flags & ~BPF_F_INGRESS || argHi(call, 3)) return -ERRNO.EINVAL;
  const dev = deviceByIndex(env.devices, ifindex);
  if (!dev) return -ERRNO.EINVAL;
  if (dev.macHeaderXmit && (skb.macHeader >= skb.networkHeader || skb.len === 0)) return -ERRNO.ERANGE;
  if (flags & BPF_F_INGRESS) {
    if (!forwardable(dev, skb)) return NET_RX_DROP;
  } else if (!dev.up) {
    // A device that is down has the noop qdisc, which drops: NET_XMIT_CN (checked on 6.18).
    return NET_XMIT_CN;
  }
  (env.clones ??= []).push({
    ifindex,
    flags,
    data: skb.arena.u8.slice(skb.macHeader, skb.tail),
    vlan: skb.vlanPresent ? { proto: skb.vlanProto, tci: skb.vlanTci } : undefined,
    mark: skb.mark,
    priority: skb.priority,
  });
  return 0;
}

export const SKB_CLONE_REDIRECT_HELPERS: readonly HelperDef[] = [
  helper('clone_redirect', onSkb(cloneRedirect)),
];
