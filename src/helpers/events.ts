/**
 * Helpers that send records to user space: the BPF ring buffer (bpf_ringbuf_*), perf event
 * output (with the packet's first bytes appended, as bpf_xdp_event_output / bpf_skb_event_output
 * append them), and bpf_get_stackid over the emulated chain of BPF frames.
 */
import type { BpfMap } from '../maps/map.js';
import { ERRNO } from '../uapi/errno.js';
import type { PerfEventArrayMap } from '../maps/perf-event-array.js';
import type { RingbufMap } from '../maps/ringbuf.js';
import type { StackTraceMap } from '../maps/stack-trace.js';
import { BPF_F_INDEX_MASK, BPF_MAP_TYPE } from '../uapi/bpf.js';
import { HELPER_CONTINUE, HelperError, argNumber, argU32, ret, type HelperCall } from '../vm/helper-table.js';
import { envOf } from './env.js';
import { xdpFlatten, xdpGetBuffLen } from './xdp-frags.js';
import { mapArg } from './maps.js';
import { helper, type HelperDef } from './registry.js';

/** BPF_F_CTXLEN_MASK: bits 32..51 of the flags (the high word's low 20 bits), the bytes of packet to append. */
const CTXLEN_BITS = 0xfffff;

function mapOfType<T extends BpfMap>(call: HelperCall, n: number, type: number, what: string): T {
  const map = mapArg(call, n);
  if (map.spec.type !== type) throw new HelperError(`${what}: map ${map.name} has the wrong type`);
  return map as T;
}

const ringbuf = (call: HelperCall): RingbufMap => mapOfType<RingbufMap>(call, 1, BPF_MAP_TYPE.BPF_MAP_TYPE_RINGBUF, 'bpf_ringbuf');

/** The ring buffer a reserved sample belongs to. */
function ringbufOfSample(call: HelperCall, sample: number): RingbufMap {
  const region = call.arena.regionAt(sample);
  for (let id = 1; ; id++) {
    const map = envOf(call).host.mapById(id);
    if (!map) break;
    if (map.spec.type === BPF_MAP_TYPE.BPF_MAP_TYPE_RINGBUF && (map as RingbufMap).ownsSample(sample)) return map as RingbufMap;
  }
  throw new HelperError(`0x${sample.toString(16)} (${region?.name ?? 'unmapped'}) is not a reserved ring buffer sample`);
}

/** bpf_perf_event_output for any program type; a networking program may append packet bytes. */
function perfEventOutput(call: HelperCall): number {
  const map = mapOfType<PerfEventArrayMap>(call, 2, BPF_MAP_TYPE.BPF_MAP_TYPE_PERF_EVENT_ARRAY, 'bpf_perf_event_output');
  const flagsLo = call.regs[6] >>> 0;
  const flagsHi = call.regs[7] >>> 0;
  if (flagsHi & ~CTXLEN_BITS) return -ERRNO.EINVAL;
  const env = envOf(call);
  const ctxLen = flagsHi & CTXLEN_BITS;
  const packet = env.packet;
  // bpf_xdp_event_output: up to xdp_get_buff_len bytes, fragments included (bpf_xdp_copy).
  const frags = packet?.frags?.hasFrags ? packet.frags : undefined;
  if (ctxLen > 0 && (!packet || ctxLen > xdpGetBuffLen(packet, frags))) return -ERRNO.EFAULT;
  const data = argU32(call, 4);
  const size = argU32(call, 5);
  if (!call.arena.canAccess(data, 0, size, 1)) throw new HelperError('bpf_perf_event_output: data outside memory');
  const ctxAddr = !packet ? 0 : frags && ctxLen > packet.length ? xdpFlatten(frags, call.arena, packet, ctxLen) : packet.data;
  return map.output(flagsLo & BPF_F_INDEX_MASK, data, size, env.cpu, ctxAddr, ctxLen);
}

export const EVENT_HELPERS: readonly HelperDef[] = [
  helper('ringbuf_output', (call) => {
    ret(call, ringbuf(call).output(argU32(call, 2), argU32(call, 3), argNumber(call, 4)));
    return HELPER_CONTINUE;
  }),
  helper('ringbuf_reserve', (call) => {
    ret(call, ringbuf(call).reserve(argU32(call, 2), argNumber(call, 3)));
    return HELPER_CONTINUE;
  }),
  helper('ringbuf_submit', (call) => {
    const sample = argU32(call, 1);
    ringbufOfSample(call, sample).submit(sample, argNumber(call, 2));
    return HELPER_CONTINUE;
  }),
  helper('ringbuf_discard', (call) => {
    const sample = argU32(call, 1);
    ringbufOfSample(call, sample).discard(sample, argNumber(call, 2));
    return HELPER_CONTINUE;
  }),
  helper('ringbuf_query', (call) => {
    ret(call, ringbuf(call).query(argNumber(call, 2)));
    return HELPER_CONTINUE;
  }),
  helper('perf_event_output', (call) => {
    ret(call, perfEventOutput(call));
    return HELPER_CONTINUE;
  }),
  helper('get_stackid', (call) => {
    const map = mapOfType<StackTraceMap>(call, 2, BPF_MAP_TYPE.BPF_MAP_TYPE_STACK_TRACE, 'bpf_get_stackid');
    // The emulated stack: the program's own frames, innermost first, as instruction addresses.
    ret(call, map.record(call.callChain().map((pc) => pc * 8), argNumber(call, 3)));
    return HELPER_CONTINUE;
  }),
];
