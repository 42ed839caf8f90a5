/**
 * The capture parser behind the readers (reader.ts): pcap and pcapng records out of a byte
 * buffer that the caller fills, one record object refilled for every packet.
 *
 * - pcap: magic a1b2c3d4 (µs) or a1b23c4d (ns) in either byte order, version 2.x, snaplen,
 *   link type (lower 16 bits of the network field).
 * - pcapng: sections (a Section Header Block sets the byte order of what follows; interfaces
 *   are numbered per section), Interface Description Blocks with if_tsresol (10^-n or 2^-n)
 *   and if_tsoffset, Enhanced, Simple (captured length bounded by interface 0's snaplen) and
 *   obsolete Packet Blocks, opt_comment; every other block type is skipped unread.
 *
 * Errors are XdplabError 'BAD_INPUT' naming the file, the packet — counted from 1, as Wireshark
 * numbers frames — and the byte offset.
 * Under `skipBad`, a record whose framing is intact (an unknown interface, a refused link
 * type) is skipped and listed in `skipped`; a truncated tail is listed and ends the file;
 * broken framing (a length that cannot be trusted) always throws. A record captured past the
 * snaplen is read, as tcpdump and Wireshark read it, with a note (`notes`); so are packets of
 * link types made Ethernet frames (link-types.ts), when the consumer asks for that.
 */
import { XdplabError } from '../errors.js';
import {
  MAX_CAPTURED_LENGTH,
  linkTypeText,
  type CaptureReaderOptions,
  type CaptureRecord,
  type SkippedRecord,
} from './types.js';
import { POW10, setTimestamp, type Interface } from './timestamps.js';
import {
  BT_EPB, BT_IDB, BT_OPB, BT_SHB, BT_SPB, IF_TSOFFSET, IF_TSRESOL, OPT_COMMENT, OPT_ENDOFOPT, PCAPNG_BOM, PCAP_MAGIC_NS, PCAP_MAGIC_US,
} from './format.js';
import { TO_ETHERNET, toEthernet } from './link-types.js';
import { LINKTYPE_ETHERNET } from '../packet/constants.js';

export const CHUNK = 1 << 20;
/** Largest pcapng block read into memory (packet blocks with options, headers); others are skipped. */
const MAX_BLOCK = 16 << 20;

export const RECORD = 1;
export const END = 0;
export const NEED_MORE = -1;

const utf8 = new TextDecoder('utf-8');

/** The one record object a reader refills. `data` is a view made on first access. */
class Record implements CaptureRecord {
  index = 0;
  tsSec = 0;
  tsNsec = 0;
  origLen = 0;
  linkType = 0;
  interfaceId = 0;
  comment: string | undefined = undefined;
  bytes: Uint8Array;
  dataOffset = 0;
  capLen = 0;
  bufferEpoch = -1;
  bufferEnd = 0;
  /** @internal the view `data` returned, until the record moves on. */
  view: Uint8Array | undefined = undefined;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  get data(): Uint8Array {
    return (this.view ??= this.bytes.subarray(this.dataOffset, this.dataOffset + this.capLen));
  }
}

const hex32 = (v: number): string => v.toString(16).padStart(8, '0');

/** A packet as messages name it: counted from 1, as Wireshark numbers frames. */
export const packetName = (index: number): string => `packet ${index + 1}`;

/**
 * The parsing state machine over a buffer that holds the file's bytes [base, base + end).
 * `next()` returns RECORD (the record is filled), END, or NEED_MORE (call `fill` with at
 * least `need` bytes from `pos`, then `next()` again).
 */
export class CaptureParser {
  buf: Uint8Array;
  view: DataView;
  /** File offset of buf[0]. */
  base = 0;
  pos = 0;
  end = 0;
  /** True once the buffer holds the file up to its end. */
  eof = false;
  need = 0;
  format: 'pcap' | 'pcapng' = 'pcap';
  le = true;
  readonly record: Record;
  readonly skipped: SkippedRecord[] = [];
  private index = 0;
  private headerDone = false;
  // pcap
  private snaplen = 0;
  private linkType = 0;
  private nsMul = 1000;
  // pcapng
  private interfaces: Interface[] = [];
  private sections = 0;

  /** Set once a truncated tail was skipped: nothing follows. */
  private done = false;
  /** Where packets made Ethernet frames are built (link-types.ts). */
  private scratch = new Uint8Array(0);
  private readonly noted = new Map<string, { text: string; count: number }>();

  constructor(
    readonly file: string,
    readonly options: CaptureReaderOptions,
    buf: Uint8Array,
    /** The file's size in bytes. */
    readonly size: number,
  ) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.record = new Record(buf);
  }

  /** Bumped whenever the buffer's bytes move or change (the reader's fill; a new buffer). */
  epoch = 0;

  setBuffer(buf: Uint8Array): void {
    this.epoch++;
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.record.bytes = buf;
  }

  // ---- errors ----

  private fail(offset: number, what: string, reason: string): never {
    throw new XdplabError('BAD_INPUT', `${this.file}: ${what} at byte offset ${offset}: ${reason}`);
  }

  /** A bad packet record whose framing is intact: thrown, or skipped under skipBad. */
  private bad(offset: number, index: number, reason: string): void {
    if (!this.options.skipBad) this.fail(offset, packetName(index), reason);
    this.skipped.push({ index, offset, reason });
  }

  private where(isPacket: boolean): string {
    return isPacket ? packetName(this.index) : `block (before ${packetName(this.index)})`;
  }

  /**
   * The buffer lacks `n` bytes at `p`: ask for more, or at the end of the file stop cleanly
   * (nothing left) or report a truncated tail (skipped under skipBad, which ends the file).
   */
  private short(p: number, n: number, what: string, isPacket: boolean): number {
    if (!this.eof) {
      this.need = n;
      return NEED_MORE;
    }
    if (p === this.end) return END;
    return this.truncated(p, n, what, isPacket);
  }

  /** The file ends inside the `n` bytes at `p`: an error, or under skipBad the end of the file. */
  private truncated(p: number, n: number, what: string, isPacket: boolean): number {
    const left = Math.max(0, this.size - this.base - p);
    const reason = `truncated ${what}: ${n} bytes needed, ${left} left in the file`;
    if (!this.options.skipBad) this.fail(this.base + p, this.where(isPacket), reason);
    this.skipped.push({ index: this.index, offset: this.base + p, reason });
    this.pos = this.end;
    this.eof = true;
    this.done = true;
    return END;
  }

  // ---- the file header ----

  /** Read the file header (pcap) or recognise the first SHB (pcapng). */
  private header(): number {
    const have = this.end - this.pos;
    if (have < 4) {
      if (!this.eof) return ((this.need = 24), NEED_MORE);
      this.fail(0, 'file header', `truncated file header: ${have} bytes, not a pcap or pcapng file`);
    }
    const magicBE = this.view.getUint32(0, false);
    const magicLE = this.view.getUint32(0, true);
    if (magicBE === BT_SHB) {
      this.format = 'pcapng';
      this.headerDone = true;
      return RECORD;
    }
    let le: boolean;
    if (magicBE === PCAP_MAGIC_US || magicBE === PCAP_MAGIC_NS) le = false;
    else if (magicLE === PCAP_MAGIC_US || magicLE === PCAP_MAGIC_NS) le = true;
    else this.fail(0, 'file header', `bad magic 0x${hex32(magicBE)}: not a pcap (a1b2c3d4, a1b23c4d) or pcapng (0a0d0d0a) file`);
    if (have < 24) {
      if (!this.eof) return ((this.need = 24), NEED_MORE);
      this.fail(0, 'file header', `truncated pcap file header: ${have} of 24 bytes`);
    }
    const v = this.view;
    const magic = v.getUint32(0, le);
    const major = v.getUint16(4, le);
    const minor = v.getUint16(6, le);
    if (major !== 2) this.fail(0, 'file header', `unsupported pcap version ${major}.${minor} (2.4 expected)`);
    this.le = le;
    this.format = 'pcap';
    this.nsMul = magic === PCAP_MAGIC_NS ? 1 : 1000;
    this.snaplen = v.getUint32(16, le);
    this.linkType = v.getUint32(20, le) & 0xffff;
    // A pcap file has one link type, in its header: refused there, not at every packet.
    const refused = this.refuseLinkType(this.linkType);
    if (refused !== undefined) this.fail(20, 'file header', refused);
    this.pos = 24;
    this.headerDone = true;
    return RECORD;
  }

  /** Stop: next() returns END from now on (the reader was closed). */
  finish(): void {
    this.done = true;
    this.eof = true;
  }

  /** Read the file header if not yet done: RECORD when done, or NEED_MORE. */
  start(): number {
    return this.headerDone ? RECORD : this.header();
  }

  next(): number {
    if (!this.headerDone) {
      const r = this.header();
      if (r !== RECORD) return r;
    }
    if (this.done) return END;
    return this.format === 'pcap' ? this.nextPcap() : this.nextPcapng();
  }

  private refuseLinkType(linkType: number): string | undefined {
    const asked = this.options.linkTypes;
    if (asked === undefined || asked.includes(linkType)) return undefined;
    if (this.options.ethernet && TO_ETHERNET.has(linkType)) return undefined; // made Ethernet frames (adapt)
    const accepted = this.options.ethernet ? [...asked, ...TO_ETHERNET.keys()] : asked;
    return `link type ${linkTypeText(linkType)}, which xdplab does not read here (it reads ${accepted.map(linkTypeText).join(', ')}): capture on an Ethernet device`;
  }

  // ---- pcap ----

  private nextPcap(): number {
    const v = this.view;
    const le = this.le;
    const rec = this.record;
    for (;;) {
      const p = this.pos;
      if (this.end - p < 16) return this.short(p, 16, 'record header', true);
      const incl = v.getUint32(p + 8, le);
      if (incl > MAX_CAPTURED_LENGTH) {
        this.fail(this.base + p, packetName(this.index), `captured length ${incl} is larger than ${MAX_CAPTURED_LENGTH}: the file is corrupt (cannot find the next record)`);
      }
      if (this.end - p < 16 + incl) return this.short(p, 16 + incl, 'record', true);
      const index = this.index++;
      this.pos = p + 16 + incl;
      if (incl > this.snaplen && this.snaplen !== 0) this.overSnaplen(this.base + p, index, incl, `the file's snaplen ${this.snaplen}`);
      let sec = v.getUint32(p, le);
      let nsec = v.getUint32(p + 4, le) * this.nsMul;
      if (nsec >= 1e9) {
        const carry = Math.floor(nsec / 1e9);
        sec += carry;
        nsec -= carry * 1e9;
      }
      rec.index = index;
      rec.tsSec = sec;
      rec.tsNsec = nsec;
      rec.capLen = incl;
      rec.origLen = v.getUint32(p + 12, le);
      rec.dataOffset = p + 16;
      rec.linkType = this.linkType;
      rec.view = undefined;
      if (!this.adapt(this.base + p)) continue;
      return RECORD;
    }
  }

  // ---- pcapng ----

  private nextPcapng(): number {
    for (;;) {
      const p = this.pos;
      if (this.end - p < 12) return this.short(p, 12, 'block header', false);
      const v = this.view;
      const type = v.getUint32(p, this.le);
      const isShb = type === BT_SHB;
      if (isShb) {
        const bom = v.getUint32(p + 8, true);
        if (bom === PCAPNG_BOM) this.le = true;
        else if (bom === 0x4d3c2b1a) this.le = false;
        else this.fail(this.base + p, this.where(false), `section header block with bad byte-order magic 0x${hex32(bom)}`);
      } else if (this.sections === 0) {
        this.fail(this.base + p, this.where(false), `pcapng file does not start with a section header block`);
      }
      const le = this.le;
      const len = v.getUint32(p + 4, le);
      const isPacket = type === BT_EPB || type === BT_SPB || type === BT_OPB;
      if (len < 12 || len % 4 !== 0) {
        this.fail(this.base + p, this.where(isPacket), `block type 0x${hex32(type)} has total length ${len}, ${len < 12 ? 'less than 12' : 'not a multiple of 4'}`);
      }
      if (!isPacket && !isShb && type !== BT_IDB) {
        // Unknown or unused block: skip it without reading it (check its trailer if it is here).
        if (this.end - p >= len && v.getUint32(p + len - 4, le) !== len) {
          this.fail(this.base + p, this.where(false), `block type 0x${hex32(type)}: total length ${len} at the start but ${v.getUint32(p + len - 4, le)} at the end`);
        }
        if (this.base + p + len > this.size) return this.truncated(p, len, 'block', false);
        this.pos = p + len;
        continue;
      }
      if (len > MAX_BLOCK) this.fail(this.base + p, this.where(isPacket), `block total length ${len} is larger than ${MAX_BLOCK}`);
      if (this.end - p < len) return this.short(p, len, isPacket ? 'packet block' : 'block', isPacket);
      const trailer = v.getUint32(p + len - 4, le);
      if (trailer !== len) {
        this.fail(this.base + p, this.where(isPacket), `block type 0x${hex32(type)}: total length ${len} at the start but ${trailer} at the end`);
      }
      this.pos = p + len;
      if (type === BT_EPB || type === BT_OPB) {
        if (this.packetBlock(p, len, type === BT_OPB)) return RECORD;
      } else if (type === BT_SPB) {
        if (this.simplePacket(p, len)) return RECORD;
      } else if (type === BT_IDB) {
        this.interfaceBlock(p, len);
      } else {
        this.sectionHeader(p, len);
      }
    }
  }

  private sectionHeader(p: number, len: number): void {
    if (len < 28) this.fail(this.base + p, this.where(false), `section header block of ${len} bytes (28 at least)`);
    const major = this.view.getUint16(p + 12, this.le);
    const minor = this.view.getUint16(p + 14, this.le);
    if (major !== 1) this.fail(this.base + p, this.where(false), `unsupported pcapng version ${major}.${minor} (1.0 expected)`);
    this.sections++;
    this.interfaces = [];
  }

  private interfaceBlock(p: number, len: number): void {
    const v = this.view;
    const le = this.le;
    if (len < 20) this.fail(this.base + p, this.where(false), `interface description block of ${len} bytes (20 at least)`);
    const ifc: Interface = {
      offset: this.base + p,
      linkType: v.getUint16(p + 8, le),
      snaplen: v.getUint32(p + 12, le),
      base: 'dec',
      exp: 6,
      offsetSec: 0,
      divisor: 1e6,
      nsPerTick: 1000,
      cacheHi: -1,
      cacheSec: 0,
      cacheRem: 0,
      quotient: { hi: 0, lo: 0, rem: 0 },
    };
    const end = p + len - 4;
    for (let o = p + 16; o + 4 <= end; ) {
      const code = v.getUint16(o, le);
      const olen = v.getUint16(o + 2, le);
      if (code === OPT_ENDOFOPT) break;
      if (o + 4 + olen > end) this.fail(this.base + p, this.where(false), `interface description block: option ${code} of ${olen} bytes runs past the block`);
      if (code === IF_TSRESOL && olen >= 1) {
        const r = this.buf[o + 4];
        ifc.base = r & 0x80 ? 'bin' : 'dec';
        ifc.exp = r & 0x7f;
        if (ifc.base === 'dec' && ifc.exp > 19) this.fail(this.base + p, this.where(false), `interface description block: if_tsresol 10^-${ifc.exp} is finer than a 64-bit timestamp can hold`);
      } else if (code === IF_TSOFFSET && olen >= 8) {
        // A signed 64-bit integer in the section's byte order.
        const high = le ? v.getInt32(o + 8, true) : v.getInt32(o + 4, false);
        const low = le ? v.getUint32(o + 4, true) : v.getUint32(o + 8, false);
        ifc.offsetSec = high * 4294967296 + low;
      }
      o += 4 + ((olen + 3) & ~3);
    }
    if (ifc.base === 'dec' && ifc.exp <= 9) {
      ifc.divisor = POW10[ifc.exp];
      ifc.nsPerTick = POW10[9 - ifc.exp];
    }
    this.interfaces.push(ifc);
  }

  /** An EPB (or an obsolete Packet Block): fill the record, or report it bad. */
  private packetBlock(p: number, len: number, obsolete: boolean): boolean {
    const v = this.view;
    const le = this.le;
    const index = this.index++;
    const offset = this.base + p;
    if (len < 32) {
      this.bad(offset, index, `${obsolete ? 'packet' : 'enhanced packet'} block of ${len} bytes (32 at least)`);
      return false;
    }
    const ifid = obsolete ? v.getUint16(p + 8, le) : v.getUint32(p + 8, le);
    const capLen = v.getUint32(p + 20, le);
    const padded = (capLen + 3) & ~3;
    if (28 + padded + 4 > len) {
      this.bad(offset, index, `captured length ${capLen} does not fit a block of ${len} bytes`);
      return false;
    }
    const ifc = this.interfaces[ifid];
    if (ifc === undefined) {
      this.bad(offset, index, `interface ${ifid} is not described (the section has ${this.interfaces.length} interface${this.interfaces.length === 1 ? '' : 's'})`);
      return false;
    }
    if (!this.capLenAllowed(offset, index, capLen)) return false;
    if (capLen > ifc.snaplen && ifc.snaplen !== 0) this.overSnaplen(offset, index, capLen, `interface ${ifid}'s snaplen ${ifc.snaplen}`);
    if (!this.linkTypeAllowed(offset, index, ifc, ifid)) return false;
    const comment = 28 + padded + 4 < len ? this.comment(p + 28 + padded, p + len - 4) : undefined;
    this.fillRecord(index, ifc, ifid, capLen, v.getUint32(p + 24, le), p + 28, comment);
    setTimestamp(this.record, ifc, v.getUint32(p + 12, le), v.getUint32(p + 16, le));
    return this.adapt(offset);
  }

  /** The opt_comment(s) among the options in [o, end). */
  private comment(o: number, end: number): string | undefined {
    const v = this.view;
    let text: string | undefined;
    while (o + 4 <= end) {
      const code = v.getUint16(o, this.le);
      const olen = v.getUint16(o + 2, this.le);
      if (code === OPT_ENDOFOPT || o + 4 + olen > end) break;
      if (code === OPT_COMMENT) {
        const c = utf8.decode(this.buf.subarray(o + 4, o + 4 + olen));
        text = text === undefined ? c : `${text}\n${c}`;
      }
      o += 4 + ((olen + 3) & ~3);
    }
    return text;
  }

  private simplePacket(p: number, len: number): boolean {
    const index = this.index++;
    const offset = this.base + p;
    if (len < 16) {
      this.bad(offset, index, `simple packet block of ${len} bytes (16 at least)`);
      return false;
    }
    const ifc = this.interfaces[0];
    if (ifc === undefined) {
      this.bad(offset, index, `simple packet block but the section describes no interface 0`);
      return false;
    }
    const origLen = this.view.getUint32(p + 8, this.le);
    // The captured length is the wire length cut to interface 0's snaplen; it must fit.
    const capLen = ifc.snaplen !== 0 ? Math.min(origLen, ifc.snaplen) : origLen;
    if (16 + capLen > len) {
      this.bad(offset, index, `simple packet block of ${len} bytes is too small for ${capLen} bytes of packet data`);
      return false;
    }
    if (!this.capLenAllowed(offset, index, capLen)) return false;
    if (!this.linkTypeAllowed(offset, index, ifc, 0)) return false;
    this.fillRecord(index, ifc, 0, capLen, origLen, p + 12, undefined);
    this.record.tsSec = 0;
    this.record.tsNsec = 0;
    return this.adapt(offset);
  }

  /** A packet block's captured length within MAX_CAPTURED_LENGTH (else reported bad). */
  private capLenAllowed(offset: number, index: number, capLen: number): boolean {
    if (capLen <= MAX_CAPTURED_LENGTH) return true;
    this.bad(offset, index, `captured length ${capLen} is larger than ${MAX_CAPTURED_LENGTH}`);
    return false;
  }

  /** Whether the consumer takes the link type of the block's interface (else reported bad). */
  private linkTypeAllowed(offset: number, index: number, ifc: Interface, ifid: number): boolean {
    if (this.options.linkTypes === undefined) return true;
    const refused = this.refuseLinkType(ifc.linkType);
    if (refused === undefined) return true;
    this.bad(offset, index, `its interface ${ifid} (described at byte offset ${ifc.offset}) has ${refused}`);
    return false;
  }

  /** The record of a packet block (its timestamp aside). */
  private fillRecord(index: number, ifc: Interface, ifid: number, capLen: number, origLen: number, dataOffset: number, comment: string | undefined): void {
    const rec = this.record;
    rec.index = index;
    rec.capLen = capLen;
    rec.origLen = origLen;
    rec.dataOffset = dataOffset;
    rec.linkType = ifc.linkType;
    rec.interfaceId = ifid;
    rec.view = undefined;
    rec.comment = comment;
  }

  // ---- what the consumer gets ----

  /**
   * The filled record as the consumer takes it: with `ethernet` asked for, a packet of another
   * link type xdplab can frame (link-types.ts) made an Ethernet frame in a buffer of its own,
   * said once per link type in `notes`. False: the packet cannot be, reported as bad.
   */
  private adapt(offset: number): boolean {
    const rec = this.record;
    rec.bytes = this.buf;
    rec.bufferEpoch = this.epoch;
    rec.bufferEnd = this.end;
    const host = this.options.ethernet?.destination;
    if (host === undefined || !TO_ETHERNET.has(rec.linkType)) return true;
    if (this.scratch.length < rec.capLen + 14) this.scratch = new Uint8Array(Math.max(rec.capLen + 14, 2 * this.scratch.length));
    const grew = toEthernet(rec.linkType, this.buf, rec.dataOffset, rec.capLen, host, this.scratch);
    if (typeof grew === 'string') {
      this.bad(offset, rec.index, grew);
      return false;
    }
    this.note(`link type ${rec.linkType}`, `link type ${linkTypeText(rec.linkType)}, ${TO_ETHERNET.get(rec.linkType)}: each packet gets the Ethernet header the kernel would have seen on an Ethernet device (destination ${macText(host)}, the receiving interface's, for a packet to this host)`);
    rec.bytes = this.scratch;
    rec.bufferEpoch = -1;
    rec.dataOffset = 0;
    rec.capLen += grew;
    rec.origLen += grew;
    rec.linkType = LINKTYPE_ETHERNET;
    return true;
  }

  /** A record captured past the snaplen: read all the same, as tcpdump and Wireshark read it, with a note. */
  private overSnaplen(offset: number, index: number, capLen: number, snaplen: string): void {
    this.note('snaplen', `${packetName(index)} at byte offset ${offset}: captured length ${capLen} exceeds ${snaplen}; read all the same, as tcpdump and Wireshark read it`);
  }

  /** Say something about the file once (the notes a consumer prints); again, it counts. */
  private note(key: string, text: string): void {
    const seen = this.noted.get(key);
    if (seen) seen.count++;
    else this.noted.set(key, { text: `${this.file}: ${text}`, count: 1 });
  }

  /** The notes on the file: each said once, with how many more packets it was true of. */
  get notes(): string[] {
    return [...this.noted.values()].map(({ text, count }) => (count > 1 ? `${text} (and ${count - 1} more packet${count > 2 ? 's' : ''})` : text));
  }
}

const macText = (mac: Uint8Array): string => Array.from(mac, (b) => b.toString(16).padStart(2, '0')).join(':');

