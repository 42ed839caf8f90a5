/** Packet captures: pcap and pcapng readers and writers. */
export * from './types.js';
export { openCapture, readCaptureSync, type CaptureContents } from './reader.js';
export { createCaptureWriter } from './writer.js';
