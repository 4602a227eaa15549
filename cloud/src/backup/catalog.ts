import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { is, sql } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import type { Db } from '../db/database.ts';
import { rowsOf } from '../db/results.ts';
import * as schema from '../db/schema.ts';
import { BackupError } from './errors.ts';
import type { SchemaLevel, SequenceState, TextRow } from './format.ts';

export interface ColumnInfo {
  name: string;
  /** format_type(): what a text value is cast to on restore, e.g. `bigint[]`, `jsonb`. */
  type: string;
  /** pg_attribute.attidentity: 'a' (GENERATED ALWAYS) needs OVERRIDING SYSTEM VALUE. */
  identity: string;
}

export interface TableInfo {
  name: string;
  columns: ColumnInfo[];
}

const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url));

/** The tables the drizzle schema declares (the application's model of the database). */
export function schemaTableNames(): string[] {
  return Object.values(schema)
    .filter((value) => is(value, PgTable))
    .map((table) => getTableConfig(table as PgTable).name)
    .sort();
}

/**
 * Every ordinary table in the public schema, from the catalog, with its stored columns (generated
 * ones are left out: they are recomputed). Taken from the database rather than a list so that a
 * table a migration adds is backed up without anyone remembering to add it; every table of the
 * drizzle schema must be among them.
 */
export async function applicationTables(db: Db): Promise<TableInfo[]> {
  const rows = rowsOf<{ table: string; column: string; type: string; identity: string }>(
    await db.execute(sql`
      select c.relname as "table", a.attname as "column",
             format_type(a.atttypid, a.atttypmod) as "type", a.attidentity::text as "identity"
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      join pg_attribute a on a.attrelid = c.oid
      where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
        and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
      order by c.relname, a.attnum`),
  );
  const tables: TableInfo[] = [];
  for (const row of rows) {
    let table = tables.at(-1);
    if (table?.name !== row.table) {
      table = { name: row.table, columns: [] };
      tables.push(table);
    }
    table.columns.push({ name: row.column, type: row.type, identity: row.identity });
  }
  const present = new Set(tables.map((t) => t.name));
  const missing = schemaTableNames().filter((name) => !present.has(name));
  if (missing.length > 0) {
    throw new BackupError(
      `the database lacks schema tables ${missing.join(', ')} (migrations not applied?)`,
    );
  }
  return tables;
}

/** Sequences in the public schema (bigserial columns) and where they stand. */
export async function sequenceStates(db: Db): Promise<SequenceState[]> {
  const names = rowsOf<{ name: string }>(
    await db.execute(sql`
      select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'S' order by c.relname`),
  );
  const states: SequenceState[] = [];
  for (const { name } of names) {
    const [state] = rowsOf<{ lastValue: string; isCalled: boolean }>(
      await db.execute(
        sql`select last_value::text as "lastValue", is_called as "isCalled" from ${sql.identifier(name)}`,
      ),
    );
    states.push({ name, lastValue: state.lastValue, isCalled: state.isCalled });
  }
  return states;
}

/** The table and column a sequence belongs to (a serial column's default), if any. */
export async function sequenceOwners(
  db: Db,
): Promise<Map<string, { table: string; column: string }>> {
  const rows = rowsOf<{ sequence: string; table: string; column: string }>(
    await db.execute(sql`
      select s.relname as "sequence", t.relname as "table", a.attname as "column"
      from pg_class s
      join pg_namespace n on n.oid = s.relnamespace
      join pg_depend d on d.objid = s.oid and d.classid = 'pg_class'::regclass
        and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
      join pg_class t on t.oid = d.refobjid
      join pg_attribute a on a.attrelid = t.oid and a.attnum = d.refobjsubid
      where n.nspname = 'public' and s.relkind = 'S'`),
  );
  return new Map(rows.map((r) => [r.sequence, { table: r.table, column: r.column }]));
}

interface JournalEntry {
  tag: string;
}

/** This build's migrations: tag and the SHA-256 drizzle records for each, in order. */
function codeMigrations(): { tag: string; hash: string }[] {
  const journal = JSON.parse(readFileSync(`${migrationsFolder}/meta/_journal.json`, 'utf8')) as {
    entries: JournalEntry[];
  };
  return journal.entries.map(({ tag }) => ({
    tag,
    hash: createHash('sha256')
      .update(readFileSync(`${migrationsFolder}/${tag}.sql`).toString())
      .digest('hex'),
  }));
}

/** The schema level this build migrates a database to. */
export function codeSchemaLevel(): SchemaLevel {
  const migrations = codeMigrations();
  const last = migrations.at(-1);
  return {
    migrations: migrations.length,
    lastTag: last?.tag ?? null,
    lastHash: last?.hash ?? null,
  };
}

/** The schema level of a database: the drizzle migrations applied to it. */
export async function databaseSchemaLevel(db: Db): Promise<SchemaLevel> {
  const [present] = rowsOf<{ present: boolean }>(
    await db.execute(
      sql`select to_regclass('drizzle.__drizzle_migrations') is not null as present`,
    ),
  );
  if (!present.present) return { migrations: 0, lastTag: null, lastHash: null };
  const [level] = rowsOf<{ migrations: number | string; lastHash: string | null }>(
    await db.execute(sql`
      select (select count(*) from drizzle.__drizzle_migrations) as migrations,
             (select hash from drizzle.__drizzle_migrations
              order by created_at desc, id desc limit 1) as "lastHash"`),
  );
  const lastHash = level.lastHash ?? null;
  const lastTag = codeMigrations().find((m) => m.hash === lastHash)?.tag ?? null;
  return { migrations: Number(level.migrations), lastTag, lastHash };
}

export function sameSchemaLevel(a: SchemaLevel, b: SchemaLevel): boolean {
  return a.migrations === b.migrations && a.lastHash === b.lastHash;
}

export function describeSchemaLevel(level: SchemaLevel): string {
  return `${level.migrations} migrations, last ${level.lastTag ?? level.lastHash?.slice(0, 12) ?? 'none'}`;
}

/**
 * Session settings under which every type's text form is exact and the same on every server:
 * shortest round-trip floats, hex bytea, ISO dates in UTC. Run first in a transaction (SET LOCAL).
 */
export async function useExactTextForms(db: Db): Promise<void> {
  await db.execute(sql`set local extra_float_digits = 3`);
  await db.execute(sql`set local bytea_output = 'hex'`);
  await db.execute(sql`set local datestyle = 'ISO, YMD'`);
  await db.execute(sql`set local intervalstyle = 'postgres'`);
  await db.execute(sql`set local timezone = 'UTC'`);
}

/**
 * A table's rows, every column in its text form, in batches, through a cursor: one scan, at most
 * one batch in memory. Must run inside a transaction (the cursor lives until its end).
 */
export async function* readTableRows(
  db: Db,
  table: TableInfo,
  batchSize = 1000,
): AsyncGenerator<TextRow[]> {
  const names = table.columns.map((c) => c.name);
  const select = names.map((name, i) => sql`${sql.identifier(name)}::text as ${sql.raw(`c${i}`)}`);
  await db.execute(
    sql`declare wardgate_backup_rows no scroll cursor for select ${sql.join(select, sql`, `)} from ${sql.identifier(table.name)}`,
  );
  try {
    const keys = names.map((_, i) => `c${i}`);
    for (;;) {
      const rows = rowsOf<Record<string, string | null>>(
        await db.execute(sql.raw(`fetch forward ${batchSize} from wardgate_backup_rows`)),
      );
      if (rows.length === 0) return;
      yield rows.map((row) => keys.map((key) => row[key]));
      if (rows.length < batchSize) return;
    }
  } finally {
    // After a failed statement the transaction is aborted and the cursor gone with it.
    await db.execute(sql`close wardgate_backup_rows`).catch(() => {});
  }
}
