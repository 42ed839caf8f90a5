/**
 * The kernel's queue and stack maps (kernel/bpf/queue_stack_maps.c): a ring of
 * max_entries + 1 value slots in the arena, head and tail indices. Keys are empty (key_size 0);
 * programs use push / pop / peek, the user's update is a push and its lookup a peek, as the
 * bpf() syscall does for these types. A push onto a full map is -E2BIG, unless BPF_EXIST, which
 * overwrites the oldest element (for a stack too). lookup / update / delete / get_next_key
 * with keys are refused (-EINVAL; a program's lookup gets NULL).
 * QueueMap (queue.ts) pops the oldest element, StackMap (stack.ts) the newest.
 */
import { BPF_EXIST, BPF_NOEXIST } from '../uapi/bpf.js';
import type { MapSpec } from '../spec/types.js';
import type { Region } from '../vm/arena.js';
import { NO_PROGRAM_ACCESS } from './common.js';
import { BpfMap, type MapHost, type UserRefusals } from './map.js';
import { ERRNO } from '../uapi/errno.js';
import { ACCESS_MASK, KMALLOC_MAX_SIZE, type MapSpecCheck } from './alloc-check.js';
import { BPF_F_NUMA_NODE } from '../uapi/bpf.js';

const QUEUE_STACK_REFUSALS: UserRefusals = {
  get_next_key: { errno: ERRNO.EINVAL, why: 'queues and stacks have no keys' },
  delete: { errno: ERRNO.EINVAL, why: 'queues and stacks have no keys' },
};

export abstract class QueueStackMap extends BpfMap {
  /** queue_stack_map_alloc_check. */
  static override checkSpec(check: MapSpecCheck): void {
    check.needEntries();
    check.needKey(0);
    check.needValue();
    check.onlyFlags(BPF_F_NUMA_NODE | ACCESS_MASK);
    check.accessOk();
    if (check.valueSize > KMALLOC_MAX_SIZE) check.fail('E2BIG', `value_size ${check.valueSize} is too large`);
  }

  readonly elements: Region;
  /** Slots in the ring: max_entries + 1 (one always stays empty). */
  protected readonly size: number;
  protected head = 0;
  protected tail = 0;

  constructor(host: MapHost, spec: MapSpec, id: number) {
    super(host, spec, id);
    this.size = spec.maxEntries + 1;
    this.elements = this.arena.alloc(this.size * spec.valueSize, 'map', `${spec.name} elements`, NO_PROGRAM_ACCESS);
  }

  /** The slot pop / peek takes, -1 when empty. */
  protected abstract nextOut(): number;
  /** Remove the element in slot `slot` (the one nextOut gave). */
  protected abstract take(slot: number): void;
  /** Slots from the one pop takes first to the last. */
  protected abstract popOrder(): number[];

  get length(): number {
    return (this.head - this.tail + this.size) % this.size;
  }

  private slotAddr(slot: number): number {
    return this.elements.start + slot * this.spec.valueSize;
  }

  override pushElem(valueAddr: number, flags: number): number {
    if (flags & BPF_NOEXIST || flags >>> 0 > BPF_EXIST) return -ERRNO.EINVAL;
    if ((this.head + 1) % this.size === this.tail) {
      if (!(flags & BPF_EXIST)) return -ERRNO.E2BIG;
      this.tail = (this.tail + 1) % this.size;
    }
    const dst = this.slotAddr(this.head);
    this.arena.u8.copyWithin(dst, valueAddr, valueAddr + this.spec.valueSize);
    this.head = (this.head + 1) % this.size;
    return 0;
  }

  override popElem(valueAddr: number): number {
    return this.out(valueAddr, true);
  }

  override peekElem(valueAddr: number): number {
    return this.out(valueAddr, false);
  }

  private out(valueAddr: number, remove: boolean): number {
    const slot = this.nextOut();
    if (slot < 0) return -ERRNO.ENOENT;
    const src = this.slotAddr(slot);
    this.arena.u8.copyWithin(valueAddr, src, src + this.spec.valueSize);
    if (remove) this.take(slot);
    return 0;
  }


  protected override get refusals(): UserRefusals {
    return QUEUE_STACK_REFUSALS;
  }

  /** The syscall's lookup on a queue or stack is a peek. */
  protected override userLookup(): Uint8Array | undefined {
    return this.peek();
  }

  /** The syscall's update on a queue or stack is a push. */
  protected override userUpdate(key: Uint8Array, value: Uint8Array, flags: number): void {
    void key;
    this.push(value, flags);
  }


  /** The elements in the order pop would take them, with empty keys; nothing is removed. */
  override *entries(): Generator<[Uint8Array, Uint8Array]> {
    for (const slot of this.popOrder()) yield [new Uint8Array(0), this.copyOut(this.slotAddr(slot), this.spec.valueSize)];
  }

  override close(): void {
    this.arena.free(this.elements);
    super.close();
  }
}
