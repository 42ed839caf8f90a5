/**
 * BPF_MAP_TYPE_PROG_ARRAY: slots of program ids for bpf_tail_call. The user stores a program
 * by its id (4 bytes, where the kernel takes an fd) and reads the id back; programs cannot
 * look into it — bpf_tail_call asks programIdAt(index).
 */
import type { MapSpec } from '../spec/types.js';
import { readU32 } from './common.js';
import { FdArrayMap } from './fd-array.js';
import { type MapHost } from './map.js';
import { ERRNO } from '../uapi/errno.js';
import { setProgArrayLayout } from '../vm/prog-array-layout.js';

export class ProgArrayMap extends FdArrayMap {
  /**
   * The slots as a JS array too, kept in step by updateElem / deleteElem (the only writers:
   * programs cannot write a prog array), so a tail call reads no arena bytes — the kernel's
   * JITs likewise read array->ptrs[index] directly (emit_bpf_tail_call_indirect).
   */
  private readonly ids: Uint32Array;

  constructor(host: MapHost, spec: MapSpec, id: number) {
    super(host, spec, id);
    this.ids = new Uint32Array(spec.maxEntries);
    // Compiled tail calls read the slots themselves (vm/jit/tail-call.ts).
    setProgArrayLayout(this.arena, this.header.start, { slots: this.slots.start, maxEntries: spec.maxEntries });
  }

  override close(): void {
    setProgArrayLayout(this.arena, this.header.start, undefined);
    super.close();
  }

  /** The program id in slot `index`, undefined when empty or out of range (a tail call falls through). */
  programIdAt(index: number): number | undefined {
    const i = index >>> 0;
    return i < this.ids.length ? this.ids[i] || undefined : undefined;
  }

  override updateElem(keyAddr: number, valueAddr: number, flags: number, cpu: number): number {
    const index = readU32(this.arena.u8, keyAddr);
    const err = super.updateElem(keyAddr, valueAddr, flags, cpu);
    if (err === 0) this.ids[index] = this.slotAt(index);
    return err;
  }

  override deleteElem(keyAddr: number): number {
    const index = readU32(this.arena.u8, keyAddr);
    const err = super.deleteElem(keyAddr);
    if (err === 0) this.ids[index] = 0;
    return err;
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
