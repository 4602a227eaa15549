import { hostname } from 'node:os';
import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { rowsOf } from '../db/results.ts';
import type { AuditEntry, AuditLog } from './audit-entry.ts';
import { actorColumns, auditEvent, entryProblem } from './audit-event.ts';
import { type ChainedRow, GENESIS_HASH, rowHash } from './chain-hash.ts';

/**
 * The transaction-level advisory lock every appender holds while it extends the chain: one key
 * for the whole audit_log, shared by every cloud process on the database ('wardgate' in ASCII).
 */
const CHAIN_LOCK = sql.raw('8604231434316723301');

/** Most rows one statement inserts (a burst is written in several statements, in order). */
const MAX_BATCH_ROWS = 500;

/** An entry turned into its row, all but the chain fields (seq, prev_hash, hash, the event id). */
type PreparedRow = Omit<ChainedRow, 'seq' | 'prevHash' | 'event'> & {
  event: Record<string, unknown>;
};

interface Pending {
  rows: PreparedRow[];
  /** Wait for the commit to be flushed to disk (PostgreSQL synchronous_commit). */
  durable: boolean;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface ChainHead {
  seq: number;
  hash: string;
}

/**
 * Group commit of the hash chain. Appends that arrive while a write is in flight wait and go
 * into the next write together, so under load one statement (one commit) carries many rows and
 * a lone append costs one round trip.
 *
 * Each write takes the chain lock inside its transaction. The head this process last committed
 * is remembered, so the usual write is one statement (lock + insert, its own transaction); when
 * another process extended the chain meanwhile, that insert hits the primary key on seq and the
 * write is redone the careful way: lock, read the head, chain, insert, commit. Either way two
 * writers can never fork the chain: seq is unique and every row names the hash before it.
 */
export class ChainWriter {
  private readonly db: Db;
  private head: ChainHead | undefined;
  private queue: Pending[] = [];
  private flushing: Promise<void> | undefined;

  constructor(db: Db) {
    this.db = db;
  }

  submit(rows: PreparedRow[], durable = true): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ rows, durable, resolve, reject });
      this.flushing ??= new Promise<void>((done) => setImmediate(done)).then(() => this.drain());
    });
  }

  /** Resolves when every append submitted so far has been written (or failed). */
  async idle(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch: Pending[] = [];
        let size = 0;
        while (
          this.queue.length > 0 &&
          (batch.length === 0 || size + this.queue[0].rows.length <= MAX_BATCH_ROWS)
        ) {
          const next = this.queue.shift() as Pending;
          batch.push(next);
          size += next.rows.length;
        }
        try {
          await this.write(
            batch.flatMap((p) => p.rows),
            batch.some((p) => p.durable),
          );
          for (const p of batch) p.resolve();
        } catch (error) {
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async write(rows: PreparedRow[], durable: boolean): Promise<void> {
    if (this.head) {
      const chained = chain(this.head, rows);
      try {
        await this.db.execute(insertStatement(chained, { lock: true, durable }));
        this.head = headOf(chained);
        return;
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        // Another process appended since: redo with the head read under the lock.
      }
    }
    const chained = await this.db.transaction(async (tx) => {
      if (!durable) await tx.execute(sql`select set_config('synchronous_commit', 'off', true)`);
      await tx.execute(sql`select pg_advisory_xact_lock(${CHAIN_LOCK})`);
      const [head] = rowsOf<{ seq: string | number; hash: string }>(
        await tx.execute(sql`select seq, hash from audit_log order by seq desc limit 1`),
      );
      const start = head
        ? { seq: Number(head.seq), hash: head.hash }
        : { seq: 0, hash: GENESIS_HASH };
      const chained = chain(start, rows);
      await tx.execute(insertStatement(chained, { lock: false, durable: true }));
      return chained;
    });
    this.head = headOf(chained);
  }
}

type Row = ChainedRow & { hash: string };

function chain(head: ChainHead, rows: PreparedRow[]): Row[] {
  let { seq, hash } = head;
  return rows.map((r) => {
    seq += 1;
    const { resourceType, ...rest } = r.event;
    const row: ChainedRow = {
      ...r,
      seq,
      event: { resourceType, id: `audit-${seq}`, ...rest },
      prevHash: hash,
    };
    hash = rowHash(row);
    return { ...row, hash };
  });
}

const headOf = (rows: Row[]): ChainHead => {
  const last = rows[rows.length - 1];
  return { seq: last.seq, hash: last.hash };
};

/**
 * One INSERT of the rows, as one JSON parameter. `lock` takes the chain lock in the same
 * statement; not `durable` makes this statement's commit asynchronous.
 */
function insertStatement(rows: Row[], { lock, durable }: { lock: boolean; durable: boolean }) {
  const json = JSON.stringify(
    rows.map((r) => ({
      seq: r.seq,
      recorded_at: r.recordedAt,
      actor_id: r.actorId,
      actor_role: r.actorRole,
      action: r.action,
      outcome: r.outcome,
      patient_ids: r.patientIds,
      event: r.event,
      prev_hash: r.prevHash,
      hash: r.hash,
    })),
  );
  // Each is a materialized CTE joined to every row (the functions are volatile): run before the
  // first row is inserted, in force until this statement's transaction ends.
  const ctes: SQL[] = [];
  const joined: SQL[] = [];
  if (!durable) {
    ctes.push(
      sql`async_commit as (select set_config('synchronous_commit', 'off', true) as setting)`,
    );
    joined.push(sql`async_commit, `);
  }
  if (lock) {
    ctes.push(
      sql`chain_lock as (select 1 as locked from (select pg_advisory_xact_lock(${CHAIN_LOCK})) l)`,
    );
    joined.push(sql`chain_lock, `);
  }
  const withClause = ctes.length > 0 ? sql`with ${sql.join(ctes, sql`, `)} ` : sql``;
  return sql`${withClause}insert into audit_log (seq, recorded_at, actor_id, actor_role, action, outcome, patient_ids, event, prev_hash, hash)
    select r.seq, r.recorded_at, r.actor_id, r.actor_role, r.action, r.outcome, r.patient_ids, r.event, r.prev_hash, r.hash
    from ${sql.join(joined)}jsonb_to_recordset(${json}::jsonb) as r(seq bigint, recorded_at bigint, actor_id text, actor_role text, action text, outcome text, patient_ids text[], event jsonb, prev_hash text, hash text)
    order by r.seq`;
}

/** PostgreSQL's unique_violation, whether the driver error comes bare or wrapped by drizzle. */
function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; cause?: { code?: string } };
  return e?.code === '23505' || e?.cause?.code === '23505';
}

const writers = new WeakMap<Db, ChainWriter>();

/** The one chain writer of a database in this process (several AuditLogs share it). */
export function chainWriterFor(db: Db): ChainWriter {
  let writer = writers.get(db);
  if (!writer) {
    writer = new ChainWriter(db);
    writers.set(db, writer);
  }
  return writer;
}

export interface AuditLogOptions {
  /** The clock for entries without `at` (tests). */
  now?: () => number;
  /** AuditEvent.source.site: which process wrote the record (default: the host name). */
  site?: string;
  /**
   * PostgreSQL: an append resolves once its commit is flushed to disk (default true). False
   * lets it resolve at commit, before the flush (synchronous_commit off for the audit insert
   * only): about one disk flush less per request, but a crash of the database server can lose
   * the last ~0.6 s of records (a cut tail; the chain stays consistent). No effect on PGlite.
   */
  synchronousCommit?: boolean;
}

export interface ChainedAuditLog extends AuditLog {
  /** Resolves when every append made so far is committed or failed. */
  idle(): Promise<void>;
}

/** jsonb and text cannot hold U+0000: a stray one (e.g. from a query string) must not fail a batch. */
const NUL = /\u0000/g;
const clean = (text: string | undefined) => text?.replace(NUL, '\uFFFD');

function sanitized(entry: AuditEntry): AuditEntry {
  const actor = entry.actor;
  return {
    ...entry,
    actor:
      actor.kind === 'anonymous'
        ? { ...actor, username: clean(actor.username) }
        : actor.kind === 'user'
          ? { ...actor, username: clean(actor.username) as string }
          : actor,
    patientIds: entry.patientIds.map((p) => clean(p) as string),
    entity: clean(entry.entity),
    query: clean(entry.query),
    detail: clean(entry.detail),
    purposeOfUse: clean(entry.purposeOfUse),
    source: entry.source && {
      ip: clean(entry.source.ip ?? undefined) ?? null,
      userAgent: clean(entry.source.userAgent ?? undefined) ?? null,
    },
  };
}

/**
 * The audit trail of `db`: each entry becomes a FHIR AuditEvent in a hash-chained audit_log row.
 * `append` and `appendMany` resolve once the rows are committed; the entries of one
 * `appendMany` are committed together.
 */
export function createAuditLog(db: Db, options: AuditLogOptions = {}): ChainedAuditLog {
  const writer = chainWriterFor(db);
  const now = options.now ?? Date.now;
  const site = options.site ?? hostname();
  const durable = options.synchronousCommit ?? true;
  const prepare = (given: AuditEntry): PreparedRow => {
    const problem = entryProblem(given);
    if (problem) throw new TypeError(`audit: ${problem}`);
    const entry = sanitized(given);
    const recordedAt = entry.at ?? now();
    return {
      recordedAt,
      ...actorColumns(entry.actor),
      action: entry.action,
      outcome: entry.outcome,
      patientIds: [...new Set(entry.patientIds)],
      event: auditEvent(entry, recordedAt, site),
    };
  };
  return {
    async append(entry) {
      await writer.submit([prepare(entry)], durable);
    },
    async appendMany(entries) {
      await writer.submit(entries.map(prepare), durable);
    },
    idle: () => writer.idle(),
  };
}
