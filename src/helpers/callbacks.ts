/**
 * Helpers that call back into the program: bpf_loop and bpf_for_each_map_elem. The callback
 * is a function of the program (an lddw of its address, BPF_PSEUDO_FUNC, loads its pc); it
 * runs in a frame of its own and returns 0 to go on or 1 to stop (kernel/bpf/bpf_iter.c,
 * kernel/bpf/helpers.c).
 */
import { ERRNO } from '../uapi/errno.js';
import { REGION_READ, type Region } from '../vm/arena.js';
import { HELPER_CONTINUE, argNumber, argU32, ret } from '../vm/helper-table.js';
import { envOf, type HelperHost } from './env.js';
import { mapArg } from './maps.js';
import { helper, type HelperDef } from './registry.js';

/** BPF_MAX_LOOPS: bpf_loop runs at most 8M iterations. */
export const BPF_MAX_LOOPS = 8 * 1024 * 1024;

export const CALLBACK_HELPERS: readonly HelperDef[] = [
  helper('loop', (call) => {
    const nrLoops = argU32(call, 1);
    const fn = argU32(call, 2);
    const ctx = argU32(call, 3);
    if (argNumber(call, 4) !== 0) return ret(call, -ERRNO.EINVAL), HELPER_CONTINUE;
    // The verifier inlines bpf_loop (inline_bpf_loop) and sets r0 = -E2BIG with a 32-bit mov:
    // a program sees 0xfffffff9, not a negative 64-bit value (checked on Linux 6.18).
    if (nrLoops > BPF_MAX_LOOPS) return ret(call, -ERRNO.E2BIG >>> 0), HELPER_CONTINUE;
    let i = 0;
    for (; i < nrLoops; i++) {
      if (call.callFunction(fn, [i, ctx]) !== 0) {
        i++;
        break;
      }
    }
    ret(call, i);
    return HELPER_CONTINUE;
  }),
  helper('for_each_map_elem', (call) => {
    const map = mapArg(call);
    const fn = argU32(call, 2);
    const ctx = argU32(call, 3);
    if (argNumber(call, 4) !== 0) return ret(call, -ERRNO.EINVAL), HELPER_CONTINUE;
    const cpu = envOf(call).cpu;
    // Walk the keys first: the callback may delete the element it is given.
    const keys = [...iterateKeys(map)];
    const keyAddr = keyBuffer(envOf(call).host, map.spec.keySize);
    let count = 0;
    for (const key of keys) {
      call.arena.u8.set(key, keyAddr);
      const value = map.lookupElem(keyAddr, cpu);
      if (!value) continue;
      count++;
      if (call.callFunction(fn, [map.header.start, keyAddr, value, ctx]) !== 0) break;
    }
    ret(call, count);
    return HELPER_CONTINUE;
  }),
];

/** The arena buffer (one per machine) for the key a for_each callback is given (read-only to it). */
const keyBuffers = (): { region: Region | undefined } => ({ region: undefined });
function keyBuffer(host: HelperHost, size: number): number {
  const buffer = host.own(keyBuffers);
  if (!buffer.region || buffer.region.capacity < size) {
    if (buffer.region) host.arena.free(buffer.region);
    buffer.region = host.arena.alloc(Math.max(size, 64), 'helper', 'for_each key', REGION_READ);
  }
  return buffer.region.start;
}

function* iterateKeys(map: ReturnType<typeof mapArg>): Generator<Uint8Array> {
  for (let key = map.nextKey(undefined); key; key = map.nextKey(key)) yield key;
}
