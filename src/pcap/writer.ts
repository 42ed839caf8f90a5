/**
 * Capture writer: pcap (µs or ns, either byte order) or pcapng (one section, one interface
 * with its if_name and if_description when given and if_tsresol = 9, Enhanced Packet Blocks
 * with an opt_comment for each comment given).
 *
 * Packets are appended to a 1 MiB buffer that is written out (synchronously, one syscall a
 * MiB) when full, to a temporary file beside the target (src/files.ts, OutputFile); close()
 * flushes and renames it into place, so a reader never sees half a capture and a failed run
 * leaves nothing behind. A device or pipe (/dev/stdout) is written in place.
 */
import { XdplabError } from '../errors.js';
import { OutputFile } from '../files.js';
import {
  BT_EPB, BT_IDB, BT_SHB, IF_DESCRIPTION, IF_NAME, IF_TSRESOL, OPT_COMMENT, OPT_ENDOFOPT, PCAPNG_BOM, PCAP_MAGIC_NS, PCAP_MAGIC_US,
} from './format.js';
import { LINKTYPE_ETHERNET, MAX_CAPTURED_LENGTH, type CaptureWriter, type CaptureWriterOptions } from './types.js';

const BUFFER = 1 << 20;
const utf8 = new TextEncoder();


/** Bytes of options and their opt_endofopt. */
const optionsSize = (options: ReadonlyArray<readonly [number, Uint8Array]>): number =>
  options.reduce((n, [, v]) => n + 4 + ((v.length + 3) & ~3), 0) + 4;

/** A packet's comments as opt_comment options (none for no comment: nothing allocated). */
function commentOptions(comment: string | readonly string[] | undefined, file: string): Array<[number, Uint8Array]> | undefined {
  if (comment === undefined || comment === '' || comment.length === 0) return undefined;
  const list = typeof comment === 'string' ? [comment] : comment.filter((c) => c !== '');
  if (list.length === 0) return undefined;
  return list.map((c) => {
    const text = utf8.encode(c);
    if (text.length > 0xffff) throw new XdplabError('USAGE', `${file}: comment of ${text.length} bytes (65535 at most)`);
    return [OPT_COMMENT, text];
  });
}

class FileCaptureWriter implements CaptureWriter {
  private readonly out: OutputFile;
  private closed = false;
  private buf = new Uint8Array(BUFFER);
  private view = new DataView(this.buf.buffer);
  private len = 0;
  private readonly le: boolean;
  private readonly pcapng: boolean;
  private readonly nanoseconds: boolean;
  private readonly snaplen: number;
  private readonly interfaceName: string | undefined;
  private readonly interfaceDescription: string | undefined;

  constructor(
    readonly file: string,
    options: CaptureWriterOptions,
  ) {
    this.le = (options.byteOrder ?? 'little') === 'little';
    this.pcapng = options.format === 'pcapng';
    this.nanoseconds = options.nanoseconds ?? true;
    this.snaplen = options.snaplen ?? MAX_CAPTURED_LENGTH;
    this.interfaceName = options.interfaceName;
    this.interfaceDescription = options.interfaceDescription;
    const linkType = options.linkType ?? LINKTYPE_ETHERNET;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 1 || this.snaplen > 0xffffffff) {
      throw new XdplabError('USAGE', `${file}: snaplen ${this.snaplen} is not a positive 32-bit integer`);
    }
    if (!Number.isInteger(linkType) || linkType < 0 || linkType > 0xffff) {
      throw new XdplabError('USAGE', `${file}: link type ${linkType} is not a 16-bit integer`);
    }
    this.out = new OutputFile(file);
    if (this.pcapng) this.pcapngHeader(linkType);
    else this.pcapHeader(linkType);
  }

  private u16(v: number): void {
    this.view.setUint16(this.len, v, this.le);
    this.len += 2;
  }

  private u32(v: number): void {
    this.view.setUint32(this.len, v, this.le);
    this.len += 4;
  }

  private pcapHeader(linkType: number): void {
    this.u32(this.nanoseconds ? PCAP_MAGIC_NS : PCAP_MAGIC_US);
    this.u16(2);
    this.u16(4);
    this.u32(0); // thiszone
    this.u32(0); // sigfigs
    this.u32(this.snaplen);
    this.u32(linkType);
  }

  private pcapngHeader(linkType: number): void {
    // Section Header Block: no options, section length unknown (-1).
    this.u32(BT_SHB);
    this.u32(28);
    this.u32(PCAPNG_BOM);
    this.u16(1);
    this.u16(0);
    this.u32(0xffffffff);
    this.u32(0xffffffff);
    this.u32(28);
    // Interface Description Block: if_name, if_description when given, if_tsresol = 9 (nanoseconds).
    const options: Array<[number, Uint8Array]> = [];
    if (this.interfaceName) options.push([IF_NAME, utf8.encode(this.interfaceName)]);
    if (this.interfaceDescription) options.push([IF_DESCRIPTION, utf8.encode(this.interfaceDescription)]);
    options.push([IF_TSRESOL, Uint8Array.of(9)]);
    const total = 20 + optionsSize(options); // type, length, link type, reserved, snaplen; options; length
    this.reserve(total);
    this.u32(BT_IDB);
    this.u32(total);
    this.u16(linkType);
    this.u16(0);
    this.u32(this.snaplen);
    this.options(options);
    this.u32(total);
  }

  /** Options, each padded to 4 bytes, then opt_endofopt. */
  private options(options: ReadonlyArray<readonly [number, Uint8Array]>): void {
    for (const [code, value] of options) {
      this.u16(code);
      this.u16(value.length);
      this.buf.set(value, this.len);
      const p = (value.length + 3) & ~3;
      this.buf.fill(0, this.len + value.length, this.len + p);
      this.len += p;
    }
    this.u32(OPT_ENDOFOPT); // and its length, 0
  }

  /** Make room for `n` more bytes: flush, and grow the buffer for a record larger than it. */
  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    this.flush();
    if (n > this.buf.length) {
      this.buf = new Uint8Array(n);
      this.view = new DataView(this.buf.buffer);
    }
  }

  private flush(): void {
    if (this.closed) throw new XdplabError('USAGE', `${this.file}: the writer is closed`);
    // Out of space, an I/O error: OutputFile removes what it wrote and says why.
    const n = this.len;
    this.len = 0;
    this.out.write(this.buf.subarray(0, n));
  }

  write(data: Uint8Array, tsSec: number, tsNsec: number, comment?: string | readonly string[], origLen?: number): void {
    if (this.closed) throw new XdplabError('USAGE', `${this.file}: write after close`);
    if (!Number.isInteger(tsSec) || tsSec < 0 || tsSec > 0xffffffff || !Number.isInteger(tsNsec) || tsNsec < 0 || tsNsec >= 1e9) {
      throw new XdplabError('USAGE', `${this.file}: timestamp ${tsSec}.${tsNsec} out of range (seconds: 32-bit unsigned, nanoseconds < 1e9)`);
    }
    const capLen = Math.min(data.length, this.snaplen);
    const wire = origLen ?? data.length;
    if (this.pcapng) {
      const padded = (capLen + 3) & ~3;
      const texts = commentOptions(comment, this.file);
      const opts = texts === undefined ? 0 : optionsSize(texts);
      const total = 32 + padded + opts;
      this.reserve(total);
      // ticks = tsSec * 1e9 + tsNsec as two 32-bit words, exactly: split tsSec at 16 bits.
      const a = Math.floor(tsSec / 65536);
      const b = tsSec - a * 65536;
      const y = a * 1e9; // < 2^46
      const yh = Math.floor(y / 65536);
      const low = (y - yh * 65536) * 65536 + b * 1e9 + tsNsec; // < 2^53
      const lo = low % 4294967296;
      const hi = yh + (low - lo) / 4294967296;
      this.u32(BT_EPB);
      this.u32(total);
      this.u32(0); // interface 0
      this.u32(hi);
      this.u32(lo);
      this.u32(capLen);
      this.u32(wire);
      this.buf.set(capLen === data.length ? data : data.subarray(0, capLen), this.len);
      if (padded !== capLen) this.buf.fill(0, this.len + capLen, this.len + padded);
      this.len += padded;
      if (texts !== undefined) this.options(texts);
      this.u32(total);
    } else {
      this.reserve(16 + capLen);
      this.u32(tsSec);
      this.u32(this.nanoseconds ? tsNsec : Math.floor(tsNsec / 1000));
      this.u32(capLen);
      this.u32(wire);
      this.buf.set(capLen === data.length ? data : data.subarray(0, capLen), this.len);
      this.len += capLen;
    }
  }

  /** Write out what is buffered and close the temporary file, not yet renamed (see close). */
  finish(): void {
    if (!this.closed) this.flush();
    this.closed = true;
    this.out.finish();
  }

  async close(): Promise<void> {
    this.finish();
    this.out.publish();
  }

  async abort(): Promise<void> {
    this.closed = true;
    this.out.abort();
  }
}

/**
 * Start a capture file. Nothing appears at `file` until close(); abort() (or a failure in
 * close) removes the temporary file.
 */
export function createCaptureWriter(file: string, options: CaptureWriterOptions): CaptureWriter {
  return new FileCaptureWriter(file, options);
}
