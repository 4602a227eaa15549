import { type SQL, sql } from 'drizzle-orm';
import { type IndexRows, indexRows } from './extract.ts';

/** Each index table with its value columns and their PostgreSQL types, in IndexRows order. */
const TABLES: { [K in keyof IndexRows]: [string, [keyof IndexRows[K][number], string][]] } = {
  token: [
    'fhir_idx_token',
    [
      ['system', 'text'],
      ['code', 'text'],
      ['text', 'text'],
    ],
  ],
  string: [
    'fhir_idx_string',
    [
      ['normalized', 'text'],
      ['exact', 'text'],
    ],
  ],
  date: [
    'fhir_idx_date',
    [
      ['start', 'bigint'],
      ['end', 'bigint'],
    ],
  ],
  reference: [
    'fhir_idx_reference',
    [
      ['targetType', 'text'],
      ['targetId', 'text'],
      ['url', 'text'],
    ],
  ],
  quantity: [
    'fhir_idx_quantity',
    [
      ['value', 'float8'],
      ['system', 'text'],
      ['code', 'text'],
      ['unit', 'text'],
    ],
  ],
  number: ['fhir_idx_number', [['value', 'float8']]],
  uri: ['fhir_idx_uri', [['uri', 'text']]],
};

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * The statements that replace the index rows of `type/id` with those of `resource` (none for a
 * deletion), as named data-modifying CTEs to run in one statement with the resource's own write,
 * so a search never sees a resource without its indexes and a write is one round trip. All CTEs
 * of a statement see the same snapshot: the deletes remove only the old rows, never the new. A
 * new resource has nothing to delete.
 */
export function indexWrites(
  type: string,
  id: string,
  resource: { resourceType: string } | null,
  options: { isNew?: boolean } = {},
): SQL[] {
  const ctes: SQL[] = [];
  if (!options.isNew)
    for (const [table] of Object.values(TABLES))
      ctes.push(
        sql`${sql.raw(`idx_d${ctes.length}`)} as (delete from ${sql.raw(table)} where resource_type = ${type} and id = ${id})`,
      );
  if (!resource) return ctes;
  const rows = indexRows(resource);
  for (const kind of Object.keys(TABLES) as (keyof IndexRows)[]) {
    const values = rows[kind];
    if (values.length === 0) continue;
    const [table, columns] = TABLES[kind] as [string, [string, string][]];
    // One JSON parameter per table, unpacked by jsonb_to_recordset: far cheaper to build than a
    // bound parameter per value, and the statement's shape stays the same whatever the count.
    const names = ['resource_type', 'id', 'param', ...columns.map(([c]) => `"${snake(c)}"`)];
    const fields = ['param text', ...columns.map(([c, pgType]) => `"${c}" ${pgType}`)];
    const selected = ['x.param', ...columns.map(([c]) => `x."${c}"`)];
    ctes.push(
      sql`${sql.raw(`idx_i${ctes.length}`)} as (insert into ${sql.raw(table)} (${sql.raw(names.join(', '))})
        select ${type}, ${id}, ${sql.raw(selected.join(', '))}
        from jsonb_to_recordset(${JSON.stringify(values)}::jsonb) as x(${sql.raw(fields.join(', '))}))`,
    );
  }
  return ctes;
}
