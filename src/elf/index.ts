export * from './constants.js';
export * from './elf.js';
export * from './objdump.js';
