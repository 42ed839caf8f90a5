/**
 * A small WebAssembly binary writer: just what the JIT emits (one memory import, function
 * imports, functions with i32/i64 locals, structured control flow, i32/i64 arithmetic and
 * memory access).
 *
 * Why hand-written: no maintained npm package emits raw wasm bytes small and fast enough for a
 * JIT — binaryen.js is an 8 MB compiler (seconds of startup, an IR to build), wabt.js parses
 * text, and the lighter writers are unmaintained. The format is a few pages of the spec
 * (https://webassembly.github.io/spec/core/binary/): LEB128 numbers, sections, opcodes.
 */

/** Value types. */
export const I32 = 0x7f;
export const I64 = 0x7e;
/** Block type of a block without a result. */
export const VOID = 0x40;

/** Opcodes the JIT uses (names as in the spec's text format). */
export const OP = {
  unreachable: 0x00, nop: 0x01, block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b,
  br: 0x0c, br_if: 0x0d, br_table: 0x0e, return: 0x0f, call: 0x10, call_indirect: 0x11,
  table_get: 0x25, ref_is_null: 0xd1, prefix_fc: 0xfc,
  drop: 0x1a, select: 0x1b,
  local_get: 0x20, local_set: 0x21, local_tee: 0x22,
  i32_load: 0x28, i64_load: 0x29, i32_load8_u: 0x2d, i32_load16_u: 0x2f,
  i64_load8_s: 0x30, i64_load8_u: 0x31, i64_load16_s: 0x32, i64_load16_u: 0x33, i64_load32_s: 0x34, i64_load32_u: 0x35,
  i32_store: 0x36, i64_store: 0x37, i32_store8: 0x3a, i32_store16: 0x3b, i64_store8: 0x3c, i64_store16: 0x3d, i64_store32: 0x3e,
  i32_const: 0x41, i64_const: 0x42,
  i32_eqz: 0x45, i32_eq: 0x46, i32_ne: 0x47, i32_lt_s: 0x48, i32_lt_u: 0x49, i32_gt_s: 0x4a, i32_gt_u: 0x4b,
  i32_le_s: 0x4c, i32_le_u: 0x4d, i32_ge_s: 0x4e, i32_ge_u: 0x4f,
  i64_eqz: 0x50, i64_eq: 0x51, i64_ne: 0x52, i64_lt_s: 0x53, i64_lt_u: 0x54, i64_gt_s: 0x55, i64_gt_u: 0x56,
  i64_le_s: 0x57, i64_le_u: 0x58, i64_ge_s: 0x59, i64_ge_u: 0x5a,
  i32_clz: 0x67, i32_popcnt: 0x69,
  i32_add: 0x6a, i32_sub: 0x6b, i32_mul: 0x6c, i32_div_s: 0x6d, i32_div_u: 0x6e, i32_rem_s: 0x6f, i32_rem_u: 0x70,
  i32_and: 0x71, i32_or: 0x72, i32_xor: 0x73, i32_shl: 0x74, i32_shr_s: 0x75, i32_shr_u: 0x76, i32_rotl: 0x77, i32_rotr: 0x78,
  i64_add: 0x7c, i64_sub: 0x7d, i64_mul: 0x7e, i64_div_s: 0x7f, i64_div_u: 0x80, i64_rem_s: 0x81, i64_rem_u: 0x82,
  i64_and: 0x83, i64_or: 0x84, i64_xor: 0x85, i64_shl: 0x86, i64_shr_s: 0x87, i64_shr_u: 0x88, i64_rotl: 0x89, i64_rotr: 0x8a,
  i32_wrap_i64: 0xa7, i64_extend_i32_s: 0xac, i64_extend_i32_u: 0xad,
  i32_extend8_s: 0xc0, i32_extend16_s: 0xc1, i64_extend8_s: 0xc2, i64_extend16_s: 0xc3, i64_extend32_s: 0xc4,
} as const;

/** A growable byte buffer with the encodings wasm needs. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  length = 0;

  byte(b: number): this {
    if (this.length === this.buf.length) this.grow(1);
    this.buf[this.length++] = b;
    return this;
  }

  bytes(data: ArrayLike<number>): this {
    if (this.length + data.length > this.buf.length) this.grow(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
    return this;
  }

  /** Unsigned LEB128 (values up to 2^32). */
  u32(v: number): this {
    v >>>= 0;
    do {
      let b = v & 0x7f;
      v >>>= 7;
      if (v !== 0) b |= 0x80;
      this.byte(b);
    } while (v !== 0);
    return this;
  }

  /** Signed LEB128 of an int32. */
  s32(v: number): this {
    v |= 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  /** Signed LEB128 of the int64 (hi:lo), without BigInt. */
  s64(lo: number, hi: number): this {
    // Fits in an int32: the common case.
    if (hi === lo >> 31) return this.s32(lo);
    lo >>>= 0;
    hi |= 0;
    for (;;) {
      const b = lo & 0x7f;
      // Arithmetic shift of the 64-bit pair right by 7.
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>= 7;
      const done = (hi === 0 && lo === 0 && (b & 0x40) === 0) || (hi === -1 && lo === 0xffffffff && (b & 0x40) !== 0);
      if (done) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  name(text: string): this {
    const data = new TextEncoder().encode(text);
    return this.u32(data.length).bytes(data);
  }

  /** A length-prefixed copy of another writer's bytes (a section or function body). */
  sized(inner: ByteWriter): this {
    return this.u32(inner.length).bytes(inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  private grow(need: number): void {
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + need));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
}

/** Function body code: ByteWriter plus instruction shorthands. */
export class CodeWriter extends ByteWriter {
  op(code: number): this {
    return this.byte(code);
  }

  get(local: number): this {
    return this.byte(OP.local_get).u32(local);
  }

  set(local: number): this {
    return this.byte(OP.local_set).u32(local);
  }

  tee(local: number): this {
    return this.byte(OP.local_tee).u32(local);
  }

  i32(v: number): this {
    return this.byte(OP.i32_const).s32(v);
  }

  i64(lo: number, hi: number = lo >> 31): this {
    return this.byte(OP.i64_const).s64(lo, hi);
  }

  /** A load or store with alignment hint 0 (eBPF accesses may be unaligned) and a constant offset. */
  mem(code: number, offset = 0): this {
    return this.byte(code).u32(0).u32(offset);
  }

  call(fn: number): this {
    return this.byte(OP.call).u32(fn);
  }

  br(depth: number): this {
    return this.byte(OP.br).u32(depth);
  }

  brIf(depth: number): this {
    return this.byte(OP.br_if).u32(depth);
  }

  block(type = VOID): this {
    return this.byte(OP.block).byte(type);
  }

  loop(type = VOID): this {
    return this.byte(OP.loop).byte(type);
  }

  if(type = VOID): this {
    return this.byte(OP.if).byte(type);
  }

  else(): this {
    return this.byte(OP.else);
  }

  end(): this {
    return this.byte(OP.end);
  }
}

export interface FuncType {
  params: number[];
  results: number[];
}

export interface FunctionImport {
  module: string;
  name: string;
  type: FuncType;
}

export interface FunctionBody {
  type: FuncType;
  /** Extra locals beyond the params, in order. */
  locals: number[];
  code: CodeWriter;
  /** Exported under this name, when given. */
  export?: string;
}

const typeKey = (t: FuncType): string => `${t.params.join(',')}:${t.results.join(',')}`;

/** The index `writeModule` gives type `t` in its type section (types in first-use order, imports first). */
export function typeIndexOf(imports: FunctionImport[], functions: FuncType[], t: FuncType): number {
  const keys: string[] = [];
  for (const type of [...imports.map((imp) => imp.type), ...functions]) if (!keys.includes(typeKey(type))) keys.push(typeKey(type));
  return keys.indexOf(typeKey(t));
}

/**
 * A module that imports one memory (`env.memory`), some functions and, when `table` names it,
 * a funcref table (table 0), and defines functions. Function indices: imports first (in the
 * order given), then the defined functions.
 */
export function writeModule(imports: FunctionImport[], functions: FunctionBody[], table?: { module: string; name: string }): Uint8Array {
  const types: FuncType[] = [];
  const typeIndex = new Map<string, number>();
  const indexOf = (t: FuncType): number => {
    const key = typeKey(t);
    let i = typeIndex.get(key);
    if (i === undefined) {
      i = types.length;
      types.push(t);
      typeIndex.set(key, i);
    }
    return i;
  };
  const importTypes = imports.map((imp) => indexOf(imp.type));
  const functionTypes = functions.map((fn) => indexOf(fn.type));

  const out = new ByteWriter().bytes([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
  const section = (id: number, body: ByteWriter): void => {
    out.byte(id).sized(body);
  };

  const typeSec = new ByteWriter().u32(types.length);
  for (const t of types) {
    typeSec.byte(0x60).u32(t.params.length).bytes(t.params).u32(t.results.length).bytes(t.results);
  }
  section(1, typeSec);

  const importSec = new ByteWriter().u32(imports.length + 1 + (table ? 1 : 0));
  importSec.name('env').name('memory').byte(0x02).byte(0x00).u32(0); // memory, min 0 pages, no max
  if (table) importSec.name(table.module).name(table.name).byte(0x01).byte(0x70).byte(0x00).u32(0); // funcref table, min 0, no max
  imports.forEach((imp, i) => importSec.name(imp.module).name(imp.name).byte(0x00).u32(importTypes[i]));
  section(2, importSec);

  const funcSec = new ByteWriter().u32(functions.length);
  for (const t of functionTypes) funcSec.u32(t);
  section(3, funcSec);

  const exported = functions.map((fn, i) => [fn.export, imports.length + i] as const).filter(([name]) => name !== undefined);
  const exportSec = new ByteWriter().u32(exported.length);
  for (const [name, index] of exported) exportSec.name(name!).byte(0x00).u32(index);
  section(7, exportSec);

  const codeSec = new ByteWriter().u32(functions.length);
  for (const fn of functions) {
    const body = new ByteWriter();
    const groups = groupLocals(fn.locals);
    body.u32(groups.length);
    for (const [count, type] of groups) body.u32(count).byte(type);
    body.bytes(fn.code.finish());
    codeSec.sized(body);
  }
  section(10, codeSec);
  return out.finish().slice();
}

/** Runs of equal local types, as the code section declares them. */
function groupLocals(locals: number[]): [number, number][] {
  const groups: [number, number][] = [];
  for (const type of locals) {
    const last = groups[groups.length - 1];
    if (last && last[1] === type) last[0]++;
    else groups.push([1, type]);
  }
  return groups;
}
