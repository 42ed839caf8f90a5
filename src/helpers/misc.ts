/**
 * Time, randomness, CPU id, bpf_trace_printk / bpf_snprintf, and bpf_tail_call.
 * Time and randomness come from the host, which makes them deterministic in replay.
 */
import { MAX_TAIL_CALL_CNT } from '../uapi/bpf.js';
import { HELPER_CONTINUE, HELPER_TAIL_CALL, HelperError, argBigInt, argU32, ret, type HelperCall } from '../vm/helper-table.js';
import { ERRNO } from '../uapi/errno.js';
import { ProgArrayMap } from '../maps/prog-array.js';
import { envOf } from './env.js';
import { markInlineTailCall } from '../vm/prog-array-layout.js';
import { FormatError, formatBpf, type FormatMemory } from './format.js';
import { mapArg } from './maps.js';
import { helper, type HelperDef } from './registry.js';

/** Reads strings and bytes for %s / %pI4 from the arena, only where a program could. */
export function arenaMemory(call: HelperCall): FormatMemory {
  const { arena } = call;
  return {
    string(addr, max) {
      const region = arena.regionAt(addr);
      if (!region) return undefined;
      const end = Math.min(region.end, addr + max);
      let stop = addr;
      while (stop < end && arena.u8[stop] !== 0) stop++;
      return new TextDecoder().decode(arena.u8.subarray(addr, stop));
    },
    bytes(addr, n) {
      return arena.canAccess(addr, 0, n, 1) ? arena.u8.slice(addr, addr + n) : undefined;
    },
  };
}

/** The format string argument: `size` bytes at `addr`, which must end in a NUL. */
function formatArg(call: HelperCall, addrArg: number, sizeArg: number): string | undefined {
  const addr = argU32(call, addrArg);
  const size = argU32(call, sizeArg);
  if (size === 0 || !call.arena.canAccess(addr, 0, size, 1)) return undefined;
  const bytes = call.arena.u8.subarray(addr, addr + size);
  const nul = bytes.indexOf(0);
  if (nul < 0) return undefined; // the kernel requires a NUL-terminated format
  return new TextDecoder().decode(bytes.subarray(0, nul));
}

/** Up to `n` u64 arguments packed in memory (bpf_snprintf, bpf_trace_vprintk). */
function packedArgs(call: HelperCall, addrArg: number, lenArg: number): bigint[] | undefined {
  const addr = argU32(call, addrArg);
  const len = argU32(call, lenArg);
  if (len % 8 !== 0 || len > 8 * 12) return undefined;
  if (len > 0 && !call.arena.canAccess(addr, 0, len, 1)) return undefined;
  const args: bigint[] = [];
  for (let i = 0; i < len; i += 8) args.push(call.arena.view.getBigUint64(addr + i, true));
  return args;
}

function printTrace(call: HelperCall, fmt: string | undefined, args: bigint[] | undefined): number {
  if (fmt === undefined || args === undefined) return -ERRNO.EINVAL;
  try {
    const text = formatBpf(fmt, args, arenaMemory(call));
    envOf(call).trace.push(text.replace(/\n$/, ''));
    return text.length;
  } catch (err) {
    if (err instanceof FormatError) return -ERRNO.EINVAL;
    throw err;
  }
}

export const MISC_HELPERS: readonly HelperDef[] = [
  helper('ktime_get_ns', (call) => {
    ret(call, envOf(call).host.nowNs());
    return HELPER_CONTINUE;
  }),
  helper('ktime_get_boot_ns', (call) => {
    ret(call, envOf(call).host.bootNs());
    return HELPER_CONTINUE;
  }),
  helper('ktime_get_coarse_ns', (call) => {
    // The coarse clock ticks at the scheduler tick: 4 ms at the usual HZ=250.
    const ns = envOf(call).host.nowNs();
    ret(call, ns - (ns % 4_000_000));
    return HELPER_CONTINUE;
  }),
  helper('jiffies64', (call) => {
    ret(call, Math.floor(envOf(call).host.bootNs() / 4_000_000) + 4294937296); // INITIAL_JIFFIES at HZ=250
    return HELPER_CONTINUE;
  }),
  helper('get_prandom_u32', (call) => {
    ret(call, envOf(call).host.prandomU32());
    return HELPER_CONTINUE;
  }),
  helper('get_smp_processor_id', (call) => {
    ret(call, envOf(call).cpu);
    return HELPER_CONTINUE;
  }),
  helper('get_numa_node_id', (call) => {
    ret(call, 0);
    return HELPER_CONTINUE;
  }),
  helper('trace_printk', (call) => {
    ret(call, printTrace(call, formatArg(call, 1, 2), [argBigInt(call, 3), argBigInt(call, 4), argBigInt(call, 5)]));
    return HELPER_CONTINUE;
  }),
  helper('trace_vprintk', (call) => {
    ret(call, printTrace(call, formatArg(call, 1, 2), packedArgs(call, 3, 4)));
    return HELPER_CONTINUE;
  }),
  helper('snprintf', (call) => {
    const out = argU32(call, 1);
    const size = argU32(call, 2);
    const fmtAddr = argU32(call, 3);
    const fmt = arenaMemory(call).string(fmtAddr, 1024);
    const args = packedArgs(call, 4, 5);
    if (fmt === undefined || args === undefined || (size > 0 && !call.arena.canAccess(out, 0, size, 2))) {
      ret(call, -ERRNO.EINVAL);
      return HELPER_CONTINUE;
    }
    let text: string;
    try {
      text = formatBpf(fmt, args, arenaMemory(call));
    } catch (err) {
      if (!(err instanceof FormatError)) throw err;
      ret(call, -ERRNO.EINVAL);
      return HELPER_CONTINUE;
    }
    const bytes = new TextEncoder().encode(text);
    if (size > 0) {
      const n = Math.min(bytes.length, size - 1);
      call.arena.u8.set(bytes.subarray(0, n), out);
      call.arena.u8[out + n] = 0;
    }
    ret(call, bytes.length + 1); // like snprintf's length, plus the NUL
    return HELPER_CONTINUE;
  }),
  // One emulated CPU runs a program at a time: a lock is always free, taking it is a no-op
  // (the verifier, not the runtime, enforces that programs pair them).
  helper('spin_lock', () => HELPER_CONTINUE),
  helper('spin_unlock', () => HELPER_CONTINUE),
  helper('tail_call', markInlineTailCall((call: HelperCall) => {
    const map = mapArg(call, 2);
    // instanceof (not spec.type) keeps the calls below monomorphic: a tail call is a hot path.
    if (!(map instanceof ProgArrayMap)) throw new HelperError(`bpf_tail_call: map ${map.name} is not a prog array`);
    const index = argU32(call, 3);
    // A failed tail call falls through to the next instruction with r0 unchanged (kernel: "goto out").
    // Only a tail call that happens is counted (the engine counts it as it starts the target):
    // the kernel measured here (6.18, x86 JIT) lets 40 calls to an empty slot pass and still
    // takes the next one (test/fixtures/bpf/rt-tailcall-count.bpf.c).
    if (call.tailCalls >= MAX_TAIL_CALL_CNT) return HELPER_CONTINUE;
    const id = map.programIdAt(index); // undefined out of range, as the kernel's index check
    const target = id === undefined ? undefined : envOf(call).host.programById(id);
    if (target === undefined) return HELPER_CONTINUE;
    call.tailCallTarget = target;
    return HELPER_TAIL_CALL;
  })),
];
