/**
 * Packet captures in and out: the shapes every reader and writer shares.
 *
 * A reader streams records from a pcap (microsecond or nanosecond, either byte order) or a
 * pcapng file (sections, interfaces with their own link types and timestamp resolutions,
 * enhanced, simple and obsolete packet blocks, options). A writer writes pcap or pcapng —
 * pcapng with a comment per packet when asked. Timestamps are kept as two integers (seconds
 * and nanoseconds): nanoseconds since 1970 do not fit a JS number exactly.
 */

/** Link types (LINKTYPE_*) xdplab understands. */
export { LINKTYPE_ETHERNET, LINKTYPE_RAW } from '../packet/constants.js';

/** Names of the link types captures commonly have (tcpdump.org/linktypes.html), for messages. */
export const LINKTYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'NULL', 1: 'ETHERNET', 101: 'RAW', 105: 'IEEE802_11', 108: 'LOOP', 113: 'LINUX_SLL', 127: 'IEEE802_11_RADIOTAP',
  228: 'IPV4', 229: 'IPV6', 276: 'LINUX_SLL2',
};

/** `105 (IEEE802_11)`: a link type with its name when it has a known one. */
export const linkTypeText = (linkType: number): string =>
  LINKTYPE_NAMES[linkType] !== undefined ? `${linkType} (${LINKTYPE_NAMES[linkType]})` : String(linkType);

/**
 * Largest captured length a record may have (Wireshark's bound for Ethernet, 256 KiB). A
 * length beyond it means the file is corrupt, not that the packet is big.
 */
export const MAX_CAPTURED_LENGTH = 262144;

/**
 * One packet of a capture. A reader hands out ONE record object and refills it for every
 * packet: copy what you keep. `data` (and `bytes`) are valid until the reader's next record.
 */
export interface CaptureRecord {
  /** 0-based record number in the file (packet records only, across sections; skipped ones count). */
  readonly index: number;
  /** Capture time: whole seconds since the epoch, and the nanoseconds within that second. */
  readonly tsSec: number;
  readonly tsNsec: number;
  /** The captured bytes (a view made on first access). */
  readonly data: Uint8Array;
  /**
   * The same bytes without making a view: `bytes[dataOffset, dataOffset + capLen)`. `bytes`
   * is the reader's buffer — for copying into an arena with no allocation per packet.
   */
  readonly bytes: Uint8Array;
  readonly dataOffset: number;
  readonly capLen: number;
  /**
   * A capture reader's: `bytes` holds the file's bytes up to bufferEnd, unchanged while
   * bufferEpoch stays the same (a consumer may copy many records' bytes at once and use them
   * record after record); -1 when `bytes` holds this record alone. Absent: not known.
   */
  readonly bufferEpoch?: number;
  readonly bufferEnd?: number;
  /** The packet's length on the wire (≥ capLen when the capture was truncated by snaplen). */
  readonly origLen: number;
  /** LINKTYPE_* of the interface it was captured on. */
  readonly linkType: number;
  /** pcapng: the interface id within its section (0 for pcap). */
  readonly interfaceId: number;
  /** pcapng: the packet's opt_comment (several are joined with "\n"), if any. */
  readonly comment?: string;
}

/** A malformed record skipped under `skipBad`, as the reader reports it. */
export interface SkippedRecord {
  /** The record number it had (or, for a non-packet block, the number of the next record). */
  index: number;
  /** Byte offset of the record (block) in the file. */
  offset: number;
  reason: string;
}

export interface CaptureReaderOptions {
  /** Go on past malformed records (counted in `skipped`) instead of failing. */
  skipBad?: boolean;
  /**
   * Link types the consumer accepts (e.g. `[LINKTYPE_ETHERNET]`): a packet of another link
   * type is a bad record (an error, or skipped under `skipBad`). Default: any, carried in
   * `linkType` for the consumer to judge.
   */
  linkTypes?: readonly number[];
  /**
   * Make packets of the link types xdplab can frame (Linux cooked, raw IP: pcap/link-types.ts)
   * Ethernet frames as a device of MAC `destination` would have received them; each such link
   * type is accepted along with `linkTypes`, and said once in the reader's `notes`.
   */
  ethernet?: { destination: Uint8Array };
}

/**
 * A single-pass reader. Iterate it with `for await` (≈10M records/s: a promise per record)
 * or with `forEach` (a plain callback per record, no promise but at chunk boundaries —
 * the fast way). The file is closed at the end, on an error, or on `close()`.
 */
export interface CaptureReader extends AsyncIterable<CaptureRecord> {
  readonly file: string;
  readonly format: 'pcap' | 'pcapng';
  /** Records skipped so far under `skipBad`. */
  readonly skipped: readonly SkippedRecord[];
  /** What the reader says about the file once, each a line naming it: packets past the snaplen, link types made Ethernet. */
  readonly notes: readonly string[];
  /** Call `visit` for every remaining record; resolves to how many were visited. */
  forEach(visit: (record: CaptureRecord) => void): Promise<number>;
  close(): Promise<void>;
}

export interface CaptureWriterOptions {
  format: 'pcap' | 'pcapng';
  /** LINKTYPE_* of the one interface. Default LINKTYPE_ETHERNET. */
  linkType?: number;
  /** pcap: nanosecond timestamps (magic 0xa1b23c4d) instead of microseconds. Default true. */
  nanoseconds?: boolean;
  /** Packets longer than this are cut (origLen keeps their length). Default 262144. */
  snaplen?: number;
  /** Byte order of the file. Default little-endian (what x86 tools write). */
  byteOrder?: 'little' | 'big';
  /** pcapng: the interface's if_name (Wireshark's "Interface name"), and its if_description. */
  interfaceName?: string;
  interfaceDescription?: string;
}

export interface CaptureWriter {
  readonly file: string;
  /** Append one packet; each comment is an opt_comment in pcapng (ignored in pcap). */
  write(data: Uint8Array, tsSec: number, tsNsec: number, comment?: string | readonly string[], origLen?: number): void;
  /**
   * Write out everything and close the temporary file, without renaming it yet: a caller with
   * several files finishes them all before it renames any. Nothing is left on failure.
   */
  finish(): void;
  /** Finish (if not done), and move the temporary file to its final name. Nothing is left on failure. */
  close(): Promise<void>;
  /** Give up: remove the temporary file. */
  abort(): Promise<void>;
}
