/** The kernel's uapi as data: constants under their kernel names, helper signatures, program types. */
export * from './bpf.js';
export * from './errno.js';
export * from './helper-ids.js';
export * from './helper-protos.js';
export * from './if-ether.js';
export * from './in.js';
export * from './pkt-cls.js';
export * from './prog-types.js';
