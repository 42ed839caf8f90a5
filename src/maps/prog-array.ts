/**
 * BPF_MAP_TYPE_PROG_ARRAY: slots of program ids for bpf_tail_call. The user stores a program
 * by its id (4 bytes, where the kernel takes an fd) and reads the id back; programs cannot
 * look into it — bpf_tail_call asks programIdAt(index).
 */
import { FdArrayMap } from './fd-array.js';
import { ERRNO } from './map.js';

export class ProgArrayMap extends FdArrayMap {
  /** The program id in slot `index`, undefined when empty or out of range (a tail call falls through). */
  programIdAt(index: number): number | undefined {
    return this.slotAt(index >>> 0) || undefined;
  }

  protected resolve(ref: number): number {
    if (ref === 0) return -ERRNO.EBADF;
    if (this.host.programById && !this.host.programById(ref)) return -ERRNO.EBADF;
    return ref;
  }

  protected sysValue(stored: number): number {
    return stored;
  }
}
