/**
 * Memory accesses (check_mem_access and what it calls): loads and stores through a pointer
 * into the context, the stack, the packet, a map value or key, helper-returned memory or a
 * socket, each checked against what the pointer's type allows — bounds, alignment, read/write
 * permission, initialised stack — and the loaded register typed from what was read.
 */
import { BPF_MAP_TYPE, BPF_F_RDONLY_PROG, BPF_F_WRONLY_PROG, BPF_MAX_VAR_OFF } from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import { MEM_RDONLY, PTR_MAYBE_NULL, PTR_UNTRUSTED, baseType } from '../uapi/helper-protos.js';
import { sockAccess, tcpSockAccess } from '../uapi/prog-types.js';
import { coerceRegToSize, coerceRegToSizeSx } from './bounds.js';
import { checkStackAccessWithinBounds, checkStackRead, checkStackWrite } from './check-stack.js';
import type { VerifierEnv } from './env.js';
import {
  CONST_PTR_TO_MAP, NOT_INIT, PTR_TO_CTX, PTR_TO_MAP_KEY, PTR_TO_MAP_VALUE, PTR_TO_MEM, PTR_TO_PACKET, PTR_TO_PACKET_END,
  PTR_TO_PACKET_META, PTR_TO_SOCK_COMMON, PTR_TO_SOCKET, PTR_TO_STACK, PTR_TO_TCP_SOCK, PTR_TO_XDP_SOCK, PTR_TO_BTF_ID,
  SCALAR_VALUE, S64_MIN, markKnown, markPointer, markUnknown, regTypeStr, type RegState,
} from './reg-state.js';
import { isPointerValue, regIsPktPointer } from './regs.js';
import { BPF_REG_SIZE, type FuncState } from './state.js';
import { tnumAdd, tnumConst, tnumIsAligned, tnumIsConst, tnumString } from './tnum.js';

const { EACCES, EINVAL } = ERRNO;
export type AccessType = 'read' | 'write';

const isSkPointer = (type: number): boolean =>
  type === PTR_TO_SOCKET || type === PTR_TO_SOCK_COMMON || type === PTR_TO_TCP_SOCK || type === PTR_TO_XDP_SOCK;

/** is_spillable_regtype: the pointer kinds a program may spill to the stack. */
export function isSpillable(type: number): boolean {
  const base = baseType(type);
  return base !== SCALAR_VALUE && base !== NOT_INIT && base !== 21; // every pointer but CONST_PTR_TO_DYNPTR
}

/** The frame a stack pointer points into. */
export const frameOf = (env: VerifierEnv, reg: RegState): FuncState => env.curState.frames[reg.frameno];

/**
 * The variable offset in alignment messages: a constant as the kernel's log prints an unsigned
 * number (verbose_unum: decimal up to U16_MAX, %#llx above), else the tnum.
 */
const varOffString = (reg: RegState): string => {
  if (!tnumIsConst(reg.varOff)) return tnumString(reg.varOff);
  const v = BigInt.asUintN(64, reg.varOff.value);
  return v <= 0xffffn ? `${v}` : `0x${v.toString(16)}`;
};

// ---- alignment -------------------------------------------------------------------------------

/** check_ptr_alignment: stack accesses are always aligned; others only when asked (atomics). */
export function checkPtrAlignment(env: VerifierEnv, reg: RegState, off: number, size: number, strictOnce: boolean): void {
  let strict = strictOnce;
  let desc = '';
  switch (reg.type) {
    case PTR_TO_PACKET:
    case PTR_TO_PACKET_META: {
      if (!strict || size === 1) return;
      // check_pkt_ptr_alignment: strict mode checks as if NET_IP_ALIGN were 2.
      const ipAlign = 2;
      const regOff = tnumAdd(reg.varOff, tnumConst(BigInt(ipAlign + reg.off + off)));
      if (!tnumIsAligned(regOff, size)) {
        env.reject(EACCES, `misaligned packet access off ${ipAlign}+${varOffString(reg)}+${reg.off}+${off} size ${size}`);
      }
      return;
    }
    case PTR_TO_MAP_KEY: desc = 'key '; break;
    case PTR_TO_MAP_VALUE: desc = 'value '; break;
    case PTR_TO_CTX: desc = 'context '; break;
    case PTR_TO_STACK: desc = 'stack '; strict = true; break;
    case PTR_TO_SOCKET: desc = 'sock '; break;
    case PTR_TO_SOCK_COMMON: desc = 'sock_common '; break;
    case PTR_TO_TCP_SOCK: desc = 'tcp_sock '; break;
    case PTR_TO_XDP_SOCK: desc = 'xdp_sock '; break;
  }
  if (!strict || size === 1) return;
  const regOff = tnumAdd(reg.varOff, tnumConst(BigInt(reg.off + off)));
  if (!tnumIsAligned(regOff, size)) {
    env.reject(EACCES, `misaligned ${desc}access off ${varOffString(reg)}+${reg.off}+${off} size ${size}`);
  }
}

// ---- bounded regions: map values and keys, helper memory, packets ----------------------------

/** __check_mem_access: [off, off + size) inside [0, memSize); else the kernel's message. */
function memAccessError(env: VerifierEnv, regno: number, off: bigint, size: number, memSize: number, zeroOk: boolean): string | undefined {
  const sizeOk = size > 0 || (size === 0 && zeroOk);
  if (off >= 0n && sizeOk && off + BigInt(size) <= BigInt(memSize)) return undefined;
  const reg = env.curState.regs[regno];
  const o = Number(BigInt.asIntN(32, off));
  switch (reg.type) {
    case PTR_TO_MAP_KEY:
      return `invalid access to map key, key_size=${memSize} off=${o} size=${size}`;
    case PTR_TO_MAP_VALUE:
      return `invalid access to map value, value_size=${memSize} off=${o} size=${size}`;
    case PTR_TO_PACKET:
    case PTR_TO_PACKET_META:
    case PTR_TO_PACKET_END:
      return `invalid access to packet, off=${o} size=${size}, R${regno}(id=${reg.id},off=${o},r=${memSize})`;
    default:
      return `invalid access to memory, mem_size=${memSize} off=${o} size=${size}`;
  }
}

/** check_mem_region_access: every offset the pointer may have, plus `off`, stays in the region. */
export function checkMemRegionAccess(env: VerifierEnv, regno: number, off: number, size: number, memSize: number, zeroOk: boolean): void {
  const reg = env.curState.regs[regno];
  const o = BigInt(off);
  if (reg.smin < 0n && (reg.smin === S64_MIN || o + reg.smin !== BigInt(Number(BigInt.asIntN(32, o + reg.smin))) || reg.smin + o < 0n)) {
    env.reject(EACCES, `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  }
  const minError = memAccessError(env, regno, reg.smin + o, size, memSize, zeroOk);
  if (minError) env.reject(EACCES, minError, `R${regno} min value is outside of the allowed memory range`);
  if (reg.umax >= BigInt(BPF_MAX_VAR_OFF)) {
    env.reject(EACCES, `R${regno} unbounded memory access, make sure to bounds check any such access`);
  }
  const maxError = memAccessError(env, regno, reg.umax + o, size, memSize, zeroOk);
  if (maxError) env.reject(EACCES, maxError, `R${regno} max value is outside of the allowed memory range`);
}

/** check_map_access_type: BPF_F_RDONLY_PROG / BPF_F_WRONLY_PROG. */
export function checkMapAccessType(env: VerifierEnv, regno: number, off: number, size: number, t: AccessType): void {
  const map = env.curState.regs[regno].map!;
  if (t === 'write' && map.flags & BPF_F_RDONLY_PROG) {
    env.reject(EACCES, `write into map forbidden, value_size=${map.valueSize} off=${off} size=${size}`);
  }
  if (t === 'read' && map.flags & BPF_F_WRONLY_PROG) {
    env.reject(EACCES, `read from map forbidden, value_size=${map.valueSize} off=${off} size=${size}`);
  }
}

/** check_map_access: inside the value, and not over a bpf_spin_lock or bpf_timer. */
export function checkMapAccess(env: VerifierEnv, regno: number, off: number, size: number, zeroOk: boolean): void {
  const reg = env.curState.regs[regno];
  const map = reg.map!;
  checkMemRegionAccess(env, regno, off, size, map.valueSize, zeroOk);
  const fields: [number | undefined, number, string][] = [[map.spinLockOff, 4, 'bpf_spin_lock'], [map.timerOff, 16, 'bpf_timer']];
  for (const [p, fieldSize, name] of fields) {
    if (p === undefined) continue;
    if (reg.smin + BigInt(off) < BigInt(p + fieldSize) && BigInt(p) < reg.umax + BigInt(off + size)) {
      env.reject(EACCES, `${name} cannot be accessed directly by load/store`);
    }
  }
}

/** check_packet_access: inside the range comparisons with data_end proved. */
export function checkPacketAccess(env: VerifierEnv, regno: number, off: number, size: number, zeroOk: boolean): void {
  const reg = env.curState.regs[regno];
  if (reg.smin < 0n) {
    env.reject(EACCES, `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  }
  if (reg.range < 0) env.reject(EINVAL, `R${regno} offset is outside of the packet`);
  const error = memAccessError(env, regno, BigInt(off), size, reg.range, zeroOk);
  if (error) env.reject(EACCES, error, `R${regno} offset is outside of the packet`);
}

/** __check_ptr_off_reg: a context (or socket) pointer is used unmodified. */
export function checkPtrOffReg(env: VerifierEnv, reg: RegState, regno: number, fixedOffOk = false): void {
  if (reg.off < 0) env.reject(EACCES, `negative offset ${regTypeStr(reg.type)} ptr R${regno} off=${reg.off} disallowed`);
  if (!fixedOffOk && reg.off) env.reject(EACCES, `dereference of modified ${regTypeStr(reg.type)} ptr R${regno} off=${reg.off} disallowed`);
  if (!tnumIsConst(reg.varOff) || reg.varOff.value) {
    env.reject(EACCES, `variable ${regTypeStr(reg.type)} access var_off=${tnumString(reg.varOff)} disallowed`);
  }
}

/** check_ctx_access through the program type's description; returns what a read yields. */
function checkCtxAccess(env: VerifierEnv, off: number, size: number, t: AccessType, isLdsx: boolean): ReturnType<typeof env.prog.ctxAccess> {
  const access = env.prog.ctxAccess(off, size, t === 'write', env.attachType);
  // A pointer field read sign-extended is not a pointer any more (info->is_ldsx).
  if (!access.ok || (isLdsx && access.pointer)) env.reject(EACCES, `invalid bpf_context access off=${off} size=${size}`);
  return access;
}

/** check_sock_access. */
function checkSockAccess(env: VerifierEnv, regno: number, off: number, size: number): void {
  const reg = env.curState.regs[regno];
  if (reg.smin < 0n) {
    env.reject(EACCES, `R${regno} min value is negative, either use unsigned index or do a if (index >=0) check.`);
  }
  let valid = false;
  if (reg.type === PTR_TO_SOCK_COMMON) valid = sockAccess(off, size, true);
  else if (reg.type === PTR_TO_SOCKET) valid = sockAccess(off, size, false);
  else if (reg.type === PTR_TO_TCP_SOCK) valid = tcpSockAccess(off, size);
  else if (reg.type === PTR_TO_XDP_SOCK) valid = off === 0 && size === 4;
  if (!valid) env.reject(EACCES, `R${regno} invalid ${regTypeStr(reg.type)} access off=${off} size=${size}`);
}

// ---- the dispatcher -----------------------------------------------------------------------------

/** Direct packet writes: XDP and TC programs may write their packet (may_access_direct_pkt_data). */
const mayWritePacket = (env: VerifierEnv): boolean => env.prog.packetWrites;

/** For frozen read-only maps (.rodata): the value the program reads is known (bpf_map_direct_read). */
function directRead(env: VerifierEnv, reg: RegState, off: number, size: number, isLdsx: boolean): bigint | undefined {
  const map = reg.map!;
  if (!map.frozenValue || !tnumIsConst(reg.varOff) || map.type !== BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY) return undefined;
  const at = off + Number(reg.varOff.value);
  if (at < 0 || at + size > map.frozenValue.length) return undefined;
  let v = 0n;
  for (let i = size - 1; i >= 0; i--) v = (v << 8n) | BigInt(map.frozenValue[at + i]);
  return isLdsx ? BigInt.asUintN(64, BigInt.asIntN(size * 8, v)) : v;
}

/**
 * check_mem_access: a load (`valueRegno` gets the result) or store (`valueRegno` holds the value,
 * -1 for an immediate `imm`) of `size` bytes at `off` from register `regno`.
 */
export function checkMemAccess(
  env: VerifierEnv, regno: number, off: number, size: number, t: AccessType, valueRegno: number,
  strictAlignmentOnce = false, isLdsx = false, imm?: number,
): void {
  const regs = env.curState.regs;
  const reg = regs[regno];
  checkPtrAlignment(env, reg, off, size, strictAlignmentOnce);
  off += reg.off;
  const leak = (what: string): void => {
    if (t === 'write' && valueRegno >= 0 && isPointerValue(env, valueRegno)) env.reject(EACCES, `R${valueRegno} leaks addr into ${what}`);
  };
  if (reg.type === PTR_TO_MAP_KEY) {
    if (t === 'write') env.reject(EACCES, `write to change key R${regno} not allowed`);
    checkMemRegionAccess(env, regno, off, size, reg.map!.keySize, false);
    if (valueRegno >= 0) markUnknown(regs[valueRegno]);
  } else if (reg.type === PTR_TO_MAP_VALUE) {
    leak('map');
    checkMapAccessType(env, regno, off, size, t);
    checkMapAccess(env, regno, off, size, false);
    if (t === 'read' && valueRegno >= 0) {
      const known = reg.map!.flags & BPF_F_RDONLY_PROG ? directRead(env, reg, off, size, isLdsx) : undefined;
      if (known !== undefined) {
        markKnown(regs[valueRegno], known);
        regs[valueRegno].type = SCALAR_VALUE;
      } else {
        markUnknown(regs[valueRegno]);
      }
    }
  } else if (baseType(reg.type) === PTR_TO_MEM) {
    const rdonly = (reg.type & MEM_RDONLY) !== 0;
    if (reg.type & PTR_MAYBE_NULL) env.reject(EACCES, `R${regno} invalid mem access '${regTypeStr(reg.type)}'`);
    if (t === 'write' && rdonly) env.reject(EACCES, `R${regno} cannot write into ${regTypeStr(reg.type)}`);
    leak('mem');
    if (!(rdonly && reg.type & PTR_UNTRUSTED)) checkMemRegionAccess(env, regno, off, size, reg.memSize, false);
    if (valueRegno >= 0 && (t === 'read' || rdonly)) markUnknown(regs[valueRegno]);
  } else if (reg.type === PTR_TO_CTX) {
    leak('ctx');
    checkPtrOffReg(env, reg, regno);
    const access = checkCtxAccess(env, off, size, t, isLdsx);
    if (t === 'read' && valueRegno >= 0) {
      const dst = regs[valueRegno];
      if (!access.pointer) markUnknown(dst);
      else {
        markPointer(dst, ctxPointerType(access.pointer));
        if (access.pointer === 'sock_common_or_null') dst.id = ++env.idGen;
        dst.subregDef = 0;
      }
    }
  } else if (reg.type === PTR_TO_STACK) {
    checkStackAccessWithinBounds(env, regno, off, size, t);
    if (t === 'read') checkStackRead(env, regno, off, size, valueRegno);
    else checkStackWrite(env, regno, off, size, valueRegno, imm);
  } else if (regIsPktPointer(reg)) {
    if (t === 'write' && !mayWritePacket(env)) env.reject(EACCES, 'cannot write into packet');
    leak('packet');
    checkPacketAccess(env, regno, off, size, false);
    if (t === 'read' && valueRegno >= 0) markUnknown(regs[valueRegno]);
  } else if (isSkPointer(reg.type)) {
    if (t === 'write') env.reject(EACCES, `R${regno} cannot write into ${regTypeStr(reg.type)}`);
    checkSockAccess(env, regno, off, size);
    if (valueRegno >= 0) markUnknown(regs[valueRegno]);
  } else if (baseType(reg.type) === PTR_TO_BTF_ID && !(reg.type & PTR_MAYBE_NULL)) {
    env.reject(EACCES, `R${regno} is ptr_${reg.btfName}: xdplab's verifier has no kernel BTF to check accesses to kernel structures`);
  } else if (reg.type === CONST_PTR_TO_MAP) {
    checkPtrToMapAccess(env, regno, reg, off, t);
  } else {
    env.reject(EACCES, `R${regno} invalid mem access '${regTypeStr(reg.type)}'`);
  }
  const value = valueRegno >= 0 ? regs[valueRegno] : undefined;
  if (value && size < BPF_REG_SIZE && t === 'read' && value.type === SCALAR_VALUE) {
    if (!isLdsx) coerceRegToSize(value, size);
    else coerceRegToSizeSx(value, size);
  }
}

function ctxPointerType(kind: 'pkt' | 'pkt_end' | 'pkt_meta' | 'sock_common_or_null'): number {
  switch (kind) {
    case 'pkt': return PTR_TO_PACKET;
    case 'pkt_end': return PTR_TO_PACKET_END;
    case 'pkt_meta': return PTR_TO_PACKET_META;
    default: return PTR_TO_SOCK_COMMON | PTR_MAYBE_NULL;
  }
}

/** The kernel structure behind each map type's map pointer (map->ops->map_btf_id). */
const MAP_STRUCT: Record<number, string> = {
  [BPF_MAP_TYPE.BPF_MAP_TYPE_HASH]: 'bpf_htab', [BPF_MAP_TYPE.BPF_MAP_TYPE_PERCPU_HASH]: 'bpf_htab',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_LRU_HASH]: 'bpf_htab', [BPF_MAP_TYPE.BPF_MAP_TYPE_LRU_PERCPU_HASH]: 'bpf_htab',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_HASH_OF_MAPS]: 'bpf_htab',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY]: 'bpf_array', [BPF_MAP_TYPE.BPF_MAP_TYPE_PERCPU_ARRAY]: 'bpf_array',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_PROG_ARRAY]: 'bpf_array', [BPF_MAP_TYPE.BPF_MAP_TYPE_PERF_EVENT_ARRAY]: 'bpf_array',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY_OF_MAPS]: 'bpf_array', [BPF_MAP_TYPE.BPF_MAP_TYPE_CGROUP_ARRAY]: 'bpf_array',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_LPM_TRIE]: 'lpm_trie', [BPF_MAP_TYPE.BPF_MAP_TYPE_STACK_TRACE]: 'bpf_stack_map',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_DEVMAP]: 'bpf_dtab', [BPF_MAP_TYPE.BPF_MAP_TYPE_DEVMAP_HASH]: 'bpf_dtab',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_CPUMAP]: 'bpf_cpu_map', [BPF_MAP_TYPE.BPF_MAP_TYPE_XSKMAP]: 'xsk_map',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_SOCKMAP]: 'bpf_stab', [BPF_MAP_TYPE.BPF_MAP_TYPE_SOCKHASH]: 'bpf_shtab',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_QUEUE]: 'bpf_queue_stack', [BPF_MAP_TYPE.BPF_MAP_TYPE_STACK]: 'bpf_queue_stack',
  [BPF_MAP_TYPE.BPF_MAP_TYPE_RINGBUF]: 'bpf_ringbuf_map', [BPF_MAP_TYPE.BPF_MAP_TYPE_BLOOM_FILTER]: 'bpf_bloom_filter',
};

/**
 * check_ptr_to_map_access: a load through a map pointer reads the kernel's struct behind the
 * map (struct bpf_array, bpf_htab …) — for CAP_PERFMON only, reads only, at offsets from 0.
 * Which fields it may read is the kernel's BTF, which xdplab does not have: such a read is
 * left undecided (the program is neither accepted nor refused).
 */
function checkPtrToMapAccess(env: VerifierEnv, regno: number, reg: RegState, off: number, t: AccessType): void {
  const tname = MAP_STRUCT[reg.map?.type ?? -1];
  if (tname === undefined) env.reject(ERRNO.ENOTSUPP, `map_ptr access not supported for map type ${reg.map?.type}`);
  if (!env.priv.allowPtrLeaks) env.reject(ERRNO.EPERM, `'struct ${tname}' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN`);
  if (off + reg.off < 0) env.reject(EACCES, `R${regno} is ${tname} invalid negative access: off=${off + reg.off}`);
  if (t !== 'read') env.reject(EACCES, `only read from ${tname} is supported`);
  env.reject(EACCES, `R${regno} reads struct ${tname}: xdplab's verifier has no kernel BTF to check reads of the kernel's map structures`);
}
