/**
 * BPF_MAP_TYPE_CPUMAP (kernel/bpf/cpumap.c): redirect targets that are CPUs. A value is a
 * u32 qsize (the CPU's queue size), or struct bpf_cpumap_val { u32 qsize; u32 prog } (value_size
 * 8) where the user gives a program id. qsize 0 empties the entry. Programs only read values.
 */
import { BPF_EXIST, BPF_NOEXIST } from '../uapi/bpf.js';
import type { MapSpec } from '../spec/types.js';
import type { Region } from '../vm/arena.js';
import { REGION_READ } from '../vm/arena.js';
import { arrayNextKey, readU32, readWord, writeU32 } from './common.js';
import { TARGET_ENTRY_SIZE } from './devmap.js';
import { BpfMap, type MapHost } from './map.js';
import { ERRNO } from '../uapi/errno.js';
import type { MapSpecCheck } from './alloc-check.js';
import { BPF_F_NUMA_NODE, BPF_F_RDONLY_PROG } from '../uapi/bpf.js';

/** NR_CPUS of common distribution kernels (cpumap's max_entries limit). */
export const NR_CPUS = 8192;

/** The kernel's sanity limit on a CPU's queue size. */
export const CPUMAP_MAX_QSIZE = 16384;

export class CpuMap extends BpfMap {
  /** cpu_map_alloc's checks; programs may only read entries. */
  static override checkSpec(check: MapSpecCheck): void {
    check.needEntries();
    check.needKey(4);
    if (check.valueSize !== 4 && check.valueSize !== 8) check.fail('EINVAL', `value_size ${check.valueSize}: a u32 qsize, or struct bpf_cpumap_val (8 bytes)`);
    check.onlyFlags(BPF_F_NUMA_NODE);
    if (check.maxEntries > NR_CPUS) check.fail('E2BIG', `max_entries ${check.maxEntries} is above NR_CPUS (${NR_CPUS})`);
    check.extraFlags = BPF_F_RDONLY_PROG;
  }

  readonly values: Region;

  constructor(host: MapHost, spec: MapSpec, id: number) {
    super(host, spec, id);
    this.values = this.arena.alloc(spec.maxEntries * TARGET_ENTRY_SIZE, 'map', `${spec.name} values`, REGION_READ);
  }

  lookupElem(keyAddr: number, cpu: number): number {
    void cpu;
    const u8 = this.arena.u8;
    const index = readU32(u8, keyAddr);
    if (index >= this.spec.maxEntries) return 0;
    const addr = this.values.start + index * TARGET_ENTRY_SIZE;
    return readU32(u8, addr) === 0 ? 0 : addr;
  }

  /** cpu_map_update_elem. */
  updateElem(keyAddr: number, valueAddr: number, flags: number, cpu: number): number {
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
    const addr = this.values.start + index * TARGET_ENTRY_SIZE;
    if (qsize !== 0 && prog > 0 && this.host.programById && !this.host.programById(prog)) return -ERRNO.ENOMEM;
    writeU32(u8, addr, qsize);
    writeU32(u8, addr + 4, qsize !== 0 && prog > 0 ? prog : 0);
    return 0;
  }

  /** cpu_map_delete_elem: an empty entry deletes fine. */
  deleteElem(keyAddr: number): number {
    const u8 = this.arena.u8;
    const index = readU32(u8, keyAddr);
    if (index >= this.spec.maxEntries) return -ERRNO.EINVAL;
    const addr = this.values.start + index * TARGET_ENTRY_SIZE;
    writeU32(u8, addr, 0);
    writeU32(u8, addr + 4, 0);
    return 0;
  }

  protected override userNextKey(key: Uint8Array | undefined): Uint8Array | undefined {
    return arrayNextKey(key, this.spec.maxEntries);
  }

  override close(): void {
    this.arena.free(this.values);
    super.close();
  }
}
