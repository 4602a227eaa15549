import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/database.ts';
import {
  fhirDateIndex,
  fhirNumberIndex,
  fhirQuantityIndex,
  fhirReferenceIndex,
  fhirStringIndex,
  fhirTokenIndex,
  fhirUriIndex,
} from '../../db/schema.ts';
import { type IndexRows, indexRows } from './extract.ts';

/** The index table of each search parameter type. */
export const INDEX_TABLES = {
  token: fhirTokenIndex,
  string: fhirStringIndex,
  date: fhirDateIndex,
  reference: fhirReferenceIndex,
  quantity: fhirQuantityIndex,
  number: fhirNumberIndex,
  uri: fhirUriIndex,
} as const;

/** Rows per insert statement, well under PostgreSQL's 65,535 bind parameters. */
const CHUNK = 1000;

/**
 * Replaces the index rows of `type/id` with those of `resource` (none for a deletion). Runs in the
 * caller's transaction, so a search never sees a resource without its indexes.
 */
export async function replaceIndexes(
  tx: Pick<Db, 'delete' | 'insert'>,
  type: string,
  id: string,
  resource: { resourceType: string } | null,
): Promise<void> {
  const rows: IndexRows | null = resource ? indexRows(resource) : null;
  for (const [kind, table] of Object.entries(INDEX_TABLES) as [
    keyof IndexRows,
    (typeof INDEX_TABLES)[keyof IndexRows],
  ][]) {
    await tx.delete(table).where(and(eq(table.resourceType, type), eq(table.id, id)));
    const values = (rows?.[kind] ?? []).map((r) => ({ resourceType: type, id, ...r }));
    for (let i = 0; i < values.length; i += CHUNK)
      await tx.insert(table).values(values.slice(i, i + CHUNK) as never);
  }
}
