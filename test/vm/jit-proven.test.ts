/**
 * Accesses the verifier proved are compiled without the arena's check (lower-memory.ts): the
 * code is smaller, the runs the same — verdicts, packets out, maps — and an access that leaves
 * the arena anyway (a wrong proof) is a memory fault, not a crash.
 */
import { describe, expect, it } from 'vitest';
import { assemble } from '../../src/isa/asm.js';
import { decodeProgram } from '../../src/isa/instruction.js';
import { ProgramImage } from '../../src/vm/image.js';
import { compileImage } from '../../src/vm/jit/compiler.js';
import { Arena } from '../../src/vm/arena.js';
import { createEngine } from '../../src/vm/engine.js';
import { VmFault } from '../../src/vm/fault.js';
import { loadObject } from '../../src/testing/index.js';
import { randomPackets } from '../support/captures.js';
import { ip4, tcp4, tcp6, udp4, udp6 } from '../support/packets.js';

const FIREWALL = 'topologies/edge-firewall/firewall.bpf.o';
const LB = 'topologies/l4-lb/lb.bpf.o';

describe('accesses the verifier proved', () => {
  it('only a verified program is marked proven, at the instructions the verifier reached', () => {
    const verified = loadObject(FIREWALL).program('xdp_firewall').image;
    const unverified = loadObject(FIREWALL, { verify: false }).program('xdp_firewall').image;
    expect(unverified.proven).toBeUndefined();
    expect(verified.proven).toBeDefined();
    const reached = verified.proven!.reduce((n, b) => n + b, 0);
    expect(reached).toBeGreaterThan(100);
    expect(reached).toBeLessThanOrEqual(verified.slots);
  });

  it('compile to less code', () => {
    for (const [file, prog] of [[FIREWALL, 'xdp_firewall'], [LB, 'xdp_lb']]) {
      const proven = compileImage(loadObject(file).program(prog).image);
      const checked = compileImage(loadObject(file, { verify: false }).program(prog).image);
      expect(proven.bytes, `${file} ${prog}`).toBeLessThan(checked.bytes * 0.9);
    }
  });

  it('run exactly as checked code does: verdicts, packets and maps', () => {
    const parsed = Array.from({ length: 200 }, (_, i) => {
      const src = ip4(`10.${i % 7}.${i % 3}.${i}`);
      const o = { src, dport: [22, 80, 443, 53, 8080][i % 5], sport: 1024 + i, vlan: i % 9 === 0 ? 7 : undefined };
      return [tcp4(o), udp4(o), tcp6({ dport: o.dport, sport: o.sport }), udp6({ dport: o.dport })][i % 4];
    });
    const packets = [...parsed, ...randomPackets(200, 7, 14, 400)];
    for (const [file, prog] of [[FIREWALL, 'xdp_firewall'], [LB, 'xdp_lb']]) {
      const proven = loadObject(file);
      const checked = loadObject(file, { verify: false });
      for (const [i, packet] of packets.entries()) {
        const a = proven.run(prog, packet), b = checked.run(prog, packet);
        expect([a.retval, Buffer.from(a.after).toString('hex')], `${file} packet ${i}`).toEqual([b.retval, Buffer.from(b.after).toString('hex')]);
      }
      for (const map of proven.collection.maps.keys()) {
        expect(proven.map(map).entries(), `${file} map ${map}`).toEqual(checked.map(map).entries());
      }
    }
  });

  it('an access a wrong proof let leave the arena is a memory fault', () => {
    // r1 = 0xfffffff0; r0 = *(u32 *)(r1 + 0): outside any arena's memory.
    const bytes = assemble('lddw %r1, 0xfffffff0\nldxw %r0, [%r1]\nexit');
    const program = decodeProgram(bytes);
    const image = new ProgramImage('wrong_proof', program, new Uint8Array(program.slots).fill(1));
    const engine = createEngine('jit', new Arena(), { lookup: () => undefined });
    let fault: unknown;
    try {
      engine.run(image);
    } catch (err) {
      fault = err;
    }
    expect(fault).toBeInstanceOf(VmFault);
    expect((fault as VmFault).reason).toBe('MEMORY');
    expect((fault as VmFault).message).toMatch(/verifier proved it safe/);
  });
});
