/**
 * BPF_MAP_TYPE_DEVMAP (kernel/bpf/devmap.c): an array of redirect targets for
 * bpf_redirect_map. A value is a u32 ifindex, or struct bpf_devmap_val { u32 ifindex; u32
 * prog } (value_size 8) where the user gives a program id (the kernel: an fd, read back as
 * the id). An entry with ifindex 0 is empty. Programs only read the values (the kernel sets
 * BPF_F_RDONLY_PROG). Ifindexes and program ids are checked through the MapHost when it can.
 */
import { BPF_EXIST, BPF_NOEXIST } from '../uapi/bpf.js';
import { readU32, readWord } from './common.js';
import type { MapHost } from './map.js';
import { TargetArrayMap } from './target-array.js';
import { ERRNO } from '../uapi/errno.js';
import type { MapSpecCheck } from './alloc-check.js';
import { BPF_F_NUMA_NODE, BPF_F_RDONLY, BPF_F_RDONLY_PROG, BPF_F_WRONLY } from '../uapi/bpf.js';

/** The flags a devmap or an XSKMAP takes. */
export const DEV_FLAGS = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY;

/**
 * Check a devmap value (ifindex, program) as __dev_map_alloc_node does: the stored program
 * id (0 for none), or -errno.
 */
export function devmapProgram(host: MapHost, u8: Uint8Array, valueAddr: number, valueSize: number): number {
  const ifindex = readU32(u8, valueAddr);
  const prog = valueSize >= 8 ? readWord(u8, valueAddr + 4) : 0;
  if (host.netdevExists && !host.netdevExists(ifindex)) return -ERRNO.EINVAL;
  if (prog > 0 && host.programById && !host.programById(prog)) return -ERRNO.EINVAL;
  return prog > 0 ? prog : 0;
}

export class DevMap extends TargetArrayMap {
  /** dev_map_alloc's checks (devmap and devmap hash); programs may only read entries. */
  static override checkSpec(check: MapSpecCheck): void {
    check.needEntries();
    check.needKey(4);
    if (check.valueSize !== 4 && check.valueSize !== 8) check.fail('EINVAL', `value_size ${check.valueSize}: a u32 ifindex, or struct bpf_devmap_val (8 bytes)`);
    check.onlyFlags(DEV_FLAGS);
    check.extraFlags = BPF_F_RDONLY_PROG;
  }

  /** __dev_map_update_elem. */
  override updateElem(keyAddr: number, valueAddr: number, flags: number, cpu: number): number {
    void cpu;
    const u8 = this.arena.u8;
    const index = readU32(u8, keyAddr);
    if (flags >>> 0 > BPF_EXIST) return -ERRNO.EINVAL;
    if (index >= this.spec.maxEntries) return -ERRNO.E2BIG;
    if (flags === BPF_NOEXIST) return -ERRNO.EEXIST;
    const ifindex = readU32(u8, valueAddr);
    if (ifindex === 0) {
      // An empty entry; a program may not come with it.
      if (this.spec.valueSize >= 8 && readWord(u8, valueAddr + 4) > 0) return -ERRNO.EINVAL;
      this.setEntry(index, 0, 0);
      return 0;
    }
    const prog = devmapProgram(this.host, u8, valueAddr, this.spec.valueSize);
    if (prog < 0) return prog;
    this.setEntry(index, ifindex, prog);
    return 0;
  }
}
