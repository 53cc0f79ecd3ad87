/**
 * A counting semaphore with two priorities. p-limit has one FIFO queue; here small requests
 * (HEADs, manifests, token fetches) must overtake queued blob transfers, and blob transfers may
 * never take the last slot, so metadata work is not starved behind large layers.
 */
export type Priority = "small" | "bulk";

export class PrioritySemaphore {
  private active = 0;
  private activeBulk = 0;
  private readonly small: (() => void)[] = [];
  private readonly bulk: (() => void)[] = [];
  readonly capacity: number;
  readonly bulkCapacity: number;

  constructor(capacity: number) {
    this.capacity = Math.max(1, capacity);
    this.bulkCapacity = this.capacity > 1 ? this.capacity - 1 : 1;
  }

  get inFlight(): number {
    return this.active;
  }

  async run<T>(priority: Priority, task: () => Promise<T>): Promise<T> {
    await this.acquire(priority);
    try {
      return await task();
    } finally {
      this.release(priority);
    }
  }

  acquire(priority: Priority): Promise<void> {
    if (this.canStart(priority)) {
      this.take(priority);
      return Promise.resolve();
    }
    return new Promise((resolve) => (priority === "small" ? this.small : this.bulk).push(() => {
      this.take(priority);
      resolve();
    }));
  }

  private canStart(priority: Priority): boolean {
    if (this.active >= this.capacity) return false;
    return priority === "small" || this.activeBulk < this.bulkCapacity;
  }

  private take(priority: Priority): void {
    this.active++;
    if (priority === "bulk") this.activeBulk++;
  }

  release(priority: Priority): void {
    this.active--;
    if (priority === "bulk") this.activeBulk--;
    while (this.active < this.capacity) {
      if (this.small.length > 0) {
        this.small.shift()?.();
      } else if (this.bulk.length > 0 && this.activeBulk < this.bulkCapacity) {
        this.bulk.shift()?.();
      } else {
        break;
      }
    }
  }
}
