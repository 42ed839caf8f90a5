/** BPF_MAP_TYPE_QUEUE: first in, first out (queue-stack.ts). */
import { QueueStackMap } from './queue-stack.js';

export class QueueMap extends QueueStackMap {
  protected nextOut(): number {
    return this.head === this.tail ? -1 : this.tail;
  }

  protected take(): void {
    this.tail = (this.tail + 1) % this.size;
  }

  protected popOrder(): number[] {
    const slots: number[] = [];
    for (let s = this.tail; s !== this.head; s = (s + 1) % this.size) slots.push(s);
    return slots;
  }
}
