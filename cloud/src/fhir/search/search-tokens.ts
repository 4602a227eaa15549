import { type SQL, sql } from 'drizzle-orm';

// The keys of fhir_resources.search_tokens, as fhir_search_tokens (migration 0012) hashes them:
// parts joined by chr(1), hashed with PostgreSQL's hashtextextended(key, 0).
const SEP = '\u0001';

/** An exact token: `system|code` (system given), `|code` (system null), `code` (any system). */
export function tokenKey(param: string, system: string | null | undefined, code: string): string {
  if (system === undefined) return ['t', param, 'A', code].join(SEP);
  if (system === null) return ['t', param, 'N', code].join(SEP);
  return ['t', param, 'S', system, code].join(SEP);
}

/** A reference: `Type/id`, an id of any type, or an absolute URL. */
export function referenceKey(
  param: string,
  target: { type: string; id: string } | { id: string } | { url: string },
): string {
  if ('url' in target) return ['r', param, 'U', target.url].join(SEP);
  if ('type' in target) return ['r', param, 'T', `${target.type}/${target.id}`].join(SEP);
  return ['r', param, 'I', target.id].join(SEP);
}

/** Resources holding any of the keys: one GIN lookup on `tokens` (the search_tokens column). */
export function anyTokenCondition(tokens: SQL, keys: string[]): SQL {
  const hashes = sql.join(
    keys.map((k) => sql`hashtextextended(${k}, 0)`),
    sql`, `,
  );
  return sql`${tokens} && array[${hashes}]::bigint[]`;
}
