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

/**
 * The parameters of an operation invoked by POST: a `Parameters` resource (or no body), each
 * `parameter` with a primitive value[x] as a name/value pair.
 */
export async function parametersPairs(c: Context): Promise<[string, string][]> {
  const text = await c.req.text();
  if (text.trim() === '') return [];
  let body: { resourceType?: string; parameter?: Record<string, unknown>[] };
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new FhirError(400, 'structure', `Body is not valid JSON: ${(error as Error).message}`);
  }
  if (body?.resourceType !== 'Parameters')
    throw new FhirError(400, 'invalid', 'an operation takes a Parameters resource as its body');
  return (body.parameter ?? []).map((p, i) => {
    const value = Object.entries(p).find(([key]) => key.startsWith('value'))?.[1];
    if (typeof p.name !== 'string' || !['string', 'number', 'boolean'].includes(typeof value))
      throw new FhirError(
        400,
        'invalid',
        `Parameters.parameter[${i}]: a name and a primitive value`,
      );
    return [p.name, String(value)];
  });
}
