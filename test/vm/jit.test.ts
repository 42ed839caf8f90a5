import { describe, expect, it, vi } from 'vitest';
import { assemble } from '../../src/isa/asm.js';
import { BPF_PSEUDO_FUNC } from '../../src/isa/opcodes.js';
import {
  HELPER_CONTINUE, HELPER_STOP, HELPER_TAIL_CALL, argU32, ret, type HelperFn, type HelperTable,
} from '../../src/vm/helper-table.js';
import type { ProgramImage } from '../../src/vm/image.js';
import { MAX_TAIL_CALL_CNT } from '../../src/uapi/bpf.js';
import { compileImage } from '../../src/vm/jit/compiler.js';
import type { JitEngine } from '../../src/vm/jit/jit-engine.js';
import { planLayout } from '../../src/vm/jit/structure.js';
import { buildControlFlow } from '../../src/vm/jit/cfg.js';
import { REGION_READ } from '../../src/vm/arena.js';
import { VmFault } from '../../src/vm/fault.js';
import { ByteWriter } from '../../src/vm/jit/wasm-writer.js';
import { imageOf, makeBench, type EngineBench } from '../support/engines.js';

// Test helpers: 1 = tail call to images[r3]; 2 = loop: call fn r2 r1 times with (i, r3), stop on
// non-zero; 3 = call chain depth in r0; 4 = unwind (stop when r1 = 0); 5 = throws; 6 = grows the arena;
// 7 = writes r1..r5 of the register file.
const HELPER = { TAIL: 1, LOOP: 2, CHAIN: 3, UNWIND: 4, THROW: 5, GROW: 6, CLOBBER: 7 } as const;

function testHelpers(state: { images: ProgramImage[] }): HelperTable {
  const fns: Record<number, HelperFn> = {
    [HELPER.TAIL]: (call) => {
      const target = state.images[argU32(call, 3)];
      if (!target || call.tailCalls >= MAX_TAIL_CALL_CNT) return HELPER_CONTINUE;
      call.tailCallTarget = target;
      return HELPER_TAIL_CALL;
    },
    [HELPER.LOOP]: (call) => {
      const n = argU32(call, 1), fn = argU32(call, 2), ctx = argU32(call, 3);
      let i = 0;
      while (i < n) {
        const stop = call.callFunction(fn, [i, ctx]);
        i++;
        if (stop !== 0) break;
      }
      ret(call, i);
      return HELPER_CONTINUE;
    },
    [HELPER.CHAIN]: (call) => {
      ret(call, call.callChain().reduce((sum, pc, i) => sum + (pc + 1) * (i + 1) * 100 ** i, 0));
      return HELPER_CONTINUE;
    },
    [HELPER.UNWIND]: (call) => {
      call.regs[0] = call.regs[2];
      call.regs[1] = call.regs[3];
      return call.regs[2] === 0 ? HELPER_STOP : HELPER_CONTINUE;
    },
    [HELPER.THROW]: () => {
      throw new Error('helper exploded');
    },
    [HELPER.CLOBBER]: (call) => {
      for (let i = 2; i < 12; i++) call.regs[i] = i * 0x1111;
      ret(call, 1);
      return HELPER_CONTINUE;
    },
    [HELPER.GROW]: (call) => {
      const region = call.arena.alloc(8 << 20, 'helper', 'big');
      ret(call, region.start);
      return HELPER_CONTINUE;
    },
  };
  return { lookup: (id) => fns[id] };
}

const benches = (budget?: number): [EngineBench, EngineBench] =>
  [makeBench('interp', testHelpers, budget), makeBench('jit', testHelpers, budget)];

/** Patch the lddw at `pc` into a function address (BPF_PSEUDO_FUNC) of `target`. */
function funcAddr(bytes: Uint8Array, pc: number, target: number): Uint8Array {
  const out = bytes.slice();
  out[pc * 8 + 1] = (out[pc * 8 + 1] & 0x0f) | (BPF_PSEUDO_FUNC << 4);
  new DataView(out.buffer).setInt32(pc * 8 + 4, target - pc - 1, true);
  return out;
}

/** Run in both engines; expect identical outcomes, return the JIT's. */
function both(programs: (string | Uint8Array)[], mem: number[] = [], budget?: number) {
  const [interp, jit] = benches(budget);
  const images = programs.map((p, i) => imageOf(typeof p === 'string' ? assemble(p) : p, `p${i}`));
  const a = interp.run(images, Uint8Array.from(mem));
  const b = jit.run(images, Uint8Array.from(mem));
  expect(b).toEqual(a);
  return b;
}

describe('wasm writer', () => {
  it('writes signed LEB128 of 64-bit values without BigInt', () => {
    const cases: [number, number, number[]][] = [
      [0, 0, [0]], [-1, -1, [0x7f]], [63, 0, [0x3f]], [64, 0, [0xc0, 0x00]],
      [-1, 0, [0xff, 0xff, 0xff, 0xff, 0x0f]], [0, 1, [0x80, 0x80, 0x80, 0x80, 0x10]],
      [0, -0x80000000, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f]],
    ];
    for (const [lo, hi, bytes] of cases) expect([...new ByteWriter().s64(lo, hi).finish()]).toEqual(bytes);
  });

  it('compiles a program to a valid module and reports its size and time', () => {
    const compiled = compileImage(imageOf(assemble('mov %r0, 1\nexit')));
    expect(compiled.bytes).toBeGreaterThan(8);
    expect(compiled.compileMs).toBeGreaterThanOrEqual(0);
    expect(compiled.blocks).toBe(1);
  });
});

describe('control flow', () => {
  const layoutOf = (asm: string) => {
    const image = imageOf(assemble(asm));
    return planLayout(image, buildControlFlow(image), []);
  };

  it('a counted loop is a wasm loop', () => {
    const asm = 'mov %r0, 0\nmov %r1, 10\nloop:\nadd %r0, %r1\nsub %r1, 1\njne %r1, 0, loop\nexit';
    expect(layoutOf(asm).filter((item) => item.loop)).toEqual([{ first: 1, last: 1, loop: true, inner: [] }]);
    expect(both([asm]).r0).toBe('37');
  });

  it('a loop entered in its middle goes through the dispatcher; nested loops nest', () => {
    const irreducible = 'mov %r0, 0\nmov %r1, 5\njeq %r2, 0, mid\ntop:\nadd %r0, 1\nmid:\nsub %r1, 1\njne %r1, 0, top\nexit';
    expect(layoutOf(irreducible).some((item) => item.loop)).toBe(false);
    expect(both([irreducible]).r0).toBe('4');
    const nested = 'mov %r0, 0\nmov %r1, 4\nouter:\nmov %r2, 3\ninner:\nadd %r0, 1\nsub %r2, 1\njne %r2, 0, inner\nsub %r1, 1\njne %r1, 0, outer\nexit';
    const outer = layoutOf(nested).filter((item) => item.loop);
    expect(outer.length).toBe(1);
    expect(outer[0].inner?.filter((item) => item.loop).length).toBe(1);
    expect(both([nested]).r0).toBe('c');
  });
});

describe('legacy packet loads (LD_ABS / LD_IND)', () => {
  const PROGRAMS = [
    'ldabsb 3\nexit', 'ldabsh 6\nexit', 'ldabsw 4\nexit', 'ldabsw 5\nmov %r0, 7\nexit',
    'mov %r1, 2\nldindh %r1, 1\nexit', 'mov %r1, -1\nldindb %r1, 0\nmov %r0, 7\nexit',
    'mov %r6, 1\ncall local f\nmov %r0, 9\nexit\nf:\nldabsw 100\nexit',
  ];
  it.each(PROGRAMS)('%s', (asm) => {
    const outs = benches().map((bench) => {
      const packet = bench.arena.alloc(8, 'packet', 'p');
      bench.arena.u8.set([1, 2, 3, 4, 5, 6, 7, 8], packet.start);
      bench.engine.legacyPacket = { dataStart: packet.start, dataEnd: packet.start + 8 };
      return bench.run([imageOf(assemble(asm))]);
    });
    expect(outs[1]).toEqual(outs[0]);
  });
});

describe('fallback', () => {
  it('an image the JIT cannot compile runs in the interpreter, with a notice to the engine\'s logger', () => {
    const write = vi.spyOn(process.stderr, 'write');
    try {
      const notices: string[] = [];
      const interp = makeBench('interp', testHelpers);
      const jit = makeBench('jit', testHelpers, undefined, (line) => notices.push(line));
      const broken = (): ProgramImage => {
        const image = imageOf(assemble('mov %r0, 1\nexit'), 'broken');
        image.xop[0] = 0x1ff; // no instruction has this extended opcode
        return image;
      };
      expect(jit.run([broken()])).toEqual(interp.run([broken()]));
      expect((jit.engine as JitEngine).compileStats.fallbacks).toBe(1);
      expect(notices).toEqual([expect.stringMatching(/^jit: broken runs in the interpreter \(/)]);
      expect(write).not.toHaveBeenCalled(); // vm/ writes nowhere of its own
      expect(jit.run([imageOf(assemble('mov %r0, 2\nexit'))]).r0).toBe('2');
    } finally {
      write.mockRestore();
    }
  });
});

describe('JIT and interpreter agree on faults (reason, pc, message, instructions executed)', () => {
  const FAULTS: [string, string, string, number][] = [
    ['NULL dereference', 'mov %r1, 0\nldxw %r0, [%r1+0]\nexit', 'MEMORY', 1],
    ['read past the memory block', 'mov %r0, 1\nadd %r0, 2\nldxw %r0, [%r1+2]\nmov %r0, 5\nexit', 'MEMORY', 2],
    ['write above the stack frame', 'stdw [%r10+0], 1\nmov %r0, 0\nexit', 'MEMORY', 0],
    ['write below the 8 frames', 'stdw [%r10-4104], 1\nexit', 'MEMORY', 0],
    ['a pointer with a non-zero upper word', 'lddw %r1, 0x100001000\nldxb %r0, [%r1+0]\nexit', 'MEMORY', 2],
    ['an offset that wraps below 0', 'mov %r1, 8\nldxb %r0, [%r1-16]\nexit', 'MEMORY', 1],
    ['an address past 4 GiB', 'mov32 %r1, -1\nldxb %r0, [%r1+16]\nexit', 'MEMORY', 1],
    ['the reserved area (page table) is unmapped', 'mov %r1, 0x2000\nldxb %r0, [%r1+0]\nexit', 'MEMORY', 1],
    ['an atomic on the NULL page', 'mov %r1, 0\nmov %r2, 1\nlock add [%r1+8], %r2\nexit', 'MEMORY', 2],
    ['an unknown helper', 'call 1234\nexit', 'UNKNOWN_HELPER', 0],
    ['a helper that throws', 'mov %r0, 0\ncall 5\nexit', 'HELPER', 1],
    ['a kfunc call', 'call kfunc 7\nexit', 'KFUNC', 0],
    ['callx to nowhere', 'mov %r1, 999\ncall %r1\nexit', 'BAD_CALL', 1],
    ['unbounded recursion', 'f:\ncall local f\nexit', 'CALL_DEPTH', 0],
    ['an endless loop', 'mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit', 'BUDGET', 2],
    ['an endless conditional loop', 'mov %r0, 0\nloop:\nadd %r0, 1\njne %r0, 0, loop\nexit', 'BUDGET', 2],
    ['endless recursion through a loop', 'f:\nmov %r0, 1\ncall local g\nexit\ng:\nja f\nexit', 'CALL_DEPTH', 1],
    ['LD_ABS without a socket buffer', 'ldabsb 3\nexit', 'LEGACY_PACKET', 0],
  ];
  it.each(FAULTS)('%s', (_name, asm, reason, pc) => {
    const out = both([asm], [1, 2, 3, 4], 100_000);
    expect(out.fault?.reason).toBe(reason);
    expect(out.fault?.pc).toBe(pc);
  });

  it('a fault in the middle of a block counts the instructions up to it', () => {
    const out = both(['mov %r0, 1\nmov %r2, 2\nldxdw %r0, [%r2+0]\nmov %r0, 3\nmov %r0, 4\nexit']);
    expect(out.executed).toBe(3);
  });

  it('the budget stops both engines at the same pc with the same count', () => {
    for (const budget of [1, 2, 3, 10, 101, 1000]) {
      const out = both(['mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 1000, loop\nexit'], [], budget);
      expect(out.fault?.reason).toBe('BUDGET');
    }
    expect(both(['mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 1000, loop\nexit'], [], 5000).r0).toBe('3e8');
  });
});

describe('calls', () => {
  it('local calls 7 deep keep r6-r9 and give each frame its own stack', () => {
    const levels = Array.from({ length: 7 }, (_, i) =>
      `f${i}:\nstdw [%r10-8], ${i}\nmov %r6, ${i * 10}\n` +
      (i < 6 ? `call local f${i + 1}\n` : 'mov %r0, 0\n') +
      `ldxdw %r1, [%r10-8]\nadd %r0, %r1\nadd %r0, %r6\nexit`).join('\n');
    const out = both([`mov %r6, 1000\ncall local f0\nadd %r0, %r6\nexit\n${levels}`]);
    expect(BigInt(`0x${out.r0}`)).toBe(1000n + [0, 1, 2, 3, 4, 5, 6].reduce((s, i) => s + 11n * BigInt(i), 0n));
  });

  it('the eighth nested frame is refused', () => {
    const levels = Array.from({ length: 8 }, (_, i) => `f${i}:\n${i < 7 ? `call local f${i + 1}\n` : 'mov %r0, 1\n'}exit`).join('\n');
    const out = both([`call local f0\nexit\n${levels}`]);
    expect(out.fault?.reason).toBe('CALL_DEPTH');
  });

  it('a tail-call chain stops after 33 tail calls', () => {
    const prog = 'ldxdw %r0, [%r10-8]\nadd %r0, 1\nstxdw [%r10-8], %r0\nmov %r3, 1\ncall 1\nldxdw %r0, [%r10-8]\nexit';
    const out = both([`stdw [%r10-8], 0\nmov %r3, 1\ncall 1\nmov %r0, 99\nexit`, prog]);
    expect(out.r0).toBe((MAX_TAIL_CALL_CNT + 0).toString(16));
  });

  it('tail calls between different programs keep registers and the frame', () => {
    const out = both([
      'mov %r6, 5\nmov %r3, 1\ncall 1\nexit',
      'mov %r0, %r6\nmul %r0, 3\nmov %r3, 2\ncall 1\nexit',
      'add %r0, 1\nexit',
    ]);
    expect(out.r0).toBe('10');
  });

  it('a helper can stop the program; exitPc is the call', () => {
    const out = both(['mov %r0, 7\nmov %r1, 0\nmov %r6, 0\ncall 4\nmov %r0, 9\nexit']);
    expect(out.r0).toBe('0');
    expect(out.exitPc).toBe(3);
  });

  it('callbacks run the function at a pc, re-entrantly, in a frame of their own', () => {
    // main: loop 10 times over cb with ctx = stack address; cb adds i to *ctx, stops at i = 6
    const src = [
      'stdw [%r10-8], 0', // 0
      'mov %r1, 10', // 1
      'lddw %r2, 0', // 2-3: patched to the address of cb
      'mov %r3, %r10', // 4
      'add %r3, -8', // 5
      'mov %r6, 77', // 6
      'call 2', // 7
      'ldxdw %r1, [%r10-8]', // 8
      'lsh %r0, 16', // 9
      'add %r0, %r1', // 10
      'add %r0, %r6', // 11
      'exit', // 12
      'ldxdw %r4, [%r2+0]', // 13: cb(i, ctx)
      'add %r4, %r1', // 14
      'stxdw [%r2+0], %r4', // 15
      'mov %r0, 0', // 16
      'jne %r1, 6, +1', // 17
      'mov %r0, 1', // 18
      'exit', // 19
    ].join('\n');
    const out = both([funcAddr(assemble(src), 2, 13)]);
    expect(out.r0).toBe(((7 << 16) + 21 + 77).toString(16));
  });

  it('a callback that starts where no jump goes, and one that faults', () => {
    const src = 'mov %r1, 3\nmov %r2, 4\ncall 2\nexit\nmov %r0, %r1\nmov %r0, 0\nexit';
    both([src]);
    both(['mov %r1, 3\nmov %r2, 5\ncall 2\nexit\nmov %r0, %r1\nldxw %r0, [%r0+0]\nexit']);
  });

  it('the call chain names each call site', () => {
    const out = both(['call local f\nexit\nf:\nmov %r0, 0\ncall local g\nexit\ng:\ncall 3\nexit']);
    expect(out.r0).not.toBe('0');
  });

  it('callx to an instruction no jump or function address names', () => {
    expect(both(['mov %r3, 5\ncall %r3\nadd %r0, 1\nexit\nmov %r0, 1\nmov %r0, 41\nexit']).r0).toBe('2a');
  });

  it('a program tail-called from a function returns into the caller\'s frame, at the caller\'s pc', () => {
    const out = both(['mov %r3, 1\ncall local f\nadd %r0, 100\nexit\nf:\ncall 1\nmov %r0, 5\nexit', 'mov %r0, 7\nmov %r0, 8\nmov %r0, 9\nexit']);
    expect(out.r0).toBe('9');
  });

  it('a read-only region: reads pass, the first write faults at its pc (grouped checks)', () => {
    const outs = benches().map((bench) => {
      const ro = bench.arena.alloc(64, 'memory', 'ro', REGION_READ);
      bench.arena.u8[ro.start + 4] = 9;
      const image = imageOf(assemble('ldxb %r0, [%r1+4]\nldxb %r2, [%r1+5]\nstb [%r1+6], 1\nldxb %r3, [%r1+7]\nexit'));
      try {
        bench.engine.run(image, { r1: ro.start });
        return { r0: bench.engine.r0 };
      } catch (err) {
        return { fault: (err as VmFault).reason, pc: (err as VmFault).pc, executed: bench.engine.executed, r0: bench.engine.regs[0] };
      }
    });
    expect(outs[1]).toEqual(outs[0]);
    expect(outs[1]).toEqual({ fault: 'MEMORY', pc: 2, executed: 3, r0: 9 });
  });

  it('a helper that writes r1..r5 leaves them so', () => {
    expect(both(['mov %r1, 1\nmov %r5, 5\ncall 7\nadd %r0, %r1\nadd %r0, %r5\nexit']).r0).toBe('eeee0000cccd'); // 1 + (0x3333:0x2222) + (0xbbbb:0xaaaa)
  });

  it('callx calls a function by its instruction index', () => {
    expect(both(['mov %r3, 4\ncall %r3\nadd %r0, 1\nexit\nmov %r0, 41\nexit']).r0).toBe('2a');
  });

  it('a helper that grows the arena: later accesses still checked and right', () => {
    const out = both(['stdw [%r10-8], 3\ncall 6\nmov %r1, %r0\nstdw [%r1+0], 4\nldxdw %r0, [%r10-8]\nldxdw %r2, [%r1+0]\nadd %r0, %r2\nmov %r4, %r1\nadd %r4, 8388608\nldxdw %r3, [%r4+0]\nexit']);
    expect(out.fault?.reason).toBe('MEMORY');
    expect(out.fault?.pc).toBe(9);
  });
});
