/**
 * Frames for the firewall's tests, built with src/packet's builder: every kind the rules
 * program tells apart (IPv4 and IPv6; TCP, UDP, SCTP, ICMP, ICMPv6, another protocol; a VLAN
 * tag; IPv4 options; a fragment after the first; ARP; headers cut short), over a few addresses
 * and ports, so that each rule of a set and the default all get packets.
 */
import { arp, buildPacket, eth, ipv4, ipv6, payload, tcp, udp, icmp, icmpv6, vlan, type Layer } from '../../src/packet/index.js';

const ETH = eth({ src: '02:00:00:00:00:fe', dst: '02:00:00:00:00:01' });

export interface FlowSpec {
  v6?: boolean;
  src: string;
  dst: string;
  /** tcp, udp, sctp, icmp, icmpv6, or a protocol number with 8 bytes of payload. */
  proto: 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6' | number;
  sport?: number;
  dport?: number;
  vlan?: number;
  fragment?: boolean;
  options?: boolean;
  /** Cut the frame to this many bytes. */
  cut?: number;
}

function l4(f: FlowSpec): Layer[] {
  const sport = f.sport ?? 40000;
  const dport = f.dport ?? 80;
  switch (f.proto) {
    case 'tcp': return [tcp({ sport, dport, flags: 'S' })];
    case 'udp': return [udp({ sport, dport }), payload('xdplab')];
    case 'icmp': return [icmp({ type: 8, id: 1, seq: 1 })];
    case 'icmpv6': return [icmpv6({ type: 128, id: 1, seq: 1 })];
    case 'sctp': {
      const b = new Uint8Array(12);
      new DataView(b.buffer).setUint16(0, sport);
      new DataView(b.buffer).setUint16(2, dport);
      return [payload(b)];
    }
    default: return [payload(new Uint8Array(8).fill(0x5a))];
  }
}

const PROTO_NUMBERS: Record<string, number> = { tcp: 6, udp: 17, sctp: 132, icmp: 1, icmpv6: 58 };

export function frame(f: FlowSpec): Uint8Array {
  const protocol = typeof f.proto === 'number' ? f.proto : PROTO_NUMBERS[f.proto];
  const ip = f.v6
    ? ipv6({ src: f.src, dst: f.dst, nextHeader: protocol })
    : ipv4({ src: f.src, dst: f.dst, protocol, fragOffset: f.fragment ? 185 : 0, options: f.options ? new Uint8Array(8).fill(1) : undefined });
  const layers: Layer[] = [ETH, ...(f.vlan !== undefined ? [vlan({ vid: f.vlan })] : []), ip, ...l4(f)];
  const bytes = buildPacket(layers);
  return f.cut !== undefined ? bytes.slice(0, f.cut) : bytes;
}

export const arpFrame = (): Uint8Array => buildPacket([
  eth({ src: '02:00:00:00:00:fe', dst: 'ff:ff:ff:ff:ff:ff' }),
  arp({ op: 1, senderMac: '02:00:00:00:00:fe', senderIp: '10.0.0.254', targetMac: '00:00:00:00:00:00', targetIp: '10.0.0.1' }),
]);

/** A deterministic pseudo-random sequence (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** `n` frames drawn from the address and port pools (the rules' own, so rules get hits). */
export function mixedFrames(n: number, seed: number, pools: { v4: string[]; v6: string[]; ports: number[] }): Uint8Array[] {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const out: Uint8Array[] = [arpFrame()];
  for (let i = 0; i < n; i++) {
    const v6 = rnd() < 0.4;
    const protos = v6 ? ['tcp', 'udp', 'sctp', 'icmpv6', 47] as const : ['tcp', 'udp', 'sctp', 'icmp', 47] as const;
    const spec: FlowSpec = {
      v6,
      src: pick(v6 ? pools.v6 : pools.v4),
      dst: pick(v6 ? pools.v6 : pools.v4),
      proto: pick(protos),
      sport: pick(pools.ports),
      dport: pick(pools.ports),
    };
    const r = rnd();
    if (r < 0.05) spec.vlan = 10;
    else if (r < 0.08 && !v6) spec.fragment = true;
    else if (r < 0.11 && !v6) spec.options = true;
    const bytes = frame(spec);
    out.push(r > 0.97 ? bytes.slice(0, 14 + (v6 ? 40 : 20) + 2) : bytes);
  }
  return out;
}
