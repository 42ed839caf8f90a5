/**
 * `xdplab demo`: a quick look at the core (what `npm start` showed before the emulator had a
 * default scenario). It assembles a small packet parser, prints its disassembly, and runs it
 * on an Ethernet frame.
 */
import { assemble } from '../isa/asm.js';
import { disassembleLines } from '../isa/disasm.js';
import { decodeProgram } from '../isa/instruction.js';
import { RawRunner } from '../vm/raw-runner.js';
import type { Io } from './main.js';

/** Returns 1 (XDP_DROP) for IPv4 TCP to port 22, 2 (XDP_PASS) otherwise. r1 = frame, r2 = length. */
export const DEMO_SOURCE = `
  mov %r0, 2            # XDP_PASS unless proven otherwise
  jlt %r2, 38, done     # need Ethernet (14) + IPv4 (20) + the TCP ports (4)
  ldxh %r3, [%r1+12]    # EtherType, network order
  be16 %r3
  jne %r3, 0x0800, done
  ldxb %r3, [%r1+23]    # IPv4 protocol
  jne %r3, 6, done
  ldxb %r4, [%r1+14]    # IHL: header length in 32-bit words
  and %r4, 0x0f
  lsh %r4, 2
  add %r4, 14
  mov %r5, %r4
  add %r5, 4
  jgt %r5, %r2, done
  add %r1, %r4
  ldxh %r3, [%r1+2]     # TCP destination port
  be16 %r3
  jne %r3, 22, done
  mov %r0, 1            # XDP_DROP
done:
  exit
`;

function frame(dstPort: number): Uint8Array {
  const bytes = new Uint8Array(54);
  const view = new DataView(bytes.buffer);
  view.setUint16(12, 0x0800); // IPv4
  bytes[14] = 0x45; // version 4, IHL 5
  bytes[23] = 6; // TCP
  view.setUint16(34, 40000); // source port
  view.setUint16(36, dstPort);
  return bytes;
}

export function runDemo(io: Io): void {
  const program = assemble(DEMO_SOURCE);
  io.out('xdplab — the eBPF core: an SSH-dropping filter, assembled, disassembled and run.\n\n');
  io.out(disassembleLines(decodeProgram(program)).join('\n') + '\n\n');
  const runner = new RawRunner();
  for (const port of [22, 80]) {
    const { r0, executed } = runner.run(program, frame(port), 'ssh-filter');
    const verdict = r0 === 1n ? 'XDP_DROP' : r0 === 2n ? 'XDP_PASS' : `r0=${r0}`;
    io.out(`TCP to port ${String(port).padEnd(3)} -> ${verdict.padEnd(9)} (${executed} instructions)\n`);
  }
  io.out('\nNext: `xdplab exec FILE.s --mem HEX`, `xdplab disasm OBJ.o`, `xdplab asm FILE.s -o FILE.bin`.\n');
}
