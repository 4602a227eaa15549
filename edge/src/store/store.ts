import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AlarmEvent, AlarmEventInput, ReadingInput, RecordOf, Stream } from '@wardgate/shared';
import Sqlite from 'better-sqlite3';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.ts';

const READINGS_PER_STATEMENT = 20;

const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url));

/** The seqs a committed append received: firstSeq..lastSeq (empty when lastSeq < firstSeq). */
export interface SeqRange {
  firstSeq: number;
  lastSeq: number;
}

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
const PAGE_CACHE_KIB = 4096;

export class EdgeStore extends EventEmitter<StoreEvents> {
  readonly file: string;
  readonly db: BetterSQLite3Database<typeof schema>;
  /** The raw connection, for pragmas and tests; records go through the methods. */
  readonly sqlite: Sqlite.Database;
  private readonly cursors = new Map<Stream, StreamCursor>();
  private readonly insertReadingRow: Sqlite.Statement;
  private readonly insertReadingRows: Sqlite.Statement;
  private readonly insertAlarm;
  private readonly saveLastSeq;

  constructor(file: string) {
    super();
    this.file = file;
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.sqlite = new Sqlite(file);
    // Lets a low-disk prune hand pages back to the file system (takes effect on a new file,
    // so it comes before anything is written).
    this.sqlite.pragma('auto_vacuum = INCREMENTAL');
    this.sqlite.pragma('journal_mode = WAL');
    this.sqlite.pragma('synchronous = FULL');
    this.sqlite.pragma('busy_timeout = 5000');
    // better-sqlite3 builds SQLite with a 16 MB page cache, which fills as the store grows: an
    // eighth of the appliance's 120 MB budget. Appends touch only the right edge of each b-tree,
    // so 4 MB holds the working set (the store benchmark runs with this cache).
    this.sqlite.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
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
    const readingRow = '(?,?,?,?,?,?,?,?,?)';
    const insertReadingsSql = (rows: number) =>
      `INSERT INTO readings (seq, device_id, bed_id, parameter, value, unit, device_time, gateway_time, quality) VALUES ${Array(rows).fill(readingRow).join(',')}`;
    this.insertReadingRow = this.sqlite.prepare(insertReadingsSql(1));
    this.insertReadingRows = this.sqlite.prepare(insertReadingsSql(READINGS_PER_STATEMENT));
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

  /** Stores readings in one transaction; returns their seqs once committed. */
  appendReadings(inputs: readonly ReadingInput[]): SeqRange {
    return this.append('readings', inputs.length, (firstSeq) => {
      // The hot path: rows go in as multi-row statements (several times faster than row by row).
      const args: unknown[] = [];
      let i = 0;
      for (; i + READINGS_PER_STATEMENT <= inputs.length; i += READINGS_PER_STATEMENT) {
        args.length = 0;
        for (let j = i; j < i + READINGS_PER_STATEMENT; j++)
          pushReading(args, inputs[j], firstSeq + j);
        this.insertReadingRows.run(args);
      }
      for (; i < inputs.length; i++)
        this.insertReadingRow.run(pushReading([], inputs[i], firstSeq + i));
    });
  }

  appendAlarmEvents(inputs: readonly AlarmEventInput[]): AlarmEvent[] {
    const { firstSeq } = this.append('alarms', inputs.length, (first) => {
      for (const [i, event] of inputs.entries())
        this.insertAlarm.run({
          ...event,
          seq: first + i,
          parameter: event.parameter ?? null,
          value: event.value ?? null,
          limit: event.limit ?? null,
          actor: event.actor ?? null,
          message: event.message ?? null,
        });
    });
    return inputs.map((event, i) => ({ ...event, seq: firstSeq + i }));
  }

  /** Takes the next `count` seqs of the stream and runs `insertAll` with them in one transaction. */
  private append(stream: Stream, count: number, insertAll: (firstSeq: number) => void): SeqRange {
    const cursor = this.cursors.get(stream) as StreamCursor;
    const range = { firstSeq: cursor.lastSeq + 1, lastSeq: cursor.lastSeq + count };
    if (count === 0) return range;
    this.sqlite.transaction(() => {
      insertAll(range.firstSeq);
      this.saveLastSeq.run({ lastSeq: range.lastSeq, stream });
    })();
    cursor.lastSeq = range.lastSeq;
    this.emit('appended', stream, range.lastSeq);
    return range;
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

  /**
   * When the disk runs low: deletes up to `limit` of the oldest acked readings and returns their
   * pages to the file system. Unacked readings and alarm events are never touched.
   */
  pruneOldestAckedReadings(limit: number): number {
    const acked = (this.cursors.get('readings') as StreamCursor).ackedUpTo;
    const pruned = this.sqlite
      .prepare(
        'DELETE FROM readings WHERE seq IN (SELECT seq FROM readings WHERE seq <= ? ORDER BY seq LIMIT ?)',
      )
      .run(acked, limit).changes;
    if (pruned > 0) this.sqlite.pragma('incremental_vacuum');
    return pruned;
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

function pushReading(args: unknown[], r: ReadingInput, seq: number): unknown[] {
  args.push(
    seq,
    r.deviceId,
    r.bedId,
    r.parameter,
    r.value,
    r.unit,
    r.deviceTime,
    r.gatewayTime,
    r.quality,
  );
  return args;
}

/** SQLite NULLs become absent optional fields, as the AlarmEvent schema has them. */
function withoutNulls<T extends Record<string, unknown>>(row: T): T {
  for (const key of Object.keys(row)) if (row[key] === null) delete row[key];
  return row;
}
