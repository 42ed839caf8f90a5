/**
 * The verifier's environment (struct bpf_verifier_env): the program as the kernel sees it
 * (instruction slots, subprograms, per-instruction facts), the privileges it is loaded with,
 * the log, the current state and the branches still to explore, and the counters the kernel
 * reports. One env per verification; nothing here outlives it.
 */
import { BPF_COMPLEXITY_LIMIT_JMP_SEQ } from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import type { ProgTypeInfo } from '../uapi/prog-types.js';
import { kernelInsnString, type Insn } from './kernel-disasm.js';
import { BPF_LOG_LEVEL1, BPF_LOG_LEVEL2, VerifierLog, logAlignment, verifierStateString, type Scratch } from './log.js';
import { findPrevEntry, widenImpreciseScalars } from './prune.js';
import { RegState, markUnknown, type MapInfo } from './reg-state.js';
import type { HistEntry, VerifierState } from './state.js';

/** A refusal: the kernel's errno and its message (the log's error line). */
export class VerifyFailure extends Error {
  constructor(readonly errno: number, message: string, readonly insnIdx: number) {
    super(message);
    this.name = 'VerifyFailure';
  }
}

/** What the ld_imm64 at an instruction refers to (resolved from the object's relocations). */
export interface LdImmRef {
  readonly map: MapInfo;
  /** BPF_PSEUDO_MAP_FD (the map) or BPF_PSEUDO_MAP_VALUE (an address in its value). */
  readonly kind: 'map' | 'value';
  readonly offset: number;
}

/** A function of the program (struct bpf_subprog_info). */
export interface SubprogInfo {
  start: number;
  /** One past its last instruction. */
  end: number;
  name: string;
  /** A global (non-static) function: verified once on its own, with arguments from BTF. */
  global: boolean;
  /** Argument kinds of a global function, from its BTF prototype. */
  args: GlobalArg[];
  stackDepth: number;
  hasTailCall: boolean;
  hasLdAbs: boolean;
  isCallback: boolean;
  changesPktData: boolean;
  /** A global function may be verified and found to return a void (no r0 needed). */
  returnsVoid: boolean;
}

/** How a global function's argument is checked (btf_prepare_func_args). */
export type GlobalArg =
  | { kind: 'scalar' }
  | { kind: 'ctx' }
  | { kind: 'mem'; size: number; maybeNull: boolean }
  | { kind: 'unsupported'; why: string };

/** Per-instruction flags (struct bpf_insn_aux_data's bits the checks need). */
export const AUX_PRUNE_POINT = 1;
export const AUX_JMP_POINT = 2;
export const AUX_FORCE_CHECKPOINT = 4;
export const AUX_CALLS_CALLBACK = 8;
export const AUX_SEEN = 16;

/** A branch waiting to be explored (struct bpf_verifier_stack_elem). */
export interface StackElem {
  state: VerifierState;
  insnIdx: number;
  prevInsnIdx: number;
  logPos: number;
}

/**
 * One exploration of a loop (struct bpf_scc_visit), keyed by the call sites leading to it and
 * the loop's strongly connected component: the checkpoint that entered it, and the states
 * pruned inside it against checkpoints whose precision was not final yet (backedges).
 */
export interface SccVisit {
  entry: VerifierState | null;
  backedges: { state: VerifierState; equal: VerifierState }[];
}

/** A cached state at a prune point (struct bpf_verifier_state_list). */
export interface StateListEntry {
  state: VerifierState;
  hitCnt: number;
  missCnt: number;
}

export interface Privileges {
  /** perfmon_capable: pointer values may leak (into maps, as return values…). */
  allowPtrLeaks: boolean;
  /** Uninitialised stack may be read. */
  allowUninitStack: boolean;
  /** No Spectre v1 sanitation (pointer arithmetic limits). */
  bypassSpecV1: boolean;
  /** bpf_capable: loops, bounded by exploration, are allowed. */
  bpfCapable: boolean;
}

export class VerifierEnv {
  readonly log: VerifierLog;
  readonly aux: Uint8Array;
  /** Registers live before each instruction (compute_live_registers), a bit per register. */
  readonly liveRegsBefore: Uint16Array;
  readonly explored: (StateListEntry[] | undefined)[];
  subprogs: SubprogInfo[] = [];
  /** Subprogram index of each instruction. */
  subprogOf: Int32Array;
  curState!: VerifierState;
  readonly branchStack: StackElem[] = [];
  insnIdx = 0;
  prevInsnIdx = -1;
  idGen = 0;
  insnProcessed = 0;
  jmpsProcessed = 0;
  prevJmpsProcessed = 0;
  prevInsnProcessed = 0;
  totalStates = 0;
  peakStates = 0;
  exploredStatesSize = 0;
  freeListSize = 0;
  maxStatesPerInsn = 0;
  scratch: Scratch = { regs: 0, slots: 0n };
  prevLogPos = 0;
  prevInsnPrintPos = 0;
  /** The line-info record (its first instruction) sayLine printed last. */
  prevLinfo: number | undefined;
  private linfoRecords: Int32Array | undefined;
  /** The combined stack depth of the deepest call chain seen (check_max_stack_depth). */
  maxStackDepth = 0;
  /** Set when the last history entry was made for the instruction being processed. */
  curHistEntry: HistEntry | undefined;
  /** Spectre v1 masking planned per instruction (aux->alu_state / alu_limit). */
  readonly aluState: Int32Array;
  readonly aluLimit: Int32Array;
  /** Instructions a speculative path may not pass (aux->nospec). */
  readonly nospec: Uint8Array;
  /** Pointer arithmetic with unknown offsets was seen: scalars prune only when equal. */
  exploreAluLimits = false;
  /** Global functions called on some path: verified on their own after the main program. */
  readonly calledGlobals = new Set<number>();
  /** The kernel's nr_cpu_ids, which bounds bpf_get_smp_processor_id. */
  nrCpus = 1;
  /** Per load/store instruction: the pointer type it used first, + 1 (aux->ptr_type). */
  readonly auxPtrType: Int32Array;
  /** Instructions some path reached. */
  readonly seen: Uint8Array;
  /** pc → name of the kernel function a kfunc call names. */
  kfuncs: ReadonlyMap<number, string> = new Map();
  /** An unknown scalar, for slots of unknown bytes (unbound_reg). */
  readonly unboundReg: RegState;
  /** Instructions whose stack slot reads and full writes the stack liveness analysis records. */
  readonly stackUse: BigUint64Array;
  readonly stackDef: BigUint64Array;
  readonly stackDefSeen: Uint8Array;
  readonly stackLiveIn: BigUint64Array;
  /** Slots of the current frame the instruction being checked wholly overwrote. */
  pendingStackWrite = 0n;
  /** Predecessors of each instruction in the control-flow graph. */
  preds: number[][] = [];
  /** Program-order successors, the kernel's insn_successors. */
  succs: number[][] = [];
  /** Strongly connected component of each instruction (0: none, in no loop). */
  scc: Int32Array;
  /** Loop explorations in progress, by call chain (bpf_scc_visit). */
  readonly sccVisits = new Map<string, SccVisit>();
  /** An error the log names as the refusal; set by `reject`. */
  failure: VerifyFailure | undefined;

  constructor(
    readonly insns: Insn[],
    readonly progType: number,
    readonly attachType: number,
    readonly prog: ProgTypeInfo,
    readonly priv: Privileges,
    logLevel: number,
    readonly ldImm: ReadonlyMap<number, LdImmRef>,
    /** pc → `file:line: text`, from the object's line info. */
    readonly lineInfo: ReadonlyMap<number, string>,
    readonly gplCompatible: boolean,
    /** BPF_F_XDP_HAS_FRAGS */
    readonly xdpHasFrags: boolean,
  ) {
    const n = insns.length;
    this.log = new VerifierLog(logLevel);
    this.aux = new Uint8Array(n);
    this.liveRegsBefore = new Uint16Array(n);
    this.explored = new Array(n);
    this.subprogOf = new Int32Array(n);
    this.stackUse = new BigUint64Array(n);
    this.stackDef = new BigUint64Array(n);
    this.stackDefSeen = new Uint8Array(n);
    this.stackLiveIn = new BigUint64Array(n);
    this.scc = new Int32Array(n);
    this.aluState = new Int32Array(n);
    this.aluLimit = new Int32Array(n);
    this.nospec = new Uint8Array(n);
    this.auxPtrType = new Int32Array(n);
    this.seen = new Uint8Array(n);
    this.unboundReg = new RegState();
    markUnknown(this.unboundReg);
  }

  get verbose(): boolean {
    return this.log.level >= BPF_LOG_LEVEL1;
  }

  /** verbose(): append to the log. */
  say(text: string): void {
    if (this.log.level) this.log.write(text);
  }

  /** Refuse with a message the kernel logs without its newline (so the next line runs on). */
  rejectUnterminated(errno: number, message: string): never {
    this.say(message);
    this.failure = new VerifyFailure(errno, message, this.insnIdx);
    throw this.failure;
  }

  /** Refuse the program: write the message (one or more lines) and stop verification. */
  reject(errno: number, ...lines: string[]): never {
    for (const line of lines) this.say(line + '\n');
    this.failure = new VerifyFailure(errno, lines[0] ?? '', this.insnIdx);
    throw this.failure;
  }

  /** The verifier found its own state inconsistent (verifier_bug): EFAULT, as the kernel. */
  bug(message: string): never {
    return this.reject(ERRNO.EFAULT, `verifier bug: ${message}`);
  }

  /** The instruction in the kernel's log syntax, a map's ld_imm64 showing a stand-in address. */
  formatInsn(i: number): string {
    const ref = this.ldImm.get(i);
    const addr = ref ? 0xffff888100000000n + BigInt(ref.map.index) * 0x1000n + BigInt(ref.kind === 'value' ? ref.offset : 0) : undefined;
    return kernelInsnString(this.insns[i], this.insns[i + 1], addr);
  }

  /**
   * verbose_linfo: the source line of `insn` (`; text @ file:line`), each time the line-info
   * record governing it (find_linfo: the last one at or before it) is another than last time
   * and names another line.
   */
  sayLine(insn: number, prefix = '; '): void {
    if (!this.log.level) return;
    const record = this.linfoRecordOf(insn);
    if (record < 0 || record === this.prevLinfo) return;
    const line = this.lineInfo.get(record)!;
    // Two records of one file and line (they differ in the column the log does not show): once.
    if (this.prevLinfo !== undefined && this.lineInfo.get(this.prevLinfo) === line) return;
    this.prevLinfo = record;
    const m = /^(.*?):(\d+): ?(.*)$/.exec(line);
    const text = m ? `${m[3].trimStart()} @ ${m[1].split('/').pop()}:${m[2]}` : line;
    this.say(`${prefix}${text}\n`);
  }
  /** find_linfo: the first instruction of the line-info record that covers `insn`, or -1. */
  private linfoRecordOf(insn: number): number {
    if (!this.linfoRecords) {
      this.linfoRecords = new Int32Array(this.insns.length).fill(-1);
      let record = -1;
      for (let i = 0; i < this.insns.length; i++) {
        if (this.lineInfo.has(i)) record = i;
        this.linfoRecords[i] = record;
      }
    }
    return this.linfoRecords[insn] ?? -1;
  }


  /** print_insn_state: the registers the last instruction changed, after it on its line. */
  printInsnState(): void {
    if (!this.log.level) return;
    if (this.prevLogPos && this.prevLogPos === this.log.pos) {
      this.log.reset(this.prevLogPos - 1);
      this.say(' '.repeat(Math.max(logAlignment(this.prevInsnPrintPos), 1)) + ';');
    } else {
      this.say(`${this.insnIdx}:`);
    }
    this.say(verifierStateString(this.curState, this.curState.curframe, this.scratch) + '\n');
    this.scratch = { regs: 0, slots: 0n };
  }

  /** push_stack: a copy of the current state, to explore from `insnIdx` later. */
  pushStack(insnIdx: number, prevInsnIdx: number, speculative: boolean): VerifierState {
    const copy = this.curState.clone();
    copy.speculative ||= speculative;
    this.branchStack.push({ state: copy, insnIdx, prevInsnIdx, logPos: this.log.pos });
    if (this.branchStack.length > BPF_COMPLEXITY_LIMIT_JMP_SEQ) {
      this.reject(ERRNO.E2BIG, `The sequence of ${this.branchStack.length} jumps is too complex.`);
    }
    if (copy.parent) copy.parent.branches++;
    return copy;
  }

  /**
   * sanitize_speculative_path: without CAP_PERFMON the side of a branch the program cannot take
   * is still explored, as a CPU might speculate into it, with the compared registers unknown.
   */
  pushSpeculative(insnIdx: number, prevInsnIdx: number, insn: Insn | undefined): void {
    const branch = this.pushStack(insnIdx, prevInsnIdx, true);
    if (!insn) return;
    markUnknown(branch.regs[insn.dst]);
    if ((insn.code & 0x08) !== 0) markUnknown(branch.regs[insn.src]);
  }

  /** After a callback returns to its helper call: widen what it changed imprecisely. */
  widenAtCallbackReturn(insnIdx: number): void {
    const prev = findPrevEntry(this, this.curState, insnIdx);
    if (prev) widenImpreciseScalars(this, prev, this.curState);
  }

  get logLevel2(): boolean {
    return this.log.level >= BPF_LOG_LEVEL2;
  }

  isPrunePoint(i: number): boolean {
    return (this.aux[i] & AUX_PRUNE_POINT) !== 0;
  }

  isJmpPoint(i: number): boolean {
    return (this.aux[i] & AUX_JMP_POINT) !== 0;
  }

  isForceCheckpoint(i: number): boolean {
    return (this.aux[i] & AUX_FORCE_CHECKPOINT) !== 0;
  }

  /** may_goto: the bounded-loop escape (BPF_JMP | BPF_JCOND, src BPF_MAY_GOTO). */
  isMayGoto(i: number): boolean {
    return this.insns[i].code === 0xe5;
  }

  callsCallback(i: number): boolean {
    return (this.aux[i] & AUX_CALLS_CALLBACK) !== 0;
  }

  markScratchedReg(regno: number): void {
    this.scratch.regs |= 1 << regno;
  }

  markScratchedSlot(spi: number): void {
    this.scratch.slots |= 1n << BigInt(spi);
  }

  markAllScratched(): void {
    this.scratch = { regs: 0x7ff, slots: (1n << 64n) - 1n };
  }

  /** Index of the subprogram starting at `insn` (find_subprog), or -1. */
  findSubprog(insn: number): number {
    let lo = 0;
    let hi = this.subprogs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const start = this.subprogs[mid].start;
      if (start === insn) return mid;
      if (start < insn) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}
