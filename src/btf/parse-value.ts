/**
 * parseValue: the reverse of formatValue (format.ts, whose header lists what both accept),
 * building the bytes of a BTF-typed value from JSON-able data, for seeding maps from files.
 * Errors name the path of the field at fault: `value.addr[2]: 300 does not fit u8`.
 */
import type { Btf } from './btf.js';
import { fail, isCharArray, MAX_NESTING, MAX_VALUE_SIZE, readLE, valueSize, writeLE } from './format.js';
import {
  BTF_INT_BOOL, BTF_INT_CHAR, BTF_INT_SIGNED, BTF_KIND_ARRAY, BTF_KIND_DATASEC, BTF_KIND_ENUM, BTF_KIND_ENUM64,
  BTF_KIND_FLOAT, BTF_KIND_INT, BTF_KIND_NAMES, BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_UNION, BTF_KIND_VAR,
  type BtfArray, type BtfComposite, type BtfDatasec, type BtfMember,
} from './types.js';

/**
 * Build the bytes of a value of type `typeId` from data shaped as formatValue returns it (see
 * the header comment for what else is accepted). `root` names the value in errors.
 */
export function parseValue(btf: Btf, typeId: number, json: unknown, root = 'value'): Uint8Array {
  const size = valueSize(btf, typeId);
  if (size > MAX_VALUE_SIZE) throw fail(root, `${btf.toString(typeId)} is ${size} bytes, more than the ${MAX_VALUE_SIZE} a value may have`);
  const out = new Uint8Array(size);
  new Writer(btf, out).value(typeId, 0, 0, json, root, 0);
  return out;
}

const describe = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (Array.isArray(v)) return 'an array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'an object';
  return String(v);
};

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

class Writer {
  constructor(private readonly btf: Btf, private readonly bytes: Uint8Array) {}

  /** Write `bits` bits of `v` at bit `bitOffset` of the byte at `at`. */
  private bits(at: number, bitOffset: number, bits: number, v: bigint, path: string): void {
    const n = Math.ceil((bitOffset + bits) / 8);
    if (at + n > this.bytes.length) throw fail(path, `writes past the end of the ${this.bytes.length}-byte value`);
    const mask = ((1n << BigInt(bits)) - 1n) << BigInt(bitOffset);
    const old = readLE(this.bytes, at, n);
    writeLE(this.bytes, at, n, (old & ~mask) | ((v << BigInt(bitOffset)) & mask));
  }

  value(id: number, bitOffset: number, at: number, json: unknown, path: string, depth: number): void {
    if (depth > MAX_NESTING) throw fail(path, `types nest more than ${MAX_NESTING} deep (a loop in the BTF?)`);
    const t = this.btf.resolve(id);
    switch (t.kind) {
      case BTF_KIND_INT: {
        if (t.encoding === BTF_INT_BOOL && typeof json === 'boolean') json = json ? 1 : 0;
        if (t.encoding === BTF_INT_CHAR && typeof json === 'string' && json.length === 1) json = json.charCodeAt(0);
        const total = bitOffset + t.bitOffset;
        const signed = t.encoding === BTF_INT_SIGNED;
        this.bits(at + Math.floor(total / 8), total % 8, t.bits, integer(json, t.bits, signed, path, `${signed ? 's' : 'u'}${t.bits}`), path);
        return;
      }
      case BTF_KIND_PTR:
        this.bits(at, 0, 64, integer(json, 64, false, path, 'a 64-bit pointer'), path);
        return;
      case BTF_KIND_ENUM: case BTF_KIND_ENUM64: {
        const bits = t.size * 8;
        if (![1, 2, 4, 8].includes(t.size)) throw fail(path, `enum ${t.name || '(anon)'} has size ${t.size}, not 1, 2, 4 or 8`);
        const label = `enum ${t.name || '(anon)'}`;
        let v: bigint;
        if (typeof json === 'string' && /^[A-Za-z_]/.test(json)) {
          const e = (t.values as readonly { name: string; value: number | bigint }[]).find((x) => x.name === json);
          if (!e) throw fail(path, `${json} is not an enumerator of ${label} (${t.values.map((x) => x.name).join(', ')})`);
          v = BigInt(e.value);
        } else {
          v = integer(json, bits, 'either', path, label);
        }
        this.bits(at, 0, bits, BigInt.asUintN(bits, v), path);
        return;
      }
      case BTF_KIND_FLOAT: {
        let f: number;
        if (typeof json === 'number') f = json;
        else if (json === 'nan') f = NaN;
        else if (json === 'inf') f = Infinity;
        else if (json === '-inf') f = -Infinity;
        else throw fail(path, `${describe(json)} is not a number for ${t.name}`);
        if (t.size !== 4 && t.size !== 8) throw fail(path, `${t.size}-byte float '${t.name}' is not supported (only 4 and 8 bytes)`);
        if (at + t.size > this.bytes.length) throw fail(path, `writes past the end of the ${this.bytes.length}-byte value`);
        const view = new DataView(this.bytes.buffer, this.bytes.byteOffset + at, t.size);
        if (t.size === 4) view.setFloat32(0, f, true);
        else view.setFloat64(0, f, true);
        return;
      }
      case BTF_KIND_ARRAY: return this.array(t, at, json, path, depth);
      case BTF_KIND_STRUCT: case BTF_KIND_UNION: return this.composite(t, at, json, path, depth);
      case BTF_KIND_VAR: {
        if (!isPlainObject(json) || Object.keys(json).length !== 1 || !Object.hasOwn(json, t.name)) {
          throw fail(path, `expected { "${t.name}": … } for variable ${t.name}, got ${describe(json)}`);
        }
        this.value(t.type, bitOffset, at, json[t.name], `${path}.${t.name}`, depth + 1);
        return;
      }
      case BTF_KIND_DATASEC: return this.datasec(t, at, json, path, depth);
      default:
        throw fail(path, `a ${BTF_KIND_NAMES[t.kind]} (type [${t.id}]) cannot hold a value`);
    }
  }

  private array(t: BtfArray, at: number, json: unknown, path: string, depth: number): void {
    if (typeof json === 'string' && isCharArray(this.btf, t)) {
      const codes = Array.from(json, (c) => c.codePointAt(0)!);
      const bad = codes.findIndex((c) => c > 0xff);
      if (bad >= 0) throw fail(path, `character ${JSON.stringify(Array.from(json)[bad])} does not fit a char`);
      if (codes.length > t.nelems) throw fail(path, `string of ${codes.length} characters does not fit char[${t.nelems}]`);
      this.bytes.set(codes, at);
      return;
    }
    if (!Array.isArray(json)) throw fail(path, `expected an array of ${t.nelems} elements, got ${describe(json)}`);
    if (json.length > t.nelems) throw fail(path, `${json.length} elements do not fit ${this.btf.toString(t.id)}`);
    const elemSize = this.btf.sizeOf(t.type);
    json.forEach((e, i) => this.value(t.type, 0, at + i * elemSize, e, `${path}[${i}]`, depth + 1));
  }

  private composite(t: BtfComposite, at: number, json: unknown, path: string, depth: number): void {
    const label = `${t.kind === BTF_KIND_STRUCT ? 'struct' : 'union'} ${t.name || '(anon)'}`;
    if (!isPlainObject(json)) throw fail(path, `expected an object for ${label}, got ${describe(json)}`);
    for (const [key, v] of Object.entries(json)) {
      const mPath = `${path}.${key || '(anon)'}`;
      // The last member of that name, as bpftool's duplicate "" keys resolve in JSON.parse.
      let member: BtfMember | undefined;
      for (const m of t.members) if (m.name === key) member = m;
      if (member) {
        const mAt = at + Math.floor(member.bitOffset / 8);
        if (member.bitfieldSize) {
          const base = this.btf.resolve(member.type);
          const signed = base.kind === BTF_KIND_INT && base.encoding === BTF_INT_SIGNED;
          this.bits(mAt, member.bitOffset % 8, member.bitfieldSize, integer(v, member.bitfieldSize, signed, mPath, `${signed ? 's' : 'u'}${member.bitfieldSize} bitfield`), mPath);
        } else {
          this.value(member.type, member.bitOffset % 8, mAt, v, mPath, depth + 1);
        }
        continue;
      }
      // C lets members of anonymous structs and unions be named directly.
      const located = key === '' ? undefined : this.locateAnonymous(t, key);
      if (!located) throw fail(mPath, `${label} has no member '${key}' (members: ${t.members.map((m) => m.name || '(anon)').join(', ')})`);
      this.composite(located.outer, at + located.byteOffset, { [key]: v }, path, depth + 1);
    }
  }

  /** The anonymous struct or union (nested any depth) that has a member named `key`, and its byte offset in `t`. */
  private locateAnonymous(t: BtfComposite, key: string, depth = 0): { outer: BtfComposite; byteOffset: number } | undefined {
    if (depth > MAX_NESTING) return undefined;
    for (const m of t.members) {
      if (m.name !== '') continue;
      const inner = this.btf.resolve(m.type);
      if (inner.kind !== BTF_KIND_STRUCT && inner.kind !== BTF_KIND_UNION) continue;
      const byteOffset = Math.floor(m.bitOffset / 8);
      if (inner.members.some((x) => x.name === key)) return { outer: inner, byteOffset };
      const deeper = this.locateAnonymous(inner, key, depth + 1);
      if (deeper) return { outer: deeper.outer, byteOffset: byteOffset + deeper.byteOffset };
    }
    return undefined;
  }

  private datasec(t: BtfDatasec, at: number, json: unknown, path: string, depth: number): void {
    const list = isPlainObject(json) && Object.keys(json).length === 1 && Array.isArray(json[t.name]) ? json[t.name] as unknown[] : undefined;
    if (list) {
      if (list.length > t.vars.length) throw fail(path, `${list.length} variables for ${t.name}, which has ${t.vars.length}`);
      list.forEach((v, i) => this.value(t.vars[i].type, 0, at + t.vars[i].offset, v, path, depth + 1));
      return;
    }
    if (!isPlainObject(json)) throw fail(path, `expected { "${t.name}": [ … ] } or an object of variables, got ${describe(json)}`);
    for (const [key, v] of Object.entries(json)) {
      const info = t.vars.find((x) => this.btf.name(x.type) === key);
      if (!info) throw fail(`${path}.${key}`, `${t.name} has no variable '${key}'`);
      this.value(info.type, 0, at + info.offset, { [key]: v }, path, depth + 1);
    }
  }
}

/**
 * An integer of `bits` bits from JSON: a safe integer number, a bigint, a decimal string or a
 * hex string ("0x…", taken as the raw bits, as formatValue prints bitfields). `signed` picks
 * the accepted range of numbers; 'either' accepts both signed and unsigned ranges. Returns the
 * raw bits (two's complement for negatives).
 */
function integer(json: unknown, bits: number, signed: boolean | 'either', path: string, label: string): bigint {
  let v: bigint;
  let raw = false;
  if (typeof json === 'bigint') v = json;
  else if (typeof json === 'number') {
    if (!Number.isInteger(json)) throw fail(path, `${json} is not an integer (${label})`);
    if (!Number.isSafeInteger(json)) throw fail(path, `${json} is beyond 2^53 and may have been rounded: give it as a string`);
    v = BigInt(json);
  } else if (typeof json === 'string' && /^\s*-?(0x[0-9a-f]+|\d+)\s*$/i.test(json)) {
    const text = json.trim();
    const negative = text.startsWith('-');
    raw = /^-?0x/i.test(text);
    v = BigInt(negative ? text.slice(1) : text) * (negative ? -1n : 1n);
    if (raw && negative) throw fail(path, `${json}: a hex value gives the raw bits and cannot be negative (${label})`);
  } else {
    throw fail(path, `${describe(json)} is not an integer (${label})`);
  }
  const b = BigInt(bits);
  const umax = (1n << b) - 1n;
  const smin = bits === 0 ? 0n : -(1n << (b - 1n));
  const smax = bits === 0 ? 0n : (1n << (b - 1n)) - 1n;
  const fits = raw ? v <= umax
    : signed === 'either' ? v >= smin && v <= umax
      : signed ? v >= smin && v <= smax : v >= 0n && v <= umax;
  if (!fits) throw fail(path, `${typeof json === 'string' ? json : String(v)} does not fit ${label}`);
  return BigInt.asUintN(bits, v);
}
