export * from './constants.js';
export * from './elf.js';
