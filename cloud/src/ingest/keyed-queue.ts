/**
 * Per-key FIFO queues drained by one worker per key: items of one key are handled strictly in
 * order, a batch at a time (whatever accumulated while the previous batch ran, up to
 * `maxBatch`); different keys drain concurrently. A key whose waiting items weigh `maxPending`
 * (by `weigh`, e.g. bytes) refuses more.
 */
export class KeyedQueue<T> {
  private readonly queues = new Map<string, { items: T[]; weight: number }>();
  private readonly workers = new Map<string, Promise<void>>();
  private readonly handle: (key: string, batch: T[]) => Promise<void>;
  private readonly maxBatch: number;
  private readonly maxPending: number;
  private readonly weigh: (item: T) => number;

  constructor(options: {
    handle: (key: string, batch: T[]) => Promise<void>;
    maxBatch: number;
    maxPending: number;
    weigh?: (item: T) => number;
  }) {
    this.handle = options.handle;
    this.maxBatch = options.maxBatch;
    this.maxPending = options.maxPending;
    this.weigh = options.weigh ?? (() => 1);
  }

  /** False when the key's queue is full (the item is not queued). */
  push(key: string, item: T): boolean {
    let queue = this.queues.get(key);
    if (!queue) {
      queue = { items: [], weight: 0 };
      this.queues.set(key, queue);
    }
    const weight = this.weigh(item);
    if (queue.items.length > 0 && queue.weight + weight > this.maxPending) return false;
    queue.items.push(item);
    queue.weight += weight;
    if (!this.workers.has(key)) this.workers.set(key, this.drain(key, queue));
    return true;
  }

  /** Resolves once every queued item has been handled. */
  async idle(): Promise<void> {
    while (this.workers.size > 0) await Promise.all(this.workers.values());
  }

  private async drain(key: string, queue: { items: T[]; weight: number }): Promise<void> {
    await Promise.resolve(); // let push() register this worker before it can finish
    while (queue.items.length > 0) {
      const batch = queue.items.splice(0, this.maxBatch);
      for (const item of batch) queue.weight -= this.weigh(item);
      // handle() reports its own failures; a throw here must not stop the key's worker.
      await this.handle(key, batch).catch(() => {});
    }
    // Both in the same tick as the final emptiness check, so a later push starts a new worker.
    this.queues.delete(key);
    this.workers.delete(key);
  }
}
