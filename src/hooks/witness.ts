/**
 * findWitness: a packet that shows what a verifier refusal protects against. The verifier
 * refuses what it cannot prove safe on every path; a witness is a concrete frame on which the
 * program, loaded without verification and run as BPF_PROG_TEST_RUN runs it, does fault (reads
 * past the packet, dereferences a NULL map value …). Finding none proves nothing: the kernel
 * refuses what it cannot prove, not only what fails.
 *
 * Candidates, in order: the caller's frames (a capture's), then common headers (Ethernet +
 * IPv4/IPv6 + TCP/UDP/ICMP, VLAN-tagged) cut at every length, then
 * zero and all-ones frames of those lengths — the first to fault is the witness.
 */
import { VmFault } from '../vm/fault.js';
import type { Program } from '../runtime/program.js';
import type { Runtime } from '../runtime/runtime.js';
import { buildPacket } from '../packet/build.js';
import { eth, icmp, ipv4, ipv6, payload, tcp, udp, vlan, type Layer } from '../packet/layers.js';
import { ETH_HLEN } from '../uapi/if-ether.js';
import { testRun } from './test-run.js';

export interface Witness {
  /** The frame that faults. */
  frame: Uint8Array;
  /** Where it came from: "capture packet 3", "IPv4/TCP cut to 34 bytes". */
  origin: string;
  fault: VmFault;
}

export interface WitnessSearch {
  witness?: Witness;
  /** How many frames were run. */
  tried: number;
}

const MAC = { src: '02:00:00:00:00:01', dst: '02:00:00:00:00:02' };
const BODY = payload(new Uint8Array(64).fill(0x41));

/** Whole frames of the common protocols, each to be cut at every length up to its own. */
const TEMPLATES: readonly [string, Layer[]][] = [
  ['IPv4/TCP', [eth(MAC), ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }), tcp({ sport: 40000, dport: 80, flags: 'S' }), BODY]],
  ['IPv4/UDP', [eth(MAC), ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }), udp({ sport: 40000, dport: 53 }), BODY]],
  ['IPv4/ICMP', [eth(MAC), ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }), icmp({ type: 8, code: 0 }), BODY]],
  ['IPv6/TCP', [eth(MAC), ipv6({ src: 'fd00::1', dst: 'fd00::2' }), tcp({ sport: 40000, dport: 80, flags: 'S' }), BODY]],
  ['IPv6/UDP', [eth(MAC), ipv6({ src: 'fd00::1', dst: 'fd00::2' }), udp({ sport: 40000, dport: 53 }), BODY]],
  ['VLAN/IPv4/TCP', [eth(MAC), vlan({ vid: 10 }), ipv4({ src: '10.0.0.1', dst: '10.0.0.2' }), tcp({ sport: 40000, dport: 80, flags: 'S' }), BODY]],
];

/** Lengths every filler is tried at: inside and at the end of each common header, and larger. */
const FILL_LENGTHS = [14, 15, 18, 20, 33, 34, 38, 41, 42, 53, 54, 60, 64, 128, 256, 512, 1024, 1500];

function* candidates(extra: readonly Uint8Array[]): Generator<[string, Uint8Array]> {
  for (const [i, frame] of extra.entries()) yield [`capture packet ${i + 1}`, frame];
  for (const [name, layers] of TEMPLATES) {
    const whole = buildPacket(layers);
    for (let len = ETH_HLEN; len <= whole.length; len++) yield [len === whole.length ? name : `${name} cut to ${len} bytes`, whole.subarray(0, len)];
  }
  for (const [name, fill] of [['zero', 0], ['all-ones', 0xff]] as const) {
    for (const len of FILL_LENGTHS) yield [`${len} ${name} bytes`, new Uint8Array(len).fill(fill)];
  }
}

/** Run the candidates through `program` (loaded without verification) until one faults. */
export function findWitness(runtime: Runtime, program: Program, extra: readonly Uint8Array[] = []): WitnessSearch {
  let tried = 0;
  for (const [origin, frame] of candidates(extra)) {
    // BPF_PROG_TEST_RUN takes no frame shorter than an Ethernet header: nor does a device.
    if (frame.length < ETH_HLEN) continue;
    tried++;
    try {
      testRun(runtime, program, { data: frame });
    } catch (err) {
      if (!(err instanceof VmFault)) throw err;
      // Running out of instructions is the budget's doing, not the program's: not a witness.
      if (err.reason !== 'BUDGET') return { witness: { frame: frame.slice(), origin, fault: err }, tried };
    }
  }
  return { tried };
}
