/** Packets: addresses, checksums, header layers, the builder and parser, the flow fast path. */
export * from './constants.js';
export * from './address.js';
export * from './checksum.js';
export * from './layers.js';
export { buildPacket } from './build.js';
export { parsePacket } from './parse.js';
export { flowOf, newFlow, type Flow } from './flow.js';
