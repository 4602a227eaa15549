import { type SQL, sql } from 'drizzle-orm';
import type { IndexRows } from './extract.ts';

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
 * One insert statement per index table for the index rows of many resources of `type`: a bulk
 * load writes thousands at once. (A single write goes through fhir_write, migration 0009, which
 * reads the same IndexRows JSON.)
 */
export function indexInserts(type: string, entries: { id: string; rows: IndexRows }[]): SQL[] {
  const inserts: SQL[] = [];
  for (const kind of Object.keys(TABLES) as (keyof IndexRows)[]) {
    const values = entries.flatMap(({ id, rows }) => rows[kind].map((row) => ({ id, ...row })));
    if (values.length === 0) continue;
    const [table, columns] = TABLES[kind] as [string, [string, string][]];
    // One JSON parameter per table, unpacked by jsonb_to_recordset: far cheaper to build than a
    // bound parameter per value, and the statement's shape stays the same whatever the count.
    const names = ['resource_type', 'id', 'param', ...columns.map(([c]) => `"${snake(c)}"`)];
    const fields = ['id text', 'param text', ...columns.map(([c, pgType]) => `"${c}" ${pgType}`)];
    const selected = ['x.id', 'x.param', ...columns.map(([c]) => `x."${c}"`)];
    inserts.push(
      sql`insert into ${sql.raw(table)} (${sql.raw(names.join(', '))})
        select ${type}, ${sql.raw(selected.join(', '))}
        from jsonb_to_recordset(${JSON.stringify(values)}::jsonb) as x(${sql.raw(fields.join(', '))})`,
    );
  }
  return inserts;
}
