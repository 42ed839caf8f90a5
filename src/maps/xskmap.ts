/**
 * BPF_MAP_TYPE_XSKMAP (net/xdp/xskmap.c): AF_XDP sockets by RX queue, the target of
 * bpf_redirect_map in programs that hand frames to user space. xdplab has no AF_XDP sockets, so
 * the map stays empty, as it is in a test run before any socket binds: a program's lookup finds
 * nothing and bpf_redirect_map returns the flags' fallback verdict. Storing anything from user
 * space needs a socket's fd (EOPNOTSUPP here, as for a socket that is not AF_XDP).
 */
import { FdArrayMap } from './fd-array.js';
import { readU32 } from './common.js';
import { ERRNO } from '../uapi/errno.js';
import type { MapSpecCheck } from './alloc-check.js';
import { DEV_FLAGS } from './devmap.js';

export class XskMap extends FdArrayMap {
  /** xsk_map_alloc. */
  static override checkSpec(check: MapSpecCheck): void {
    check.needEntries();
    check.needKey(4);
    if (check.valueSize !== 4) check.fail('EINVAL', `value_size ${check.valueSize}: an AF_XDP socket's fd (4 bytes)`);
    check.onlyFlags(DEV_FLAGS);
  }

  /** xsk_map_update_elem: only an AF_XDP socket may be stored. */
  protected resolve(ref: number): number {
    void ref;
    return -ERRNO.EOPNOTSUPP;
  }

  /** xsk_map_lookup_elem_sys: user space cannot read sockets back. */
  protected sysValue(stored: number): number {
    void stored;
    return -ERRNO.EOPNOTSUPP;
  }

  /** xsk_map_delete_elem: an index in range is cleared (0 even when empty); past the end EINVAL. */
  override deleteElem(keyAddr: number): number {
    return readU32(this.arena.u8, keyAddr) >= this.spec.maxEntries ? -ERRNO.EINVAL : 0;
  }
}
