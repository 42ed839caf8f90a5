/**
 * BPF_MAP_TYPE_CPUMAP (kernel/bpf/cpumap.c): redirect targets that are CPUs. A value is a
 * u32 qsize (the CPU's queue size), or struct bpf_cpumap_val { u32 qsize; u32 prog } (value_size
 * 8) where the user gives a program id. qsize 0 empties the entry. Programs only read values.
 */
import { BPF_EXIST, BPF_NOEXIST } from '../uapi/bpf.js';
import { readU32, readWord } from './common.js';
import { TargetArrayMap } from './target-array.js';
import { ERRNO } from '../uapi/errno.js';
import type { MapSpecCheck } from './alloc-check.js';
import { BPF_F_NUMA_NODE, BPF_F_RDONLY_PROG } from '../uapi/bpf.js';

/** NR_CPUS of common distribution kernels (cpumap's max_entries limit). */
export const NR_CPUS = 8192;

/** The kernel's sanity limit on a CPU's queue size. */
export const CPUMAP_MAX_QSIZE = 16384;

export class CpuMap extends TargetArrayMap {
  /** cpu_map_alloc's checks; programs may only read entries. */
  static override checkSpec(check: MapSpecCheck): void {
    check.needEntries();
    check.needKey(4);
    if (check.valueSize !== 4 && check.valueSize !== 8) check.fail('EINVAL', `value_size ${check.valueSize}: a u32 qsize, or struct bpf_cpumap_val (8 bytes)`);
    check.onlyFlags(BPF_F_NUMA_NODE);
    if (check.maxEntries > NR_CPUS) check.fail('E2BIG', `max_entries ${check.maxEntries} is above NR_CPUS (${NR_CPUS})`);
    check.extraFlags = BPF_F_RDONLY_PROG;
  }

  /** cpu_map_update_elem. */
  override updateElem(keyAddr: number, valueAddr: number, flags: number, cpu: number): number {
    void cpu;
    const u8 = this.arena.u8;
    const index = readU32(u8, keyAddr);
    const qsize = readU32(u8, valueAddr);
    const prog = this.spec.valueSize >= 8 ? readWord(u8, valueAddr + 4) : 0;
    if (flags >>> 0 > BPF_EXIST) return -ERRNO.EINVAL;
    if (index >= this.spec.maxEntries) return -ERRNO.E2BIG;
    if (flags === BPF_NOEXIST) return -ERRNO.EEXIST;
    if (qsize > CPUMAP_MAX_QSIZE) return -ERRNO.EOVERFLOW;
    if (index >= this.cpus) return -ERRNO.ENODEV;
    if (qsize !== 0 && prog > 0 && this.host.programById && !this.host.programById(prog)) return -ERRNO.ENOMEM;
    this.setEntry(index, qsize, qsize !== 0 && prog > 0 ? prog : 0);
    return 0;
  }
}
