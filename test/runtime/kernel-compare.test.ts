/**
 * The project's own clang-built objects, run in xdplab and in the kernel (live as root, else
 * its answers recorded in test/fixtures/kernel/runtime/kernel-compare.json): the same return
 * values, output packets and map contents, packet after packet.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { testRun } from '../../src/hooks/test-run.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { KernelRecord } from '../support/kernel-record.js';
import { repoRoot } from '../support/conformance.js';

const fixture = (name: string): string => path.join(repoRoot, 'test', 'fixtures', 'bpf', name);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** An Ethernet frame whose first byte is `tag` (the fixtures key on it). */
function frame(tag: number, length = 64): Uint8Array {
  const f = new Uint8Array(length);
  f[0] = tag;
  f[12] = 0x08;
  return f;
}

interface Case {
  object: string;
  program: string;
  packets: Uint8Array[];
  /** Maps whose contents must match after all the packets. */
  maps: string[];
  /** Expected return values in xdplab alone (checked even without the kernel). */
  expect?: number[];
}

const CASES: Case[] = [
  { object: 'rt-maps.bpf.o', program: 'hash_ops', packets: [frame(5), frame(6)], maps: ['hash'], expect: [1599, 1576] },
  { object: 'rt-maps.bpf.o', program: 'array_ops', packets: [frame(3), frame(3), frame(11)], maps: ['arr'] },
  { object: 'rt-maps.bpf.o', program: 'lpm_ops', packets: [frame(5), frame(200)], maps: ['lpm'], expect: [124080, 124080] },
  { object: 'rt-maps.bpf.o', program: 'queue_ops', packets: [frame(0)], maps: [], expect: [11121243] },
  { object: 'rt-maps.bpf.o', program: 'lru_ops', packets: [frame(1), frame(100)], maps: ['lru'], expect: [8, 8] },
  { object: 'xdp-count.bpf.o', program: 'xdp_count', packets: [frame(0, 14), ipv4(6), ipv4(17), ipv4(1), ipv4(6)], maps: ['proto_count'] },
  { object: 'core-fields.bpf.o', program: 'core_fields', packets: [0x45, 0x46, 0x65].map(ipHeaderByte), maps: [], expect: [3, 7170, 7201] },
  // Flavored and partial types relocate to the kernel's layout; what the kernel lacks does not exist.
  { object: 'core-flavors.bpf.o', program: 'core_flavors', packets: [frame(0, 14), ttlDaddr(64, 2), ttlDaddr(1, 3)], maps: [], expect: [266246, 604246022, 806621190] },
  // __kconfig externs: the kernel version, CONFIG_BPF_JIT=y, weak options the kernel lacks read 0.
  // A uapi type newer than the uapi headers (vmlinux.h's bpf_fib_lookup with `mark`) still relocates.
  { object: 'core-flavors.bpf.o', program: 'core_newer_uapi', packets: [frame(0)], maps: [], expect: [783] },
  // An XSKMAP with no AF_XDP socket bound: lookups find nothing, bpf_redirect_map falls back.
  { object: 'xsk-redirect.bpf.o', program: 'xsk_steer', packets: [frame(0), frame(1)], maps: ['seen'], expect: [2, 2] },
  { object: 'kconfig.bpf.o', program: 'kconfig_gate', packets: [frame(0)], maps: [], expect: [7] },
  { object: 'rt-tailcall.bpf.o', program: 'entry', packets: [frame(0), frame(1)], maps: ['hits'], expect: [3, 3] },
  { object: 'rt-tailcall.bpf.o', program: 'self_loop', packets: [frame(0)], maps: ['hits'], expect: [2] },
  // Only tail calls that happen count toward the 33; a chain whose links call subprograms.
  { object: 'rt-tailcall-count.bpf.o', program: 'empty_burn', packets: [frame(0)], maps: ['hits'], expect: [7] },
  { object: 'rt-tailcall-count.bpf.o', program: 'empty_32', packets: [frame(0)], maps: ['hits'], expect: [7] },
  { object: 'rt-tailcall-count.bpf.o', program: 'range_burn', packets: [frame(0)], maps: ['hits'], expect: [7] },
  { object: 'rt-tailcall-count.bpf.o', program: 'sub_chain', packets: [frame(0), frame(1)], maps: ['hits'], expect: [7, 7] },
  { object: 'rt-helpers.bpf.o', program: 'callbacks', packets: [frame(0)], maps: ['out', 'table'], expect: [2] },
  { object: 'rt-helpers.bpf.o', program: 'strings', packets: [frame(0)], maps: ['out'], expect: [2] },
  { object: 'rt-helpers.bpf.o', program: 'map_in_map', packets: [frame(0)], maps: ['inner_a', 'inner_b'], expect: [3] },
  { object: 'rt-helpers.bpf.o', program: 'redirect_dev', packets: [frame(0), frame(3)], maps: [], expect: [1, 1] },
  { object: 'rt-helpers.bpf.o', program: 'redirect_cpu', packets: [frame(0)], maps: [], expect: [2] },
  { object: 'rt-helpers.bpf.o', program: 'ringbuf', packets: [frame(0)], maps: ['out'], expect: [2] },
  { object: 'rt-perf.bpf.o', program: 'pe', packets: [frame(0)], maps: [], expect: [2] },
  // Host-independent bpf_fib_lookup answers: no such device, an unsupported family.
  { object: 'rt-fib.bpf.o', program: 'fib', packets: [fibPacket([0, 99, 0])], maps: ['out'], expect: [2] },
  { object: 'rt-fib.bpf.o', program: 'fib', packets: [fibPacket([0xee, 1, 0])], maps: ['out'], expect: [2] },
  { object: 'globals.bpf.o', program: 'xdp_scan', packets: [frame(1), frame(2), frame(3)], maps: ['globals.data', 'globals.bss'] },
];

/** A frame with source MAC ending in 7 and the given first IPv4 header byte (version, ihl). */
function ipHeaderByte(b: number): Uint8Array {
  const f = frame(0, 64);
  f[11] = 7;
  f[14] = b;
  return f;
}

/** IPv4 to 10.9.8.7; the destination MAC's first bytes steer rt-fib (family, ifindex, flags). */
function fibPacket(head: number[]): Uint8Array {
  const f = ipv4(17);
  f.set(head, 0);
  f.set([10, 9, 8, 7], 30);
  return f;
}

/** An IPv4/UDP frame with that TTL and that last byte of the destination address. */
function ttlDaddr(ttl: number, lastByte: number): Uint8Array {
  const f = ipv4(17);
  f[22] = ttl;
  f.set([10, 0, 0, lastByte], 30);
  return f;
}

function ipv4(protocol: number): Uint8Array {
  const f = frame(0, 64);
  f[12] = 0x08; f[13] = 0x00; f[14] = 0x45; f[23] = protocol;
  return f;
}

describe('xdplab runs the project\'s objects', () => {
  it.each(CASES.filter((c) => c.expect))('$object $program returns what the kernel returned when the test was written', (c) => {
    const runtime = new Runtime({ perfReaders: false }); // as BPF_PROG_TEST_RUN
    const collection = Collection.load(runtime, loadCollectionSpec(new Uint8Array(readFileSync(fixture(c.object))), fixture(c.object)));
    const program = collection.program(c.program);
    const got = c.packets.map((data) => testRun(runtime, program, { data }).retval);
    expect(got).toEqual(c.expect);
  });
});

const record = KernelRecord.for(import.meta.url);

describe('xdplab agrees with the kernel (BPF_PROG_TEST_RUN)', () => {
  it.each(CASES)('$object $program', (c) => {
    const kernel = record.object(fixture(c.object));
    const runtime = new Runtime({ perfReaders: false }); // as BPF_PROG_TEST_RUN
    const collection = Collection.load(runtime, loadCollectionSpec(new Uint8Array(readFileSync(fixture(c.object))), fixture(c.object)));
    const program = collection.program(c.program);
    for (const [i, data] of c.packets.entries()) {
      const want = kernel.mustRun(c.program, { data });
      const got = testRun(runtime, program, { data });
      expect({ packet: i, retval: got.retval, data: hex(got.dataOut) }).toEqual({ packet: i, retval: want.retval, data: hex(want.dataOut) });
    }
    for (const name of c.maps) {
      const want = kernel.dumpMap(name);
      const got = [...collection.map(name).entries()].map(([key, value]) => ({ key: hex(key), value: hex(value) }));
      expect({ map: name, entries: got }).toEqual({ map: name, entries: want });
    }
    kernel.close();
  });
});
