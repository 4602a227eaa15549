import type { ReadingInput } from '@wardgate/shared';
import type { EdgeStore, SeqRange } from './store.ts';

export interface ReadingWriterOptions {
  /** Longest a reading waits in memory before its transaction: what a power cut can lose. */
  windowMs?: number;
  /** A batch this large commits at once, without waiting for the window. */
  maxBatch?: number;
  /** Past this many readings held because the disk refuses writes, new ones are refused. */
  maxHeld?: number;
  onError?: (error: Error) => void;
}

/**
 * Coalesces the small batches drivers deliver (one HL7 message, one Modbus poll) into short
 * transactions: one fsync per window instead of one per message. A failed commit keeps the
 * readings and retries on the next window; nothing is dropped silently.
 */
export class ReadingWriter {
  private held: ReadingInput[] = [];
  /** Callers of write() whose readings are held, told when their transaction commits. */
  private waiting: ((committed: boolean) => void)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly windowMs: number;
  private readonly maxBatch: number;
  private readonly maxHeld: number;
  private readonly onError: (error: Error) => void;
  committed = 0;
  transactions = 0;
  failures = 0;
  refused = 0;

  private readonly store: EdgeStore;

  constructor(store: EdgeStore, options: ReadingWriterOptions = {}) {
    this.store = store;
    this.windowMs = options.windowMs ?? 25;
    this.maxBatch = options.maxBatch ?? 5000;
    this.maxHeld = options.maxHeld ?? 200_000;
    this.onError = options.onError ?? (() => {});
  }

  /**
   * Queues readings for the next transaction. Resolves true once they are committed, false at
   * once (and counted) when the writer is full because commits keep failing.
   */
  write(batch: readonly ReadingInput[]): Promise<boolean> {
    if (this.held.length + batch.length > this.maxHeld) {
      this.refused += batch.length;
      return Promise.resolve(false);
    }
    for (const reading of batch) this.held.push(reading);
    const committed = new Promise<boolean>((resolve) => this.waiting.push(resolve));
    if (this.held.length >= this.maxBatch) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.windowMs);
    return committed;
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** Commits everything held now. Returns the seqs stored (null when nothing was committed). */
  flush(): SeqRange | null {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.held.length === 0) return null;
    const batch = this.held;
    try {
      const stored = this.store.appendReadings(batch);
      this.held = [];
      this.committed += batch.length;
      this.transactions++;
      this.settle(true);
      return stored;
    } catch (error) {
      this.failures++;
      this.onError(error as Error);
      this.timer = setTimeout(() => this.flush(), Math.max(this.windowMs, 1000));
      return null;
    }
  }

  /** Commits what is held and stops the timer; call before closing the store. */
  close(): void {
    this.flush();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.settle(false);
  }

  private settle(committed: boolean): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve(committed);
  }
}
