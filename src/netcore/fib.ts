/**
 * The FIB as bpf_fib_lookup reads it (helpers/fib.ts): devices, routes and neighbours. The
 * emulated network's nodes (net/node.ts) implement it; a runtime without one has EMPTY_FIB.
 */

export interface FibDevice {
  mac: Uint8Array;
  mtu: number;
  /** net.ipv4.conf.<dev>.forwarding / ipv6 forwarding. */
  forwarding: boolean;
}

export type RouteType = 'unicast' | 'blackhole' | 'unreachable' | 'prohibit' | 'local';

export interface FibRoute {
  type: RouteType;
  /** Egress interface. */
  ifindex: number;
  /** Next hop; undefined for a directly connected destination. */
  gateway?: Uint8Array;
  metric: number;
  /** Route MTU, when it overrides the device's. */
  mtu?: number;
}

/** The node's forwarding state, as bpf_fib_lookup reads it. */
export interface Fib {
  device(ifindex: number): FibDevice | undefined;
  /** Longest-prefix route to `dst` (4 or 16 bytes, network order). */
  route(family: 4 | 6, dst: Uint8Array, ingressIfindex: number): FibRoute | undefined;
  /** The neighbour (ARP / NDP) entry for `addr` on an interface: its MAC. */
  neighbour(ifindex: number, addr: Uint8Array): Uint8Array | undefined;
}

/** A FIB with the loopback device and no routes: a test run's view of an unknown network. */
export const EMPTY_FIB: Fib = {
  device: (ifindex) => (ifindex === 1 ? { mac: new Uint8Array(6), mtu: 65536, forwarding: false } : undefined),
  route: () => undefined,
  neighbour: () => undefined,
};
