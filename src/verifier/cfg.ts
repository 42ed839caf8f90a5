/**
 * The checks before data-flow analysis, in the kernel's order (bpf_check): subprograms found
 * from calls (add_subprog_and_kfunc) and checked to keep their jumps inside (check_subprogs),
 * ld_imm64 and opcode sanity (resolve_pseudo_ldimm64), then the control-flow graph walked
 * depth-first (check_cfg): jumps out of range, unreachable instructions, jumps into an
 * ld_imm64, and the prune and jump points the main pass uses. Then the registers live before
 * each instruction (compute_live_registers) and the graph's loops (its strongly connected
 * components), which pruning needs.
 */
import {
  BPF_ABS, BPF_CALL, BPF_CLASS, BPF_DW, BPF_EXIT, BPF_FETCH, BPF_IMM, BPF_IND, BPF_JA, BPF_JMP, BPF_JMP32, BPF_K, BPF_LD,
  BPF_LDX, BPF_MEM, BPF_MEMSX, BPF_MODE, BPF_MOV, BPF_OP, BPF_PSEUDO_BTF_ID, BPF_PSEUDO_CALL, BPF_PSEUDO_FUNC,
  BPF_PSEUDO_KFUNC_CALL, BPF_PSEUDO_MAP_FD, BPF_PSEUDO_MAP_IDX, BPF_PSEUDO_MAP_IDX_VALUE, BPF_PSEUDO_MAP_VALUE, BPF_SIZE,
  BPF_SRC, BPF_ST, BPF_STX, BPF_ATOMIC, BPF_CMPXCHG, BPF_ALU, BPF_ALU64, BPF_END, OPCODES,
} from '../isa/opcodes.js';
import { BPF_MAP_TYPE, BPF_MAX_SUBPROGS, BPF_MAX_VAR_OFF } from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import { HELPER_IDS } from '../uapi/helper-ids.js';
import { PKT_DATA_CHANGING_HELPERS, SYNC_CALLBACK_HELPERS, ARG_DONTCARE } from '../uapi/helper-protos.js';
import { HELPER_NAMES } from '../uapi/helper-ids.js';
import {
  AUX_CALLS_CALLBACK, AUX_FORCE_CHECKPOINT, AUX_JMP_POINT, AUX_PRUNE_POINT, type SubprogInfo, type VerifierEnv,
} from './env.js';
import type { Insn } from './kernel-disasm.js';

const { EINVAL, E2BIG } = ERRNO;
const BPF_FUNC_tail_call = HELPER_IDS.get('tail_call')!;

export const isLdImm64 = (insn: Insn): boolean => insn.code === (BPF_LD | BPF_IMM | BPF_DW);
export const isPseudoCall = (insn: Insn): boolean => insn.code === (BPF_JMP | BPF_CALL) && insn.src === BPF_PSEUDO_CALL;
export const isPseudoFunc = (insn: Insn): boolean => isLdImm64(insn) && insn.src === BPF_PSEUDO_FUNC;
export const isHelperCall = (insn: Insn): boolean => insn.code === (BPF_JMP | BPF_CALL) && insn.src === 0;
export const isKfuncCall = (insn: Insn): boolean => insn.code === (BPF_JMP | BPF_CALL) && insn.src === BPF_PSEUDO_KFUNC_CALL;
/** A helper that calls a program function back, synchronously (bpf_loop, for_each_map_elem…). */
export const isSyncCallbackCall = (insn: Insn): boolean =>
  isHelperCall(insn) && SYNC_CALLBACK_HELPERS.has(HELPER_NAMES.get(insn.imm) ?? '');

/** add_subprog_and_kfunc: the main function at 0 and every call or function-pointer target. */
export function addSubprogs(env: VerifierEnv, names: ReadonlyMap<number, string>, globals: ReadonlySet<number>): void {
  const starts = new Set<number>([0]);
  const add = (off: number): void => {
    if (off < 0 || off >= env.insns.length) env.reject(EINVAL, 'call to invalid destination');
    if (starts.has(off)) return;
    if (starts.size >= BPF_MAX_SUBPROGS) env.reject(E2BIG, 'too many subprograms');
    starts.add(off);
  };
  env.insns.forEach((insn, i) => {
    if (isPseudoFunc(insn) || isPseudoCall(insn)) add(i + insn.imm + 1);
  });
  const sorted = [...starts].sort((a, b) => a - b);
  env.subprogs = sorted.map((start, k): SubprogInfo => ({
    start, end: sorted[k + 1] ?? env.insns.length, name: names.get(start) ?? (k === 0 ? 'main' : `func#${k}`),
    global: k > 0 && globals.has(start), args: [], stackDepth: 0, hasTailCall: false, hasLdAbs: false, isCallback: false,
    changesPktData: false, returnsVoid: false,
  }));
  env.subprogs.forEach((sp, k) => env.subprogOf.fill(k, sp.start, sp.end));
}

/** check_subprogs: jumps stay in their function; each function ends in exit or a jump. */
export function checkSubprogs(env: VerifierEnv): void {
  for (const sp of env.subprogs) {
    for (let i = sp.start; i < sp.end; i++) {
      const { code } = env.insns[i];
      const cls = BPF_CLASS(code);
      if (code === (BPF_JMP | BPF_CALL) && env.insns[i].src === 0 && env.insns[i].imm === BPF_FUNC_tail_call) sp.hasTailCall = true;
      if (cls === BPF_LD && (BPF_MODE(code) === BPF_ABS || BPF_MODE(code) === BPF_IND)) sp.hasLdAbs = true;
      if ((cls === BPF_JMP || cls === BPF_JMP32) && BPF_OP(code) !== BPF_EXIT && BPF_OP(code) !== BPF_CALL) {
        const off = i + (code === (BPF_JMP32 | BPF_JA) ? env.insns[i].imm : env.insns[i].off) + 1;
        if (off < sp.start || off >= sp.end) env.reject(EINVAL, `jump out of range from insn ${i} to ${off}`);
      }
      if (i === sp.end - 1 && code !== (BPF_JMP | BPF_EXIT) && code !== (BPF_JMP32 | BPF_JA) && code !== (BPF_JMP | BPF_JA)) {
        env.reject(EINVAL, 'last insn is not an exit or jmp');
      }
    }
  }
}

/**
 * bpf_opcode_in_insntable: the kernel's opcode table. Beyond the ISA table it has 8- and
 * 16-bit atomics (load-acquire / store-release; other atomic ops of those sizes are refused
 * later) and may_goto.
 */
const kernelKnowsOpcode = (code: number): boolean =>
  OPCODES[code] !== undefined || code === (BPF_STX | BPF_ATOMIC | 0x10) || code === (BPF_STX | BPF_ATOMIC | 0x08) || code === (BPF_JMP | 0xe0);

/** resolve_pseudo_ldimm64's checks: well-formed ld_imm64, known map references, known opcodes. */
export function checkLdImm64(env: VerifierEnv, malformed: ReadonlyMap<number, string>): void {
  const { insns } = env;
  for (let i = 0; i < insns.length; i++) {
    const insn = insns[i];
    if (BPF_CLASS(insn.code) === BPF_LDX && ((BPF_MODE(insn.code) !== BPF_MEM && BPF_MODE(insn.code) !== BPF_MEMSX) || insn.imm !== 0)) {
      env.reject(EINVAL, 'BPF_LDX uses reserved fields');
    }
    if (isLdImm64(insn)) {
      const next = insns[i + 1];
      const bad = /BPF_LD_IMM/.test(malformed.get(i) ?? '');
      if (bad || i === insns.length - 1 || next.code !== 0 || next.dst !== 0 || next.src !== 0 || next.off !== 0) {
        env.reject(EINVAL, 'invalid bpf_ld_imm64 insn');
      }
      checkLdImmSource(env, insn, next, i);
      i++;
      continue;
    }
    if (!kernelKnowsOpcode(insn.code)) env.reject(EINVAL, `unknown opcode ${insn.code.toString(16).padStart(2, '0')}`);
  }
}

function checkLdImmSource(env: VerifierEnv, insn: Insn, next: Insn, i: number): void {
  switch (insn.src) {
    case 0:
    case BPF_PSEUDO_FUNC:
      return;
    case BPF_PSEUDO_BTF_ID: // check_pseudo_btf_id: a kernel variable or function, by its vmlinux BTF id
      env.reject(EINVAL, `pseudo btf_id ${insn.imm} in ldimm64: xdplab's verifier has no kernel BTF to resolve it`);
      break; // not reached: reject() throws
    case BPF_PSEUDO_MAP_VALUE:
    case BPF_PSEUDO_MAP_IDX_VALUE:
      break;
    case BPF_PSEUDO_MAP_FD:
    case BPF_PSEUDO_MAP_IDX:
      if (next.imm === 0) break;
      env.reject(EINVAL, 'unrecognized bpf_ld_imm64 insn');
      break; // not reached: reject() throws
    default:
      env.reject(EINVAL, 'unrecognized bpf_ld_imm64 insn');
  }
  const ref = env.ldImm.get(i);
  // A map by index into fd_array, which a loader of raw instructions may give; objects never do.
  const byIndex = insn.src === BPF_PSEUDO_MAP_IDX || insn.src === BPF_PSEUDO_MAP_IDX_VALUE;
  if (!ref && byIndex) env.reject(ERRNO.EPROTO, 'fd_idx without fd_array is invalid');
  if (!ref) env.reject(EINVAL, `fd ${insn.imm} is not pointing to valid bpf_map`);
  if (ref.kind === 'value') {
    const off = ref.offset >>> 0;
    if (off >= BPF_MAX_VAR_OFF) env.reject(EINVAL, `direct value offset of ${off} is not allowed`);
    if (ref.map.type !== BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY) env.reject(EINVAL, 'no direct value access support for this map type');
    // array_map_direct_value_addr: one-element arrays only (ENOTSUPP), the offset inside the value.
    if (ref.map.maxEntries !== 1) env.reject(ERRNO.ENOTSUPP, `invalid access to map value pointer, value_size=${ref.map.valueSize} off=${off}`);
    if (off >= ref.map.valueSize) env.reject(EINVAL, `invalid access to map value pointer, value_size=${ref.map.valueSize} off=${off}`);
  }
}

// ---- check_cfg ------------------------------------------------------------------------------

const DISCOVERED = 0x10;
const EXPLORED = 0x20;
const FALLTHROUGH = 1;
const BRANCH = 2;
const DONE_EXPLORING = 0;
const KEEP_EXPLORING = 1;

/** check_cfg: a depth-first walk marking prune/jump points, refusing bad jumps and dead code. */
export function checkCfg(env: VerifierEnv): void {
  const n = env.insns.length;
  const state = new Uint8Array(n);
  const stack: number[] = [0];
  state[0] = DISCOVERED;
  const mark = (i: number, flag: number): void => {
    env.aux[i] |= flag;
  };
  const push = (t: number, w: number, e: number): number => {
    if (e === FALLTHROUGH && state[t] >= (DISCOVERED | FALLTHROUGH)) return DONE_EXPLORING;
    if (e === BRANCH && state[t] >= (DISCOVERED | BRANCH)) return DONE_EXPLORING;
    if (w < 0 || w >= n) env.reject(EINVAL, `jump out of range from insn ${t} to ${w}`);
    if (e === BRANCH) mark(w, AUX_PRUNE_POINT | AUX_JMP_POINT);
    if (state[w] === 0) {
      state[t] = DISCOVERED | e;
      state[w] = DISCOVERED;
      stack.push(w);
      return KEEP_EXPLORING;
    }
    if ((state[w] & 0xf0) === DISCOVERED) {
      if (env.priv.bpfCapable) return DONE_EXPLORING;
      env.reject(EINVAL, `back-edge from insn ${t} to ${w}`);
    }
    state[t] = DISCOVERED | e; // forward or cross edge
    return DONE_EXPLORING;
  };
  const visitCall = (t: number, visitCallee: boolean): number => {
    const size = isLdImm64(env.insns[t]) ? 2 : 1;
    let ret = push(t, t + size, FALLTHROUGH);
    if (ret) return ret;
    mark(t + size, AUX_PRUNE_POINT | AUX_JMP_POINT);
    if (visitCallee) {
      mark(t, AUX_PRUNE_POINT);
      ret = push(t, t + env.insns[t].imm + 1, BRANCH);
    }
    return ret;
  };
  const visit = (t: number): number => {
    const insn = env.insns[t];
    if (isPseudoFunc(insn) || isPseudoCall(insn)) return visitCall(t, true);
    const cls = BPF_CLASS(insn.code);
    if (cls !== BPF_JMP && cls !== BPF_JMP32) return push(t, t + (isLdImm64(insn) ? 2 : 1), FALLTHROUGH);
    switch (BPF_OP(insn.code)) {
      case BPF_EXIT:
        return DONE_EXPLORING;
      case BPF_CALL:
        if (isSyncCallbackCall(insn)) mark(t, AUX_CALLS_CALLBACK | AUX_FORCE_CHECKPOINT | AUX_PRUNE_POINT | AUX_JMP_POINT);
        if (isHelperCall(insn) && PKT_DATA_CHANGING_HELPERS.has(HELPER_NAMES.get(insn.imm) ?? '')) {
          env.subprogs[env.subprogOf[t]].changesPktData = true;
        }
        return visitCall(t, false);
      case BPF_JA: {
        if (BPF_SRC(insn.code) !== BPF_K) env.reject(EINVAL, `unknown opcode ${insn.code.toString(16)}`);
        const target = t + (cls === BPF_JMP ? insn.off : insn.imm) + 1;
        const ret = push(t, target, FALLTHROUGH);
        if (ret) return ret;
        mark(target, AUX_PRUNE_POINT | AUX_JMP_POINT);
        return ret;
      }
      default: {
        mark(t, AUX_PRUNE_POINT);
        if (insn.code === (BPF_JMP | 0xe0)) mark(t, AUX_FORCE_CHECKPOINT);
        const ret = push(t, t + 1, FALLTHROUGH);
        if (ret) return ret;
        return push(t, t + insn.off + 1, BRANCH);
      }
    }
  };
  while (stack.length) {
    const t = stack[stack.length - 1];
    if (visit(t) === DONE_EXPLORING) {
      state[t] = EXPLORED;
      stack.pop();
    }
  }
  for (let i = 0; i < n; i++) {
    if (state[i] !== EXPLORED) env.reject(EINVAL, `unreachable insn ${i}`);
    if (isLdImm64(env.insns[i])) {
      if (state[i + 1] !== 0) env.reject(EINVAL, `jump into the middle of ldimm64 insn ${i}`);
      i++;
    }
  }
}

/** The kernel's insn_successors: where control may go after each instruction, within its function. */
export function computeSuccessors(env: VerifierEnv): void {
  const { insns } = env;
  env.succs = insns.map((insn, t): number[] => {
    if (t > 0 && isLdImm64(insns[t - 1])) return [];
    const cls = BPF_CLASS(insn.code);
    if (cls !== BPF_JMP && cls !== BPF_JMP32) return [t + (isLdImm64(insn) ? 2 : 1)];
    const op = BPF_OP(insn.code);
    if (op === BPF_EXIT) return [];
    if (op === BPF_CALL) return [t + 1];
    if (op === BPF_JA) return [t + (cls === BPF_JMP ? insn.off : insn.imm) + 1];
    return insn.off === 0 ? [t + 1] : [t + 1, t + insn.off + 1];
  });
  env.preds = insns.map(() => []);
  env.succs.forEach((list, t) => {
    for (const s of list) if (s < insns.length) env.preds[s].push(t);
  });
}

const ALL_CALLER_SAVED_REGS = 0x3f;

/** compute_insn_live_regs: registers an instruction reads (use) and writes (def). */
function insnUseDef(env: VerifierEnv, insn: Insn): [use: number, def: number] {
  const cls = BPF_CLASS(insn.code);
  const src = 1 << insn.src;
  const dst = 1 << insn.dst;
  const mode = BPF_MODE(insn.code);
  switch (cls) {
    case BPF_LD:
      if (mode === BPF_IMM && BPF_SIZE(insn.code) === BPF_DW) return [0, dst];
      return [0xffff, 0];
    case BPF_LDX:
      return mode === BPF_MEM || mode === BPF_MEMSX ? [src, dst] : [0xffff, 0];
    case BPF_ST:
      return mode === BPF_MEM ? [dst, 0] : [0xffff, 0];
    case BPF_STX:
      if (mode === BPF_MEM) return [dst | src, 0];
      if (mode === BPF_ATOMIC) {
        if (insn.imm === BPF_CMPXCHG) return [1 | dst | src, 1];
        if (insn.imm === 0x100) return [src, dst]; // load-acquire
        if (insn.imm === 0x110) return [dst | src, 0]; // store-release
        return [dst | src, insn.imm & BPF_FETCH ? src : 0];
      }
      return [0xffff, 0];
    case BPF_ALU:
    case BPF_ALU64: {
      const op = BPF_OP(insn.code);
      if (op === BPF_END) return [dst, dst];
      if (op === BPF_MOV) return [BPF_SRC(insn.code) === BPF_K ? 0 : src, dst];
      return [BPF_SRC(insn.code) === BPF_K ? dst : dst | src, dst];
    }
    case BPF_JMP:
    case BPF_JMP32: {
      const op = BPF_OP(insn.code);
      if (op === BPF_JA) return [0, 0];
      if (op === BPF_EXIT) return [1, 0];
      if (op === BPF_CALL) {
        const params = isHelperCall(insn) ? helperParams(env, insn.imm) : undefined;
        return [params === undefined ? ALL_CALLER_SAVED_REGS & ~1 : ((1 << (params + 1)) - 2), ALL_CALLER_SAVED_REGS];
      }
      return [BPF_SRC(insn.code) === BPF_K ? dst : dst | src, 0];
    }
  }
  return [0xffff, 0];
}

/** get_call_summary's num_params for a helper: its declared arguments. */
function helperParams(env: VerifierEnv, id: number): number | undefined {
  const proto = env.prog.proto(id);
  if (!proto) return undefined;
  return proto.args.filter((a) => a !== ARG_DONTCARE).length;
}

/** compute_live_registers: registers live before each instruction, to a fixed point. */
export function computeLiveRegisters(env: VerifierEnv): void {
  const n = env.insns.length;
  const use = new Uint16Array(n);
  const def = new Uint16Array(n);
  env.insns.forEach((insn, i) => {
    [use[i], def[i]] = insnUseDef(env, insn);
  });
  const liveIn = env.liveRegsBefore;
  let changed = true;
  while (changed) {
    changed = false;
    for (let i = n - 1; i >= 0; i--) {
      let out = 0;
      for (const s of env.succs[i]) out |= liveIn[s];
      const inSet = use[i] | (out & ~def[i]);
      if (inSet !== liveIn[i]) {
        liveIn[i] = inSet;
        changed = true;
      }
    }
  }
}

/**
 * The loops of the control-flow graph (compute_scc): instructions in one strongly connected
 * component of two or more instructions, or with a jump to themselves, get that component's
 * number (from 1); others 0.
 */
export function computeScc(env: VerifierEnv): void {
  const n = env.insns.length;
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  let counter = 0;
  let sccId = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    // Iterative Tarjan: frames of (node, next successor to visit).
    const work: [number, number][] = [[root, 0]];
    index[root] = low[root] = counter++;
    stack.push(root);
    onStack[root] = 1;
    while (work.length) {
      const top = work[work.length - 1];
      const [v, k] = top;
      const succ = env.succs[v];
      if (k < succ.length) {
        top[1]++;
        const w = succ[k];
        if (w >= n) continue;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          stack.push(w);
          onStack[w] = 1;
          work.push([w, 0]);
        } else if (onStack[w]) {
          low[v] = Math.min(low[v], index[w]);
        }
        continue;
      }
      work.pop();
      if (work.length) low[work[work.length - 1][0]] = Math.min(low[work[work.length - 1][0]], low[v]);
      if (low[v] === index[v]) {
        const members: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          members.push(w);
        } while (w !== v);
        // Two or more members, a self reference, or a helper that calls back (an implicit loop).
        if (members.length > 1 || env.succs[v].includes(v) || env.callsCallback(v)) {
          sccId++;
          for (const m of members) env.scc[m] = sccId;
        }
      }
    }
  }
}

