/**
 * What an skb says of its socket, cgroup and route (net/core/filter.c): the cgroup ids and
 * classids, bpf_get_socket_cookie, bpf_get_route_realm — as a test run's skb answers them.
 *
 * Each helper follows the kernel's checks in the kernel's order, because the error a program
 * sees is part of the semantics (docs/architecture.md: where a test run differs).
 */
import type { HelperCall } from '../vm/helper-table.js';
import { envOf } from './env.js';
import { helper, type HelperDef } from './registry.js';
import type { SkBuff } from '../netcore/skbuff.js';
import { onSkb } from './skb-call.js';

function socketCookie(skb: SkBuff, call: HelperCall): number {
  if (!skb.sk) return 0;
  if (!skb.sk.cookie) skb.sk.cookie = envOf(call).host.nextSocketCookie();
  return skb.sk.cookie;
}

export const SKB_SOCKET_HELPERS: readonly HelperDef[] = [
  // The classid of the calling task's net_cls cgroup (v1): 0 without one, as on cgroup v2 hosts.
  helper('get_cgroup_classid', onSkb(() => 0)),
  helper('skb_cgroup_classid', onSkb(() => 0)),
  helper('skb_cgroup_id', onSkb((skb) => skb.sk?.cgroupId ?? 0)),
  helper('get_socket_cookie', onSkb(socketCookie)),
  // dst_tclassid: no route is attached to a test-run skb.
  helper('get_route_realm', onSkb(() => 0)),
];
