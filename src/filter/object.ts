/**
 * The compiled filter as a BPF ELF object, as clang would lay one out: the program in section
 * `xdp` or `tc` under a global function symbol, a `license` section, and BTF — the function's
 * FUNC and FUNC_PROTO with its context pointer (struct xdp_md or struct __sk_buff), func_info,
 * and line_info whose "source line" is the expression itself, column by column (so `disasm -S`
 * and the verifier's explanations point into the expression).
 */
import { BtfBuilder, type BtfMemberSpec } from '../btf/encoder.js';
import { EM_BPF, SHF_ALLOC, SHF_EXECINSTR, SHF_WRITE, SHT_PROGBITS, STB_GLOBAL, STT_FUNC, STT_OBJECT } from '../elf/constants.js';
import { writeElf } from '../elf/writer.js';
import { encodeProgram } from '../isa/instruction.js';
import { SK_BUFF_FIELDS, SK_BUFF_SIZE, XDP_MD_FIELDS, XDP_MD_SIZE } from '../uapi/prog-types.js';
import type { FilterCode, FilterHook } from './codegen.js';

/** GPL-compatible (the kernel's license_is_gpl_compatible), and the project's own license. */
export const FILTER_LICENSE = 'Dual MIT/GPL';
/** The name line info gives the expression, as a file name. */
export const FILTER_SOURCE_NAME = 'filter';
/** __sk_buff fields that are not plain u32s (arrays, u64s, pointers, the u8 tstamp_type). */
const NOT_U32 = new Set(['cb', 'remote_ip6', 'local_ip6', 'flow_keys', 'tstamp', 'sk', 'tstamp_type', 'hwtstamp']);
/** The largest column line info holds (10 bits). */
const MAX_COL = 0x3ff;

export const programName = (hook: FilterHook): string => `${hook}_filter`;

function contextType(btf: BtfBuilder, hook: FilterHook): number {
  const u32 = btf.int('unsigned int', 4, false);
  const fields: Record<string, number> = hook === 'xdp' ? XDP_MD_FIELDS : SK_BUFF_FIELDS;
  const members: BtfMemberSpec[] = Object.entries(fields)
    .filter(([name]) => !NOT_U32.has(name))
    .map(([name, off]) => ({ name, type: u32, bitOffset: off * 8 }));
  return hook === 'xdp' ? btf.struct('xdp_md', XDP_MD_SIZE, members) : btf.struct('__sk_buff', SK_BUFF_SIZE, members);
}

/** The object's bytes for the generated code of `expr`. */
export function filterObject(code: FilterCode, expr: string): Uint8Array {
  const section = code.hook;
  const name = programName(code.hook);
  const text = encodeProgram(code.insns);
  const btf = new BtfBuilder();
  const int = btf.int('int', 4, true);
  const ctx = btf.ptr(contextType(btf, code.hook));
  const func = btf.func(name, btf.funcProto(int, [{ name: 'ctx', type: ctx }]));
  const slotOf = slotOffsets(code);
  const lines = code.cols.map(([insn, col]) => ({ insnOff: slotOf[insn] * 8, file: FILTER_SOURCE_NAME, line: expr, lineNum: 1, col: Math.min(col, MAX_COL) }));
  const ext = btf.encodeExt(section, [{ insnOff: 0, typeId: func }], lines);
  const license = Buffer.from(`${FILTER_LICENSE}\0`);
  return writeElf(EM_BPF, [
    { name: section, type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_EXECINSTR, data: text, align: 8 },
    { name: 'license', type: SHT_PROGBITS, flags: SHF_ALLOC | SHF_WRITE, data: new Uint8Array(license), align: 1 },
    { name: '.BTF', type: SHT_PROGBITS, flags: 0, data: btf.encode(), align: 4 },
    { name: '.BTF.ext', type: SHT_PROGBITS, flags: 0, data: ext, align: 4 },
  ], [
    { name, section, value: 0, size: text.length, type: STT_FUNC, bind: STB_GLOBAL },
    { name: '_license', section: 'license', value: 0, size: license.length, type: STT_OBJECT, bind: STB_GLOBAL },
  ]);
}

/** Instruction index → slot (an lddw is two slots wide; the filter emits none, but stay exact). */
function slotOffsets(code: FilterCode): number[] {
  const out: number[] = [];
  let slot = 0;
  for (const insn of code.insns) {
    out.push(slot);
    slot += insn.width;
  }
  return out;
}
