/**
 * VirtualNic: one interface of a node — its addresses, its place on a wire, and the programs
 * attached to its hooks (one XDP program; TC programs per direction, run in order as tcx runs
 * them).
 */
import { ethernetDevice, type NetDevice } from '../netcore/net-device.js';
import type { Program } from '../runtime/program.js';
import type { Node } from './node.js';

export type HookName = 'xdp' | 'tc-ingress' | 'tc-egress';
export const HOOKS: readonly HookName[] = ['xdp', 'tc-ingress', 'tc-egress'];

/** An address with its prefix length, as configured on an interface. */
export interface Cidr {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  address: Uint8Array;
  prefixLength: number;
  text: string;
}

export interface Attached {
  program: Program;
  /** The topology's name for it (programs[].name). */
  name: string;
  order: number;
}

export class VirtualNic {
  /** The interface on the other end of the wire, if the wire is connected. */
  peer: VirtualNic | undefined;
  xdp: Attached | undefined;
  readonly tcIngress: Attached[] = [];
  readonly tcEgress: Attached[] = [];
  readonly device: NetDevice;
  /** node/iface, as topology files and outputs name it. */
  readonly id: string;
  /** The host interface this one is live on (topology `live:`), instead of a wire to a peer. */
  host: string | undefined;
  /** Where frames it sends go when it is live on a host interface (set while a run captures there). */
  hostWire: ((frame: Uint8Array) => void) | undefined;

  constructor(
    readonly node: Node,
    readonly name: string,
    readonly ifindex: number,
    readonly mac: Uint8Array,
    readonly addresses: readonly Cidr[],
    readonly mtu: number,
    readonly rxQueues: number,
  ) {
    this.device = ethernetDevice(ifindex, name, mac, mtu);
    this.id = `${node.name}/${name}`;
  }

  attach(hook: HookName, attached: Attached): void {
    if (hook === 'xdp') {
      this.xdp = attached;
      return;
    }
    const list = hook === 'tc-ingress' ? this.tcIngress : this.tcEgress;
    list.push(attached);
    list.sort((a, b) => a.order - b.order);
  }
}
