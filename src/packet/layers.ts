/**
 * Packet layers as plain data: what `buildPacket` takes and `parsePacket` gives back. Fields
 * a builder can work out (EtherTypes, protocol numbers, lengths, checksums) are optional: left
 * out, they are filled in correctly; given, they are written as given (to build bad packets).
 * A parsed layer has every field. Addresses are text; everything is JSON-friendly but byte
 * strings (Uint8Array).
 */
import { XdplabError } from '../errors.js';
import { TCP_FLAGS } from './constants.js';

export interface EthLayer {
  kind: 'eth';
  dst: string;
  src: string;
  /** EtherType (or TPID of a following VLAN tag). Default: from the next layer. */
  type?: number;
}

export interface VlanLayer {
  kind: 'vlan';
  vid: number;
  /** Priority code point (0–7). Default 0. */
  pcp?: number;
  /** Drop eligible indicator (0/1). Default 0. */
  dei?: number;
  /**
   * The TPID that announces this tag (written in the previous layer's type field): 0x8100
   * (802.1Q, default) or 0x88a8 (802.1ad). Parsed from that field.
   */
  tpid?: number;
  /** EtherType of what follows. Default: from the next layer. */
  type?: number;
}

/** ARP for IPv4 over Ethernet (htype 1, ptype 0x0800). */
export interface ArpLayer {
  kind: 'arp';
  /** ARPOP_REQUEST (1) or ARPOP_REPLY (2). */
  op: number;
  senderMac: string;
  senderIp: string;
  /** Default 00:00:00:00:00:00. */
  targetMac?: string;
  targetIp: string;
}

export interface Ipv4Layer {
  kind: 'ipv4';
  src: string;
  dst: string;
  /** Default 64. */
  ttl?: number;
  /** The DSCP/ECN byte. Default 0. */
  tos?: number;
  /** Default 0. */
  id?: number;
  /** Don't-fragment / more-fragments flags. Default false. */
  df?: boolean;
  mf?: boolean;
  /** Fragment offset in 8-byte units. Default 0. */
  fragOffset?: number;
  /** Default: from the next layer. */
  protocol?: number;
  /** Option bytes, zero-padded to a multiple of 4 (at most 40). */
  options?: Uint8Array;
  /** Default: header + everything after it (but padding). */
  totalLength?: number;
  /** Default: computed. */
  checksum?: number;
}

export interface Ipv6Layer {
  kind: 'ipv6';
  src: string;
  dst: string;
  /** Default 64. */
  hopLimit?: number;
  /** Default 0. */
  trafficClass?: number;
  /** Default 0. */
  flowLabel?: number;
  /** Default: from the next layer. */
  nextHeader?: number;
  /** Default: everything after the header (but padding). */
  payloadLength?: number;
}

export interface TcpLayer {
  kind: 'tcp';
  sport: number;
  dport: number;
  /** Default 0. */
  seq?: number;
  /** Default 0. */
  ack?: number;
  /** Letters of FSRPAUEC (scapy's), in any order, or the flags byte. Default 'S'. Parsed as letters in that order. */
  flags?: string | number;
  /** Default 65535. */
  window?: number;
  /** Default 0. */
  urgent?: number;
  /** Option bytes, zero-padded to a multiple of 4 (at most 40). */
  options?: Uint8Array;
  /** Default: computed. */
  checksum?: number;
}

export interface UdpLayer {
  kind: 'udp';
  sport: number;
  dport: number;
  /** Default: header + everything after it (but padding). */
  length?: number;
  /** Default: computed (0 is sent as 0xffff). Give 0 for "no checksum" over IPv4. */
  checksum?: number;
}

/** ICMP (type 8/0 echo by id and seq: the 4 bytes after the checksum as two 16-bit fields). */
export interface IcmpLayer {
  kind: 'icmp';
  type: number;
  /** Default 0. */
  code?: number;
  /** The first and second 16 bits of the rest of the header. Default 0. */
  id?: number;
  seq?: number;
  /** Default: computed. */
  checksum?: number;
}

export interface Icmpv6Layer {
  kind: 'icmpv6';
  type: number;
  code?: number;
  id?: number;
  seq?: number;
  checksum?: number;
}

export interface PayloadLayer {
  kind: 'payload';
  data: Uint8Array;
}

/** Bytes after the IP packet's end (Ethernet padding to 60 bytes): in no length or checksum. */
export interface PaddingLayer {
  kind: 'padding';
  data: Uint8Array;
}

export type Layer = EthLayer | VlanLayer | ArpLayer | Ipv4Layer | Ipv6Layer | TcpLayer | UdpLayer | IcmpLayer | Icmpv6Layer | PayloadLayer | PaddingLayer;

type Fields<L extends Layer> = Omit<L, 'kind'>;

export const eth = (f: Fields<EthLayer>): EthLayer => ({ kind: 'eth', ...f });
export const vlan = (f: Fields<VlanLayer>): VlanLayer => ({ kind: 'vlan', ...f });
export const arp = (f: Fields<ArpLayer>): ArpLayer => ({ kind: 'arp', ...f });
export const ipv4 = (f: Fields<Ipv4Layer>): Ipv4Layer => ({ kind: 'ipv4', ...f });
export const ipv6 = (f: Fields<Ipv6Layer>): Ipv6Layer => ({ kind: 'ipv6', ...f });
export const tcp = (f: Fields<TcpLayer>): TcpLayer => ({ kind: 'tcp', ...f });
export const udp = (f: Fields<UdpLayer>): UdpLayer => ({ kind: 'udp', ...f });
export const icmp = (f: Fields<IcmpLayer>): IcmpLayer => ({ kind: 'icmp', ...f });
export const icmpv6 = (f: Fields<Icmpv6Layer>): Icmpv6Layer => ({ kind: 'icmpv6', ...f });

const utf8 = new TextEncoder();

/** Payload bytes: a string (UTF-8), bytes, or a list of byte values. */
export const payload = (data: string | Uint8Array | readonly number[]): PayloadLayer => ({
  kind: 'payload',
  data: typeof data === 'string' ? utf8.encode(data) : Uint8Array.from(data),
});

/** `n` zero bytes of padding, or the given bytes. */
export const padding = (data: number | Uint8Array): PaddingLayer => ({ kind: 'padding', data: typeof data === 'number' ? new Uint8Array(data) : data });

const LETTERS = Object.keys(TCP_FLAGS) as (keyof typeof TCP_FLAGS)[];

/** TCP flags as letters ('SA') to the flags byte; a number passes through. */
export function tcpFlagsValue(flags: string | number): number {
  if (typeof flags === 'number') return flags & 0xff;
  let v = 0;
  for (const c of flags.toUpperCase()) {
    const bit = TCP_FLAGS[c as keyof typeof TCP_FLAGS];
    if (bit === undefined) throw new XdplabError('BAD_INPUT', `TCP flags '${flags}': '${c}' is not one of ${LETTERS.join('')}`);
    v |= bit;
  }
  return v;
}

/** The flags byte as letters in FSRPAUEC order ('' for none). */
export function tcpFlagsText(value: number): string {
  let s = '';
  for (const c of LETTERS) if (value & TCP_FLAGS[c]) s += c;
  return s;
}
