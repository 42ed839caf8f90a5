/**
 * TC helpers that choose where a packet goes next or look up sockets, as net/core/filter.c
 * declares them for sched_cls / sched_act programs:
 * - bpf_redirect_neigh(ifindex, params, plen, flags): out of ifindex with the neighbour layer
 *   filling in the MAC header (optionally towards a given next hop);
 * - bpf_redirect_peer(ifindex, flags): into the ingress of the device's peer (veth, netkit);
 * - bpf_sk_lookup_tcp / _udp, bpf_skc_lookup_tcp, bpf_sk_release (TC and XDP): xdplab emulates
 *   no sockets, so a lookup finds none (NULL) — what the kernel answers for a tuple nothing
 *   listens on.
 * A test run ends at the verdict either way; the emulated network treats both redirects as a
 * redirect out of (neigh) or into the peer of (peer) the target interface.
 */
import { HELPER_CONTINUE, argNumber, argU32, ret, type HelperCall } from '../vm/helper-table.js';
import { envOf } from './env.js';
import { helper, type HelperDef } from './registry.js';
import { BPF_F_NEIGH, BPF_F_PEER } from '../uapi/bpf.js';
import { TC_ACT_REDIRECT, TC_ACT_SHOT } from '../uapi/pkt-cls.js';

/** sizeof(struct bpf_redir_neigh): nh_family and a 16-byte address. */
const BPF_REDIR_NEIGH_SIZE = 20;

/** bpf_redirect_neigh: TC_ACT_SHOT for flags or a short params block, else TC_ACT_REDIRECT. */
function redirectNeigh(call: HelperCall): number {
  const plen = argNumber(call, 3);
  const flags = argNumber(call, 4);
  if ((plen !== 0 && plen < BPF_REDIR_NEIGH_SIZE) || flags !== 0) return TC_ACT_SHOT;
  envOf(call).redirect = { kind: 'ifindex', target: argU32(call, 1), flags: BPF_F_NEIGH };
  return TC_ACT_REDIRECT;
}

/** bpf_redirect_peer: TC_ACT_SHOT for any flag, else TC_ACT_REDIRECT. */
function redirectPeer(call: HelperCall): number {
  if (argNumber(call, 2) !== 0) return TC_ACT_SHOT;
  envOf(call).redirect = { kind: 'ifindex', target: argU32(call, 1), flags: BPF_F_PEER };
  return TC_ACT_REDIRECT;
}

const noSocket = (call: HelperCall): number => {
  ret(call, 0);
  return HELPER_CONTINUE;
};


export const TC_REDIRECT_HELPERS: readonly HelperDef[] = [
  helper('redirect_neigh', (call) => {
    ret(call, redirectNeigh(call));
    return HELPER_CONTINUE;
  }),
  helper('redirect_peer', (call) => {
    ret(call, redirectPeer(call));
    return HELPER_CONTINUE;
  }),
  helper('sk_lookup_tcp', noSocket),
  helper('sk_lookup_udp', noSocket),
  helper('skc_lookup_tcp', noSocket),
  helper('sk_release', noSocket),
];
