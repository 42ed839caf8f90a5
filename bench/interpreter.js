// The interpreter's speed: instructions per second on a loop-heavy program, against the
// kernel's JIT on the same object, and the value representation it rests on (int32 pairs)
// against BigInt, both measured in this run.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseElf, RawRunner } from '../dist/index.js';
import { fmt, kernelRun, kernelUnavailableReason, measure, readBytes } from './lib.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const LOOP_OBJECT = path.join(here, 'programs', 'loop.bpf.o');
const PACKET = new Uint8Array(64);

/** The loop program reads ctx->data and ctx->data_end: a 64-byte packet's bounds. */
function contextMemory() {
  const mem = new Uint8Array(16);
  const view = new DataView(mem.buffer);
  view.setUint32(0, 0x1000, true);
  view.setUint32(4, 0x1000 + PACKET.length, true);
  return mem;
}

/** 64-bit add / xor / shift / multiply-by-constant, the loop's mix, in both representations. */
function int32PairMix(iterations) {
  let lo = 64, hi = 0;
  for (let i = 0; i < iterations; i++) {
    // acc = acc * 31 + i
    const mlo = Math.imul(lo, 31);
    const carry = Math.floor(((lo >>> 0) * 31) / 4294967296);
    hi = (Math.imul(hi, 31) + carry) | 0;
    const r = (mlo + i) | 0;
    if (r >>> 0 < mlo >>> 0) hi = (hi + 1) | 0;
    lo = r;
    // acc ^= acc >> 7
    lo ^= (lo >>> 7) | (hi << 25);
    hi ^= hi >>> 7;
  }
  return lo ^ hi;
}

function bigIntMix(iterations) {
  let acc = 64n;
  for (let i = 0; i < iterations; i++) {
    acc = BigInt.asUintN(64, acc * 31n + BigInt(i));
    acc ^= acc >> 7n;
  }
  return acc;
}

export async function benchInterpreter() {
  const elf = parseElf(readBytes(LOOP_OBJECT), LOOP_OBJECT);
  const program = elf.sections.find((s) => s.name === 'xdp').data;
  const runner = new RawRunner();
  const mem = contextMemory();
  const first = runner.run(program, mem, 'loop');
  const executed = first.executed;

  const interp = await measure('interpreter: loop.bpf.o', () => runner.run(program, mem, 'loop'));
  const insnPerSec = interp.hz * executed;

  const pair = await measure('int32 pairs: 1000 × 64-bit mix', () => int32PairMix(1000));
  const big = await measure('BigInt: 1000 × 64-bit mix', () => bigIntMix(1000));

  const rows = [
    ['interpreter, loop.bpf.o (xdplab)', `${fmt(interp.meanNs / 1000)} µs/run`, `${fmt(insnPerSec / 1e6)} M insn/s`, `±${fmt(interp.rme)}%`],
  ];
  const notes = [];
  let kernel;
  const why = kernelUnavailableReason();
  if (why === undefined) {
    kernel = kernelRun(LOOP_OBJECT, PACKET, 100000);
    const same = BigInt(kernel.retval) === first.r0 ? 'same return value' : `DIFFERENT return value (${kernel.retval} vs ${first.r0})`;
    rows.push(['kernel JIT, same object (BPF_PROG_TEST_RUN, repeat 100000)', `${fmt(kernel.ns / 1000)} µs/run`,
      `${fmt(executed / kernel.ns * 1000)} M insn/s`, same]);
    notes.push(`Interpreter / kernel JIT time per run: ${fmt(interp.meanNs / kernel.ns)}×.`);
  } else {
    notes.push(`Kernel figures skipped: ${why}.`);
  }
  notes.push(`int32-pair arithmetic is ${fmt(pair.hz / big.hz)}× faster than BigInt on the same 64-bit mix ` +
    `(${fmt(pair.meanNs / 1000, 2)} vs ${fmt(big.meanNs / 1000, 2)} µs per 1000 steps): the interpreter's register representation.`);
  notes.push(`Target (issue 2): at least 100 M eBPF instructions/s on a loop-heavy program; measured ${fmt(insnPerSec / 1e6)} M/s ` +
    `(${executed} instructions a run).`);
  return { title: 'Interpreter', rows, header: ['what', 'time', 'rate', 'note'], notes, raw: { insnPerSec, executed, kernel } };
}
