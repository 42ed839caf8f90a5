/**
 * The primitives of pcap-filter(7) as conditions, built the way libpcap's gencode.c builds them
 * for an Ethernet capture read from a file (tcpdump -r): the same tests in the same order
 * (the order decides which loads run, and a load past the end of the packet rejects it).
 * Offsets are state, as in libpcap: each `vlan` moves the EtherType and the network header 4
 * bytes on for everything parsed after it.
 */
import { ETH_P_8021AD, ETH_P_8021Q, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, ETH_P_QINQ1, ETH_P_RARP, ETH_HLEN } from '../uapi/if-ether.js';
import { IPPROTO_FRAGMENT, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_IGMP, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../uapi/in.js';
import { all, and, any, not, num, or, type Arith, type Cond, type RelOp, type Size, type Value } from './ir.js';
import { filterError } from './lexer.js';

/** A protocol qualifier (`Q_DEFAULT` is 'default', `ether` and `link` are 'link'). */
export type Proto = 'default' | 'link' | 'ip' | 'ip6' | 'arp' | 'rarp' | 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmp6' | 'igmp';
/** A direction qualifier: src, dst, `src or dst` ('or', as no qualifier), `src and dst` ('and'). */
export type Dir = 'default' | 'src' | 'dst' | 'or' | 'and';

/** Largest 802.3 length (ETHERMTU): an EtherType field at most this is a length, and LLC follows. */
const ETHERMTU = 1500;
/** LLC SAPs libpcap matches as DSAP and SSAP together. */
const LLC_BOTH_SAPS = new Set([0xfe, 0x06, 0xf0]);
const TRANSPORT: ReadonlySet<Proto> = new Set(['tcp', 'udp', 'sctp', 'icmp', 'igmp']);
const PORT_PROTOS: Readonly<Partial<Record<Proto, number>>> = { tcp: IPPROTO_TCP, udp: IPPROTO_UDP, sctp: IPPROTO_SCTP };

export class Gen {
  /** Where the EtherType is (libpcap's off_linktype), and the network header (off_linkpl). */
  linktype = 12;
  linkpl = ETH_HLEN;
  /** The column of the primitive being built: the line info of its tests. */
  col = 1;

  load(size: Size, at: number, ihlAt?: number, index?: Arith): Arith {
    return { k: 'load', size, at, ihlAt, index };
  }

  rel(op: RelOp, a: Arith, b: Arith): Cond {
    return { k: 'rel', op, a, b, col: this.col };
  }

  /** gen_mcmp: (the load & mask) op v; no mask when it is all ones. */
  cmp(size: Size, at: number, v: number, mask = 0xffffffff, op: RelOp = 'eq', ihlAt?: number): Cond {
    const load = this.load(size, at, ihlAt);
    const full = size === 4 ? 0xffffffff : (1 << (8 * size)) - 1;
    const masked = ((mask & full) ^ full) !== 0;
    return this.rel(op, masked ? { k: 'bin', op: '&', a: load, b: num(mask) } : load, num(v));
  }

  /** gen_linktype for Ethernet: an EtherType, or an LLC SAP when the value is an 802.3 length. */
  linktypeIs(proto: number): Cond {
    if (proto > ETHERMTU) return this.cmp(2, this.linktype, proto);
    if (proto === 0xe0) throw filterError(this.col, 'ether proto 0xe0 (IPX over 802.2) is not supported');
    const isLength = not(this.cmp(2, this.linktype, ETHERMTU, undefined, 'gt'));
    if (LLC_BOTH_SAPS.has(proto)) return and(isLength, this.cmp(2, this.linkpl, (proto << 8) | proto));
    return and(isLength, this.cmp(1, this.linkpl, proto));
  }

  /** gen_proto(v, Q_IP): IPv4 whose protocol field is v. */
  ipProto(v: number): Cond {
    return and(this.linktypeIs(ETH_P_IP), this.cmp(1, this.linkpl + 9, v));
  }

  /** gen_proto(v, Q_IPV6): IPv6 whose next header is v, or a fragment header whose next header is v. */
  ip6Proto(v: number): Cond {
    const fragment = and(this.cmp(1, this.linkpl + 6, IPPROTO_FRAGMENT), this.cmp(1, this.linkpl + 40, v));
    return and(this.linktypeIs(ETH_P_IPV6), or(this.cmp(1, this.linkpl + 6, v), fragment));
  }

  /** gen_proto for `proto N` under a protocol qualifier. */
  proto(v: number, proto: Proto): Cond {
    if (proto === 'default') return or(this.ipProto(v), this.ip6Proto(v));
    if (proto === 'link') return this.linktypeIs(v);
    if (proto === 'ip') return this.ipProto(v);
    if (proto === 'ip6') return this.ip6Proto(v);
    throw filterError(this.col, `'${proto}' does not encapsulate another protocol`);
  }

  /** gen_proto_abbrev: a protocol name alone (`tcp`, `ip6`, `arp`). */
  abbrev(proto: Proto): Cond {
    switch (proto) {
      case 'ip': return this.linktypeIs(ETH_P_IP);
      case 'ip6': return this.linktypeIs(ETH_P_IPV6);
      case 'arp': return this.linktypeIs(ETH_P_ARP);
      case 'rarp': return this.linktypeIs(ETH_P_RARP);
      case 'tcp': return this.proto(IPPROTO_TCP, 'default');
      case 'udp': return this.proto(IPPROTO_UDP, 'default');
      case 'sctp': return this.proto(IPPROTO_SCTP, 'default');
      case 'icmp': return this.ipProto(IPPROTO_ICMP);
      case 'igmp': return this.ipProto(IPPROTO_IGMP);
      case 'icmp6': return this.ip6Proto(IPPROTO_ICMPV6);
      default: throw filterError(this.col, 'link layer applied in wrong context');
    }
  }

  /** gen_ipfrag: an IPv4 packet that is not a later fragment (fragment offset 0; MF ignored). */
  ipFirstFragment(): Cond {
    return this.cmp(2, this.linkpl + 6, 0, 0x1fff);
  }

  /** src, dst, either or both, as libpcap joins them (src first). */
  private byDir(dir: Dir, what: string, src: () => Cond, dst: () => Cond): Cond {
    if (dir === 'src') return src();
    if (dir === 'dst') return dst();
    if (dir === 'and') return and(src(), dst());
    if (dir === 'default' || dir === 'or') return or(src(), dst());
    throw filterError(this.col, `'${dir}' is not a direction for ${what}`);
  }

  /** gen_hostop: an IPv4 (or ARP/RARP) address under a mask, at the protocol's offsets. */
  private hostop4(addr: number, mask: number, dir: Dir, ethertype: number, srcOff: number, dstOff: number): Cond {
    const one = (off: number) => (): Cond => and(this.linktypeIs(ethertype), this.cmp(4, this.linkpl + off, addr, mask));
    return this.byDir(dir, 'a host', one(srcOff), one(dstOff));
  }

  /** gen_host: IPv4 hosts and networks; with no protocol, IPv4 then ARP then RARP. */
  host4(addr: number, mask: number, proto: Proto, dir: Dir, what: 'host' | 'net'): Cond {
    switch (proto) {
      case 'default':
        return any(this.host4(addr, mask, 'ip', dir, what), this.host4(addr, mask, 'arp', dir, what), this.host4(addr, mask, 'rarp', dir, what));
      case 'ip': return this.hostop4(addr, mask, dir, ETH_P_IP, 12, 16);
      case 'arp': return this.hostop4(addr, mask, dir, ETH_P_ARP, 14, 24);
      case 'rarp': return this.hostop4(addr, mask, dir, ETH_P_RARP, 14, 24);
      case 'link': throw filterError(this.col, `link-layer modifier applied to ${what}`);
      case 'ip6': throw filterError(this.col, `'ip6' modifier applied to ip ${what}`);
      default: throw filterError(this.col, `'${proto}' modifier applied to ${what}`);
    }
  }

  /** gen_host6: IPv6 hosts and networks (four masked words; words under a zero mask test nothing). */
  host6(words: readonly number[], masks: readonly number[], proto: Proto, dir: Dir, what: 'host' | 'net'): Cond {
    if (proto !== 'default' && proto !== 'ip6') throw filterError(this.col, `'${proto}' modifier applied to ip6 ${what}`);
    const one = (off: number) => (): Cond => {
      const tests = words.flatMap((w, i) => (masks[i] === 0 ? [] : [this.cmp(4, this.linkpl + off + 4 * i, w, masks[i])]));
      return all(this.linktypeIs(ETH_P_IPV6), ...tests);
    };
    return this.byDir(dir, 'a host', one(8), one(24));
  }

  /** gen_bcmp: six bytes of an Ethernet address, the last four first. */
  private macAt(off: number, mac: Uint8Array): Cond {
    const word = ((mac[2] << 24) | (mac[3] << 16) | (mac[4] << 8) | mac[5]) >>> 0;
    return and(this.cmp(4, off + 2, word), this.cmp(2, off, (mac[0] << 8) | mac[1]));
  }

  /** gen_ehostop: `ether host/src/dst`. */
  etherHost(mac: Uint8Array, dir: Dir): Cond {
    return this.byDir(dir, 'an Ethernet host', () => this.macAt(6, mac), () => this.macAt(0, mac));
  }

  /** A port test at the transport header (ports are 16 bits at 0 and 2). */
  private portAt(v4: boolean, range: readonly [number, number], off: number): Cond {
    const at = v4 ? this.linkpl + off : this.linkpl + 40 + off;
    const ihl = v4 ? this.linkpl : undefined;
    if (range[0] === range[1]) return this.cmp(2, at, range[0], undefined, 'eq', ihl);
    return and(this.cmp(2, at, range[0], undefined, 'ge', ihl), not(this.cmp(2, at, range[1], undefined, 'gt', ihl)));
  }

  /** gen_portop / gen_portop6 for one protocol. */
  private portOp(v4: boolean, ipProto: number, range: readonly [number, number], dir: Dir): Cond {
    const ports = this.byDir(dir, 'a port', () => this.portAt(v4, range, 0), () => this.portAt(v4, range, 2));
    if (v4) return and(and(this.cmp(1, this.linkpl + 9, ipProto), this.ipFirstFragment()), ports);
    return and(this.cmp(1, this.linkpl + 6, ipProto), ports);
  }

  /** gen_port(6) / gen_portrange(6): IPv6 first, then IPv4; with no protocol, SCTP, TCP, UDP. */
  port(range: readonly [number, number], proto: Proto, dir: Dir, what = 'port'): Cond {
    if (proto !== 'default' && PORT_PROTOS[proto] === undefined) throw filterError(this.col, `illegal qualifier of '${what}'`);
    const family = (v4: boolean): Cond => {
      const ops = proto === 'default'
        ? or(this.portOp(v4, IPPROTO_SCTP, range, dir), or(this.portOp(v4, IPPROTO_TCP, range, dir), this.portOp(v4, IPPROTO_UDP, range, dir)))
        : this.portOp(v4, PORT_PROTOS[proto]!, range, dir);
      return and(this.linktypeIs(v4 ? ETH_P_IP : ETH_P_IPV6), ops);
    };
    return or(family(false), family(true));
  }

  /** gen_vlan without BPF extensions (a capture file): the TPID, the VID, then offsets move on. */
  vlan(id: number | undefined): Cond {
    if (id !== undefined && id > 0x0fff) throw filterError(this.col, `VLAN tag ${id} greater than maximum 4095`);
    let test = any(this.linktypeIs(ETH_P_8021Q), this.linktypeIs(ETH_P_8021AD), this.linktypeIs(ETH_P_QINQ1));
    if (id !== undefined) test = and(test, this.cmp(2, this.linkpl, id, 0x0fff));
    this.linktype += 4;
    this.linkpl += 4;
    return test;
  }

  /** gen_broadcast. `ip broadcast` as tcpdump -r compiles it: the netmask of a file is 0. */
  broadcast(proto: Proto): Cond {
    if (proto === 'default' || proto === 'link') return this.etherHost(new Uint8Array(6).fill(0xff), 'dst');
    if (proto === 'ip') {
      return and(this.linktypeIs(ETH_P_IP), or(this.cmp(4, this.linkpl + 16, 0), this.cmp(4, this.linkpl + 16, 0xffffffff)));
    }
    throw filterError(this.col, 'only link-layer/IP broadcast filters supported');
  }

  /** gen_multicast. */
  multicast(proto: Proto): Cond {
    if (proto === 'default' || proto === 'link') return this.cmp(1, 0, 1, undefined, 'set');
    if (proto === 'ip') return and(this.linktypeIs(ETH_P_IP), this.cmp(1, this.linkpl + 16, 224, undefined, 'ge'));
    if (proto === 'ip6') return and(this.linktypeIs(ETH_P_IPV6), this.cmp(1, this.linkpl + 24, 255));
    throw filterError(this.col, `'${proto} multicast' is not supported (link-layer, ip and ip6 only)`);
  }

  /** gen_load: `proto[index : size]`, with what the protocol needs first. */
  indexed(proto: Proto, index: Value, size: Size): Value {
    if (proto === 'link' || proto === 'default') return { a: this.load(size, 0, undefined, index.a), guard: index.guard };
    if (proto === 'ip' || proto === 'ip6' || proto === 'arp' || proto === 'rarp') {
      const guard = this.abbrev(proto);
      return { a: this.load(size, this.linkpl, undefined, index.a), guard: index.guard ? and(index.guard, guard) : guard };
    }
    if (proto === 'icmp6') {
      const guard = and(this.linktypeIs(ETH_P_IPV6), this.cmp(1, this.linkpl + 6, IPPROTO_ICMPV6));
      return { a: this.load(size, this.linkpl + 40, undefined, index.a), guard: index.guard ? and(index.guard, guard) : guard };
    }
    if (!TRANSPORT.has(proto)) throw filterError(this.col, `'${proto}' cannot be indexed`);
    const own = and(this.abbrev(proto), this.ipFirstFragment());
    const guard = and(this.linktypeIs(ETH_P_IP), index.guard ? and(index.guard, own) : own);
    return { a: this.load(size, this.linkpl, this.linkpl, index.a), guard };
  }
}
