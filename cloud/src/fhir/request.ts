import type { Context } from 'hono';
import { FhirError } from './operation-outcome.ts';

/** Parameters about the response's format, not the search: handled by the app, not searched. */
const FORMAT_PARAMS = new Set(['_format', '_pretty']);

/** The query string's search parameters, in order. */
export function queryPairs(c: Context): [string, string][] {
  return [...new URL(c.req.url).searchParams].filter(([name]) => !FORMAT_PARAMS.has(name));
}

/** The form body of a POST `_search` (application/x-www-form-urlencoded), else 415. */
export async function formPairs(c: Context): Promise<[string, string][]> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\s*(;|$)/i.test(type)) {
    throw new FhirError(
      415,
      'not-supported',
      `_search takes an application/x-www-form-urlencoded body, not "${type || 'none'}"`,
    );
  }
  return [...new URLSearchParams(await c.req.text())];
}
