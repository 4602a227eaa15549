import { sql } from 'drizzle-orm';
import { PgTransaction } from 'drizzle-orm/pg-core';
import type { Db } from '../../db/database.ts';
import { rowsOf } from '../../db/results.ts';

/** A new resource version, as fhir_write takes it. */
export interface NewVersion {
  type: string;
  id: string;
  version: number;
  lastUpdated: number;
  deleted: boolean;
  method: string;
  /** The sealed resource (crypto/fhir-content.ts) and its index rows: the batch is one JSON document. */
  content: string;
  index: object;
}

/**
 * Most creates written by one statement, and statements in flight at once. Small batches keep
 * two in flight under load: the database writes one while the requests of the other are
 * validated, instead of each waiting for the other (16 measured best at 32 concurrent clients).
 */
const MAX_BATCH = 16;
const MAX_FLUSHES = 4;

/**
 * Group commit for creates: the creates that arrive while others are being written go to the
 * database together, one fhir_write_many statement (one round trip, one commit) for up to 16.
 * Each caller still gets its own answer only after its row is committed. A batch that fails is
 * retried one create at a time, so one bad create cannot fail the others.
 */
export class CreateBatcher {
  private readonly db: Db;
  private queue: {
    version: NewVersion;
    done: (written: boolean) => void;
    fail: (e: unknown) => void;
  }[] = [];
  private flushing = 0;

  constructor(db: Db) {
    this.db = db;
  }

  write(version: NewVersion): Promise<boolean> {
    return new Promise((done, fail) => {
      this.queue.push({ version, done, fail });
      if (this.flushing < MAX_FLUSHES) setImmediate(() => this.flush());
    });
  }

  private async flush(): Promise<void> {
    if (this.queue.length === 0 || this.flushing >= MAX_FLUSHES) return;
    const batch = this.queue.splice(0, MAX_BATCH);
    this.flushing++;
    try {
      const written = await writeMany(
        this.db,
        batch.map((b) => b.version),
      ).catch(() => undefined);
      if (written) for (const [i, b] of batch.entries()) b.done(written[i]);
      else
        for (const b of batch)
          await writeMany(this.db, [b.version]).then(([w]) => b.done(w), b.fail);
    } finally {
      this.flushing--;
      if (this.queue.length > 0) setImmediate(() => this.flush());
    }
  }
}

async function writeMany(db: Db, versions: NewVersion[]): Promise<boolean[]> {
  const result = await db.execute(
    sql`select written from fhir_write_many(${JSON.stringify(versions)}::jsonb, true) order by ord`,
  );
  return rowsOf<{ written: boolean }>(result).map((r) => r.written === true);
}

const batchers = new WeakMap<Db, CreateBatcher>();

/** The shared batcher of a database; none inside a transaction (it must write on its own connection). */
export function createBatcherFor(db: Db): CreateBatcher | undefined {
  if (db instanceof PgTransaction) return undefined;
  let batcher = batchers.get(db);
  if (!batcher) {
    batcher = new CreateBatcher(db);
    batchers.set(db, batcher);
  }
  return batcher;
}
