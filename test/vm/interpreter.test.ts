import { describe, expect, it } from 'vitest';
import { assemble } from '../../src/isa/asm.js';
import { RawRunner } from '../../src/vm/raw-runner.js';
import { VmFault } from '../../src/vm/fault.js';

const runner = new RawRunner();
const run = (asm: string, mem: number[] = []): bigint => runner.run(assemble(asm), Uint8Array.from(mem)).r0;
const U64 = (v: bigint): bigint => BigInt.asUintN(64, v);

// [name, program, expected r0 (uint64)]; each program ends in exit.
const CASES: Array<[string, string, bigint]> = [
  ['add64 carries into the high word', 'mov %r0, -1\nrsh %r0, 32\nadd %r0, 1\nexit', 1n << 32n],
  ['add32 wraps and zero-extends', 'mov %r0, -1\nadd32 %r0, 2\nexit', 1n],
  ['sub64 borrows', 'mov %r0, 0\nsub %r0, 1\nexit', U64(-1n)],
  ['sub32 zero-extends', 'mov %r0, 0\nsub32 %r0, 1\nexit', 0xffffffffn],
  ['mul64 of large values', 'lddw %r0, 0x123456789abcdef\nlddw %r1, 0xfedcba987654321\nmul %r0, %r1\nexit',
    U64(0x123456789abcdefn * 0xfedcba987654321n)],
  ['mul32 keeps the low word', 'mov32 %r0, 0x10000\nmul32 %r0, 0x10000\nexit', 0n],
  ['div64 by zero is 0', 'mov %r0, 7\nmov %r1, 0\ndiv %r0, %r1\nexit', 0n],
  ['mod64 by zero keeps the dividend', 'mov %r0, -7\nmov %r1, 0\nmod %r0, %r1\nexit', U64(-7n)],
  ['mod32 by zero keeps the dividend, zero-extended', 'mov %r0, -7\nmov %r1, 0\nmod32 %r0, %r1\nexit', 0xfffffff9n],
  ['div64 unsigned of a 64-bit value', 'lddw %r0, 0xffffffffffffffff\ndiv %r0, 3\nexit', 0x5555555555555555n],
  ['sdiv64 truncates toward zero', 'mov %r0, -7\nsdiv %r0, 2\nexit', U64(-3n)],
  ['sdiv64 INT64_MIN / -1 wraps', 'lddw %r0, 0x8000000000000000\nsdiv %r0, -1\nexit', 0x8000000000000000n],
  ['smod64 INT64_MIN % -1 is 0', 'lddw %r0, 0x8000000000000000\nsmod %r0, -1\nexit', 0n],
  ['smod64 takes the dividend sign', 'mov %r0, -7\nsmod %r0, 3\nexit', U64(-1n)],
  ['sdiv32 INT32_MIN / -1 wraps', 'mov32 %r0, 0x80000000\nsdiv32 %r0, -1\nexit', 0x80000000n],
  ['sdiv64 of wide operands', 'lddw %r0, 0xfffffff000000000\nlddw %r1, 0x100000000\nsdiv %r0, %r1\nexit', U64(-16n)],
  ['lsh64 masks the count to 6 bits', 'mov %r0, 1\nlsh %r0, 65\nexit', 2n],
  ['lsh64 by 32 moves words', 'mov %r0, 3\nlsh %r0, 32\nexit', 3n << 32n],
  ['rsh64 across words', 'lddw %r0, 0x8000000000000000\nrsh %r0, 63\nexit', 1n],
  ['arsh64 sign-extends', 'lddw %r0, 0x8000000000000000\narsh %r0, 62\nexit', U64(-2n)],
  ['arsh32 sign-extends then zero-extends', 'mov32 %r0, 0x80000000\narsh32 %r0, 4\nexit', 0xf8000000n],
  ['lsh32 masks the count to 5 bits', 'mov %r0, 1\nlsh32 %r0, 33\nexit', 2n],
  ['neg64', 'mov %r0, 5\nneg %r0\nexit', U64(-5n)],
  ['neg64 of 0', 'mov %r0, 0\nneg %r0\nexit', 0n],
  ['neg32 zero-extends', 'mov %r0, 5\nneg32 %r0\nexit', 0xfffffffbn],
  ['mov32 imm zero-extends', 'mov32 %r0, -1\nexit', 0xffffffffn],
  ['mov64 imm sign-extends', 'mov %r0, -1\nexit', U64(-1n)],
  ['movsx8 64', 'mov %r1, 0x80\nmovsx864 %r0, %r1\nexit', U64(-128n)],
  ['movsx16 32', 'mov %r1, 0x8000\nmovsx1632 %r0, %r1\nexit', 0xffff8000n],
  ['movsx32 64', 'mov32 %r1, 0x80000000\nmovsx3264 %r0, %r1\nexit', U64(-0x80000000n)],
  ['be16 swaps and truncates', 'lddw %r0, 0x1122334455667788\nbe16 %r0\nexit', 0x8877n],
  ['be32', 'lddw %r0, 0x1122334455667788\nbe32 %r0\nexit', 0x88776655n],
  ['be64', 'lddw %r0, 0x1122334455667788\nbe64 %r0\nexit', 0x8877665544332211n],
  ['le16 truncates', 'lddw %r0, 0x1122334455667788\nle16 %r0\nexit', 0x7788n],
  ['le32 truncates', 'lddw %r0, 0x1122334455667788\nle32 %r0\nexit', 0x55667788n],
  ['bswap64', 'lddw %r0, 0x1122334455667788\nbswap64 %r0\nexit', 0x8877665544332211n],
  ['jgt is unsigned', 'mov %r0, 0\nmov %r1, -1\njgt %r1, 1, yes\nexit\nyes:\nmov %r0, 1\nexit', 1n],
  ['jsgt is signed', 'mov %r0, 0\nmov %r1, -1\njsgt %r1, 1, yes\nexit\nyes:\nmov %r0, 1\nexit', 0n],
  ['jeq compares all 64 bits', 'mov %r0, 0\nlddw %r1, 0x100000001\njeq %r1, 1, yes\nexit\nyes:\nmov %r0, 1\nexit', 0n],
  ['jeq32 compares the low word', 'mov %r0, 0\nlddw %r1, 0x100000001\njeq32 %r1, 1, yes\nexit\nyes:\nmov %r0, 1\nexit', 1n],
  ['jset tests bits', 'mov %r0, 0\nmov %r1, 6\njset %r1, 4, yes\nexit\nyes:\nmov %r0, 1\nexit', 1n],
  ['jslt32 is signed on the low word', 'mov %r0, 0\nlddw %r1, 0x00000000ffffffff\njslt32 %r1, 0, yes\nexit\nyes:\nmov %r0, 1\nexit', 1n],
  ['gotol jumps by imm', 'mov %r0, 1\nja32 +1\nmov %r0, 2\nexit', 1n],
  ['a counted loop', 'mov %r0, 0\nmov %r1, 10\nloop:\nadd %r0, %r1\nsub %r1, 1\njne %r1, 0, loop\nexit', 55n],
  ['stack store and load, all sizes',
    'stdw [%r10-8], -1\nstw [%r10-8], 0x11223344\nsth [%r10-8], 0x5566\nstb [%r10-8], 0x77\nldxdw %r0, [%r10-8]\nexit',
    0xffffffff11225577n],
  ['stxdw then ldxw reads the low word', 'lddw %r1, 0x1122334455667788\nstxdw [%r10-8], %r1\nldxw %r0, [%r10-4]\nexit', 0x11223344n],
  ['ldxsb sign-extends', 'stb [%r10-1], 0x80\nldxsb %r0, [%r10-1]\nexit', U64(-128n)],
  ['ldxsh sign-extends', 'sth [%r10-2], -2\nldxsh %r0, [%r10-2]\nexit', U64(-2n)],
  ['ldxsw sign-extends', 'stw [%r10-4], -3\nldxsw %r0, [%r10-4]\nexit', U64(-3n)],
  ['lock add64', 'stdw [%r10-8], 5\nmov %r1, 7\nlock add [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit', 12n],
  ['lock fetch add64 returns the old value', 'stdw [%r10-8], 5\nmov %r1, 7\nlock fetch add [%r10-8], %r1\nmov %r0, %r1\nexit', 5n],
  ['lock fetch or32 zero-extends the old value', 'stw [%r10-4], -1\nmov %r1, 0\nlock fetch or32 [%r10-4], %r1\nmov %r0, %r1\nexit', 0xffffffffn],
  ['lock xchg', 'stdw [%r10-8], 5\nmov %r1, 9\nlock xchg [%r10-8], %r1\nldxdw %r0, [%r10-8]\nadd %r0, %r1\nexit', 14n],
  ['cmpxchg stores when equal', 'stdw [%r10-8], 5\nmov %r0, 5\nmov %r1, 9\nlock cmpxchg [%r10-8], %r1\nldxdw %r2, [%r10-8]\nlsh %r2, 8\nor %r0, %r2\nexit', 0x905n],
  ['cmpxchg leaves memory when different', 'stdw [%r10-8], 5\nmov %r0, 4\nmov %r1, 9\nlock cmpxchg [%r10-8], %r1\nldxdw %r2, [%r10-8]\nlsh %r2, 8\nor %r0, %r2\nexit', 0x505n],
  ['cmpxchg32 compares the low word only', 'stw [%r10-4], 5\nlddw %r0, 0x100000005\nmov %r1, 9\nlock cmpxchg32 [%r10-4], %r1\nldxw %r0, [%r10-4]\nexit', 9n],
  ['local call: args in, r0 out, r6-r9 kept, own stack',
    'mov %r6, 6\nstdw [%r10-8], 1\nmov %r1, 40\ncall local f\nldxdw %r1, [%r10-8]\nadd %r0, %r1\nadd %r0, %r6\nexit\n' +
    'f:\nstdw [%r10-8], 100\nmov %r6, 0\nmov %r0, %r1\nadd %r0, 2\nexit', 49n],
  ['callx to a function by instruction index', 'mov %r3, 4\ncall %r3\nadd %r0, 1\nexit\nmov %r0, 41\nexit', 42n],
];

describe('interpreter semantics (RFC 9669)', () => {
  it.each(CASES)('%s', (_name, asm, expected) => {
    expect(run(asm)).toBe(expected);
  });

  it('reads its input memory through r1 and sees its length in r2', () => {
    expect(run('ldxh %r0, [%r1+2]\nlsh %r0, 8\nor %r0, %r2\nexit', [1, 2, 3, 4, 5])).toBe(0x040305n);
  });
});

const faultOf = (asm: string, mem: number[] = []): VmFault => {
  try {
    runner.run(assemble(asm), Uint8Array.from(mem), 't');
  } catch (err) {
    if (err instanceof VmFault) return err;
    throw err;
  }
  throw new Error('expected a fault');
};

// [name, program, reason, pc, text the message must contain]
const FAULTS: Array<[string, string, string, number, string]> = [
  ['NULL dereference', 'mov %r1, 0\nldxw %r0, [%r1+0]\nexit', 'MEMORY', 1, 'NULL page'],
  ['read past the memory block', 'ldxw %r0, [%r1+2]\nexit', 'MEMORY', 0, 'read of 4 bytes'],
  ['write above the stack frame', 'stdw [%r10+0], 1\nmov %r0, 0\nexit', 'MEMORY', 0, 'write of 8 bytes'],
  ['a pointer with a non-zero upper word', 'lddw %r1, 0x100001000\nldxb %r0, [%r1+0]\nexit', 'MEMORY', 2, 'outside the arena'],
  ['an unknown helper', 'call 1234\nexit', 'UNKNOWN_HELPER', 0, 'no helper with id 1234'],
  ['a kfunc call', 'call kfunc 7\nexit', 'KFUNC', 0, 'kfunc 7'],
  ['callx to nowhere', 'mov %r1, 999\ncall %r1\nexit', 'BAD_CALL', 1, 'callx to 999'],
  ['unbounded recursion', 'f:\ncall local f\nexit', 'CALL_DEPTH', 0, 'more than 8 nested calls'],
  ['an endless loop', 'mov %r0, 0\nloop:\nadd %r0, 1\nja loop\nexit', 'BUDGET', 2, 'instructions executed'],
];

describe('faults are typed and name the pc and the instruction', () => {
  it.each(FAULTS)('%s', (_name, asm, reason, pc, text) => {
    const fault = faultOf(asm, [1, 2, 3, 4]);
    expect(fault.reason).toBe(reason);
    expect(fault.pc).toBe(pc);
    expect(fault.code).toBe('VM_FAULT');
    expect(fault.message).toContain(`program t: pc ${pc} (`);
    expect(fault.message).toContain(text);
  });

  it('a run after a fault starts clean', () => {
    expect(() => run('mov %r1, 0\nldxw %r0, [%r1+0]\nexit')).toThrow(VmFault);
    expect(run('mov %r0, 3\nexit')).toBe(3n);
  });

  it('the budget is configurable and counts instructions', () => {
    const small = new RawRunner();
    small.interpreter.budget = 100;
    const loop = assemble('mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 1000, loop\nexit');
    expect(() => small.run(loop)).toThrow(/instruction budget exceeded/);
    expect(new RawRunner().run(loop).executed).toBe(2 + 2 * 1000 - 1 + 1);
  });
});
