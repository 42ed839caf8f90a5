/**
 * Instruction: one decoded BPF instruction (lddw is ONE instruction, 16 bytes wide), and
 * decoding / encoding between bytes and instructions.
 *
 * Decoding checks each instruction the way the kernel's verifier does before it looks at
 * data flow: unknown opcodes, reserved fields that must be zero, truncated lddw, jumps out
 * of the program or into the middle of an lddw, writes to the read-only frame pointer.
 */
import { XdplabError } from '../errors.js';
import { formatInstruction, type Syntax } from './disasm.js';
import {
  BPF_ALU64, BPF_CLASS, BPF_DIV, BPF_FETCH, BPF_JMP32, BPF_MOD, BPF_MOV, BPF_NEG, BPF_OP, BPF_PSEUDO_CALL,
  BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_IDX_VALUE, BPF_REG_FP, MAX_BPF_REG, MOVSX_OFFSETS_32, MOVSX_OFFSETS_64, OPCODE,
  OPCODES, isAtomicOp, type OpcodeInfo,
} from './opcodes.js';

/** Bytes of one instruction slot. */
export const INSN_SIZE = 8;

export class Instruction {
  constructor(
    /** The opcode byte. */
    readonly code: number,
    readonly dst: number,
    readonly src: number,
    /** Signed 16-bit offset. */
    readonly off: number,
    /** Signed 32-bit immediate (for lddw: the low half of the 64-bit constant). */
    readonly imm: number,
    /** lddw only: the high half of the 64-bit constant, from the second slot. */
    readonly immHi = 0,
  ) {}

  get info(): OpcodeInfo {
    return OPCODES[this.code]!;
  }

  /** Slots this instruction occupies: 2 for lddw, else 1. */
  get width(): 1 | 2 {
    return this.code === OPCODE.LDDW ? 2 : 1;
  }

  /** The 64-bit constant of an lddw (as BigInt: for display and tooling, never a hot path). */
  get imm64(): bigint {
    return (BigInt(this.immHi) << 32n) | BigInt(this.imm >>> 0);
  }

  /** The disassembly, in llvm-objdump's syntax (or the assembler's, on request). */
  toString(syntax: Syntax = 'llvm'): string {
    return formatInstruction(this, syntax);
  }

  /** The instruction's bytes (8, or 16 for lddw), little-endian as the kernel reads them. */
  encode(): Uint8Array {
    const bytes = new Uint8Array(this.width * INSN_SIZE);
    const view = new DataView(bytes.buffer);
    view.setUint8(0, this.code);
    view.setUint8(1, (this.src << 4) | this.dst);
    view.setInt16(2, this.off, true);
    view.setInt32(4, this.imm, true);
    if (this.width === 2) view.setInt32(12, this.immHi, true);
    return bytes;
  }

  /** Jump target of a jump, local call or gotol, as a pc, given this instruction's pc. */
  branchTarget(pc: number): number | undefined {
    const { kind } = this.info;
    if (kind === 'jcond') return pc + 1 + this.off;
    if (kind === 'ja') return pc + 1 + (BPF_CLASS(this.code) === BPF_JMP32 ? this.imm : this.off);
    if (kind === 'call' && this.src === BPF_PSEUDO_CALL) return pc + 1 + this.imm;
    return undefined;
  }
}

/** Encode a list of instructions back to bytes. */
export function encodeProgram(insns: readonly Instruction[]): Uint8Array {
  const slots = insns.reduce((n, insn) => n + insn.width, 0);
  const out = new Uint8Array(slots * INSN_SIZE);
  let at = 0;
  for (const insn of insns) {
    out.set(insn.encode(), at);
    at += insn.width * INSN_SIZE;
  }
  return out;
}

/** A decoded program: its instructions, and the pc (slot index) each starts at. */
export interface DecodedProgram {
  readonly insns: readonly Instruction[];
  readonly pcs: readonly number[];
  /** Total slots (an lddw counts 2). */
  readonly slots: number;
}

function badInsn(pc: number, message: string): XdplabError {
  return new XdplabError('BAD_INSTRUCTION', `pc ${pc}: ${message}`);
}

/**
 * Decode one slot; an lddw reads the following slot too. A malformed lddw throws, or — when
 * `invalid` is given — is noted there by pc and decoded as well as it can be.
 */
function decodeAt(view: DataView, slot: number, slots: number, invalid?: Map<number, string>): Instruction {
  const at = slot * INSN_SIZE;
  const code = view.getUint8(at);
  const regs = view.getUint8(at + 1);
  const off = view.getInt16(at + 2, true);
  const imm = view.getInt32(at + 4, true);
  if (code !== OPCODE.LDDW) return new Instruction(code, regs & 0x0f, regs >> 4, off, imm);
  const bad = (reason: string): void => {
    if (!invalid) throw badInsn(slot, `invalid BPF_LD_IMM insn: ${reason}`);
    invalid.set(slot, `invalid BPF_LD_IMM insn: ${reason}`);
  };
  if (slot + 1 >= slots) {
    bad('lddw is truncated (its second slot is missing)');
    return new Instruction(code, regs & 0x0f, regs >> 4, off, imm, 0);
  }
  const next = at + INSN_SIZE;
  if (view.getUint8(next) !== 0 || view.getUint8(next + 1) !== 0 || view.getInt16(next + 2, true) !== 0) {
    bad('the second slot of lddw must have zero code, registers and offset');
  }
  return new Instruction(code, regs & 0x0f, regs >> 4, off, imm, view.getInt32(next + 4, true));
}

/**
 * Decode a program and check every instruction as the kernel would before running it.
 * Throws XdplabError('BAD_INSTRUCTION') naming the pc and the reason.
 */
export function decodeProgram(bytes: Uint8Array): DecodedProgram {
  if (bytes.length === 0) throw new XdplabError('BAD_INSTRUCTION', 'empty program');
  if (bytes.length % INSN_SIZE !== 0) {
    throw new XdplabError('BAD_INSTRUCTION', `program length ${bytes.length} is not a multiple of ${INSN_SIZE} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const slots = bytes.length / INSN_SIZE;
  const insns: Instruction[] = [];
  const pcs: number[] = [];
  for (let pc = 0; pc < slots; ) {
    const insn = decodeAt(view, pc, slots);
    checkInstruction(insn, pc);
    insns.push(insn);
    pcs.push(pc);
    pc += insn.width;
  }
  checkControlFlow(insns, pcs, slots);
  return { insns, pcs, slots };
}

/**
 * Decode instructions without checking them: no per-instruction rules, no control flow, so
 * any slice of a section decodes (a relocatable object's `call -1`, a function that does not
 * end in exit, an opcode the ISA lacks — its Instruction has no `info`). Throws
 * XdplabError('BAD_INSTRUCTION') only when the bytes do not split into instructions, or for a
 * malformed lddw unless `invalid` collects those (pc → reason).
 */
export function decodeInstructions(bytes: Uint8Array, invalid?: Map<number, string>): DecodedProgram {
  if (bytes.length % INSN_SIZE !== 0) {
    throw new XdplabError('BAD_INSTRUCTION', `program length ${bytes.length} is not a multiple of ${INSN_SIZE} bytes`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const slots = bytes.length / INSN_SIZE;
  const insns: Instruction[] = [];
  const pcs: number[] = [];
  for (let pc = 0; pc < slots; pc += insns[insns.length - 1].width) {
    insns.push(decodeAt(view, pc, slots, invalid));
    pcs.push(pc);
  }
  return { insns, pcs, slots };
}

/** The instruction-level rules: fields an opcode does not use must be zero. */
export function checkInstruction(insn: Instruction, pc: number): void {
  const info = OPCODES[insn.code];
  if (!info) throw badInsn(pc, `unknown opcode 0x${insn.code.toString(16).padStart(2, '0')}`);
  const { code, dst, src, off, imm } = insn;
  if (dst >= MAX_BPF_REG) throw badInsn(pc, `R${dst} is invalid`);
  if (src >= MAX_BPF_REG && info.kind !== 'call' && info.kind !== 'lddw') throw badInsn(pc, `R${src} is invalid`);
  const reserved = (what: string): XdplabError => badInsn(pc, `${info.name} uses reserved fields (${what} must be 0)`);
  const op = BPF_OP(code);

  switch (info.kind) {
    case 'alu': {
      if (op === BPF_NEG) {
        if (src !== 0 || off !== 0 || imm !== 0) throw reserved('src, off and imm');
        break;
      }
      if (info.usesSrcReg ? imm !== 0 : src !== 0) throw reserved(info.usesSrcReg ? 'imm' : 'src');
      const signedDivision = op === BPF_DIV || op === BPF_MOD;
      const movsx = op === BPF_MOV && info.usesSrcReg;
      const movsxOffsets: readonly number[] = info.is64 ? MOVSX_OFFSETS_64 : MOVSX_OFFSETS_32;
      const offOk = off === 0 || (signedDivision && off === 1) || (movsx && movsxOffsets.includes(off));
      if (!offOk) throw badInsn(pc, `${info.name} has an invalid offset ${off}`);
      // A constant shift of the operand width or more is the verifier's to reject
      // (check_alu_op, "invalid shift"); the ISA itself masks the count (RFC 9669 4.1).
      break;
    }
    case 'end':
      if (src !== 0 || off !== 0) throw reserved('src and off');
      if (imm !== 16 && imm !== 32 && imm !== 64) throw badInsn(pc, `${info.name} has an invalid width ${imm} (16, 32 or 64)`);
      break;
    case 'ja':
      if (src !== 0 || dst !== 0) throw reserved('src and dst');
      if (BPF_CLASS(code) === BPF_JMP32 ? off !== 0 : imm !== 0) throw reserved(BPF_CLASS(code) === BPF_JMP32 ? 'off' : 'imm');
      break;
    case 'jcond':
      if (info.usesSrcReg ? imm !== 0 : src !== 0) throw reserved(info.usesSrcReg ? 'imm' : 'src');
      break;
    case 'call':
      if (dst !== 0) throw reserved('dst');
      if (src > BPF_PSEUDO_KFUNC_CALL) throw badInsn(pc, `call has an invalid src ${src}`);
      // A kfunc call may carry a BTF fd index in off; nothing else may.
      if (off !== 0 && src !== BPF_PSEUDO_KFUNC_CALL) throw reserved('off');
      break;
    case 'callx':
      if (src !== 0 || off !== 0) throw reserved('src and off');
      if (imm !== 0 && (dst !== 0 || imm < 0 || imm >= MAX_BPF_REG)) throw reserved('imm');
      break;
    case 'exit':
      if (src !== 0 || dst !== 0 || off !== 0 || imm !== 0) throw reserved('src, dst, off and imm');
      break;
    case 'lddw':
      if (off !== 0) throw reserved('off');
      if (src > BPF_PSEUDO_MAP_IDX_VALUE) throw badInsn(pc, `lddw has an invalid src ${src}`);
      break;
    case 'ldabs':
      if (dst !== 0 || src !== 0 || off !== 0) throw badInsn(pc, 'BPF_LD_[ABS|IND] uses reserved fields');
      break;
    case 'ldind':
      if (dst !== 0 || off !== 0) throw badInsn(pc, 'BPF_LD_[ABS|IND] uses reserved fields');
      break;
    case 'ldx':
    case 'ldxsx':
    case 'stx':
      if (imm !== 0) throw reserved('imm');
      break;
    case 'st':
      if (src !== 0) throw reserved('src');
      break;
    case 'atomic':
      if (!isAtomicOp(imm)) throw badInsn(pc, `BPF_ATOMIC uses invalid atomic opcode 0x${(imm >>> 0).toString(16)}`);
      break;
  }
  if (writesRegister(insn, BPF_REG_FP)) throw badInsn(pc, 'frame pointer is read only');
}

/** True if executing the instruction writes register `reg`. */
function writesRegister(insn: Instruction, reg: number): boolean {
  const { kind } = insn.info;
  switch (kind) {
    case 'alu': case 'end': case 'lddw': case 'ldx': case 'ldxsx':
      return insn.dst === reg;
    case 'atomic':
      return (insn.imm & BPF_FETCH) !== 0 && insn.src === reg;
    default:
      return false;
  }
}

/** Jumps and local calls must land on the start of an instruction inside the program. */
function checkControlFlow(insns: readonly Instruction[], pcs: readonly number[], slots: number): void {
  const starts = new Uint8Array(slots);
  for (const pc of pcs) starts[pc] = 1;
  insns.forEach((insn, i) => {
    const pc = pcs[i];
    const target = insn.branchTarget(pc);
    if (target === undefined) return;
    const what = insn.info.kind === 'call' ? 'call' : 'jump';
    if (target < 0 || target >= slots) throw badInsn(pc, `${what} out of range from insn ${pc} to ${target}`);
    if (!starts[target]) throw badInsn(pc, `${what} into the middle of ldimm64 insn ${target - 1}`);
  });
  const last = insns[insns.length - 1];
  if (last.info.kind !== 'exit' && last.info.kind !== 'ja') {
    throw badInsn(pcs[pcs.length - 1], 'last insn is not an exit or jmp');
  }
}

/** The register an indirect call reads: dst, or imm in objects from LLVM before 19. */
export function callxRegister(insn: Instruction): number {
  return insn.imm !== 0 ? insn.imm : insn.dst;
}

/** Whether an ALU instruction is the 64-bit form. */
export const isAlu64 = (code: number): boolean => BPF_CLASS(code) === BPF_ALU64;
