/** The xdplab library: the public API. */
export * from './errors.js';
export * from './isa/index.js';
export { parseElf, type ElfFile } from './elf/elf.js';
export { disassembleObject } from './spec/objdump.js';
export { Arena, Region } from './vm/arena.js';
export { ProgramImage } from './vm/image.js';
export { Interpreter, DEFAULT_BUDGET, MAX_TAIL_CALL_CNT } from './vm/interpreter.js';
export { VmFault, FAULT_REASONS } from './vm/fault.js';
export * from './vm/helper-table.js';
export { RawRunner, CONFORMANCE_HELPERS } from './vm/raw-runner.js';
