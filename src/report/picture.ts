/**
 * The network as the report draws it (TopologyPicture): from a loaded topology, or the one
 * device and hook of a replay.
 */
import path from 'node:path';
import type { Network } from '../net/network.js';
import type { Attached, VirtualNic } from '../net/nic.js';
import type { TrafficSource } from '../topology/load.js';
import type { TopologyPicture } from './types.js';

const label = (a: Attached): string => (a.name === a.program.name ? a.name : `${a.name} (${a.program.name})`);

function hooksOf(nic: VirtualNic): Array<{ hook: string; programs: string[] }> {
  const hooks: Array<{ hook: string; programs: string[] }> = [];
  if (nic.xdp) hooks.push({ hook: 'xdp', programs: [label(nic.xdp)] });
  if (nic.tcIngress.length) hooks.push({ hook: 'tc-ingress', programs: nic.tcIngress.map(label) });
  if (nic.tcEgress.length) hooks.push({ hook: 'tc-egress', programs: nic.tcEgress.map(label) });
  return hooks;
}

/** A topology's nodes, interfaces, attachments, wires and captures. */
export function networkPicture(network: Network, traffic: readonly TrafficSource[] = []): TopologyPicture {
  const links: Array<[string, string]> = [];
  for (const nic of network.interfaces) if (nic.peer && nic.id < nic.peer.id) links.push([nic.id, nic.peer.id]);
  return {
    nodes: network.nodes.map((node) => ({
      name: node.name,
      kind: node.kind,
      nics: node.nics.map((nic) => ({ name: nic.name, id: nic.id, ...(nic.host ? { host: nic.host } : {}), hooks: hooksOf(nic) })),
    })),
    links,
    traffic: traffic.map((t) => ({ nic: t.into.id, pcap: path.basename(t.pcap) })),
  };
}

/** A replay: one device (eth0, or the host interface of --live) with the program at its hook, fed by the capture. */
export function replayPicture(object: string, program: string, hook: string, device: string, input: string): TopologyPicture {
  const node = path.basename(object);
  return {
    nodes: [{ name: node, kind: 'replay', nics: [{ name: device, id: `${node}/${device}`, hooks: [{ hook, programs: [program] }] }] }],
    links: [],
    traffic: [{ nic: `${node}/${device}`, pcap: path.basename(input) }],
  };
}
