/**
 * Spilling run state to the scratch area: before every import call that may end the run (a
 * helper, a fault) the registers and the instruction count are where the engine reads them,
 * so a fault leaves the register file as the interpreter leaves it.
 */
import { LOCAL, SCRATCH, reg } from './layout.js';
import { OP, type CodeWriter } from './wasm-writer.js';

/** Store the instruction count, made exact for a stop in the middle of a block. */
export function spillCount(w: CodeWriter, after: number): void {
  w.i32(SCRATCH.N).get(LOCAL.N);
  if (after !== 0) w.i32(after).op(OP.i32_sub);
  w.mem(OP.i32_store);
}

/** Store the registers the program uses into the register file. */
export function spillRegisters(w: CodeWriter, used: readonly number[]): void {
  for (const r of used) w.i32(0).get(reg(r)).mem(OP.i64_store, SCRATCH.REGS + r * 8);
}
