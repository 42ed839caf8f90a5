/**
 * Network devices as helpers and hooks see them (the fields of struct net_device they read), and
 * the device table a run names them in by ifindex.
 */
import { ETH_HLEN } from '../uapi/if-ether.js';

/** A network device as helpers see it. */
export interface NetDevice {
  ifindex: number;
  name: string;
  /** L3 MTU. */
  mtu: number;
  /** dev->hard_header_len (14 for Ethernet and the loopback). */
  hardHeaderLen: number;
  /** dev_addr (6 bytes). */
  mac: Uint8Array;
  /** dev->broadcast (the loopback's is all zeros). */
  broadcast: Uint8Array;
  /** IFF_UP. */
  up: boolean;
  /** False for devices without an L2 header (dev_is_mac_header_xmit). */
  macHeaderXmit: boolean;
}

/** The loopback device every network namespace has: ifindex 1, MTU 65536, MAC 0. */
export const LOOPBACK: NetDevice = Object.freeze({
  ifindex: 1, name: 'lo', mtu: 65536, hardHeaderLen: ETH_HLEN, mac: new Uint8Array(6), broadcast: new Uint8Array(6), up: true, macHeaderXmit: true,
});

/** Devices by ifindex; the loopback is there unless replaced. */
export type DeviceTable = ReadonlyMap<number, NetDevice>;

export function deviceByIndex(table: DeviceTable | undefined, ifindex: number): NetDevice | undefined {
  return table?.get(ifindex) ?? (ifindex === 1 ? LOOPBACK : undefined);
}

/** An Ethernet device for a device table. */
export function ethernetDevice(ifindex: number, name: string, mac: Uint8Array, mtu = 1500, up = true): NetDevice {
  return { ifindex, name, mtu, hardHeaderLen: ETH_HLEN, mac, broadcast: new Uint8Array(6).fill(0xff), up, macHeaderXmit: true };
}
