/**
 * A hand-written BTF blob with what clang 14 does not emit — ENUM64, signed enums, CHAR and
 * BOOL ints, a union FWD, extern and unknown linkages, a VAR named by an empty string at a
 * non-zero offset, a variadic prototype — shared by the dump, API and format tests.
 */
import {
  BTF_KIND_ARRAY, BTF_KIND_CONST, BTF_KIND_DATASEC, BTF_KIND_DECL_TAG, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_FLOAT,
  BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_FWD, BTF_KIND_INT, BTF_KIND_PTR, BTF_KIND_RESTRICT, BTF_KIND_STRUCT,
  BTF_KIND_TYPEDEF, BTF_KIND_TYPE_TAG, BTF_KIND_UNION, BTF_KIND_VAR, BTF_KIND_VOLATILE,
} from '../../src/btf/types.js';
import { BtfWriter } from './support.js';

const int = (encoding: number, offset: number, bits: number): number => (encoding << 24) | (offset << 16) | bits;

export function handmadeBtf(): Uint8Array {
  const w = new BtfWriter();
  const u32 = w.type(BTF_KIND_INT, 'unsigned int', 4, [int(0, 0, 32)]); // 1
  const s32 = w.type(BTF_KIND_INT, 'int', 4, [int(1, 0, 32)]); // 2
  const ch = w.type(BTF_KIND_INT, 'char', 1, [int(2, 0, 8)]); // 3 CHAR
  const bool = w.type(BTF_KIND_INT, '_Bool', 1, [int(4, 0, 8)]); // 4 BOOL
  w.type(BTF_KIND_INT, 'odd', 4, [int(3, 0, 32)]); // 5 encoding 3: UNKN
  const u64 = w.type(BTF_KIND_INT, 'unsigned long', 8, [int(0, 0, 64)]); // 6
  w.type(BTF_KIND_INT, 'u24', 4, [int(0, 4, 24)]); // 7: an INT with a bit offset
  const e = w.type(BTF_KIND_ENUM, 'sign', 4, [w.str('NEG'), -5, w.str('POS'), 7], { vlen: 2, kflag: true }); // 8
  const e64 = w.type(BTF_KIND_ENUM64, 'wide', 8, [w.str('W_SMALL'), 1, 0, w.str('W_BIG'), 0x89abcdef, 0x01234567, w.str('W_TOP'), 0xffffffff, 0xffffffff], { vlen: 3 }); // 9
  w.type(BTF_KIND_ENUM64, 'swide', 8, [w.str('S_MINUS'), 0xfffffffe, 0xffffffff], { vlen: 1, kflag: true }); // 10
  w.type(BTF_KIND_FWD, 'later', 0, [], { kflag: true }); // 11
  const fl = w.type(BTF_KIND_FLOAT, 'double', 8); // 12
  const proto = w.type(BTF_KIND_FUNC_PROTO, '', s32, [w.str('fmt'), ch, 0, 0], { vlen: 2 }); // 13: int (char, ...)
  w.type(BTF_KIND_FUNC, 'printk', proto, [], { vlen: 2 }); // 14 extern
  w.type(BTF_KIND_FUNC, 'odd_fn', proto, [], { vlen: 7 }); // 15 unknown linkage
  const arr = w.type(BTF_KIND_ARRAY, '', 0, [u32, u32, 3]); // 16 unsigned int[3]
  const st = w.type(BTF_KIND_STRUCT, 'pair', 24, [w.str('a'), arr, 0, w.str('flag'), bool, 96, w.str('bits'), u32, (5 << 24) | 104, w.str('x'), u64, 128], { vlen: 4, kflag: true }); // 17
  w.type(BTF_KIND_UNION, '', 8, [w.str('u'), u64, 0, w.str('e'), e, 0], { vlen: 2 }); // 18
  const ptr = w.type(BTF_KIND_PTR, '', st); // 19
  const rp = w.type(BTF_KIND_RESTRICT, '', ptr); // 20
  const cv = w.type(BTF_KIND_CONST, '', w.type(BTF_KIND_VOLATILE, '', u32)); // 22 -> 21
  const td = w.type(BTF_KIND_TYPEDEF, 'cv_t', cv); // 23
  const tag = w.type(BTF_KIND_TYPE_TAG, 'user', td); // 24
  w.type(BTF_KIND_PTR, '', tag); // 25
  const v1 = w.type(BTF_KIND_VAR, 'counter', e64, [0]); // 26 static
  const v2 = w.type(BTF_KIND_VAR, 'ext', fl, [2]); // 27 extern
  const v3 = w.type(BTF_KIND_VAR, w.str('counter') + 7, rp, [9]); // 28: name is the empty string at a non-zero offset; unknown linkage
  w.type(BTF_KIND_DATASEC, '.data', 32, [v1, 0, 8, v2, 8, 8, v3, 16, 8], { vlen: 3 }); // 29
  w.type(BTF_KIND_DECL_TAG, 'tagged', st, [1]); // 30
  w.type(BTF_KIND_DECL_TAG, 'whole', st, [-1]); // 31
  w.type(BTF_KIND_PTR, '', proto); // 32: int (*)(char, ...)
  w.type(BTF_KIND_ARRAY, '', 0, [arr, u32, 2]); // 33 unsigned int[2][3]
  return w.build();
}
