/**
 * verify(): the kernel's load-time verdict on a program, offline. It takes the program as it
 * would be loaded (relocated: maps, subprograms, globals, CO-RE done by spec/) and runs the
 * kernel's checks in the kernel's order (bpf_check): sizes, subprograms, ld_imm64, the
 * control-flow graph, the main pass over every path, global functions, the stack depth.
 * The result carries the verdict, errno, the error line and its pc and source line, the
 * kernel-format log and the counts the kernel prints.
 */
import type { Btf } from '../btf/btf.js';
import { BTF_KIND_FUNC, BTF_KIND_FUNC_PROTO, BTF_KIND_PTR, BTF_KIND_STRUCT, BTF_KIND_UNION } from '../btf/types.js';
import type { Instruction } from '../isa/instruction.js';
import { MAX_CALL_FRAMES } from '../isa/opcodes.js';
import type { CollectionSpec, MapSpec, ProgramSpec } from '../spec/types.js';
import { BPF_ATTACH_TYPE, BPF_COMPLEXITY_LIMIT_INSNS, BPF_F_RDONLY_PROG, BPF_MAP_TYPE, BPF_PROG_TYPE } from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import { progTypeInfo } from '../uapi/prog-types.js';
import { addSubprogs, checkCfg, checkLdImm64, checkSubprogs, computeLiveRegisters, computeScc, computeSuccessors, isPseudoCall } from './cfg.js';
import { doCheck } from './do-check.js';
import { VerifierEnv, VerifyFailure, type GlobalArg, type LdImmRef, type Privileges } from './env.js';
import type { Insn } from './kernel-disasm.js';
import { MapInfo, PTR_TO_CTX, PTR_TO_MEM, markPointer, markUnknown } from './reg-state.js';
import { initialState } from './state.js';
import { explain, type Explanation } from './explain.js';
import { sourceLine } from './source-line.js';
import { PTR_MAYBE_NULL } from '../uapi/helper-protos.js';

export type Caps = 'root' | 'bpf';

export interface VerifyOptions {
  /** `root` (CAP_SYS_ADMIN / CAP_PERFMON, the default) or `bpf` (CAP_BPF + CAP_NET_ADMIN only). */
  caps?: Caps;
  /** 0: no log; 1: the failing path; 2: every instruction of every path. */
  logLevel?: number;
  /** The kernel's nr_cpu_ids (bounds bpf_get_smp_processor_id). */
  cpus?: number;
}

export interface VerifierStats {
  maxStatesPerInsn: number;
  totalStates: number;
  peakStates: number;
  /** Stack bytes each function uses, main program first. */
  stackDepth: number[];
}

export interface VerifierResult {
  program: string;
  accepted: boolean;
  /** 0, or the errno the kernel's BPF_PROG_LOAD fails with (EACCES: unsafe, EINVAL: malformed, E2BIG: too complex). */
  errno: number;
  /** The refusal's first line, as the kernel's log has it. */
  error?: string;
  /** The instruction the refusal is at. */
  pc?: number;
  /** `file.c:34` and the source text, when the object has line info. */
  line?: string;
  source?: string;
  insnsProcessed: number;
  /** The kernel-format log (empty at log level 0). */
  log: string;
  stats: VerifierStats;
  /** Instructions some path reached. */
  seen: Uint8Array;
  /** Set when xdplab's verifier cannot decide (a kfunc, kernel BTF it lacks): the verdict is not the kernel's. */
  unsupported?: string;
  /** For a refusal: what it means, where, why, and what to change. */
  explanation?: Explanation;
}

const privileges = (caps: Caps): Privileges => (caps === 'root'
  ? { allowPtrLeaks: true, allowUninitStack: true, bypassSpecV1: true, bpfCapable: true }
  : { allowPtrLeaks: false, allowUninitStack: false, bypassSpecV1: false, bpfCapable: true });

/** The program as the kernel sees it: 8-byte slots, an ld_imm64 taking two. */
export function toSlots(insns: readonly Instruction[]): Insn[] {
  const out: Insn[] = [];
  for (const i of insns) {
    out.push({ code: i.code, dst: i.dst, src: i.src, off: i.off, imm: i.imm });
    if (i.width === 2) out.push({ code: 0, dst: 0, src: 0, off: 0, imm: i.immHi });
  }
  return out;
}

/** BTF_KIND_STRUCT member of type `struct <name>`: its byte offset in the value type. */
function fieldOffset(btf: Btf | undefined, typeId: number, name: string): number | undefined {
  if (!btf || !typeId) return undefined;
  const t = btf.resolve(typeId);
  if (t.kind !== BTF_KIND_STRUCT && t.kind !== BTF_KIND_UNION) return undefined;
  for (const m of t.members) {
    const mt = btf.resolve(m.type);
    if ((mt.kind === BTF_KIND_STRUCT) && btf.name(mt.id) === name) return m.bitOffset / 8;
  }
  return undefined;
}

/** What the verifier knows of each map, as BPF_MAP_CREATE and libbpf made it. */
function mapInfos(spec: CollectionSpec): Map<string, MapInfo> {
  const btf = spec.btf?.btf;
  const out = new Map<string, MapInfo>();
  let index = 0;
  // An inner map's template (bpf_map_meta_alloc) has no name: the log shows none.
  const info = (m: MapSpec, i: number): MapInfo => {
    let flags = m.flags;
    // dev_map_alloc: programs only read devmap values.
    if (m.type === BPF_MAP_TYPE.BPF_MAP_TYPE_DEVMAP || m.type === BPF_MAP_TYPE.BPF_MAP_TYPE_DEVMAP_HASH) flags |= BPF_F_RDONLY_PROG;
    // libbpf freezes .rodata and .kconfig after filling them: their contents are constants.
    const frozen = m.globalSection !== undefined && (m.globalSection.startsWith('.rodata') || m.globalSection === '.kconfig')
      && m.initialValue ? m.initialValue : undefined;
    return {
      name: m.name.slice(0, 15), type: m.type, keySize: m.keySize, valueSize: m.valueSize, maxEntries: m.maxEntries, flags,
      hasBtf: m.valueTypeId !== 0,
      spinLockOff: fieldOffset(btf, m.valueTypeId, 'bpf_spin_lock'), timerOff: fieldOffset(btf, m.valueTypeId, 'bpf_timer'),
      frozenValue: frozen, inner: m.innerMap ? { ...info(m.innerMap, -1), name: '' } : undefined, index: i,
    };
  };
  for (const m of spec.maps.values()) out.set(m.name, info(m, index++));
  return out;
}

/** btf_prepare_func_args: how a global function's arguments are checked, from its BTF prototype. */
function globalArgs(btf: Btf, protoId: number, progType: number): { args: GlobalArg[]; returnsVoid: boolean; error?: string } {
  const proto = btf.typeById(protoId);
  if (proto.kind !== BTF_KIND_FUNC_PROTO) return { args: [], returnsVoid: false, error: 'Function has no prototype' };
  const ctxName = progType === BPF_PROG_TYPE.BPF_PROG_TYPE_XDP ? 'xdp_md' : '__sk_buff';
  const args = proto.params.map((p, i): GlobalArg => {
    const t = btf.resolve(p.type);
    if (t.kind !== BTF_KIND_PTR) return { kind: 'scalar' };
    const target = btf.resolve(t.type);
    if (target.kind === BTF_KIND_STRUCT && btf.name(target.id) === ctxName) return { kind: 'ctx' };
    let size: number;
    try {
      size = t.type ? btf.sizeOf(t.type) : 0;
    } catch {
      size = 0;
    }
    if (!size) return { kind: 'unsupported', why: `arg#${i} reference type('${btf.toString(t.type)}') size cannot be determined` };
    return { kind: 'mem', size, maybeNull: true };
  });
  return { args, returnsVoid: proto.returnType === 0 };
}

/** Names, linkage and argument kinds of the program's functions, from the object's BTF. */
function functionInfo(spec: CollectionSpec, program: ProgramSpec): { names: Map<number, string>; globals: Set<number>; protos: Map<number, number> } {
  const names = new Map(program.functions);
  const globals = new Set<number>();
  const protos = new Map<number, number>();
  const btf = spec.btf?.btf;
  if (btf) {
    for (const [pc, name] of program.functions) {
      const fn = btf.findByName(name, BTF_KIND_FUNC);
      if (!fn || fn.kind !== BTF_KIND_FUNC) continue;
      protos.set(pc, fn.type);
      if (pc !== 0 && fn.linkage === 1) globals.add(pc);
    }
  }
  return { names, globals, protos };
}

/** The program's ld_imm64 references resolved to maps. */
function ldImmRefs(program: ProgramSpec, maps: Map<string, MapInfo>): Map<number, LdImmRef> {
  const out = new Map<number, LdImmRef>();
  for (const ref of program.mapReferences) {
    const map = maps.get(ref.map);
    if (map) out.set(ref.pc, { map, kind: ref.kind, offset: ref.offset });
  }
  return out;
}

/** The kernel's license test (license_is_gpl_compatible). */
const GPL_LICENSES = ['GPL', 'GPL v2', 'GPL and additional rights', 'Dual BSD/GPL', 'Dual MIT/GPL', 'Dual MPL/GPL'];

function statsOf(env: VerifierEnv): VerifierStats {
  return {
    maxStatesPerInsn: env.maxStatesPerInsn, totalStates: env.totalStates, peakStates: env.peakStates,
    stackDepth: env.subprogs.map((s) => s.stackDepth),
  };
}

/** check_max_stack_depth: the deepest chain of calls fits in 512 bytes; tail calls under 256. */
function checkMaxStackDepth(env: VerifierEnv): void {
  const roundUp = (d: number): number => Math.ceil(d / 16) * 16;
  const visit = (idx: number, depth: number, frame: number, chain: number[]): void => {
    const sp = env.subprogs[idx];
    if (idx && sp.hasTailCall && depth >= 256) {
      env.reject(ERRNO.EACCES, `tail_calls are not allowed when call stack of previous frames is ${depth} bytes. Too large`);
    }
    depth += roundUp(sp.stackDepth);
    if (depth > 512) env.reject(ERRNO.EACCES, `combined stack size of ${chain.length + 1} calls is ${depth}. Too large`);
    for (let i = sp.start; i < sp.end; i++) {
      const insn = env.insns[i];
      if (!isPseudoCall(insn) || !env.seen[i]) continue;
      const callee = env.findSubprog(i + insn.imm + 1);
      if (callee < 0 || env.subprogs[callee].global) continue;
      if (frame + 1 >= MAX_CALL_FRAMES) env.reject(ERRNO.E2BIG, `the call stack of ${frame + 1} frames is too deep !`);
      visit(callee, depth, frame + 1, [...chain, idx]);
    }
  };
  visit(0, 0, 0, []);
  for (const g of env.calledGlobals) visit(g, 0, 0, []);
}

function runChecks(env: VerifierEnv, spec: CollectionSpec, program: ProgramSpec, protos: Map<number, number>): void {
  checkSubprogs(env);
  checkLdImm64(env, program.invalidInstructions ?? new Map());
  checkCfg(env);
  computeSuccessors(env);
  computeLiveRegisters(env);
  computeScc(env);
  const btf = spec.btf?.btf;
  for (const sp of env.subprogs) {
    const protoId = protos.get(sp.start);
    if (!sp.global || !btf || protoId === undefined) continue;
    const prepared = globalArgs(btf, protoId, program.type);
    sp.args = prepared.args;
    sp.returnsVoid = prepared.returnsVoid;
  }
  // do_check_main
  env.curState = initialState(0, true);
  env.curState.firstInsnIdx = 0;
  env.insnIdx = 0;
  env.markAllScratched(); // init_func_state: the first instruction prints the whole initial state
  doCheck(env);
  // do_check_subprogs: global functions some path called, each once, with arguments from BTF.
  const verified = new Set<number>();
  for (let again = true; again;) {
    again = false;
    for (const subprog of [...env.calledGlobals].sort((a, b) => a - b)) {
      if (verified.has(subprog)) continue;
      verified.add(subprog);
      again = true;
      verifyGlobalFunction(env, subprog);
    }
  }
  checkMaxStackDepth(env);
}

/** do_check_common for a global function: its arguments are whatever its prototype allows. */
function verifyGlobalFunction(env: VerifierEnv, subprog: number): void {
  const sp = env.subprogs[subprog];
  env.prevLinfo = undefined;
  if (env.verbose) env.say(`Validating ${sp.name}() func#${subprog}...\n`);
  const state = initialState(subprog, false);
  state.firstInsnIdx = sp.start;
  const regs = state.regs;
  sp.args.forEach((arg, i) => {
    const reg = regs[i + 1];
    if (arg.kind === 'ctx') markPointer(reg, PTR_TO_CTX);
    else if (arg.kind === 'scalar') markUnknown(reg);
    else if (arg.kind === 'mem') {
      markPointer(reg, PTR_TO_MEM | (arg.maybeNull ? PTR_MAYBE_NULL : 0));
      reg.memSize = arg.size;
      if (arg.maybeNull) reg.id = ++env.idGen;
    } else {
      env.reject(ERRNO.EINVAL, arg.why);
    }
  });
  env.curState = state;
  env.insnIdx = sp.start;
  env.prevInsnIdx = -1;
  env.markAllScratched();
  doCheck(env);
  if (env.verbose) env.say(`Func#${subprog} ('${sp.name}') is safe for any args that match its prototype\n`);
}

/**
 * Verify one program of a collection as `BPF_PROG_LOAD` would; a refusal comes explained
 * (its failing path read from a level-1 log, made again when the caller asked for none).
 */
export function verifyProgram(spec: CollectionSpec, program: ProgramSpec, options: VerifyOptions = {}): VerifierResult {
  const result = verifyOnce(spec, program, options);
  if (result.accepted || result.unsupported || result.pc === undefined) return result;
  const tooComplex = result.errno === ERRNO.E2BIG;
  const log = (options.logLevel ?? 0) >= 1 || tooComplex ? result.log : verifyOnce(spec, program, { ...options, logLevel: 1 }).log;
  result.explanation = explain(result, program, toSlots(program.instructions), log);
  return result;
}

function verifyOnce(spec: CollectionSpec, program: ProgramSpec, options: VerifyOptions): VerifierResult {
  const caps = options.caps ?? 'root';
  const prog = progTypeInfo(program.type);
  const insns = toSlots(program.instructions);
  const base = { program: program.name, insnsProcessed: 0, log: '', stats: { maxStatesPerInsn: 0, totalStates: 0, peakStates: 0, stackDepth: [] } };
  if (!prog) {
    return { ...base, accepted: false, errno: ERRNO.EINVAL, seen: new Uint8Array(insns.length), unsupported: `program type ${program.type} is not one xdplab verifies (XDP and TC only)` };
  }
  if (insns.length === 0 || insns.length > BPF_COMPLEXITY_LIMIT_INSNS) {
    return { ...base, accepted: false, errno: ERRNO.E2BIG, error: '', seen: new Uint8Array(insns.length) };
  }
  const maps = mapInfos(spec);
  const attachType = program.attachType === BPF_ATTACH_TYPE.NONE ? 0 : program.attachType;
  const env = new VerifierEnv(
    insns, program.type, attachType, prog, privileges(caps), options.logLevel ?? 0, ldImmRefs(program, maps), program.lineInfo,
    GPL_LICENSES.includes(program.license), program.fragments,
  );
  env.nrCpus = options.cpus ?? 1;
  env.kfuncs = program.kfuncs ?? new Map();
  const { names, globals, protos } = functionInfo(spec, program);
  let failure: VerifyFailure | undefined;
  try {
    addSubprogs(env, names, globals);
    runChecks(env, spec, program, protos);
  } catch (err) {
    if (!(err instanceof VerifyFailure)) throw err;
    failure = err;
  }
  env.say(`processed ${env.insnProcessed} insns (limit ${BPF_COMPLEXITY_LIMIT_INSNS}) max_states_per_insn ${env.maxStatesPerInsn} `
    + `total_states ${env.totalStates} peak_states ${env.peakStates} mark_read 0\n`);
  const result: VerifierResult = {
    program: program.name, accepted: !failure, errno: failure?.errno ?? 0, insnsProcessed: env.insnProcessed, log: env.log.toString(),
    stats: statsOf(env), seen: env.seen,
  };
  if (failure) {
    result.error = failure.message;
    result.pc = failure.insnIdx;
    const line = sourceLine(program, failure.insnIdx);
    if (line) {
      result.line = line.at;
      result.source = line.text;
    }
    if (/xdplab's verifier/.test(failure.message)) result.unsupported = failure.message;
  }
  return result;
}

/** Every program of a collection (bpftool prog loadall). */
export function verifyCollection(spec: CollectionSpec, options: VerifyOptions = {}): VerifierResult[] {
  return [...spec.programs.values()].map((p) => verifyProgram(spec, p, options));
}

