/**
 * CO-RE relocations (BTF.ext core_relo records), resolved as libbpf's bpf_core_calc_relo and
 * bpf_core_patch_insn do — with the object's own BTF as the target.
 *
 * The kernel resolves a relocation against vmlinux's BTF. Everything an xdplab program can
 * read is laid out as the object itself declares it — the contexts (xdp_md, __sk_buff are
 * uapi: their layout is the kernel's), packet headers, map values, globals — so the local
 * type is the target type. Relocations against types that exist only inside the kernel
 * (struct sk_buff, task_struct…) cannot be emulated: those programs also read kernel memory
 * through helpers xdplab does not have, and are refused there with a clear error.
 */
import { XdplabError } from '../errors.js';
import { Instruction } from '../isa/instruction.js';
import { BPF_ALU, BPF_ALU64, BPF_CLASS, BPF_K, BPF_SRC } from '../isa/opcodes.js';
import type { Btf } from '../btf/btf.js';
import type { BtfCoreRelo } from '../btf/ext.js';
import {
  BPF_CORE_ENUMVAL_EXISTS, BPF_CORE_ENUMVAL_VALUE, BPF_CORE_FIELD_BYTE_OFFSET, BPF_CORE_FIELD_BYTE_SIZE,
  BPF_CORE_FIELD_EXISTS, BPF_CORE_FIELD_LSHIFT_U64, BPF_CORE_FIELD_RSHIFT_U64, BPF_CORE_FIELD_SIGNED,
  BPF_CORE_RELO_KIND_NAMES, BPF_CORE_TYPE_EXISTS, BPF_CORE_TYPE_ID_LOCAL, BPF_CORE_TYPE_ID_TARGET,
  BPF_CORE_TYPE_SIZE, BTF_INT_SIGNED, BTF_KIND_ARRAY, BTF_KIND_ENUM, BTF_KIND_ENUM64, BTF_KIND_INT,
  BTF_KIND_STRUCT, BTF_KIND_UNION,
} from '../btf/types.js';

/** bpf_core_relo_kind 12 (type matches, Linux 6.2+): answered like TYPE_EXISTS. */
const BPF_CORE_TYPE_MATCHES = 12;

interface Field {
  bitOffset: number;
  bitSize: number;
  bitfield: boolean;
  type: number;
}

/** Walk an access path ("0:1:2": array index of the root, then member / element indexes). */
function resolveField(btf: Btf, relo: BtfCoreRelo): Field {
  const [first, ...rest] = relo.access;
  let type = relo.typeId;
  let bitOffset = first * btf.sizeOf(type) * 8;
  let bitSize = btf.sizeOf(type) * 8;
  let bitfield = false;
  for (const index of rest) {
    const t = btf.resolve(type);
    if (t.kind === BTF_KIND_STRUCT || t.kind === BTF_KIND_UNION) {
      const member = t.members[index];
      if (!member) throw new XdplabError('BAD_INPUT', `member ${index} of ${btf.toString(t.id)} does not exist`);
      bitOffset += member.bitOffset;
      bitfield = member.bitfieldSize > 0;
      bitSize = bitfield ? member.bitfieldSize : btf.sizeOf(member.type) * 8;
      type = member.type;
    } else if (t.kind === BTF_KIND_ARRAY) {
      const elem = btf.sizeOf(t.type);
      bitOffset += index * elem * 8;
      bitSize = elem * 8;
      bitfield = false;
      type = t.type;
    } else {
      throw new XdplabError('BAD_INPUT', `access ${relo.accessStr}: ${btf.toString(t.id)} has no members or elements`);
    }
  }
  return { bitOffset, bitSize, bitfield, type };
}

/** libbpf's byte offset and load size of a field; bitfields load the smallest int around them. */
function fieldLoad(btf: Btf, f: Field): { byteOff: number; byteSize: number } {
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

/** The value a relocation resolves to (a number, or a bigint for a 64-bit enum value). */
export function coreReloValue(btf: Btf, relo: BtfCoreRelo): number | bigint {
  switch (relo.kind) {
    case BPF_CORE_FIELD_BYTE_OFFSET: return fieldLoad(btf, resolveField(btf, relo)).byteOff;
    case BPF_CORE_FIELD_BYTE_SIZE: return fieldLoad(btf, resolveField(btf, relo)).byteSize;
    case BPF_CORE_FIELD_EXISTS: resolveField(btf, relo); return 1;
    case BPF_CORE_FIELD_SIGNED: return isSigned(btf, resolveField(btf, relo).type) ? 1 : 0;
    case BPF_CORE_FIELD_LSHIFT_U64: {
      const f = resolveField(btf, relo);
      return 64 - (f.bitOffset + f.bitSize - fieldLoad(btf, f).byteOff * 8);
    }
    case BPF_CORE_FIELD_RSHIFT_U64: return 64 - resolveField(btf, relo).bitSize;
    case BPF_CORE_TYPE_ID_LOCAL:
    case BPF_CORE_TYPE_ID_TARGET: return relo.typeId;
    case BPF_CORE_TYPE_EXISTS:
    case BPF_CORE_TYPE_MATCHES: return 1;
    case BPF_CORE_TYPE_SIZE: return btf.sizeOf(relo.typeId);
    case BPF_CORE_ENUMVAL_EXISTS: return 1;
    case BPF_CORE_ENUMVAL_VALUE: {
      const t = btf.resolve(relo.typeId);
      if (t.kind !== BTF_KIND_ENUM && t.kind !== BTF_KIND_ENUM64) throw new XdplabError('BAD_INPUT', `${btf.toString(relo.typeId)} is not an enum`);
      const value = t.values[relo.access[0]];
      if (!value) throw new XdplabError('BAD_INPUT', `enumerator ${relo.access[0]} of ${btf.toString(relo.typeId)} does not exist`);
      return value.value;
    }
    default:
      throw new XdplabError('UNSUPPORTED', `CO-RE relocation kind ${relo.kind} is not supported`);
  }
}

/** bpf_core_patch_insn: put the value where the instruction carries it. */
export function patchCoreInstruction(insn: Instruction, value: number | bigint, relo: BtfCoreRelo): Instruction {
  const kind = insn.info.kind;
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
