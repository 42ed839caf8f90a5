/**
 * xdplab/testing: BPF programs under test without root. Load an object (globals and maps
 * seeded with typed values), build packets, run programs, read maps back; assert with the
 * matchers (`import 'xdplab/testing/vitest'`). docs/testing.md walks through it.
 */
export { loadObject, TestObject, TypedMap, type LoadObjectOptions, type RunOptions, type RunOutcome } from './object.js';
export { matchers, context, type MatcherResult, type RunMatchers } from './matchers.js';
export { describePacket, diffPackets } from './packet-diff.js';
export {
  buildPacket, parsePacket, eth, vlan, arp, ipv4, ipv6, tcp, udp, icmp, icmpv6, payload, padding, type Layer,
} from '../packet/index.js';
