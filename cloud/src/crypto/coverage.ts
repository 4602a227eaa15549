import { sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { rowsOf } from '../db/results.ts';
import { keyRingOf } from './db-key-ring.ts';
import { personIndexedParams } from './phi-index.ts';
import { SEALED_TEXT_COLUMNS } from './sealed-text.ts';

/** One column holding PHI: how many values it has, sealed (by key version) and in clear. */
export interface ColumnCoverage {
  table: string;
  column: string;
  /** Values present (nulls, e.g. deleted resource versions, are not counted). */
  total: number;
  sealed: number;
  clear: number;
  /** Sealed values by the key version that sealed them. */
  byVersion: Record<string, number>;
}

export interface EncryptionCoverage {
  /** ok: every value sealed with the current key and no person search value in clear. */
  status: 'ok' | 'incomplete';
  message: string;
  currentVersion: number;
  columns: ColumnCoverage[];
  /** Search index rows of a person-identifying parameter still in clear (before encryption). */
  clearPersonIndexRows: number;
}

/** The FHIR content columns: jsonb, a sealed value is a JSON string. */
export const CONTENT_COLUMNS = ['fhir_resources', 'fhir_history'] as const;

const VERSION_KEY = (value: ReturnType<typeof sql>) =>
  sql`case when ${value} like 'wg1.%' then split_part(${value}, '.', 2) else 'clear' end`;

/**
 * Encryption at rest, column by column (the compliance report shows it; `keys status` prints it).
 * A full scan of each column: a report, not a request path.
 */
export async function encryptionCoverage(db: Db): Promise<EncryptionCoverage> {
  const currentVersion = keyRingOf(db).currentVersion;
  const columns: ColumnCoverage[] = [];
  for (const table of CONTENT_COLUMNS) {
    // A JSON object is content from before encryption; a string is a sealed value.
    const key = sql`case when jsonb_typeof(content) = 'string' then ${VERSION_KEY(sql`(content #>> '{}')`)} else 'clear' end`;
    columns.push(
      tally(
        table,
        'content',
        await db.execute(
          sql`select ${key} as k, count(*)::int as n from ${sql.raw(table)} where content is not null group by 1`,
        ),
      ),
    );
  }
  for (const c of SEALED_TEXT_COLUMNS) {
    const column = sql.raw(c.column);
    columns.push(
      tally(
        c.table,
        c.column,
        await db.execute(
          sql`select ${VERSION_KEY(sql`${column}`)} as k, count(*)::int as n from ${sql.raw(c.table)} where ${column} is not null group by 1`,
        ),
      ),
    );
  }
  const clearPersonIndexRows = await countClearPersonIndexRows(db);
  const clear = columns.reduce((sum, c) => sum + c.clear, 0);
  const older = columns.reduce(
    (sum, c) =>
      sum +
      Object.entries(c.byVersion)
        .filter(([v]) => Number(v) !== currentVersion)
        .reduce((s, [, n]) => s + n, 0),
    0,
  );
  const complete = clear === 0 && older === 0 && clearPersonIndexRows === 0;
  const left = [
    clear > 0 && `${clear} PHI value(s) in clear`,
    older > 0 && `${older} value(s) sealed with an older key version`,
    clearPersonIndexRows > 0 && `${clearPersonIndexRows} person search index row(s) in clear`,
  ].filter(Boolean);
  return {
    status: complete ? 'ok' : 'incomplete',
    message: complete
      ? `every PHI value is sealed with key version ${currentVersion}`
      : `${left.join(', ')} (the background re-encryption seals them)`,
    currentVersion,
    columns,
    clearPersonIndexRows,
  };
}

function tally(table: string, column: string, result: unknown): ColumnCoverage {
  const byVersion: Record<string, number> = {};
  let clear = 0;
  for (const { k, n } of rowsOf<{ k: string; n: number }>(result)) {
    if (k === 'clear' || !/^\d+$/.test(k)) clear += Number(n);
    else byVersion[k] = (byVersion[k] ?? 0) + Number(n);
  }
  const sealed = Object.values(byVersion).reduce((a, b) => a + b, 0);
  return { table, column, total: sealed + clear, sealed, clear, byVersion };
}

/** String and date index rows of person-identifying parameters: written before blind indexes. */
async function countClearPersonIndexRows(db: Db): Promise<number> {
  let total = 0;
  for (const [table, params] of Object.entries(personIndexedParams())) {
    const result = await db.execute(sql`
      select count(*)::int as n from ${sql.raw(table)}
      where resource_type in ('Patient', 'Person', 'RelatedPerson')
        and param in (${sql.join(
          params.map((p) => sql`${p}`),
          sql`, `,
        )})`);
    total += Number(rowsOf<{ n: number }>(result)[0].n);
  }
  return total;
}
