/**
 * Lowering of loads, stores, atomics and legacy packet loads. Every access is checked inline
 * exactly as arena.ts's checkAccess does, against the page table and region tables that live
 * in the arena's reserved area: the register's upper word must be 0, base + off must not leave
 * the 32-bit space, and [addr, addr + size) must lie inside the region of addr's page, which
 * must allow the access. A failed check calls the memFault import with the pc (it throws).
 *
 * Except where the check cannot fail: an access through r10 inside the frame, and an access
 * the verifier proved (ProgramImage.proven) — the kernel's JIT emits no check for either.
 * WebAssembly's own bounds still keep an access inside the arena's memory, so a wrong proof can
 * at worst make a run trap (jit-engine.ts turns the trap into a fault), never reach the host.
 */
import { ARENA_LAYOUT, REGION_READ, REGION_WRITE } from '../arena.js';
import { XOP, XOP_INFO } from '../../isa/xop.js';
import { MAX_BPF_STACK } from '../../isa/opcodes.js';
import { IMPORT, LOCAL, SCRATCH, reg } from './layout.js';
import { OP, type CodeWriter } from './wasm-writer.js';
import { spillCount, spillRegisters } from './spill.js';

export interface MemoryOperands {
  xop: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  pc: number;
  /** Instructions of the block after this one (the count at a fault is made exact with it). */
  after: number;
  /** A group check covers this access (emitGroupGuard). */
  grouped?: boolean;
  /** Registers the program uses (spilled before a fault). */
  used: readonly number[];
  /** The verifier proved this access (ProgramImage.proven): no check. */
  proven?: boolean;
}

const LOAD_U = [0, OP.i64_load8_u, OP.i64_load16_u, 0, OP.i64_load32_u, 0, 0, 0, OP.i64_load];
const LOAD_S = [0, OP.i64_load8_s, OP.i64_load16_s, 0, OP.i64_load32_s];
const STORE = [0, OP.i64_store8, OP.i64_store16, 0, OP.i64_store32, 0, 0, 0, OP.i64_store];

/**
 * Whether [base + off, +size) fails the access check for the flags in `need`: leaves 1 (fails)
 * or 0 on the stack and the address in LOCAL.ADDR.
 */
function emitAccessTest(w: CodeWriter, r: number, off: number, size: number, need: number): void {
  // The upper word must be zero, and base + off must stay within [0, 2^32).
  w.get(r).i64(-1, 0).op(OP.i64_gt_u);
  if (off !== 0) {
    w.get(r).i64(off).op(OP.i64_add).tee(LOCAL.T64).i64(-1, 0).op(OP.i64_gt_u).op(OP.i32_or);
    w.get(LOCAL.T64);
  } else {
    w.get(r);
  }
  w.op(OP.i32_wrap_i64).set(LOCAL.ADDR);
  // The region of addr's page (region 0, "unmapped", has no flags, so it always fails).
  w.get(LOCAL.ADDR).i32(12).op(OP.i32_shr_u).i32(1).op(OP.i32_shl).mem(OP.i32_load16_u, ARENA_LAYOUT.PAGE_TABLE).set(LOCAL.REGION);
  w.get(LOCAL.ADDR).get(LOCAL.REGION).i32(2).op(OP.i32_shl).mem(OP.i32_load, ARENA_LAYOUT.REGION_START).op(OP.i32_lt_u).op(OP.i32_or);
  // addr + size cannot wrap past 2^32 unnoticed: the last page is never mapped (arena.ts).
  w.get(LOCAL.ADDR).i32(size).op(OP.i32_add).get(LOCAL.REGION).i32(2).op(OP.i32_shl).mem(OP.i32_load, ARENA_LAYOUT.REGION_END)
    .op(OP.i32_gt_u).op(OP.i32_or);
  w.get(LOCAL.REGION).mem(OP.i32_load8_u, ARENA_LAYOUT.REGION_FLAGS).i32(need).op(OP.i32_and).i32(need).op(OP.i32_ne).op(OP.i32_or);
}

/** Whether an access through r10 stays inside the current frame. */
const inFrame = (base: number, off: number, size: number): boolean => base === 10 && off >= -MAX_BPF_STACK && off + size <= 0;

/**
 * Check the access [base + off, +size) of `o` for `flag`; leaves the address in LOCAL.ADDR.
 * `base` is a register. With `o.grouped`, a group check (emitGroupGuard) made earlier in the
 * block may have covered this access already: then the address is all there is to compute.
 */
function emitCheckedAddress(w: CodeWriter, base: number, size: number, flag: number, o: MemoryOperands): void {
  const { off, pc, after, used } = o;
  const r = reg(base);
  if (o.proven || inFrame(base, off, size)) {
    // Proven, or through r10 (read-only, always the top of one of the engine's 8 frames, all
    // inside its stack region, read-write and never unmapped): the check cannot fail.
    w.get(r).op(OP.i32_wrap_i64).i32(off).op(OP.i32_add).set(LOCAL.ADDR);
    return;
  }
  if (o.grouped) {
    w.get(LOCAL.GUARD0 + base).if();
    w.get(r).op(OP.i32_wrap_i64).i32(off).op(OP.i32_add).set(LOCAL.ADDR);
    w.else();
  }
  emitAccessTest(w, r, off, size, flag);
  w.if();
  spillRegisters(w, used);
  spillCount(w, after);
  w.i32(pc).get(r).op(OP.i32_wrap_i64).get(r).i64(32).op(OP.i64_shr_u).op(OP.i32_wrap_i64).i32(off)
    .i32(size | (flag === REGION_WRITE ? 0x100 : 0)).call(IMPORT.MEM_FAULT).op(OP.unreachable);
  w.end();
  if (o.grouped) w.end();
}

/**
 * One check for a group of accesses through the same register value in a block: when the
 * whole span [base + lo, base + lo + span) lies in one region that allows every access the
 * group makes, each access in it passes its own check, so they skip it (GUARD = 1). When it
 * does not, each access is checked on its own, and the first that fails faults at its pc —
 * exactly as without the group.
 */
export function emitGroupGuard(w: CodeWriter, base: number, lo: number, span: number, need: number): void {
  emitAccessTest(w, reg(base), lo, span, need);
  w.op(OP.i32_eqz).set(LOCAL.GUARD0 + base);
}

export interface AccessShape {
  base: number;
  off: number;
  size: number;
  flag: number;
}

/** The checked access a load, store or atomic makes (undefined for others and for in-frame stack accesses). */
export function accessOf(xop: number, dst: number, src: number, off: number): AccessShape | undefined {
  const shape = shapeOf(xop, dst, src, off);
  return shape && !inFrame(shape.base, shape.off, shape.size) ? shape : undefined;
}

function shapeOf(xop: number, dst: number, src: number, off: number): AccessShape | undefined {
  const info = XOP_INFO[xop];
  switch (info?.kind) {
    case 'ldx': case 'ldxsx': return { base: src, off, size: info.size, flag: REGION_READ };
    case 'st': case 'stx': case 'atomic': return { base: dst, off, size: info.size, flag: REGION_WRITE };
    default: return undefined;
  }
}

/** Lower a load, store or atomic; false when xop is not one. */
export function lowerMemory(w: CodeWriter, o: MemoryOperands): boolean {
  const info = XOP_INFO[o.xop];
  if (info === undefined) return false;
  const { kind, size } = info;
  switch (kind) {
    case 'atomic':
      lowerAtomic(w, o);
      return true;
    case 'ldx': case 'ldxsx': // dst = *(size *)(src + off), zero- or sign-extended
      emitCheckedAddress(w, o.src, size, REGION_READ, o);
      w.get(LOCAL.ADDR).mem(kind === 'ldxsx' ? LOAD_S[size] : LOAD_U[size]).set(reg(o.dst));
      return true;
    case 'st': case 'stx': // *(size *)(dst + off) = imm | src
      emitCheckedAddress(w, o.dst, size, REGION_WRITE, o);
      w.get(LOCAL.ADDR);
      if (kind === 'stx') w.get(reg(o.src));
      else w.i64(o.imm);
      w.mem(STORE[size]);
      return true;
    default:
      return false;
  }
}

/** Atomic operations by their index in ATOMIC_OPS (XopInfo.op). */
const ATOMIC_FETCH_ADD = XOP.ATOMIC32_FETCH_ADD - XOP.ATOMIC32_ADD;
const ATOMIC_XCHG = XOP.ATOMIC32_XCHG - XOP.ATOMIC32_ADD;
const ATOMIC_CMPXCHG = XOP.ATOMIC32_CMPXCHG - XOP.ATOMIC32_ADD;

/**
 * lock <op>[32] [dst + off], src. Order ATOMIC_OPS: add, or, and, xor, fetch add/or/and/xor,
 * xchg, cmpxchg. 32-bit forms store the low word and fetch it zero-extended.
 */
function lowerAtomic(w: CodeWriter, o: MemoryOperands): void {
  const { is64: wide, op, size } = XOP_INFO[o.xop]!;
  const load = wide ? OP.i64_load : OP.i64_load32_u;
  const store = wide ? OP.i64_store : OP.i64_store32;
  const s = reg(o.src);
  emitCheckedAddress(w, o.dst, size, REGION_WRITE, o);
  // old value → T64, source value → T64B (read before r0 or src change)
  w.get(LOCAL.ADDR).mem(load).set(LOCAL.T64);
  w.get(s).set(LOCAL.T64B);
  if (op === ATOMIC_CMPXCHG) { // compare with r0; r0 = old; store src when equal
    const equal = (): void => {
      if (wide) w.get(reg(0)).get(LOCAL.T64).op(OP.i64_eq);
      else w.get(reg(0)).op(OP.i32_wrap_i64).get(LOCAL.T64).op(OP.i32_wrap_i64).op(OP.i32_eq);
    };
    equal();
    w.get(LOCAL.T64).set(reg(0));
    w.if().get(LOCAL.ADDR).get(LOCAL.T64B).mem(store).end();
    return;
  }
  w.get(LOCAL.ADDR);
  const arith = [OP.i64_add, OP.i64_or, OP.i64_and, OP.i64_xor][op & 3]; // add, or, and, xor; fetch_* the same
  if (op === ATOMIC_XCHG) w.get(LOCAL.T64B);
  else w.get(LOCAL.T64).get(LOCAL.T64B).op(arith);
  w.mem(store);
  if (op >= ATOMIC_FETCH_ADD) w.get(LOCAL.T64).set(s); // fetch forms and xchg: src = old
}

/**
 * LD_ABS / LD_IND: r0 = the packet's bytes at imm (+ src's low word), in network order. The
 * ld_packet import reads them (the socket buffer is the runtime's); outside the packet the
 * program ends with r0 = 0, as the kernel does. `exit` emits the end of the run.
 */
export function lowerLegacyLoad(w: CodeWriter, o: MemoryOperands, exit: () => void): void {
  const { kind, size } = XOP_INFO[o.xop]!;
  spillRegisters(w, o.used);
  spillCount(w, 0);
  w.i32(o.pc);
  if (kind === 'ldind') w.get(reg(o.src)).op(OP.i32_wrap_i64);
  else w.i32(0);
  w.i32(o.imm).i32(size).call(IMPORT.LD_PACKET).op(OP.i64_extend_i32_u).set(reg(0));
  w.i32(SCRATCH.LD_OUTSIDE).mem(OP.i32_load).if();
  w.i64(0).set(reg(0));
  exit();
  w.end();
}
