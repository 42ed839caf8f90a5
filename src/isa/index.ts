export * from './opcodes.js';
export * from './instruction.js';
export * from './disasm.js';
export * from './asm.js';
export * from './data-file.js';
export * from './xop.js';
