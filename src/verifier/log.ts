/**
 * The verifier log in the kernel's format (kernel/bpf/log.c): register states as
 * `R1=ctx() R6=pkt(r=14) fp-8=mmmm????`, the instruction trace with changed registers after
 * `;`, source lines as `; text @ file:line`. At log level 1 only the path that failed is
 * kept (a branch's log is dropped when the verifier moves to the next one), at level 2 all.
 */
import { PTR_TO_MEM, PTR_TO_PACKET, PTR_TO_PACKET_META, PTR_TO_STACK, CONST_PTR_TO_MAP, PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE,
  BPF_ADD_CONST, S32_MAX, S32_MIN, S64_MAX, S64_MIN, SCALAR_VALUE, U32_MAX, U64_MAX, NOT_INIT, regTypeStr, type RegState } from './reg-state.js';
import { baseType } from '../uapi/helper-protos.js';
import { BPF_REG_SIZE, SLOT_TYPE_CHARS, STACK_SPILL, type FuncState, type VerifierState } from './state.js';
import { tnumIsConst, tnumIsUnknown, tnumString } from './tnum.js';

export const BPF_LOG_LEVEL1 = 1;
export const BPF_LOG_LEVEL2 = 2;

/**
 * Growing text with the kernel's rewind (bpf_vlog_reset). Kept as chunks: the verifier rewinds
 * a character (a newline) at almost every instruction, and a flat string would be copied each time.
 */
export class VerifierLog {
  private readonly chunks: string[] = [];
  private length = 0;

  constructor(readonly level: number) {}

  get enabled(): boolean {
    return this.level > 0;
  }

  write(s: string): void {
    if (!this.level || !s) return;
    this.chunks.push(s);
    this.length += s.length;
  }

  get pos(): number {
    return this.length;
  }

  reset(pos: number): void {
    while (this.length > pos) {
      const last = this.chunks.pop()!;
      this.length -= last.length;
      if (this.length < pos) {
        this.chunks.push(last.slice(0, pos - this.length));
        this.length = pos;
      }
    }
  }

  toString(): string {
    return this.chunks.join('');
  }
}

const SNUM_MIN = -32768n;
const SNUM_MAX = 32767n;

/** verbose_snum: small numbers in decimal, others in hex (of the 64-bit pattern). */
export function snum(n: bigint): string {
  return n >= SNUM_MIN && n <= SNUM_MAX ? n.toString() : '0x' + BigInt.asUintN(64, n).toString(16);
}

/** verbose_unum. */
export function unum(n: bigint): string {
  return n <= 0xffffn ? n.toString() : '0x' + n.toString(16);
}

/** print_scalar_ranges: the bounds that say something, equal ones merged (`smin=smin32=0`). */
function scalarRanges(reg: RegState, out: string[]): void {
  const s32 = (v: number): bigint => (BigInt(v) >= SNUM_MIN && BigInt(v) <= SNUM_MAX ? BigInt(v) : BigInt(v >>> 0));
  const items = [
    { name: 'smin', val: BigInt.asUintN(64, reg.smin), omit: reg.smin === S64_MIN, signedVal: reg.smin },
    { name: 'smax', val: BigInt.asUintN(64, reg.smax), omit: reg.smax === S64_MAX, signedVal: reg.smax },
    { name: 'umin', val: reg.umin, omit: reg.umin === 0n, signedVal: reg.umin },
    { name: 'umax', val: reg.umax, omit: reg.umax === U64_MAX, signedVal: reg.umax },
    { name: 'smin32', val: BigInt.asUintN(64, s32(reg.s32min)), omit: reg.s32min === S32_MIN, signedVal: s32(reg.s32min) },
    { name: 'smax32', val: BigInt.asUintN(64, s32(reg.s32max)), omit: reg.s32max === S32_MAX, signedVal: s32(reg.s32max) },
    { name: 'umin32', val: BigInt(reg.u32min), omit: reg.u32min === 0, signedVal: BigInt(reg.u32min) },
    { name: 'umax32', val: BigInt(reg.u32max), omit: reg.u32max === U32_MAX, signedVal: BigInt(reg.u32max) },
  ];
  for (let i = 0; i < items.length; i++) {
    const m1 = items[i];
    if (m1.omit) continue;
    const neg1 = m1.name[0] === 's' && BigInt.asIntN(64, m1.val) < 0n;
    let text = `${m1.name}=`;
    for (let j = i + 2; j < items.length; j += 2) {
      const m2 = items[j];
      if (m2.omit || m2.val !== m1.val) continue;
      const neg2 = m2.name[0] === 's' && BigInt.asIntN(64, m2.val) < 0n;
      if (neg2 !== neg1) continue;
      m2.omit = true;
      text += `${m2.name}=`;
    }
    text += m1.name[0] === 's' ? snum(BigInt.asIntN(64, m1.val)) : unum(m1.val);
    out.push(text);
  }
}

/** print_reg_state: one register's state, as after `R1=` in the log. */
export function regStateString(reg: RegState, frameno: number): string {
  const t = reg.type;
  let s = '';
  if (t === SCALAR_VALUE && reg.precise) s += 'P';
  if (t === SCALAR_VALUE && tnumIsConst(reg.varOff)) return s + snum(BigInt.asIntN(64, reg.varOff.value));
  s += regTypeStr(t);
  if (t === PTR_TO_STACK) {
    if (frameno !== reg.frameno) s += `[${reg.frameno}]`;
    if (tnumIsConst(reg.varOff)) return s + snum(BigInt.asIntN(64, reg.varOff.value) + BigInt(reg.off));
  }
  const parts: string[] = [];
  if (reg.id) {
    parts.push(`id=${reg.id & ~BPF_ADD_CONST}` + (reg.id & BPF_ADD_CONST ? (reg.off >= 0 ? `+${reg.off}` : `${reg.off}`) : ''));
  }
  if (reg.refObjId) parts.push(`ref_obj_id=${reg.refObjId}`);
  const base = baseType(t);
  if ((base === CONST_PTR_TO_MAP || base === PTR_TO_MAP_VALUE || base === PTR_TO_MAP_KEY) && reg.map) {
    if (reg.map.name) parts.push(`map=${reg.map.name}`);
    parts.push(`ks=${reg.map.keySize},vs=${reg.map.valueSize}`);
  }
  if (t !== SCALAR_VALUE && reg.off) parts.push(`off=${snum(BigInt(reg.off))}`);
  if (base === PTR_TO_PACKET || base === PTR_TO_PACKET_META) parts.push(`r=${unum(BigInt.asUintN(64, BigInt(reg.range)))}`);
  if (base === PTR_TO_MEM) parts.push(`sz=${unum(BigInt(reg.memSize))}`);
  if (tnumIsConst(reg.varOff)) {
    if (reg.varOff.value) parts.push(`imm=${snum(BigInt.asIntN(64, reg.varOff.value))}`);
  } else {
    scalarRanges(reg, parts);
    if (!tnumIsUnknown(reg.varOff)) parts.push(`var_off=${tnumString(reg.varOff)}`);
  }
  return `${s}(${parts.join(',')})`;
}

/** A frame's stack slots: ` fp-8=mmmm????`, spilled registers with their state. */
function stackString(frame: FuncState, scratched: (spi: number) => boolean): string {
  let out = '';
  frame.stack.forEach((slot, spi) => {
    if (!scratched(spi)) return;
    let types = '';
    let valid = false;
    for (let j = 0; j < BPF_REG_SIZE; j++) {
      if (slot.slotType[j] !== 0) valid = true;
      types += SLOT_TYPE_CHARS[slot.slotType[j]] ?? '?';
    }
    if (!valid) return;
    const off = (-spi - 1) * BPF_REG_SIZE;
    if (slot.slotType[BPF_REG_SIZE - 1] === STACK_SPILL) {
      const first = slot.slotType.indexOf(STACK_SPILL);
      out += ` fp${off}=${types.slice(0, first)}${regStateString(slot.spilled, frame.frameno)}`;
    } else {
      out += ` fp${off}=${types}`;
    }
  });
  return out;
}

/** What changed since the last print (the kernel's scratched marks); everything when `all`. */
export interface Scratch {
  regs: number;
  slots: bigint;
}

/** print_verifier_state: ` frame1: R1=… fp-8=…` (no trailing newline). */
export function verifierStateString(state: VerifierState, frameno: number, scratch: Scratch | 'all'): string {
  const frame = state.frames[frameno];
  let out = frame.frameno ? ` frame${frame.frameno}:` : '';
  frame.regs.forEach((reg, i) => {
    if (reg.type === NOT_INIT) return;
    if (scratch !== 'all' && !((scratch.regs >> i) & 1)) return;
    out += ` R${i}=${regStateString(reg, frame.frameno)}`;
  });
  out += stackString(frame, (spi) => scratch === 'all' || ((scratch.slots >> BigInt(spi)) & 1n) === 1n);
  const refs = state.refs.filter((r) => r.id);
  if (refs.length) out += ` refs=${refs.map((r) => r.id).join(',')}`;
  if (frame.inCallbackFn) out += ' cb';
  return out;
}

const BPF_LOG_ALIGNMENT = 40;
const BPF_LOG_MIN_ALIGNMENT = 8;

/** vlog_alignment: padding that puts the `;` of a state after an instruction in its column. */
export function logAlignment(pos: number): number {
  const target = Math.max(pos + BPF_LOG_MIN_ALIGNMENT / 2, BPF_LOG_ALIGNMENT);
  return Math.ceil(target / BPF_LOG_MIN_ALIGNMENT) * BPF_LOG_MIN_ALIGNMENT - pos - 1;
}

/** fmt_reg_mask: `r1,r6`. */
export const regMaskString = (mask: number): string => [...Array(11).keys()].filter((i) => (mask >> i) & 1).map((i) => `r${i}`).join(',');

/** bpf_fmt_stack_mask: `-8,-16`. */
export function stackMaskString(mask: bigint): string {
  const out: string[] = [];
  for (let i = 0; i < 64; i++) if ((mask >> BigInt(i)) & 1n) out.push(`${-(i + 1) * BPF_REG_SIZE}`);
  return out.join(',');
}
