/**
 * bpf_fib_lookup: a route and neighbour lookup in the node's tables, as net/core/filter.c's
 * bpf_ipv4_fib_lookup / bpf_ipv6_fib_lookup answer it. The tables come from whoever drives the
 * runtime (the emulated network's node) through the `Fib` interface; a runtime without one
 * knows only the loopback device and no routes (netcore/fib.ts: the FIB's shape), so lookups are "not forwarded".
 */
import { HELPER_CONTINUE, HelperError, argNumber, argU32, ret, type HelperCall } from '../vm/helper-table.js';
import { envOf } from './env.js';
import { EMPTY_FIB, type RouteType } from '../netcore/fib.js';
import { helper, type HelperDef } from './registry.js';
import {
  BPF_FIB_LKUP_RET, BPF_FIB_LOOKUP_DIRECT, BPF_FIB_LOOKUP_OUTPUT, BPF_FIB_LOOKUP_SKIP_NEIGH, BPF_FIB_LOOKUP_SRC, BPF_FIB_LOOKUP_TBID,
} from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import { AF_INET, AF_INET6 } from '../uapi/in.js';

const ALL_FLAGS = BPF_FIB_LOOKUP_DIRECT | BPF_FIB_LOOKUP_OUTPUT | BPF_FIB_LOOKUP_SKIP_NEIGH | BPF_FIB_LOOKUP_TBID | BPF_FIB_LOOKUP_SRC;
const { ENODEV, EINVAL, EAFNOSUPPORT } = ERRNO;

/** struct bpf_fib_lookup field offsets (64 bytes). */
const F = {
  family: 0, l4_protocol: 1, sport: 2, dport: 4, tot_len: 6, ifindex: 8, tos: 12, rt_metric: 12,
  src: 16, dst: 32, h_vlan_proto: 48, h_vlan_TCI: 50, smac: 52, dmac: 58, size: 64,
} as const;

const ROUTE_RESULT: Record<RouteType, number> = {
  unicast: BPF_FIB_LKUP_RET.SUCCESS, local: BPF_FIB_LKUP_RET.NOT_FWDED, blackhole: BPF_FIB_LKUP_RET.BLACKHOLE,
  unreachable: BPF_FIB_LKUP_RET.UNREACHABLE, prohibit: BPF_FIB_LKUP_RET.PROHIBIT,
};

function fibLookup(call: HelperCall): number {
  const params = argU32(call, 2);
  const plen = argU32(call, 3);
  const flags = argNumber(call, 4);
  if (flags & ~ALL_FLAGS || plen < F.size) return -EINVAL;
  if (!call.arena.canAccess(params, 0, F.size, 2)) throw new HelperError('bpf_fib_lookup: params outside writable memory');
  const { u8, view } = call.arena;
  const family = u8[params + F.family];
  if (family !== AF_INET && family !== AF_INET6) return -EAFNOSUPPORT;
  const env = envOf(call);
  const fib = env.host.fib ?? EMPTY_FIB;
  const ifindex = view.getUint32(params + F.ifindex, true);
  const inDev = fib.device(ifindex);
  if (!inDev) return -ENODEV;
  // The kernel checks forwarding on the given device even for BPF_FIB_LOOKUP_OUTPUT (checked on 6.18).
  if (!inDev.forwarding) return BPF_FIB_LKUP_RET.FWD_DISABLED;
  const width = family === AF_INET ? 4 : 16;
  const dst = u8.slice(params + F.dst, params + F.dst + width);
  const route = fib.route(family === AF_INET ? 4 : 6, dst, ifindex);
  if (!route) return BPF_FIB_LKUP_RET.NOT_FWDED;
  const result = ROUTE_RESULT[route.type];
  if (result !== BPF_FIB_LKUP_RET.SUCCESS) return result;
  const outDev = fib.device(route.ifindex);
  if (!outDev) return BPF_FIB_LKUP_RET.NOT_FWDED;
  const mtu = route.mtu ?? outDev.mtu;
  const totLen = view.getUint16(params + F.tot_len, true);
  if (totLen > mtu) {
    view.setUint16(params + F.tot_len, mtu, true); // mtu_result
    return BPF_FIB_LKUP_RET.FRAG_NEEDED;
  }
  view.setUint32(params + F.rt_metric, route.metric, true);
  view.setUint32(params + F.ifindex, route.ifindex, true);
  u8.set(outDev.mac, params + F.smac);
  if (flags & BPF_FIB_LOOKUP_SKIP_NEIGH) return BPF_FIB_LKUP_RET.SUCCESS;
  const nextHop = route.gateway ?? dst;
  const mac = fib.neighbour(route.ifindex, nextHop);
  if (!mac) return BPF_FIB_LKUP_RET.NO_NEIGH;
  u8.set(mac, params + F.dmac);
  return BPF_FIB_LKUP_RET.SUCCESS;
}

export const FIB_HELPERS: readonly HelperDef[] = [
  helper('fib_lookup', (call) => {
    ret(call, fibLookup(call));
    return HELPER_CONTINUE;
  }),
];
