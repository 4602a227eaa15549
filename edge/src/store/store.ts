import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  AlarmEvent,
  AlarmEventInput,
  Reading,
  ReadingInput,
  RecordOf,
  Stream,
} from '@wardgate/shared';
import Sqlite from 'better-sqlite3';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.ts';

const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url));

export interface StreamCursor {
  lastSeq: number;
  ackedUpTo: number;
  ackedAt: number | null;
}

type StoreEvents = { appended: [stream: Stream, lastSeq: number] };

/**
 * The gateway's durable outbox and history in one SQLite file: WAL with synchronous=FULL, so a
 * call that returned has committed to disk. Every record gets the next seq of its stream inside
 * the same transaction that stores it, and the stream's lastSeq is kept in its own row so a seq
 * is never reused, even after acked rows are pruned.
 */
export class EdgeStore extends EventEmitter<StoreEvents> {
  readonly file: string;
  readonly db: BetterSQLite3Database<typeof schema>;
  private readonly sqlite: Sqlite.Database;
  private readonly cursors = new Map<Stream, StreamCursor>();
  private readonly insertReading;
  private readonly insertAlarm;
  private readonly saveLastSeq;

  constructor(file: string) {
    super();
    this.file = file;
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.sqlite = new Sqlite(file);
    this.sqlite.pragma('journal_mode = WAL');
    this.sqlite.pragma('synchronous = FULL');
    this.sqlite.pragma('busy_timeout = 5000');
    this.db = drizzle(this.sqlite, { schema });
    migrate(this.db, { migrationsFolder });

    for (const stream of ['alarms', 'readings'] as const) {
      this.db
        .insert(schema.streams)
        .values({ stream, lastSeq: 0, ackedUpTo: 0 })
        .onConflictDoNothing()
        .run();
    }
    for (const row of this.db.select().from(schema.streams).all())
      this.cursors.set(row.stream as Stream, {
        lastSeq: row.lastSeq,
        ackedUpTo: row.ackedUpTo,
        ackedAt: row.ackedAt,
      });

    const p = (name: string) => sql.placeholder(name);
    this.insertReading = this.db
      .insert(schema.readings)
      .values({
        seq: p('seq'),
        deviceId: p('deviceId'),
        bedId: p('bedId'),
        parameter: p('parameter'),
        value: p('value'),
        unit: p('unit'),
        deviceTime: p('deviceTime'),
        gatewayTime: p('gatewayTime'),
        quality: p('quality'),
      })
      .prepare();
    this.insertAlarm = this.db
      .insert(schema.alarmEvents)
      .values({
        seq: p('seq'),
        alarmId: p('alarmId'),
        deviceId: p('deviceId'),
        bedId: p('bedId'),
        source: p('source'),
        condition: p('condition'),
        parameter: p('parameter'),
        priority: p('priority'),
        kind: p('kind'),
        transition: p('transition'),
        value: p('value'),
        limit: p('limit'),
        actor: p('actor'),
        message: p('message'),
        time: p('time'),
      })
      .prepare();
    this.saveLastSeq = this.db
      .update(schema.streams)
      .set({ lastSeq: sql`${p('lastSeq')}` })
      .where(eq(schema.streams.stream, p('stream')))
      .prepare();
  }

  cursor(stream: Stream): StreamCursor {
    return { ...(this.cursors.get(stream) as StreamCursor) };
  }

  /** Records stored but not yet acked by the cloud. */
  backlog(stream: Stream): number {
    const c = this.cursors.get(stream) as StreamCursor;
    return c.lastSeq - c.ackedUpTo;
  }

  /** Stores readings in one transaction; returns them with their seq once committed. */
  appendReadings(inputs: readonly ReadingInput[]): Reading[] {
    return this.append('readings', inputs, (record) => this.insertReading.run(record));
  }

  appendAlarmEvents(inputs: readonly AlarmEventInput[]): AlarmEvent[] {
    return this.append('alarms', inputs, (record) =>
      this.insertAlarm.run({
        ...record,
        parameter: record.parameter ?? null,
        value: record.value ?? null,
        limit: record.limit ?? null,
        actor: record.actor ?? null,
        message: record.message ?? null,
      }),
    );
  }

  private append<S extends Stream>(
    stream: S,
    inputs: readonly Omit<RecordOf<S>, 'seq'>[],
    insert: (record: RecordOf<S>) => unknown,
  ): RecordOf<S>[] {
    if (inputs.length === 0) return [];
    const cursor = this.cursors.get(stream) as StreamCursor;
    const records = inputs.map(
      (input, i) => ({ ...input, seq: cursor.lastSeq + i + 1 }) as RecordOf<S>,
    );
    const lastSeq = cursor.lastSeq + inputs.length;
    this.sqlite.transaction(() => {
      for (const record of records) insert(record);
      this.saveLastSeq.run({ lastSeq, stream });
    })();
    cursor.lastSeq = lastSeq;
    this.emit('appended', stream, lastSeq);
    return records;
  }

  /** The next records to send: seq > afterSeq, in order. */
  pending<S extends Stream>(stream: S, afterSeq: number, limit: number): RecordOf<S>[] {
    if (stream === 'readings')
      return this.db
        .select()
        .from(schema.readings)
        .where(gt(schema.readings.seq, afterSeq))
        .orderBy(asc(schema.readings.seq))
        .limit(limit)
        .all() as RecordOf<S>[];
    return this.db
      .select()
      .from(schema.alarmEvents)
      .where(gt(schema.alarmEvents.seq, afterSeq))
      .orderBy(asc(schema.alarmEvents.seq))
      .limit(limit)
      .all()
      .map(withoutNulls) as RecordOf<S>[];
  }

  /**
   * Records the cloud's ack: everything up to `upTo` is committed there. Never moves backwards
   * and never past what this gateway handed out (an ack from a confused cloud is ignored).
   */
  ack(stream: Stream, upTo: number, at = Date.now()): boolean {
    const cursor = this.cursors.get(stream) as StreamCursor;
    if (upTo <= cursor.ackedUpTo || upTo > cursor.lastSeq) return false;
    this.db
      .update(schema.streams)
      .set({ ackedUpTo: upTo, ackedAt: at })
      .where(eq(schema.streams.stream, stream))
      .run();
    cursor.ackedUpTo = upTo;
    cursor.ackedAt = at;
    return true;
  }

  /** Deletes acked readings received before `olderThan`; unacked records are never touched. */
  pruneAckedReadings(olderThan: number): number {
    const acked = (this.cursors.get('readings') as StreamCursor).ackedUpTo;
    return this.db
      .delete(schema.readings)
      .where(
        and(
          sql`${schema.readings.seq} <= ${acked}`,
          sql`${schema.readings.gatewayTime} < ${olderThan}`,
        ),
      )
      .run().changes;
  }

  getSetting<T>(key: string): T | undefined {
    const row = this.db.select().from(schema.settings).where(eq(schema.settings.key, key)).get();
    return row ? (JSON.parse(row.json) as T) : undefined;
  }

  putSetting(key: string, value: unknown): void {
    const json = JSON.stringify(value);
    const updatedAt = Date.now();
    this.db
      .insert(schema.settings)
      .values({ key, json, updatedAt })
      .onConflictDoUpdate({ target: schema.settings.key, set: { json, updatedAt } })
      .run();
  }

  checkpoint(): void {
    this.sqlite.pragma('wal_checkpoint(TRUNCATE)');
  }

  close(): void {
    if (this.sqlite.open) this.sqlite.close();
  }
}

/** SQLite NULLs become absent optional fields, as the AlarmEvent schema has them. */
function withoutNulls<T extends Record<string, unknown>>(row: T): T {
  for (const key of Object.keys(row)) if (row[key] === null) delete row[key];
  return row;
}
