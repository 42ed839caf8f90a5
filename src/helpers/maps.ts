/**
 * Map helpers: lookup / update / delete, push / pop / peek, the per-CPU lookup. Each finds
 * the map by the header address in r1 and calls its program face (maps/map.ts).
 */
import type { BpfMap } from '../maps/map.js';
import { ERRNO } from '../uapi/errno.js';
import { BPF_MAP_TYPE } from '../uapi/bpf.js';
import { HELPER_CONTINUE, HelperError, argU32, ret, type HelperCall } from '../vm/helper-table.js';
import { markInlineMapLookup } from '../vm/map-layout.js';
import { envOf, type RunEnv } from './env.js';
import { helper, type HelperDef } from './registry.js';

/** The map r1 (or another argument register) points at; a non-map pointer is a program bug. */
export function mapArg(call: HelperCall, n = 1): BpfMap {
  const addr = argU32(call, n);
  const map = envOf(call).host.mapAt(addr);
  if (!map) throw new HelperError(`argument ${n} (0x${addr.toString(16)}) is not a map`);
  return map;
}

/** Maps of maps hold inner map ids; a program's lookup gets the inner map's header address. */
function lookupInner(map: BpfMap, keyAddr: number, env: RunEnv): number {
  const inner = map as BpfMap & { innerMapIdAt?(keyAddr: number): number | undefined };
  const id = inner.innerMapIdAt?.(keyAddr);
  return id === undefined ? 0 : (env.host.mapById(id)?.header.start ?? 0);
}

const isMapOfMaps = (type: number): boolean =>
  type === BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY_OF_MAPS || type === BPF_MAP_TYPE.BPF_MAP_TYPE_HASH_OF_MAPS;

export const MAP_HELPERS: readonly HelperDef[] = [
  helper('map_lookup_elem', markInlineMapLookup((call: HelperCall) => {
    // The JIT compiles this inline for arrays (vm/jit/lower-map.ts): keep the two in step.
    const map = mapArg(call);
    const env = envOf(call);
    ret(call, isMapOfMaps(map.spec.type) ? lookupInner(map, argU32(call, 2), env) : map.lookupElem(argU32(call, 2), env.cpu));
    return HELPER_CONTINUE;
  })),
  // The JIT compiles these on plain hash maps (vm/jit/lower-hash-update.ts): keep the two in step.
  helper('map_update_elem', markInlineMapLookup((call: HelperCall) => {
    ret(call, mapArg(call).updateElem(argU32(call, 2), argU32(call, 3), call.regs[8], envOf(call).cpu));
    return HELPER_CONTINUE;
  })),
  helper('map_delete_elem', markInlineMapLookup((call: HelperCall) => {
    ret(call, mapArg(call).deleteElem(argU32(call, 2)));
    return HELPER_CONTINUE;
  })),
  helper('map_push_elem', (call) => {
    ret(call, mapArg(call).pushElem(argU32(call, 2), call.regs[6]));
    return HELPER_CONTINUE;
  }),
  helper('map_pop_elem', (call) => {
    ret(call, mapArg(call).popElem(argU32(call, 2)));
    return HELPER_CONTINUE;
  }),
  helper('map_peek_elem', (call) => {
    ret(call, mapArg(call).peekElem(argU32(call, 2)));
    return HELPER_CONTINUE;
  }),
  helper('map_lookup_percpu_elem', (call) => {
    const map = mapArg(call);
    const cpu = argU32(call, 3);
    ret(call, map.perCpu && cpu < map.cpus ? map.lookupElem(argU32(call, 2), cpu) : 0);
    return HELPER_CONTINUE;
  }),
];

export { ERRNO };
