/**
 * Inner maps of array_of_maps / hash_of_maps: the user names one by id; it must have the
 * shape of the outer map's template (kernel: bpf_map_meta_equal, and for arrays the same
 * max_entries unless the template has BPF_F_INNER_MAP). The outer map stores the inner map's
 * header address, which is what a program's lookup returns.
 */
import { BPF_F_INNER_MAP, BPF_MAP_TYPE } from '../uapi/bpf.js';
import { type BpfMap } from './map.js';
import { ERRNO } from '../uapi/errno.js';

export interface InnerMapHolder {
  /** The id of the inner map under the key at `keyAddr`, undefined when none. */
  innerMapIdAt(keyAddr: number): number | undefined;
}

const ARRAYS: readonly number[] = [BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE.BPF_MAP_TYPE_PERCPU_ARRAY];
const MAPS_OF_MAPS: readonly number[] = [BPF_MAP_TYPE.BPF_MAP_TYPE_ARRAY_OF_MAPS, BPF_MAP_TYPE.BPF_MAP_TYPE_HASH_OF_MAPS];

/** The header address to store for inner map `id`, or -errno. */
export function innerMapRef(outer: BpfMap, id: number): number {
  const inner = outer.host.mapById?.(id);
  if (!inner) return -ERRNO.EBADF;
  const t = outer.spec.innerMap;
  if (!t || MAPS_OF_MAPS.includes(inner.spec.type)) return -ERRNO.EINVAL;
  const s = inner.spec;
  if (s.type !== t.type || s.keySize !== t.keySize || s.valueSize !== t.valueSize || s.flags !== t.flags) return -ERRNO.EINVAL;
  if (ARRAYS.includes(t.type) && !(t.flags & BPF_F_INNER_MAP) && s.maxEntries !== t.maxEntries) return -ERRNO.EINVAL;
  return inner.header.start;
}
