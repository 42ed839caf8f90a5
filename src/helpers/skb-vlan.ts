/**
 * VLAN tags on an skb (net/core/filter.c, net/core/skbuff.c): bpf_skb_vlan_push / _pop, between
 * the packet and the out-of-band (hardware-accelerated) tag, with the MAC checksum updates at
 * ingress; vlan_get_protocol for the other helpers.
 *
 * Each helper follows the kernel's checks in the kernel's order, because the error a program
 * sees is part of the semantics (docs/architecture.md: where a test run differs).
 */
import { argU32, type HelperCall } from '../vm/helper-table.js';
import { postpullRcsum, postpushRcsum } from './csum.js';
import { helper, type HelperDef } from './registry.js';
import { swap16, type SkBuff } from '../netcore/skbuff.js';
import { ERRNO } from '../uapi/errno.js';
import { ETH_HLEN, ETH_P_802_2, ETH_P_802_3, ETH_P_802_3_MIN, ETH_P_8021Q, VLAN_HLEN } from '../uapi/if-ether.js';
import { isVlanType, onSkb, resetMacLen } from './skb-call.js';

/** bpf_push_mac_rcsum / bpf_pull_mac_rcsum: only at TC ingress, where skb->csum excludes the MAC header. */
function pushMacRcsum(skb: SkBuff): void {
  if (skb.atIngress) postpushRcsum(skb, skb.arena.u8, skb.macHeader, skb.macLen);
}

function pullMacRcsum(skb: SkBuff): void {
  if (skb.atIngress) postpullRcsum(skb, skb.arena.u8, skb.macHeader, skb.macLen);
}

/** vlan_set_encap_proto: skb->protocol from the EtherType after a VLAN header at `vhdr`. */
function setEncapProto(skb: SkBuff, encapsulated: number, after: number): void {
  if (encapsulated >= ETH_P_802_3_MIN) {
    skb.protocol = encapsulated;
    return;
  }
  skb.protocol = skb.arena.view.getUint16(after, true) === 0xffff ? ETH_P_802_3 : ETH_P_802_2;
}

/** __skb_vlan_pop: take the VLAN header after the MAC addresses out of the packet; its TCI, or an error. */
function popVlanFromData(skb: SkBuff): number {
  if (skb.data !== skb.macHeader) return -ERRNO.EINVAL;
  if (!skb.ensureWritable(ETH_HLEN + VLAN_HLEN)) return -ERRNO.ENOMEM;
  const { u8, view } = skb.arena;
  const d = skb.data;
  postpullRcsum(skb, u8, d + 2 * 6, VLAN_HLEN);
  const tci = view.getUint16(d + ETH_HLEN, false);
  const encapsulated = view.getUint16(d + ETH_HLEN + 2, false);
  u8.copyWithin(d + VLAN_HLEN, d, d + 12);
  skb.pull(VLAN_HLEN);
  setEncapProto(skb, encapsulated, d + ETH_HLEN + VLAN_HLEN);
  skb.macHeader += VLAN_HLEN;
  if (skb.networkOffset < ETH_HLEN) skb.networkHeader = skb.data + ETH_HLEN;
  resetMacLen(skb);
  return tci;
}

function vlanPop(skb: SkBuff): number {
  pushMacRcsum(skb);
  let err = 0;
  if (skb.vlanPresent) {
    skb.vlanPresent = false;
    skb.vlanTci = 0;
    skb.vlanProto = 0;
  } else if (isVlanType(skb.protocol)) {
    const r = popVlanFromData(skb);
    if (r < 0) err = r;
  } else {
    pullMacRcsum(skb);
    return 0;
  }
  if (err === 0 && isVlanType(skb.protocol)) {
    // The next tag moves out of the packet into the skb (hardware-accelerated form).
    const proto = skb.protocol;
    const tci = popVlanFromData(skb);
    if (tci < 0) err = tci;
    else {
      skb.vlanPresent = true;
      skb.vlanProto = proto;
      skb.vlanTci = tci;
    }
  }
  pullMacRcsum(skb);
  return err;
}

function vlanPush(skb: SkBuff, call: HelperCall): number {
  let proto = swap16(argU32(call, 2) & 0xffff);
  const tci = argU32(call, 3) & 0xffff;
  if (!isVlanType(proto)) proto = ETH_P_8021Q;
  pushMacRcsum(skb);
  let err = 0;
  if (skb.vlanPresent) {
    // The tag the skb already carries goes into the packet first (__vlan_insert_tag).
    if (skb.data !== skb.macHeader) err = -ERRNO.EINVAL;
    else {
      const { u8, view } = skb.arena;
      skb.push(VLAN_HLEN);
      const d = skb.data;
      u8.copyWithin(d, d + VLAN_HLEN, d + VLAN_HLEN + 12);
      skb.macHeader -= VLAN_HLEN;
      view.setUint16(d + 12, skb.vlanProto, false);
      view.setUint16(d + 14, skb.vlanTci, false);
      skb.protocol = skb.vlanProto;
      // Linux 6.18 moves the network header back onto the inserted tag (checked by experiment).
      skb.networkHeader -= VLAN_HLEN;
      postpushRcsum(skb, u8, d + 12, VLAN_HLEN);
    }
  }
  if (err === 0) {
    skb.vlanPresent = true;
    skb.vlanProto = proto;
    skb.vlanTci = tci;
  }
  pullMacRcsum(skb);
  return err;
}

/** vlan_get_protocol: the EtherType under any VLAN headers in the packet. */
export function vlanGetProtocol(skb: SkBuff): number {
  let type = skb.protocol;
  if (!isVlanType(type)) return type;
  const view = skb.arena.view;
  let depth = skb.macLen ? skb.macLen - VLAN_HLEN : ETH_HLEN;
  for (let parse = 8; ; ) {
    if (depth + 4 > skb.len || !--parse) return 0;
    type = view.getUint16(skb.data + depth + 2, false);
    depth += VLAN_HLEN;
    if (!isVlanType(type)) return type;
  }
}

export const SKB_VLAN_HELPERS: readonly HelperDef[] = [
  helper('skb_vlan_push', onSkb(vlanPush)),
  helper('skb_vlan_pop', onSkb(vlanPop)),
];
