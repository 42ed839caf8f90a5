/**
 * XDP multi-buffer frames as BPF_PROG_TEST_RUN builds them (bpf_prog_test_run_xdp): up to 3520
 * bytes (or ctx_in's data_end) linear, the rest in page-sized fragments, for any XDP program;
 * data_out is the whole frame, ctx_out's data_end the linear part. The fixture's programs
 * (xdp.frags and plain xdp) reach the fragments through get_buff_len, load/store_bytes and
 * adjust_tail, and move the head. Every case is compared with the kernel: live as root, else
 * its answers recorded in test/fixtures/kernel/hooks/xdp-frags.json; a few answers the kernel
 * gave (Linux 6.18) are also written down in the tests, to be read.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PacketReplayer, ReplayInputError } from '../../src/hooks/replay.js';
import { XdpHook } from '../../src/hooks/xdp.js';
import { assemble } from '../../src/isa/asm.js';
import { decodeProgram } from '../../src/isa/instruction.js';
import type { PerfEventArrayMap } from '../../src/maps/perf-event-array.js';
import { Program } from '../../src/runtime/program.js';
import { BPF_PROG_TYPE } from '../../src/uapi/bpf.js';
import type { ProgramSpec } from '../../src/spec/types.js';
import { ProgramImage } from '../../src/vm/image.js';
import { testRun } from '../../src/hooks/test-run.js';
import { XdplabError } from '../../src/errors.js';
import { Collection } from '../../src/runtime/collection.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadCollectionSpec } from '../../src/spec/loader.js';
import { repoRoot } from '../support/conformance.js';
import { KernelRecord } from '../support/kernel-record.js';

const OBJECT = path.join(repoRoot, 'test', 'fixtures', 'bpf', 'xdp-frags.bpf.o');
const LINEAR = 3520;
const SIZES = [3000, 3521, 5000, 9000, 60000];
const OP = { LEN: 1, COPY: 2, TAIL: 3, HEAD: 4, TAIL_STORE: 5, TAIL_TWICE: 6, HEAD_LOAD: 7 } as const;

/** The fixture's packet: op, a (s32), b (u32), len - 1 in the first bytes, then a pattern. */
function packet(size: number, op = 0, a = 0, b = 0, len = 1, meta = 0): Uint8Array {
  const p = Uint8Array.from({ length: size }, (_, i) => (i * 7 + 3) & 0xff);
  for (let i = 0; i < meta; i++) p[i] = 0x40 + i;
  const v = new DataView(p.buffer, meta);
  v.setUint8(0, op);
  v.setUint8(1, 0);
  v.setInt32(2, a, true);
  v.setUint32(6, b >>> 0, true);
  v.setUint8(10, (len - 1) & 63);
  return p;
}

/** xdp_md { data, data_end, ... } with the metadata length and the linear part's end. */
function xdpMd(meta: number, dataEnd: number, ingressIfindex = 0): Uint8Array {
  const ctx = new Uint8Array(24);
  const v = new DataView(ctx.buffer);
  v.setUint32(0, meta, true);
  v.setUint32(4, dataEnd, true);
  v.setUint32(12, ingressIfindex, true);
  return ctx;
}

interface Case {
  name: string;
  prog: string;
  data: Uint8Array;
  ctx?: Uint8Array;
  repeat?: number;
}

/** The helper calls worth making on a frame of `size` bytes whose linear part is `lin`. */
function opsFor(size: number, lin: number): Array<[string, number, number, number, number]> {
  const lastFrag = size <= lin ? 0 : (size - lin) % 4096 || 4096;
  return [
    ['len', OP.LEN, 0, 0, 1],
    ['copy across the boundary', OP.COPY, lin - 8, size - 40, 16],
    ['copy the first 64 to the boundary', OP.COPY, 0, lin - 3, 64],
    ['copy the last 64', OP.COPY, size - 64, 4000, 64],
    ['copy past the end', OP.COPY, size - 63, 0, 64],
    ['copy at 0x10000', OP.COPY, 0x10000, 0, 4],
    ['tail +1', OP.TAIL, 1, 0, 1],
    ['tail into the last page', OP.TAIL, 4096 - lastFrag, 0, 1],
    ['tail past the last page', OP.TAIL, 4097 - lastFrag, 0, 1],
    ['tail -1', OP.TAIL, -1, 0, 1],
    ['tail frees the last fragment', OP.TAIL, -lastFrag, 0, 1],
    ['tail frees it and one more byte', OP.TAIL, -lastFrag - 1, 0, 1],
    ['tail to everything but the linear part', OP.TAIL, lin - size, 0, 1],
    ['tail into the linear part', OP.TAIL, lin - size - 100, 0, 1],
    ['tail to an Ethernet header', OP.TAIL, 14 - size, 0, 1],
    ['tail below an Ethernet header', OP.TAIL, 13 - size, 0, 1],
    ['head +14', OP.HEAD, 14, 0, 1],
    ['head -20', OP.HEAD, -20, 0, 1],
    ['head to 14 bytes of linear part', OP.HEAD, lin - 14, 0, 1],
    ['head past 14 bytes of linear part', OP.HEAD, lin - 13, 0, 1],
    ['tail +100 then store at the end', OP.TAIL_STORE, 100, 0, 64],
    ['tail -1000 then store at the end', OP.TAIL_STORE, -1000, 0, 64],
    ['tail -2000 then +300', OP.TAIL_TWICE, -2000, -300, 1],
    ['tail +50 then -(size - lin + 110)', OP.TAIL_TWICE, 50, size - lin + 110, 1],
    ['tail to the linear part then +1', OP.TAIL_TWICE, lin - size, -1, 1],
    ['head +16 then load across', OP.HEAD_LOAD, 16, lin - 16 - 20, 40],
    ['head -32 then load across', OP.HEAD_LOAD, -32, lin + 32 - 30, 64],
  ];
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const size of SIZES) {
    const lin = Math.min(size, LINEAR);
    for (const prog of ['xdp_frags', 'xdp_single']) {
      for (const [name, op, a, b, len] of opsFor(size, lin)) out.push({ name: `${size} ${prog} ${name}`, prog, data: packet(size, op, a, b, len) });
    }
    out.push({ name: `${size} xdp_direct`, prog: 'xdp_direct', data: packet(size) });
    // bpf_check_mtu counts the linear part only; perf output appends up to the whole frame.
    for (const a of [0, 65550 - lin, 65551 - lin, 65551 - size]) out.push({ name: `${size} check_mtu len_diff ${a}`, prog: 'xdp_mtu', data: packet(size, 0, a) });
    for (const a of [lin, lin + 1, size, size + 1]) out.push({ name: `${size} perf output of ${a} bytes`, prog: 'xdp_output', data: packet(size, 0, a) });
  }
  // ctx_in's data_end below the packet: a shorter linear part, fragments even under 3520 bytes.
  for (const [size, meta, dataEnd] of [[3000, 0, 100], [3000, 0, 2999], [5000, 0, 14], [5000, 0, 13], [5000, 0, 0], [5000, 4, 104], [5000, 8, 8], [9000, 32, 4000], [60000, 0, 1000]]) {
    const lin = Math.min(dataEnd - meta, LINEAR);
    // A linear part under an Ethernet header: the program returns at its first bounds check.
    const ops = lin < 14 ? opsFor(size - meta, lin).slice(0, 1) : opsFor(size - meta, lin);
    for (const [name, op, a, b, len] of ops) {
      out.push({ name: `${size} data_end ${dataEnd} meta ${meta} ${name}`, prog: 'xdp_frags', data: packet(size, op, a, b, len, meta), ctx: xdpMd(meta, dataEnd) });
    }
  }
  // A plain xdp program gets the same split; ingress_ifindex 1 (the loopback) comes back in ctx_out.
  for (const [name, op, a, b, len] of opsFor(5000, 100).slice(0, 12)) {
    out.push({ name: `5000 xdp_single data_end 100 ifindex 1 ${name}`, prog: 'xdp_single', data: packet(5000, op, a, b, len), ctx: xdpMd(0, 100, 1) });
  }
  // repeat runs on the same frame: what one run's adjust_tail did, the next one starts from.
  for (const [op, a, b] of [[OP.TAIL, 1, 0], [OP.TAIL, -1000, 0], [OP.TAIL_TWICE, -2000, -100], [OP.TAIL_STORE, 700, 0]]) {
    out.push({ name: `9000 repeat 5 op ${op} ${a} ${b}`, prog: 'xdp_frags', data: packet(9000, op, a, b, 8), repeat: 5 });
  }
  return out;
}

const CASES = cases();

interface Answer {
  retval: number;
  dataOut: Uint8Array;
  ctxOut?: Uint8Array;
}

let runtime: Runtime | undefined;
let collection: Collection | undefined;

/** One runtime for every case: its hook's frame is reused, as replay reuses it. No perf reader, as in a test run. */
function xdplab(c: Case): Answer {
  runtime ??= new Runtime({ perfReaders: false });
  collection ??= Collection.load(runtime, loadCollectionSpec(new Uint8Array(readFileSync(OBJECT)), OBJECT));
  const r = testRun(runtime, collection.program(c.prog), { data: c.data, ctx: c.ctx, repeat: c.repeat });
  return { retval: r.retval, dataOut: r.dataOut, ctxOut: c.ctx ? r.ctxOut : undefined };
}

const run = (prog: string, data: Uint8Array, ctx?: Uint8Array): Answer => xdplab({ name: '', prog, data, ctx });
const md = (ctx: Uint8Array | undefined): number[] => [...new Uint32Array(ctx!.buffer, ctx!.byteOffset, 6)];

describe('XDP multi-buffer test runs', () => {
  it('puts what passes 3520 bytes in fragments, for xdp and xdp.frags programs alike', () => {
    for (const size of SIZES) {
      for (const prog of ['xdp_frags', 'xdp_single']) {
        const data = packet(size, OP.LEN);
        const r = run(prog, data);
        expect(r.retval).toBe((size | Math.min(size, LINEAR) << 20) >>> 0);
        expect(r.dataOut).toEqual(data);
      }
    }
  });

  it('takes ctx_in data_end as the linear part (even under an Ethernet header), ctx_out keeps it', () => {
    const data = packet(5000, OP.LEN, 0, 0, 1, 4);
    expect(md(run('xdp_frags', data, xdpMd(4, 104)).ctxOut)).toEqual([4, 104, 0, 0, 0, 0]);
    expect(run('xdp_frags', data, xdpMd(4, 104)).retval).toBe(4996 | 100 << 20);
    expect(run('xdp_frags', data, xdpMd(4, 17)).retval).toBe(1000);
    expect(md(run('xdp_frags', data, xdpMd(4, 4000)).ctxOut)).toEqual([4, 3524, 0, 0, 0, 0]);
    expect(() => run('xdp_frags', data, xdpMd(4, 5001))).toThrow(/data_end 5001 is past the end/);
    expect(() => run('xdp_frags', data, xdpMd(8, 7))).toThrow(XdplabError);
  });

  it('refuses more than MAX_SKB_FRAGS fragments (3520 + 17 pages = 73152 bytes), as ENOMEM', () => {
    expect(run('xdp_frags', packet(73152, OP.LEN)).retval).toBe((73152 | LINEAR << 20) >>> 0);
    expect(() => run('xdp_frags', packet(73153, OP.LEN))).toThrow(/MAX_SKB_FRAGS/);
    // The refusal leaves the hook as it was: the next frame runs.
    expect(run('xdp_frags', packet(100, OP.LEN)).retval).toBe(100 | 100 << 20);
  });

  it('grows the last fragment to its page, shrinks and releases fragments (answers of Linux 6.18)', () => {
    const tail = (size: number, a: number): number => run('xdp_frags', packet(size, OP.TAIL, a)).retval;
    expect(tail(5000, 2616)).toBe(7616);
    expect(tail(5000, 2617)).toBe(2022);
    expect(tail(5000, -1481)).toBe(3519);
    expect(tail(5000, -4986)).toBe(14);
    expect(tail(5000, -4987)).toBe(2022);
    expect(tail(9000, -5000)).toBe(4000);
    expect(run('xdp_frags', packet(9000, OP.TAIL_TWICE, -5479, -1)).retval).toBe(3522);
    expect(run('xdp_frags', packet(9000, OP.TAIL_TWICE, -5480, -1)).retval).toBe(3022);
  });

  it('keeps fragments out of direct reach: data_end is the linear end', () => {
    const data = packet(5000);
    expect(run('xdp_direct', data).retval).toBe(data[3519]);
  });

  it('replays frames past 3520 bytes as the test run runs them, fragments cleared between frames', () => {
    const rt = new Runtime();
    const c = Collection.load(rt, loadCollectionSpec(new Uint8Array(readFileSync(OBJECT)), OBJECT));
    const replayer = new PacketReplayer(rt, c.program('xdp_frags'), { hook: 'xdp' });
    const frames = [
      packet(9000, OP.TAIL_STORE, 100, 0, 64), packet(3000, OP.LEN), packet(5000, OP.COPY, 3510, 4990, 10),
      packet(60000, OP.TAIL, -30000), packet(3521, OP.TAIL_TWICE, -1, -2), packet(73152, OP.LEN), packet(100, OP.TAIL, 50),
    ];
    for (const frame of frames) {
      const retval = replayer.run(frame, 1700000000, 0);
      const ref = run('xdp_frags', frame);
      expect(retval).toBe(ref.retval);
      expect(Buffer.from(replayer.output()).equals(Buffer.from(ref.dataOut))).toBe(true);
    }
    expect(() => replayer.run(packet(73153), 1700000000, 0)).toThrow(ReplayInputError);
  });

  it('lays out the first multi-buffer frame when allocating its fragments grows the arena', () => {
    const rt = new Runtime();
    const c = Collection.load(rt, loadCollectionSpec(new Uint8Array(readFileSync(OBJECT)), OBJECT));
    const hook = new XdpHook(rt);
    // Fill the arena's memory up to its end, so the fragments' region must grow it.
    const probe = rt.arena.alloc(4096, 'memory', 'probe');
    const size = rt.arena.memory.buffer.byteLength;
    const left = size - (probe.base + 2 * 4096) - 2 * 4096;
    if (left > 0) rt.arena.alloc(left, 'memory', 'filler');
    const data = packet(9000, OP.LEN);
    expect(hook.testRun(c.program('xdp_frags'), { data }).retval).toBe((9000 | LINEAR << 20) >>> 0);
    expect(rt.arena.memory.buffer.byteLength).toBeGreaterThan(size);
    expect(hook.dataOut()).toEqual(data);
  });

  it('appends fragment bytes to a perf event record (bpf_xdp_copy)', () => {
    const rt = new Runtime();
    const c = Collection.load(rt, loadCollectionSpec(new Uint8Array(readFileSync(OBJECT)), OBJECT));
    const data = packet(9000, 0, 8000);
    expect(testRun(rt, c.program('xdp_output'), { data }).retval).toBe(1000);
    const records = (c.map('events') as PerfEventArrayMap).drain();
    expect(records).toHaveLength(1);
    expect(Buffer.from(records[0].data.subarray(4, 8004)).equals(Buffer.from(data.subarray(0, 8000)))).toBe(true);
  });

  it.each(['interp', 'jit'] as const)('faults on a direct access at data_end or into the fragments (%s)', (engine) => {
    const rt = new Runtime({ engine });
    const hook = new XdpHook(rt);
    const asm = (text: string): Program => {
      const image = new ProgramImage('p', decodeProgram(assemble(text)));
      return new Program({ name: 'p', section: 'xdp.frags', type: BPF_PROG_TYPE.BPF_PROG_TYPE_XDP } as unknown as ProgramSpec, image, rt.registerProgram(image));
    };
    const lastLinear = asm('ldxw %r2, [%r1+4]\nldxb %r0, [%r2-1]\nexit');
    const atDataEnd = asm('ldxw %r2, [%r1+4]\nldxb %r0, [%r2+0]\nexit');
    const data = packet(5000);
    expect(hook.testRun(lastLinear, { data }).retval).toBe(data[LINEAR - 1]);
    expect(() => hook.testRun(atDataEnd, { data })).toThrow(/invalid memory access/);
    const frags = hook.packet.frags!;
    expect(frags.nrFrags).toBe(1);
    const intoFrags = asm(`lddw %r2, ${frags.address(0)}\nldxb %r0, [%r2+0]\nexit`);
    expect(() => hook.testRun(intoFrags, { data })).toThrow(/invalid memory access/);
    const writeFrags = asm(`lddw %r2, ${frags.address(0)}\nstb [%r2+0], 1\nmov %r0, 2\nexit`);
    expect(() => hook.testRun(writeFrags, { data })).toThrow(/invalid memory access/);
  });

  describe('the kernel agrees', () => {
    const kernel = KernelRecord.for(import.meta.url).object(OBJECT);

    it.each(CASES.map((c) => [c.name, c]))('%s', (_, c) => {
      const k = kernel.mustRun(c.prog, { data: c.data, ctx: c.ctx, repeat: c.repeat });
      const ours = xdplab(c);
      expect({ retval: ours.retval, size: ours.dataOut.length }).toEqual({ retval: k.retval, size: k.dataOut.length });
      expect(Buffer.from(ours.dataOut).equals(Buffer.from(k.dataOut))).toBe(true);
      if (c.ctx) expect(md(ours.ctxOut)).toEqual(md(k.ctxOut));
      else expect(k.ctxOut).toBeUndefined();
    });
  });
});
