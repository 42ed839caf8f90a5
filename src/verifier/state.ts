/**
 * Verifier states (struct bpf_func_state, struct bpf_verifier_state): the registers and stack
 * of each frame on the call stack, the references held, the lock held, and what pruning and
 * precision tracking need (parent checkpoint, branch count, instruction history).
 */
import { MAX_BPF_REG, MAX_BPF_STACK } from '../isa/opcodes.js';
import { PTR_TO_CTX, PTR_TO_STACK, RegState, SCALAR_VALUE, markNotInit, markPointer } from './reg-state.js';

export const BPF_REG_SIZE = 8;
export const MAX_STACK_SLOTS = MAX_BPF_STACK / BPF_REG_SIZE;

/** enum bpf_stack_slot_type. */
export const STACK_INVALID = 0;
export const STACK_SPILL = 1;
export const STACK_MISC = 2;
export const STACK_ZERO = 3;
export const STACK_DYNPTR = 4;
export const STACK_ITER = 5;
export const SLOT_TYPE_CHARS = ['?', 'r', 'm', '0', 'd', 'i'] as const;

/** One 8-byte stack slot (struct bpf_stack_state): a spilled register and a type per byte. */
export class StackSlot {
  readonly spilled = new RegState();
  /** slotType[i] describes byte -(8 * spi + i + 1) of the frame. */
  readonly slotType = new Uint8Array(BPF_REG_SIZE);

  clone(): StackSlot {
    const s = new StackSlot();
    s.spilled.copyFrom(this.spilled);
    s.slotType.set(this.slotType);
    return s;
  }

  /** is_spilled_reg: the last byte (the slot's first in memory order) is a spill. */
  get isSpilled(): boolean {
    return this.slotType[BPF_REG_SIZE - 1] === STACK_SPILL;
  }

  get isSpilledScalar(): boolean {
    return this.isSpilled && this.spilled.type === SCALAR_VALUE;
  }
}

/** What a reference the program holds is (enum ref_state_type). */
export type RefKind = 'ptr' | 'lock';

export interface RefState {
  readonly kind: RefKind;
  readonly id: number;
  /** The instruction that acquired it. */
  readonly insnIdx: number;
}

/** One call frame (struct bpf_func_state). */
export class FuncState {
  readonly regs: RegState[] = Array.from({ length: MAX_BPF_REG }, () => new RegState());
  /** Slot 0 is fp-8 (spi 0); grows as the program touches deeper slots. */
  stack: StackSlot[] = [];
  /** The call instruction that made this frame; -1 for the main program. */
  callsite = -1;
  frameno = 0;
  subprogno = 0;
  /** For callback frames: what the callback may return. */
  callbackRetMin = 0;
  callbackRetMax = 0;
  inCallbackFn = false;
  callbackDepth = 0;

  clone(): FuncState {
    const f = new FuncState();
    for (let i = 0; i < MAX_BPF_REG; i++) f.regs[i].copyFrom(this.regs[i]);
    f.stack = this.stack.map((s) => s.clone());
    f.callsite = this.callsite;
    f.frameno = this.frameno;
    f.subprogno = this.subprogno;
    f.callbackRetMin = this.callbackRetMin;
    f.callbackRetMax = this.callbackRetMax;
    f.inCallbackFn = this.inCallbackFn;
    f.callbackDepth = this.callbackDepth;
    return f;
  }

  /** Bytes of stack allocated so far (allocated_stack). */
  get allocatedStack(): number {
    return this.stack.length * BPF_REG_SIZE;
  }

  /** grow_stack_state: make room for `size` bytes below the frame pointer. */
  growStack(size: number): void {
    const slots = Math.ceil(size / BPF_REG_SIZE);
    while (this.stack.length < slots) this.stack.push(new StackSlot());
  }
}

/** A record of the instruction history kept for precision backtracking (bpf_jmp_history_entry). */
export interface HistEntry {
  readonly idx: number;
  readonly prevIdx: number;
  flags: number;
  /** Registers linked by a shared id at a conditional jump: packed frame/reg pairs. */
  linkedRegs: number[];
}

/** INSN_F_* flags of a history entry: the access was to a stack slot (frame, spi). */
export const INSN_F_STACK_ACCESS = 1 << 3;
export const insnStackAccessFlags = (frameno: number, spi: number): number => INSN_F_STACK_ACCESS | (spi << 4) | frameno;
export const insnStackAccessSpi = (flags: number): number => (flags >> 4) & 0x3f;
export const insnStackAccessFrameno = (flags: number): number => flags & 0x7;

/** The whole machine state along one path (struct bpf_verifier_state). */
export class VerifierState {
  frames: FuncState[] = [];
  /** The checkpoint this state descends from. */
  parent: VerifierState | null = null;
  /** Paths still being explored below this state (for checkpoints). */
  branches = 1;
  /** Evicted from the explored list while paths from it were still open: freed when the last ends. */
  inFreeList = false;
  insnIdx = 0;
  refs: RefState[] = [];
  /** Ids of held locks (bpf_spin_lock): the register id and the map. */
  activeLockId = 0;
  activeLockMap: unknown = undefined;
  speculative = false;
  cleaned = false;
  /** First and last instruction of this state's own stretch of the path (for backtracking). */
  firstInsnIdx = 0;
  lastInsnIdx = -1;
  hist: HistEntry[] = [];
  dfsDepth = 0;
  callbackUnrollDepth = 0;
  /** may_goto instructions taken on this path (may_goto_depth). */
  mayGotoDepth = 0;

  get curframe(): number {
    return this.frames.length - 1;
  }

  get frame(): FuncState {
    return this.frames[this.frames.length - 1];
  }

  get regs(): RegState[] {
    return this.frames[this.frames.length - 1].regs;
  }

  /** copy_verifier_state: a deep copy (parent link and history shared by value). */
  clone(): VerifierState {
    const s = new VerifierState();
    s.frames = this.frames.map((f) => f.clone());
    s.parent = this.parent;
    s.branches = this.branches;
    s.insnIdx = this.insnIdx;
    s.refs = this.refs.slice();
    s.activeLockId = this.activeLockId;
    s.activeLockMap = this.activeLockMap;
    s.speculative = this.speculative;
    s.cleaned = this.cleaned;
    s.firstInsnIdx = this.firstInsnIdx;
    s.lastInsnIdx = this.lastInsnIdx;
    s.hist = this.hist.map((h) => ({ ...h, linkedRegs: h.linkedRegs.slice() }));
    s.dfsDepth = this.dfsDepth;
    s.callbackUnrollDepth = this.callbackUnrollDepth;
    s.mayGotoDepth = this.mayGotoDepth;
    return s;
  }

  /** Every register of every frame, and every spilled register (bpf_for_each_reg_in_vstate). */
  *allRegs(): Generator<RegState> {
    for (const f of this.frames) {
      for (const r of f.regs) yield r;
      for (const s of f.stack) if (s.isSpilled) yield s.spilled;
    }
  }
}

/** The state at a program's (or global function's) entry: r1 = ctx, r10 = frame pointer. */
export function initialState(subprogno: number, r1Ctx: boolean): VerifierState {
  const state = new VerifierState();
  const frame = new FuncState();
  frame.subprogno = subprogno;
  for (const reg of frame.regs) markNotInit(reg);
  markPointer(frame.regs[10], PTR_TO_STACK);
  frame.regs[10].frameno = 0;
  if (r1Ctx) markPointer(frame.regs[1], PTR_TO_CTX);
  state.frames.push(frame);
  return state;
}
