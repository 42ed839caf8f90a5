/** BPF_MAP_TYPE_STACK: last in, first out (queue-stack.ts). */
import { QueueStackMap } from './queue-stack.js';

export class StackMap extends QueueStackMap {
  protected nextOut(): number {
    if (this.head === this.tail) return -1;
    return this.head === 0 ? this.size - 1 : this.head - 1;
  }

  protected take(slot: number): void {
    this.head = slot;
  }

  protected popOrder(): number[] {
    const slots: number[] = [];
    for (let s = this.head; s !== this.tail; ) {
      s = s === 0 ? this.size - 1 : s - 1;
      slots.push(s);
    }
    return slots;
  }
}
