/**
 * Node: a host, router or switch — its interfaces, routing table, neighbours and, for a
 * switch, its learned MAC table. Its routes and neighbours are also what bpf_fib_lookup reads
 * (the node's Fib), so a program's forwarding decision and the stack's are the same.
 *
 * Neighbours are resolved as ARP / NDP would resolve them, without their packets: a static
 * entry, or the interface on the same wire (or behind switches) that holds the address.
 */
import type { Fib, FibDevice, FibRoute, RouteType } from '../netcore/fib.js';
import type { DeviceTable, NetDevice } from '../netcore/net-device.js';
import type { Cidr, VirtualNic } from './nic.js';

export type NodeKind = 'host' | 'router' | 'switch';

export interface Route {
  family: 4 | 6;
  prefix: Uint8Array;
  prefixLength: number;
  type: RouteType;
  /** Egress interface (undefined for blackhole / unreachable / prohibit). */
  nic: VirtualNic | undefined;
  gateway: Uint8Array | undefined;
  metric: number;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Whether the first `bits` bits of `a` and `b` are equal. */
export function prefixMatches(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (a[whole] & mask) === (b[whole] & mask);
}

export class Node {
  readonly nics: VirtualNic[] = [];
  readonly routes: Route[] = [];
  private readonly neighbours = new Map<string, Uint8Array>();
  /** A switch's forwarding database: MAC → port. */
  readonly macTable = new Map<string, VirtualNic>();
  readonly fib: Fib;

  constructor(
    readonly name: string,
    readonly kind: NodeKind,
    readonly forwarding: boolean,
  ) {
    this.fib = {
      device: (ifindex) => this.fibDevice(ifindex),
      route: (family, dst) => this.fibRoute(family, dst),
      neighbour: (ifindex, addr) => this.neighbour(ifindex, addr),
    };
  }

  private deviceTable: Map<number, NetDevice> | undefined;

  /** The node's interfaces by ifindex, as skb helpers see them (bpf_clone_redirect, check_mtu…). */
  get devices(): DeviceTable {
    if (this.deviceTable?.size !== this.nics.length) this.deviceTable = new Map(this.nics.map((n) => [n.ifindex, n.device]));
    return this.deviceTable;
  }

  nicByIfindex(ifindex: number): VirtualNic | undefined {
    return this.nics.find((n) => n.ifindex === ifindex);
  }

  nicByName(name: string): VirtualNic | undefined {
    return this.nics.find((n) => n.name === name);
  }

  addNeighbour(nic: VirtualNic, address: Uint8Array, mac: Uint8Array): void {
    this.neighbours.set(`${nic.ifindex}|${hex(address)}`, mac);
  }

  /** The routes of each interface's own subnets, as the kernel adds them for its addresses. */
  addConnectedRoutes(): void {
    for (const nic of this.nics) {
      for (const a of nic.addresses) {
        this.routes.push({ family: a.family, prefix: a.address, prefixLength: a.prefixLength, type: 'unicast', nic, gateway: undefined, metric: 0 });
      }
    }
  }

  /** Whether `address` is one of this node's own. */
  ownsAddress(family: 4 | 6, address: Uint8Array): boolean {
    return this.nics.some((n) => n.addresses.some((a) => a.family === family && prefixMatches(a.address, address, a.address.length * 8)));
  }

  /** Longest-prefix match, then the lowest metric. */
  lookupRoute(family: 4 | 6, dst: Uint8Array): Route | undefined {
    let best: Route | undefined;
    for (const r of this.routes) {
      if (r.family !== family || !prefixMatches(r.prefix, dst, r.prefixLength)) continue;
      if (!best || r.prefixLength > best.prefixLength || (r.prefixLength === best.prefixLength && r.metric < best.metric)) best = r;
    }
    return best;
  }

  /** The MAC of `address` on `ifindex`'s link: a static entry, else whoever holds it there. */
  neighbour(ifindex: number, address: Uint8Array): Uint8Array | undefined {
    const fixed = this.neighbours.get(`${ifindex}|${hex(address)}`);
    if (fixed) return fixed;
    const nic = this.nicByIfindex(ifindex);
    return nic ? resolveOnLink(nic, address) : undefined;
  }

  private fibDevice(ifindex: number): FibDevice | undefined {
    const nic = this.nicByIfindex(ifindex);
    if (nic) return { mac: nic.mac, mtu: nic.mtu, forwarding: this.forwarding };
    return ifindex === 1 ? { mac: new Uint8Array(6), mtu: 65536, forwarding: false } : undefined;
  }

  private fibRoute(family: 4 | 6, dst: Uint8Array): FibRoute | undefined {
    if (this.ownsAddress(family, dst)) return { type: 'local', ifindex: 1, metric: 0 };
    const r = this.lookupRoute(family, dst);
    if (!r) return undefined;
    return { type: r.type, ifindex: r.nic?.ifindex ?? 0, gateway: r.gateway, metric: r.metric };
  }
}

/** Find the interface holding `address` across `nic`'s wire, through any switches on the way. */
function resolveOnLink(nic: VirtualNic, address: Uint8Array): Uint8Array | undefined {
  const seen = new Set<VirtualNic>([nic]);
  const queue: VirtualNic[] = nic.peer ? [nic.peer] : [];
  while (queue.length > 0) {
    const other = queue.shift()!;
    if (seen.has(other)) continue;
    seen.add(other);
    if (other.addresses.some((a: Cidr) => a.address.length === address.length && prefixMatches(a.address, address, a.address.length * 8))) {
      return other.mac;
    }
    if (other.node.kind === 'switch') {
      for (const port of other.node.nics) if (port.peer && !seen.has(port.peer)) queue.push(port.peer);
    }
  }
  return undefined;
}
