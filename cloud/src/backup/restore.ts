import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { rowsOf } from '../db/results.ts';
import {
  applicationTables,
  databaseSchemaLevel,
  describeSchemaLevel,
  sameSchemaLevel,
  sequenceOwners,
  type TableInfo,
  useExactTextForms,
} from './catalog.ts';
import type { TableSummary } from './create-backup.ts';
import { BackupError, BackupFileError, RestoreRefusedError } from './errors.ts';
import {
  type BackupHeader,
  type BackupReading,
  type BackupRecord,
  openBackup,
  type SequenceState,
  type TableLayout,
} from './format.ts';
import { TableDigest } from './table-digest.ts';

export interface RestoreResult {
  header: BackupHeader;
  /** Per table: the rows and digest the backup recorded (checked against what was inserted). */
  tables: TableSummary[];
  sequences: SequenceState[];
  rows: number;
  bytes: number;
  sha256: string;
}

/**
 * Restores a backup into `target`, a database migrated to the same schema level that holds no
 * application data (refused otherwise, before anything is written). Everything goes in in one
 * transaction: a damaged file, a wrong key or any failed insert leaves the target as it was.
 * Sequences are set where the source's stood (and past every restored id).
 */
export async function restoreBackup(
  file: string,
  key: Uint8Array,
  target: Db,
): Promise<RestoreResult> {
  return restoreReading(await openBackup(file, key), file, target);
}

/** restoreBackup of a backup already opened (and so its header authenticated). */
export async function restoreReading(
  reading: BackupReading,
  file: string,
  target: Db,
): Promise<RestoreResult> {
  const { header, records } = reading;
  try {
    const level = await databaseSchemaLevel(target);
    if (!sameSchemaLevel(level, header.schema)) {
      throw new RestoreRefusedError(
        `the backup is at schema level ${describeSchemaLevel(header.schema)}; the target database is at ${describeSchemaLevel(level)}. Restore with the wardgate version that made the backup.`,
      );
    }
    const restored = await target.transaction(async (tx) => {
      const db = tx as unknown as Db;
      await useExactTextForms(db);
      const tables = await applicationTables(db);
      await refuseUnlessEmpty(db, tables);
      return loadRecords(db, tables, records, file);
    });
    return { header, ...restored, ...reading.fileDigest() };
  } finally {
    await records.return(undefined);
    await reading.close();
  }
}

async function refuseUnlessEmpty(db: Db, tables: TableInfo[]): Promise<void> {
  for (const table of tables) {
    const [row] = rowsOf<{ any: boolean }>(
      await db.execute(sql`select exists (select 1 from ${sql.identifier(table.name)}) as "any"`),
    );
    if (row.any) {
      throw new RestoreRefusedError(
        `the target database already holds data (table ${table.name} has rows); restore only into a new, empty database`,
      );
    }
  }
}

interface TableLoader {
  layout: TableLayout;
  insert: (rowsJson: string) => SQL;
  digest: TableDigest;
  ended: boolean;
}

function loaderFor(layout: TableLayout, info: TableInfo | undefined): TableLoader {
  if (!info) {
    throw new BackupFileError(`the backup has table ${layout.name}, which the target lacks`);
  }
  const byName = new Map(info.columns.map((c) => [c.name, c]));
  const missing = layout.columns.filter((name) => !byName.has(name));
  const extra = info.columns.filter((c) => !layout.columns.includes(c.name));
  if (missing.length > 0 || extra.length > 0) {
    throw new BackupFileError(
      `table ${layout.name} differs between backup and target (columns ${[...missing, ...extra.map((c) => c.name)].join(', ')})`,
    );
  }
  const columns = layout.columns.map((name) => byName.get(name)!);
  const target = sql`insert into ${sql.identifier(layout.name)} (${sql.join(
    columns.map((c) => sql.identifier(c.name)),
    sql`, `,
  )})`;
  const overriding = columns.some((c) => c.identity === 'a')
    ? sql` overriding system value`
    : sql``;
  // Each value travels as its text form and goes through the column type's input function.
  const values = sql.join(
    columns.map((c, i) => sql`(r ->> ${sql.raw(String(i))})::${sql.raw(c.type)}`),
    sql`, `,
  );
  return {
    layout,
    insert: (rowsJson) =>
      sql`${target}${overriding} select ${values} from jsonb_array_elements(${rowsJson}::jsonb) as e(r)`,
    digest: new TableDigest(),
    ended: false,
  };
}

async function loadRecords(
  db: Db,
  tables: TableInfo[],
  records: AsyncGenerator<BackupRecord>,
  file: string,
): Promise<Omit<RestoreResult, 'header' | 'bytes' | 'sha256'>> {
  const infoByName = new Map(tables.map((t) => [t.name, t]));
  let loaders: TableLoader[] | undefined;
  const summaries: TableSummary[] = [];
  let sequences: SequenceState[] = [];
  const damaged = (what: string) => new BackupFileError(`${file} is inconsistent: ${what}`);
  const loaderOf = (index: number) => {
    const loader = loaders?.[index];
    if (!loader || loader.ended) throw damaged(`rows for table #${index} out of place`);
    return loader;
  };
  for await (const record of records) {
    switch (record.type) {
      case 'tables': {
        if (loaders) throw damaged('two table lists');
        loaders = record.tables.map((layout) => loaderFor(layout, infoByName.get(layout.name)));
        const inBackup = new Set(record.tables.map((t) => t.name));
        const notInBackup = tables.filter((t) => !inBackup.has(t.name)).map((t) => t.name);
        if (notInBackup.length > 0) {
          throw new BackupFileError(`the backup lacks tables ${notInBackup.join(', ')}`);
        }
        break;
      }
      case 'rows': {
        const loader = loaderOf(record.table);
        for (const row of record.rows) {
          if (row.length !== loader.layout.columns.length)
            throw damaged('a row of the wrong width');
          loader.digest.add(row);
        }
        await db.execute(loader.insert(JSON.stringify(record.rows)));
        break;
      }
      case 'table-end': {
        const loader = loaderOf(record.table);
        loader.ended = true;
        if (loader.digest.rows !== record.rows || loader.digest.hex() !== record.digest) {
          throw damaged(`table ${loader.layout.name} does not match its recorded digest`);
        }
        summaries.push({ name: loader.layout.name, rows: record.rows, digest: record.digest });
        break;
      }
      case 'sequences':
        sequences = record.sequences;
        await restoreSequences(db, sequences);
        break;
      case 'end': {
        const rows = summaries.reduce((sum, t) => sum + t.rows, 0);
        if (!loaders || loaders.some((l) => !l.ended) || record.rows !== rows) {
          throw damaged('the end record does not match the tables');
        }
        return { tables: summaries, sequences, rows };
      }
      default:
        throw damaged(`unknown record type ${(record as { type: string }).type}`);
    }
  }
  throw new BackupError(`${file} ended without its end record`);
}

/** Each sequence where the source had it, and never at or below an id already restored. */
async function restoreSequences(db: Db, sequences: SequenceState[]): Promise<void> {
  const owners = await sequenceOwners(db);
  for (const state of sequences) {
    const name = sql.identifier(state.name);
    const [found] = rowsOf<{ present: boolean }>(
      await db.execute(sql`select to_regclass(${`public."${state.name}"`}) is not null as present`),
    );
    if (!found.present) throw new BackupFileError(`the target lacks sequence ${state.name}`);
    await db.execute(
      sql`select setval(${`public."${state.name}"`}::regclass, ${state.lastValue}::bigint, ${state.isCalled})`,
    );
    const owner = owners.get(state.name);
    if (!owner) continue;
    // Defensive: should a restored id be at or past the recorded position, move past it.
    await db.execute(sql`
      select setval(${`public."${state.name}"`}::regclass, m)
      from (select max(${sql.identifier(owner.column)})::bigint as m from ${sql.identifier(owner.table)}) x
      where m is not null and m >= (select case when is_called then last_value + 1 else last_value end from ${name})`);
  }
}
