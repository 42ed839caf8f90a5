/**
 * check_map_func_compatibility: which helpers a map type may be passed to, and which map types
 * a helper takes, as two tables (the kernel's two switches).
 */
import { BPF_MAP_TYPE } from '../uapi/bpf.js';
import { ERRNO } from '../uapi/errno.js';
import type { VerifierEnv } from './env.js';
import { kernelHelperName } from './kernel-disasm.js';
import type { MapInfo } from './reg-state.js';

const T = BPF_MAP_TYPE;
const { EINVAL } = ERRNO;
/** check_map_func_compatibility, the map side: the helpers each special map type allows. */
const MAP_ALLOWS: ReadonlyMap<number, readonly string[]> = new Map([
  [T.BPF_MAP_TYPE_PROG_ARRAY, ['tail_call']],
  [T.BPF_MAP_TYPE_PERF_EVENT_ARRAY, ['perf_event_read', 'perf_event_output', 'skb_output', 'perf_event_read_value', 'xdp_output']],
  [T.BPF_MAP_TYPE_RINGBUF, ['ringbuf_output', 'ringbuf_reserve', 'ringbuf_query', 'ringbuf_reserve_dynptr', 'ringbuf_submit_dynptr', 'ringbuf_discard_dynptr']],
  [T.BPF_MAP_TYPE_USER_RINGBUF, ['user_ringbuf_drain']],
  [T.BPF_MAP_TYPE_STACK_TRACE, ['get_stackid']],
  [T.BPF_MAP_TYPE_CGROUP_ARRAY, ['skb_under_cgroup', 'current_task_under_cgroup']],
  [T.BPF_MAP_TYPE_CGROUP_STORAGE, ['get_local_storage']],
  [T.BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE, ['get_local_storage']],
  [T.BPF_MAP_TYPE_DEVMAP, ['redirect_map', 'map_lookup_elem']],
  [T.BPF_MAP_TYPE_DEVMAP_HASH, ['redirect_map', 'map_lookup_elem']],
  [T.BPF_MAP_TYPE_CPUMAP, ['redirect_map']],
  [T.BPF_MAP_TYPE_XSKMAP, ['redirect_map', 'map_lookup_elem']],
  [T.BPF_MAP_TYPE_ARRAY_OF_MAPS, ['map_lookup_elem']],
  [T.BPF_MAP_TYPE_HASH_OF_MAPS, ['map_lookup_elem']],
  [T.BPF_MAP_TYPE_SOCKMAP, ['sk_redirect_map', 'sock_map_update', 'msg_redirect_map', 'sk_select_reuseport', 'map_lookup_elem', 'map_update_elem', 'map_delete_elem']],
  [T.BPF_MAP_TYPE_SOCKHASH, ['sk_redirect_hash', 'sock_hash_update', 'msg_redirect_hash', 'sk_select_reuseport', 'map_lookup_elem', 'map_update_elem', 'map_delete_elem']],
  [T.BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, ['sk_select_reuseport']],
  [T.BPF_MAP_TYPE_QUEUE, ['map_peek_elem', 'map_pop_elem', 'map_push_elem']],
  [T.BPF_MAP_TYPE_STACK, ['map_peek_elem', 'map_pop_elem', 'map_push_elem']],
  [T.BPF_MAP_TYPE_SK_STORAGE, ['sk_storage_get', 'sk_storage_delete', 'kptr_xchg']],
  [T.BPF_MAP_TYPE_INODE_STORAGE, ['inode_storage_get', 'inode_storage_delete', 'kptr_xchg']],
  [T.BPF_MAP_TYPE_TASK_STORAGE, ['task_storage_get', 'task_storage_delete', 'kptr_xchg']],
  [T.BPF_MAP_TYPE_CGRP_STORAGE, ['cgrp_storage_get', 'cgrp_storage_delete', 'kptr_xchg']],
  [T.BPF_MAP_TYPE_BLOOM_FILTER, ['map_peek_elem', 'map_push_elem']],
]);

/** ... and the helper side: the map types each map-specific helper takes. */
const HELPER_NEEDS: ReadonlyMap<string, readonly number[]> = new Map<string, readonly number[]>([
  ['tail_call', [T.BPF_MAP_TYPE_PROG_ARRAY]],
  ['perf_event_read', [T.BPF_MAP_TYPE_PERF_EVENT_ARRAY]], ['perf_event_output', [T.BPF_MAP_TYPE_PERF_EVENT_ARRAY]],
  ['perf_event_read_value', [T.BPF_MAP_TYPE_PERF_EVENT_ARRAY]], ['skb_output', [T.BPF_MAP_TYPE_PERF_EVENT_ARRAY]],
  ['xdp_output', [T.BPF_MAP_TYPE_PERF_EVENT_ARRAY]],
  ['ringbuf_output', [T.BPF_MAP_TYPE_RINGBUF]], ['ringbuf_reserve', [T.BPF_MAP_TYPE_RINGBUF]], ['ringbuf_query', [T.BPF_MAP_TYPE_RINGBUF]],
  ['ringbuf_reserve_dynptr', [T.BPF_MAP_TYPE_RINGBUF]], ['ringbuf_submit_dynptr', [T.BPF_MAP_TYPE_RINGBUF]],
  ['ringbuf_discard_dynptr', [T.BPF_MAP_TYPE_RINGBUF]], ['user_ringbuf_drain', [T.BPF_MAP_TYPE_USER_RINGBUF]],
  ['get_stackid', [T.BPF_MAP_TYPE_STACK_TRACE]],
  ['current_task_under_cgroup', [T.BPF_MAP_TYPE_CGROUP_ARRAY]], ['skb_under_cgroup', [T.BPF_MAP_TYPE_CGROUP_ARRAY]],
  ['redirect_map', [T.BPF_MAP_TYPE_DEVMAP, T.BPF_MAP_TYPE_DEVMAP_HASH, T.BPF_MAP_TYPE_CPUMAP, T.BPF_MAP_TYPE_XSKMAP]],
  ['map_pop_elem', [T.BPF_MAP_TYPE_QUEUE, T.BPF_MAP_TYPE_STACK]],
  ['map_peek_elem', [T.BPF_MAP_TYPE_QUEUE, T.BPF_MAP_TYPE_STACK, T.BPF_MAP_TYPE_BLOOM_FILTER]],
  ['map_push_elem', [T.BPF_MAP_TYPE_QUEUE, T.BPF_MAP_TYPE_STACK, T.BPF_MAP_TYPE_BLOOM_FILTER]],
  ['map_lookup_percpu_elem', [T.BPF_MAP_TYPE_PERCPU_ARRAY, T.BPF_MAP_TYPE_PERCPU_HASH, T.BPF_MAP_TYPE_LRU_PERCPU_HASH]],
  ['sk_storage_get', [T.BPF_MAP_TYPE_SK_STORAGE]], ['sk_storage_delete', [T.BPF_MAP_TYPE_SK_STORAGE]],
  ['task_storage_get', [T.BPF_MAP_TYPE_TASK_STORAGE]], ['task_storage_delete', [T.BPF_MAP_TYPE_TASK_STORAGE]],
  ['cgrp_storage_get', [T.BPF_MAP_TYPE_CGRP_STORAGE]], ['cgrp_storage_delete', [T.BPF_MAP_TYPE_CGRP_STORAGE]],
]);

export function checkMapFuncCompatibility(env: VerifierEnv, map: MapInfo | undefined, funcId: number, name: string): void {
  if (!map) return;
  const allows = MAP_ALLOWS.get(map.type);
  const needs = HELPER_NEEDS.get(name);
  if ((allows && !allows.includes(name)) || (needs && !needs.includes(map.type))) {
    env.reject(EINVAL, `cannot pass map_type ${map.type} into func ${kernelHelperName(funcId)}#${funcId}`);
  }
}

