/**
 * CO-RE relocations (BTF.ext core_relo records), resolved as libbpf's bpf_core_calc_relo and
 * bpf_core_patch_insn do, against the kernel's types.
 *
 * The kernel resolves a relocation against vmlinux BTF; xdplab against the uapi types an XDP or
 * TC program can reach (contexts, packet headers, helper and map enums) and, for a type the uapi
 * lacks, the object's own unflavored definition (core-match.ts). So a flavored or partial
 * definition (`struct __sk_buff___new`, `struct iphdr___min`) gets the kernel's offsets, and a
 * field, type or enumerator the kernel lacks does not exist. Relocations against types that
 * exist only inside the kernel (struct sk_buff, task_struct…) cannot be emulated: those
 * programs also read kernel memory through helpers xdplab does not have.
 */
import { XdplabError } from '../errors.js';
import { Instruction } from '../isa/instruction.js';
import { BPF_ALU, BPF_ALU64, BPF_CALL, BPF_CLASS, BPF_JMP, BPF_K, BPF_SRC } from '../isa/opcodes.js';
import type { Btf } from '../btf/btf.js';
import { coreCandidates, matchEnumerator, matchField, type CoreField, type CoreTarget } from './core-match.js';
import type { BtfCoreRelo } from '../btf/ext.js';
import {
  BPF_CORE_ENUMVAL_EXISTS, BPF_CORE_ENUMVAL_VALUE, BPF_CORE_FIELD_BYTE_OFFSET, BPF_CORE_FIELD_BYTE_SIZE,
  BPF_CORE_FIELD_EXISTS, BPF_CORE_FIELD_LSHIFT_U64, BPF_CORE_FIELD_RSHIFT_U64, BPF_CORE_FIELD_SIGNED,
  BPF_CORE_RELO_KIND_NAMES, BPF_CORE_TYPE_EXISTS, BPF_CORE_TYPE_ID_LOCAL, BPF_CORE_TYPE_ID_TARGET,
  BPF_CORE_TYPE_SIZE, BTF_INT_SIGNED, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_INT,
} from '../btf/types.js';

/** bpf_core_relo_kind 12 (type matches, Linux 6.2+): answered like TYPE_EXISTS. */
const BPF_CORE_TYPE_MATCHES = 12;

/** libbpf's byte offset and load size of a field; bitfields load the smallest int around them. */
function fieldLoad(btf: Btf, f: CoreField): { byteOff: number; byteSize: number } {
  if (!f.bitfield) return { byteOff: f.bitOffset / 8, byteSize: f.bitSize / 8 };
  let byteSize = btf.sizeOf(f.type);
  let byteOff = Math.floor(f.bitOffset / 8 / byteSize) * byteSize;
  while (f.bitOffset + f.bitSize - byteOff * 8 > byteSize * 8) {
    if (byteSize >= 8) throw new XdplabError('BAD_INPUT', 'a bitfield wider than 64 bits');
    byteSize *= 2;
    byteOff = Math.floor(f.bitOffset / 8 / byteSize) * byteSize;
  }
  return { byteOff, byteSize };
}

function isSigned(btf: Btf, typeId: number): boolean {
  const t = btf.resolve(typeId);
  if (t.kind === BTF_KIND_INT) return (t.encoding & BTF_INT_SIGNED) !== 0;
  if (t.kind === BTF_KIND_ENUM || t.kind === BTF_KIND_ENUM64) return t.signed;
  return false;
}

/**
 * libbpf's BPF_CORE_POISON: a relocation the kernel's types cannot satisfy turns its instruction
 * into a call of this helper id, which the verifier refuses if the program can reach it (a
 * guarded access behind bpf_core_field_exists never does); here it faults when executed.
 */
export const BPF_CORE_POISON_HELPER = 0xbad2310;

/** What a relocation resolves to: a value, or `poison` when the kernel has no such field/type. */
export type CoreValue = number | bigint | 'poison';

const EXISTS_KINDS = new Set([BPF_CORE_FIELD_EXISTS, BPF_CORE_TYPE_EXISTS, BPF_CORE_TYPE_MATCHES, BPF_CORE_ENUMVAL_EXISTS]);

/**
 * The value a relocation resolves to, against the kernel's types (core-match.ts): the first
 * candidate the access matches decides; with none, existence checks are 0 and everything else
 * is poisoned, as libbpf's bpf_core_calc_relo_insn.
 */
export function coreReloValue(btf: Btf, relo: BtfCoreRelo): CoreValue {
  if (relo.kind === BPF_CORE_TYPE_ID_LOCAL) return relo.typeId;
  for (const target of coreCandidates(btf, relo.typeId)) {
    const value = valueIn(btf, relo, target);
    if (value !== undefined) return value;
  }
  if (!(relo.kind in BPF_CORE_RELO_KIND_NAMES) && relo.kind !== BPF_CORE_TYPE_MATCHES) {
    throw new XdplabError('UNSUPPORTED', `CO-RE relocation kind ${relo.kind} is not supported`);
  }
  return EXISTS_KINDS.has(relo.kind) ? 0 : 'poison';
}

function valueIn(local: Btf, relo: BtfCoreRelo, target: CoreTarget): number | bigint | undefined {
  switch (relo.kind) {
    case BPF_CORE_TYPE_ID_TARGET: return target.btf === local ? target.id : relo.typeId;
    case BPF_CORE_TYPE_EXISTS:
    case BPF_CORE_TYPE_MATCHES: return 1;
    case BPF_CORE_TYPE_SIZE: return target.btf.sizeOf(target.id);
    case BPF_CORE_ENUMVAL_EXISTS: return matchEnumerator(local, relo, target) === undefined ? undefined : 1;
    case BPF_CORE_ENUMVAL_VALUE: return matchEnumerator(local, relo, target);
    default: {
      const f = matchField(local, relo, target);
      return f === undefined ? undefined : fieldValue(relo.kind, f);
    }
  }
}

function fieldValue(kind: number, f: CoreField): number | undefined {
  switch (kind) {
    case BPF_CORE_FIELD_BYTE_OFFSET: return fieldLoad(f.btf, f).byteOff;
    case BPF_CORE_FIELD_BYTE_SIZE: return fieldLoad(f.btf, f).byteSize;
    case BPF_CORE_FIELD_EXISTS: return 1;
    case BPF_CORE_FIELD_SIGNED: return isSigned(f.btf, f.type) ? 1 : 0;
    case BPF_CORE_FIELD_LSHIFT_U64: return 64 - (f.bitOffset + f.bitSize - fieldLoad(f.btf, f).byteOff * 8);
    case BPF_CORE_FIELD_RSHIFT_U64: return 64 - f.bitSize;
    default: return undefined;
  }
}

/** bpf_core_patch_insn: put the value where the instruction carries it. */
export function patchCoreInstruction(insn: Instruction, value: CoreValue, relo: BtfCoreRelo): Instruction {
  const kind = insn.info.kind;
  if (value === 'poison') {
    // An lddw keeps its two slots (pcs must not move): it loads 0 instead of failing.
    if (kind === 'lddw') return new Instruction(insn.code, insn.dst, insn.src, insn.off, 0, 0);
    return new Instruction(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_CORE_POISON_HELPER);
  }
  const what = `CO-RE ${BPF_CORE_RELO_KIND_NAMES[relo.kind] ?? relo.kind} relocation on ${insn.toString()}`;
  if (kind === 'lddw') {
    const v = BigInt.asUintN(64, BigInt(value));
    return new Instruction(insn.code, insn.dst, insn.src, insn.off, Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n)));
  }
  const n = Number(value);
  if (kind === 'alu' && (BPF_CLASS(insn.code) === BPF_ALU || BPF_CLASS(insn.code) === BPF_ALU64) && BPF_SRC(insn.code) === BPF_K) {
    if (!Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 32) throw new XdplabError('BAD_INPUT', `${what}: ${value} does not fit imm`);
    return new Instruction(insn.code, insn.dst, insn.src, insn.off, n | 0);
  }
  if (kind === 'ldx' || kind === 'ldxsx' || kind === 'st' || kind === 'stx') {
    if (!Number.isInteger(n) || n < -32768 || n > 32767) throw new XdplabError('BAD_INPUT', `${what}: ${value} does not fit off`);
    return new Instruction(insn.code, insn.dst, insn.src, n, insn.imm);
  }
  throw new XdplabError('BAD_INPUT', `${what}: this instruction cannot take a relocated value`);
}
