/**
 * Where a program's return value came from: the plan both engines follow to know, when a run
 * ends, the pc of the instruction that made the value r0 holds — following it through register
 * copies (`w0 = w7` after `w7 = 1`) and through calls (`return action;` in a function that got
 * `action` from its caller's `XDP_DROP`). That is the instruction behind `return XDP_DROP;`,
 * where the exit is only the function's closing brace.
 *
 * Each register has an origin, the pc that made its value. A backward analysis (like liveness)
 * finds the writes whose value may reach r0 at an exit through copies; only those note an
 * origin — `origin[d] = pc` where the value is made, `origin[d] = origin[s]` where it is copied —
 * so the engines do nothing at every other instruction. A local call keeps r6–r9 for its caller,
 * and so keeps their origins (`calleeSaved`). Reads through memory (a spill and reload) make a
 * new origin: the reload.
 */
import type { Instruction } from '../isa/instruction.js';
import { BPF_CMPXCHG, BPF_FETCH, BPF_MOV, BPF_OP, BPF_PSEUDO_CALL, OPCODE, OPCODES } from '../isa/opcodes.js';

/** What an instruction does to an origin. */
export const ORIGIN_NONE = 0;
/** origin[reg] = this pc: the value is made here. */
export const ORIGIN_HERE = 1;
/** origin[reg] = origin[from]: the value is copied. */
export const ORIGIN_COPY = 2;

export interface OriginPlan {
  /** Per slot: ORIGIN_NONE, ORIGIN_HERE or ORIGIN_COPY. */
  readonly kind: Uint8Array;
  /** The register whose origin the instruction sets. */
  readonly reg: Uint8Array;
  /** ORIGIN_COPY: the register it copies from. */
  readonly from: Uint8Array;
  /** Some origin of r6–r9 is kept: local calls save and restore them for the caller. */
  readonly calleeSaved: boolean;
}

const R0 = 1;
const ARGS = 0b111110; // r1..r5
const CALLEE_SAVED = 0b1111000000; // r6..r9

/** The register an instruction writes (-1: none) and, for a plain register copy, the source. */
function written(insn: Instruction): { reg: number; copyOf: number } {
  const info = OPCODES[insn.code]!;
  switch (info.kind) {
    case 'alu': {
      // mov and movsx copy the value (movsx widens it); every other operation makes a new one.
      const copy = BPF_OP(insn.code) === BPF_MOV && info.usesSrcReg;
      return { reg: insn.dst, copyOf: copy ? insn.src : -1 };
    }
    case 'end': case 'ldx': case 'ldxsx': case 'lddw': return { reg: insn.dst, copyOf: -1 };
    case 'ldabs': case 'ldind': case 'callx': return { reg: 0, copyOf: -1 };
    case 'call': return { reg: insn.src === BPF_PSEUDO_CALL ? -1 : 0, copyOf: -1 };
    case 'atomic':
      if (insn.imm === BPF_CMPXCHG) return { reg: 0, copyOf: -1 };
      return { reg: insn.imm & BPF_FETCH ? insn.src : -1, copyOf: -1 };
    default: return { reg: -1, copyOf: -1 };
  }
}

interface Node {
  pc: number;
  insn: Instruction;
  /** Slots of the successors the value of a register flows to (not through a local call). */
  next: number[];
  /** A local call's target slot, or -1. */
  callee: number;
  /** Registers the instruction kills without making an origin (a call's r1–r5). */
  clobbers: number;
}

function nodesOf(insns: readonly Instruction[], pcs: readonly number[]): Node[] {
  return insns.map((insn, i) => {
    const pc = pcs[i];
    const kind = OPCODES[insn.code]!.kind;
    const after = pc + insn.width;
    const target = pc + 1 + (insn.code === OPCODE.JA32 ? insn.imm : insn.off); // gotol: imm
    const localCall = kind === 'call' && insn.src === BPF_PSEUDO_CALL;
    const next = kind === 'exit' ? [] : kind === 'ja' ? [target] : kind === 'jcond' ? [target, after] : [after];
    const calls = kind === 'call' || kind === 'callx' || kind === 'ldabs' || kind === 'ldind';
    return { pc, insn, next, callee: localCall ? pc + 1 + insn.imm : -1, clobbers: calls && !localCall ? ARGS : 0 };
  });
}

/**
 * The plan for a program of `slots` slots, its instructions and their pcs. `needed[pc]` — the
 * registers whose origin matters just before pc — is found by iterating to a fixpoint: an
 * exit needs r0; a write kills its register and, when it copies, needs its source instead; a
 * local call passes r6–r9 through for its caller and needs what its callee needs of r1–r5.
 */
export function planOrigins(slots: number, insns: readonly Instruction[], pcs: readonly number[]): OriginPlan {
  const nodes = nodesOf(insns, pcs);
  const needed = new Int32Array(slots + 1);
  const after = (node: Node): number => {
    let mask = 0;
    for (const s of node.next) if (s <= slots) mask |= needed[s];
    return mask;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i];
      let mask: number;
      if (OPCODES[node.insn.code]!.kind === 'exit') mask = R0;
      else if (node.callee >= 0) mask = (after(node) & CALLEE_SAVED) | ((needed[node.callee] ?? 0) & ARGS);
      else {
        mask = after(node) & ~node.clobbers;
        const w = written(node.insn);
        if (w.reg >= 0 && mask & (1 << w.reg)) {
          mask &= ~(1 << w.reg);
          if (w.copyOf >= 0) mask |= 1 << w.copyOf;
        }
      }
      if (mask !== needed[node.pc]) {
        needed[node.pc] = mask;
        changed = true;
      }
    }
  }
  const kind = new Uint8Array(slots);
  const reg = new Uint8Array(slots);
  const from = new Uint8Array(slots);
  let calleeSaved = false;
  for (const node of nodes) {
    const w = written(node.insn);
    if (w.reg < 0 || node.callee >= 0 || !(after(node) & (1 << w.reg))) continue;
    kind[node.pc] = w.copyOf >= 0 ? ORIGIN_COPY : ORIGIN_HERE;
    reg[node.pc] = w.reg;
    from[node.pc] = Math.max(0, w.copyOf);
    if (w.reg >= 6 && w.reg <= 9) calleeSaved = true;
  }
  return { kind, reg, from, calleeSaved };
}
