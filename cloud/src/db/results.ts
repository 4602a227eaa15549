// What db.execute returns differs by driver in its type, not in its shape: both node-postgres and
// PGlite give { rows }, and report inserted rows as rowCount (node-postgres) or affectedRows.

/** The rows of a raw db.execute result. */
export function rowsOf<T>(result: unknown): T[] {
  return (result as { rows: T[] }).rows;
}

/** How many rows a raw insert, update or delete touched. */
export function affectedRows(result: unknown): number {
  const { rowCount, affectedRows } = result as { rowCount?: number | null; affectedRows?: number };
  return rowCount ?? affectedRows ?? 0;
}
