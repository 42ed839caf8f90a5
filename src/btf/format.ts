/**
 * BTF-typed values to JSON-able data and back: `formatValue` decodes bytes the way
 * `bpftool -j map dump` prints a BTF-typed map's "formatted" key and value (bpftool's
 * btf_dumper.c, checked against bpftool v7.1 on a loaded object), and `parseValue`
 * (parse-value.ts) builds the bytes from such data, for seeding maps from files.
 *
 * What bpftool prints, and so formatValue returns:
 * - integers of 8, 16, 32 and 64 bits as numbers. bpftool prints 64-bit values in full, which
 *   JSON.parse would round; here a value beyond ±2^53 is a decimal STRING instead (exact);
 * - other integers — bitfields, INTs with a bit offset or a width that is not a whole number
 *   of bytes, 128-bit integers — as hex strings ("0x1f"), unsigned even when the field is
 *   signed (a 4-bit field holding -1 is "0xf");
 * - `char` arrays (elements of 1 byte named "char" or with the CHAR encoding, under const and
 *   volatile but not typedefs) as a string when they hold printable ASCII up to a NUL, else
 *   as arrays of numbers; CHAR-encoded ints as a one-character string; _Bool as a boolean;
 * - pointers as numbers (addresses);
 * - enums by enumerator name when the value, sign-extended from the enum's size, equals one
 *   (compared as bpftool does: as signed 32-bit values for ENUM, both halves for ENUM64), else
 *   as a signed number;
 * - structs and unions as objects with every member — a union shows all its views; an
 *   anonymous member is the key "" (and a second anonymous member overwrites the first, as
 *   JSON.parse does with bpftool's output);
 * - a VAR as { name: value }; a DATASEC as { ".data": [ { var: value }, … ] }.
 * Where bpftool fails, this differs: FLOAT is decoded as a number (bpftool prints
 * "(unsupported-kind"), non-finite floats as "nan", "inf", "-inf"; TYPE_TAG is looked through
 * like const. FWD, void, FUNC and FUNC_PROTO values are errors.
 *
 * parseValue accepts everything formatValue returns (so parseValue(formatValue(b)) === b for
 * every value without padding bits) and, for convenience: numbers, bigints, decimal or hex
 * strings for any integer; negative numbers for signed bitfields; enumerator names; shorter
 * arrays (the rest is zero); missing members (zero); members of anonymous structs and unions
 * by their own names; a DATASEC as { var: value, … }. Errors name the path:
 * `value.addr[2]: 300 does not fit u8`.
 */
import { XdplabError } from '../errors.js';
import type { Btf } from './btf.js';
import {
  BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_ENUM,
  BTF_KIND_ENUM64, BTF_KIND_FLOAT, BTF_KIND_INT, BTF_KIND_NAMES, BTF_KIND_PTR, BTF_KIND_RESTRICT, BTF_KIND_STRUCT,
  BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG, BTF_KIND_UNION, BTF_KIND_VAR, BTF_KIND_VOLATILE, type BtfArray,
  type BtfDatasec, type BtfInt, type BtfType,
} from './types.js';

/** Nesting deeper than this is a loop in malformed BTF, not a real type. */
export const MAX_NESTING = 64;
/** The most values one formatValue call produces (arrays of empty structs take no bytes). */
const MAX_VALUES = 1 << 20;
/** The largest value parseValue (parse-value.ts) builds (a kernel map value is at most a few MiB). */
export const MAX_VALUE_SIZE = 64 << 20;

export const fail = (path: string, message: string): XdplabError => new XdplabError('BAD_INPUT', `${path}: ${message}`);

/** A bigint as a number when exact, else as its decimal string. */
function exact(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

/** The size of a DATASEC value: its size, or, as clang leaves it 0, the end of its last variable. */
function datasecSize(t: BtfDatasec): number {
  return t.size || t.vars.reduce((end, v) => Math.max(end, v.offset + v.size), 0);
}

export function valueSize(btf: Btf, id: number): number {
  const t = btf.resolve(id);
  return t.kind === BTF_KIND_DATASEC ? datasecSize(t) : btf.sizeOf(id);
}

/** Modifiers and typedefs (and, unlike bpftool, type tags) are looked through. */
function isModifier(t: BtfType): boolean {
  return t.kind === BTF_KIND_TYPEDEF || t.kind === BTF_KIND_VOLATILE || t.kind === BTF_KIND_CONST
    || t.kind === BTF_KIND_RESTRICT || t.kind === BTF_KIND_TYPE_TAG;
}

/** Sets an own property, even one named "__proto__", as JSON.parse would. */
function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Little-endian unsigned integer of `n` bytes at `at`. */
export function readLE(bytes: Uint8Array, at: number, n: number): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i]);
  return v;
}

export function writeLE(bytes: Uint8Array, at: number, n: number, v: bigint): void {
  for (let i = 0; i < n; i++) {
    bytes[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

/**
 * Decode `bytes` as a value of type `typeId`, as `bpftool -j map dump` shows it under
 * "formatted". `root` names the value in errors ("value", "key").
 */
export function formatValue(btf: Btf, typeId: number, bytes: Uint8Array, root = 'value'): unknown {
  const size = valueSize(btf, typeId);
  if (bytes.length < size) throw fail(root, `${bytes.length} bytes, but ${btf.toString(typeId)} needs ${size}`);
  return new Formatter(btf, bytes).value(typeId, 0, 0, root, 0);
}

class Formatter {
  private produced = 0;

  constructor(private readonly btf: Btf, private readonly bytes: Uint8Array) {}

  private need(at: number, n: number, path: string): void {
    if (at + n > this.bytes.length) throw fail(path, `reads bytes ${at}..${at + n - 1}, past the end of the ${this.bytes.length}-byte value`);
  }

  private bitfield(at: number, bitOffset: number, bits: number, path: string): string {
    const n = Math.ceil((bitOffset + bits) / 8);
    this.need(at, n, path);
    return `0x${((readLE(this.bytes, at, n) >> BigInt(bitOffset)) & ((1n << BigInt(bits)) - 1n)).toString(16)}`;
  }

  value(id: number, bitOffset: number, at: number, path: string, depth: number): unknown {
    if (depth > MAX_NESTING) throw fail(path, `types nest more than ${MAX_NESTING} deep (a loop in the BTF?)`);
    if (++this.produced > MAX_VALUES) throw fail(path, `more than ${MAX_VALUES} values (arrays of empty types?)`);
    let t = this.btf.typeById(id);
    if (isModifier(t)) t = this.btf.resolve(id);
    switch (t.kind) {
      case BTF_KIND_INT: return this.int(t, bitOffset, at, path);
      case BTF_KIND_PTR:
        this.need(at, 8, path);
        return exact(readLE(this.bytes, at, 8));
      case BTF_KIND_ARRAY: return this.array(t, at, path, depth);
      case BTF_KIND_STRUCT: case BTF_KIND_UNION: {
        const obj: Record<string, unknown> = {};
        for (const m of t.members) {
          const mAt = at + Math.floor(m.bitOffset / 8);
          const mPath = `${path}.${m.name || '(anon)'}`;
          const v = m.bitfieldSize
            ? this.bitfield(mAt, m.bitOffset % 8, m.bitfieldSize, mPath)
            : this.value(m.type, m.bitOffset % 8, mAt, mPath, depth + 1);
          setKey(obj, m.name, v);
        }
        return obj;
      }
      case BTF_KIND_ENUM: {
        if (![1, 2, 4, 8].includes(t.size)) throw fail(path, `enum ${t.name || '(anon)'} has size ${t.size}, not 1, 2, 4 or 8`);
        this.need(at, t.size, path);
        const v = BigInt.asIntN(t.size * 8, readLE(this.bytes, at, t.size));
        const match = t.values.find((e) => BigInt(e.value | 0) === v);
        return match ? match.name : exact(v);
      }
      case BTF_KIND_ENUM64: {
        this.need(at, 8, path);
        const v = readLE(this.bytes, at, 8);
        const match = t.values.find((e) => BigInt.asUintN(64, e.value) === v);
        return match ? match.name : exact(BigInt.asIntN(64, v));
      }
      case BTF_KIND_FLOAT: {
        if (t.size !== 4 && t.size !== 8) throw fail(path, `${t.size}-byte float '${t.name}' is not supported (only 4 and 8 bytes)`);
        this.need(at, t.size, path);
        const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + at, t.size);
        const f = t.size === 4 ? view.getFloat32(0, true) : view.getFloat64(0, true);
        return Number.isFinite(f) ? f : Number.isNaN(f) ? 'nan' : f > 0 ? 'inf' : '-inf';
      }
      case BTF_KIND_VAR: {
        const obj: Record<string, unknown> = {};
        setKey(obj, t.name, this.value(t.type, bitOffset, at, `${path}.${t.name}`, depth + 1));
        return obj;
      }
      case BTF_KIND_DATASEC: {
        const vars = t.vars.map((v) => this.value(v.type, 0, at + v.offset, path, depth + 1));
        const obj: Record<string, unknown> = {};
        setKey(obj, t.name, vars);
        return obj;
      }
      default:
        throw fail(path, `a ${BTF_KIND_NAMES[t.kind]} (type [${t.id}]) has no value to format`);
    }
  }

  private int(t: BtfInt, bitOffset: number, at: number, path: string): unknown {
    const bits = t.bits;
    if (bitOffset || t.bitOffset || bits % 8 !== 0) {
      const total = bitOffset + t.bitOffset;
      return this.bitfield(at + Math.floor(total / 8), total % 8, bits, path);
    }
    if (bits === 128) return this.bitfield(at, 0, 128, path);
    const whole = bits === 8 || bits === 16 || bits === 32 || bits === 64;
    switch (t.encoding) {
      case 0: case BTF_INT_SIGNED: {
        if (!whole) return this.bitfield(at, 0, bits, path);
        this.need(at, bits / 8, path);
        const raw = readLE(this.bytes, at, bits / 8);
        return exact(t.encoding === BTF_INT_SIGNED ? BigInt.asIntN(bits, raw) : raw);
      }
      case BTF_INT_CHAR:
        this.need(at, 1, path);
        return String.fromCharCode(this.bytes[at]);
      case BTF_INT_BOOL:
        this.need(at, 1, path);
        return this.bytes[at] !== 0;
      default:
        throw fail(path, `int '${t.name}' (type [${t.id}]) has encoding ${t.encoding}, which bpftool cannot print`);
    }
  }

  private array(t: BtfArray, at: number, path: string, depth: number): unknown {
    if (isCharArray(this.btf, t)) {
      this.need(at, t.nelems, path);
      const chars = this.bytes.subarray(at, at + t.nelems);
      const nul = chars.indexOf(0);
      if (nul >= 0 && chars.subarray(0, nul).every((c) => c > 0x1f && c < 0x7f)) return String.fromCharCode(...chars.subarray(0, nul));
    }
    const elemSize = this.btf.sizeOf(t.type);
    if (elemSize > 0) this.need(at, elemSize * t.nelems, path);
    const out: unknown[] = [];
    for (let i = 0; i < t.nelems; i++) out.push(this.value(t.type, 0, at + i * elemSize, `${path}[${i}]`, depth + 1));
    return out;
  }
}

/** bpftool's is_str_array test on the type: 1-byte ints named "char" or CHAR-encoded, under const/volatile/restrict/type tags. */
export function isCharArray(btf: Btf, t: BtfArray): boolean {
  if (t.nelems === 0) return false;
  let e = btf.typeById(t.type);
  for (let depth = 0; e.kind === BTF_KIND_CONST || e.kind === BTF_KIND_VOLATILE || e.kind === BTF_KIND_RESTRICT || e.kind === BTF_KIND_TYPE_TAG; depth++) {
    if (depth > MAX_NESTING) return false;
    e = btf.typeById(e.type);
  }
  return e.kind === BTF_KIND_INT && e.size === 1 && (e.encoding === BTF_INT_CHAR || e.name === 'char');
}
