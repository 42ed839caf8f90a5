/**
 * The libpcap binding live/ runs on: xdplab's own (native/libpcap, N-API, an optional
 * dependency built by node-gyp at install time), loaded on first use.
 *
 * Why not a binding from the registry — measured on a veth pair, bursts of 50,000 frames:
 * - `cap` 0.2.1, which DESIGN.md first named, aborted the process ("malloc(): unsorted double
 *   linked list corrupted") whenever its packet handler allocated (so the garbage collector
 *   ran inside its read loop), whether or not the caller kept its packet buffer referenced.
 *   Its binding keeps a raw pointer to the Buffer given to open() without holding a reference
 *   (a collected buffer is written after it is freed) and emits each packet from inside
 *   pcap_dispatch. With a handler that allocated nothing it held, but took 27,863 of 50,000
 *   frames with no way to tell: cap binds neither pcap_stats nor pcap_setdirection.
 * - `pcap` 3.1 held and binds pcap_stats, but not pcap_setdirection; asking for inbound frames
 *   with the filter primitive `inbound` through it lost frames that matched: libpcap 1.10's
 *   pcap_setfilter filters the first frame (or, with TPACKET_V3, the first block: 63 and 96
 *   frames in two runs) after it in user space, where `inbound` (SKF_AD_PKTTYPE) cannot be read.
 * native/libpcap/src/libpcap.c attaches that filter to the socket itself, sets
 * pcap_setdirection(PCAP_D_IN), and reads frames in batches into one buffer (no callback a frame).
 *
 * Without the binding (not built: no libpcap-dev or compiler at install time) everything else
 * runs; a live command says so in one line (exit 2).
 */
import { createRequire } from 'node:module';
import { XdplabError } from '../errors.js';

/** pcap_stats since open (received counts the frames the ring dropped too, as Linux counts). */
export interface PcapStats {
  received: number;
  dropped: number;
  ifdropped: number;
}

/** An open capture handle (an N-API external). */
export type PcapHandle = { readonly __brand: 'PcapHandle' };

export interface LibpcapBinding {
  /** Errors carry `code`: ENODEV, EPERM, EFILTER, ELINK or EPCAP. */
  open(device: string, filter: string, ringBytes: number, snaplen: number): PcapHandle;
  /** Frames as records [u32 tv_sec][u32 tv_usec][u32 caplen][u32 len][data, padded to 4]; returns how many. */
  read(handle: PcapHandle, buffer: Buffer): number;
  stats(handle: PcapHandle): PcapStats;
  inject(handle: PcapHandle, frame: Buffer): void;
  close(handle: PcapHandle): void;
}

let loaded: LibpcapBinding | undefined;

/** The binding, or a one-line error saying what is missing and how to get it. */
export function libpcap(): LibpcapBinding {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  try {
    loaded = require('xdplab-libpcap') as LibpcapBinding;
  } catch (err) {
    throw new XdplabError('UNSUPPORTED', 'live capture needs xdplab\'s libpcap binding, which was not built at install: ' +
      'install libpcap-dev, make, g++ and python3, then reinstall xdplab', { cause: err });
  }
  return loaded;
}
