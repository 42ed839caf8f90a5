/**
 * A BTF encoder: the few kinds a generated program needs (INT, PTR, STRUCT, FUNC_PROTO, FUNC)
 * and its .BTF.ext (func_info, line_info), laid out as the kernel and libbpf read them
 * (include/uapi/linux/btf.h, tools/lib/bpf/libbpf_internal.h). Hand-written: no npm package
 * writes BTF. What it writes, src/btf's reader reads back (test/btf/encoder.test.ts).
 */
import {
  BTF_HEADER_SIZE, BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_MAGIC, BTF_VERSION,
  BTF_FUNC_GLOBAL, BTF_INT_SIGNED,
} from './types.js';

const BTF_EXT_HEADER_SIZE = 32;
const FUNC_INFO_SIZE = 8;
const LINE_INFO_SIZE = 16;

export interface BtfMemberSpec {
  readonly name: string;
  readonly type: number;
  /** Offset from the start of the struct, in bits. */
  readonly bitOffset: number;
}

export interface BtfFuncInfoSpec {
  /** Byte offset of the function's first instruction in its section. */
  readonly insnOff: number;
  readonly typeId: number;
}

export interface BtfLineInfoSpec {
  readonly insnOff: number;
  readonly file: string;
  readonly line: string;
  readonly lineNum: number;
  readonly col: number;
}

export class BtfBuilder {
  private readonly words: number[] = [];
  private readonly strings: string[] = [''];
  private readonly stringOffsets = new Map<string, number>([['', 0]]);
  private stringBytes = 1;
  private count = 0;

  /** The string's offset in the string section (added once). */
  str(s: string): number {
    let off = this.stringOffsets.get(s);
    if (off === undefined) {
      off = this.stringBytes;
      this.stringOffsets.set(s, off);
      this.strings.push(s);
      this.stringBytes += Buffer.byteLength(s) + 1;
    }
    return off;
  }

  private type(name: string, kind: number, vlen: number, sizeOrType: number, extra: number[]): number {
    this.words.push(this.str(name), ((kind << 24) | vlen) >>> 0, sizeOrType, ...extra);
    return ++this.count;
  }

  int(name: string, size: number, signed: boolean): number {
    return this.type(name, BTF_KIND_INT, 0, size, [((signed ? BTF_INT_SIGNED : 0) << 24) | (size * 8)]);
  }

  ptr(target: number): number {
    return this.type('', BTF_KIND_PTR, 0, target, []);
  }

  struct(name: string, size: number, members: readonly BtfMemberSpec[]): number {
    return this.type(name, BTF_KIND_STRUCT, members.length, size, members.flatMap((m) => [this.str(m.name), m.type, m.bitOffset]));
  }

  funcProto(ret: number, params: ReadonlyArray<{ name: string; type: number }>): number {
    return this.type('', BTF_KIND_FUNC_PROTO, params.length, ret, params.flatMap((p) => [this.str(p.name), p.type]));
  }

  func(name: string, proto: number, linkage = BTF_FUNC_GLOBAL): number {
    return this.type(name, BTF_KIND_FUNC, linkage, proto, []);
  }

  /** The .BTF section: header, types, strings. */
  encode(): Uint8Array {
    const typeLen = this.words.length * 4;
    const out = new Uint8Array(BTF_HEADER_SIZE + typeLen + this.stringBytes);
    const v = new DataView(out.buffer);
    v.setUint16(0, BTF_MAGIC, true);
    v.setUint8(2, BTF_VERSION);
    v.setUint8(3, 0);
    v.setUint32(4, BTF_HEADER_SIZE, true);
    v.setUint32(8, 0, true);
    v.setUint32(12, typeLen, true);
    v.setUint32(16, typeLen, true);
    v.setUint32(20, this.stringBytes, true);
    this.words.forEach((w, i) => v.setUint32(BTF_HEADER_SIZE + 4 * i, w >>> 0, true));
    out.set(Buffer.from(this.strings.join('\0') + '\0'), BTF_HEADER_SIZE + typeLen);
    return out;
  }

  /** The .BTF.ext section for one code section; its strings go into this builder, so call it before encode(). */
  encodeExt(section: string, funcs: readonly BtfFuncInfoSpec[], lines: readonly BtfLineInfoSpec[]): Uint8Array {
    const sec = this.str(section);
    const funcWords = [FUNC_INFO_SIZE, sec, funcs.length, ...funcs.flatMap((f) => [f.insnOff, f.typeId])];
    const lineWords = [LINE_INFO_SIZE, sec, lines.length,
      ...lines.flatMap((l) => [l.insnOff, this.str(l.file), this.str(l.line), ((l.lineNum << 10) | (l.col & 0x3ff)) >>> 0])];
    const header = [BTF_EXT_HEADER_SIZE, 0, funcWords.length * 4, funcWords.length * 4, lineWords.length * 4, (funcWords.length + lineWords.length) * 4, 0];
    const out = new Uint8Array(BTF_EXT_HEADER_SIZE + (funcWords.length + lineWords.length) * 4);
    const v = new DataView(out.buffer);
    v.setUint16(0, BTF_MAGIC, true);
    v.setUint8(2, BTF_VERSION);
    v.setUint8(3, 0);
    header.forEach((w, i) => v.setUint32(4 + 4 * i, w, true));
    [...funcWords, ...lineWords].forEach((w, i) => v.setUint32(BTF_EXT_HEADER_SIZE + 4 * i, w >>> 0, true));
    return out;
  }
}
