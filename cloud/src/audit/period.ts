import { ApiError } from '../http/json-body.ts';

/** A reporting period [from, to) in epoch milliseconds. */
export interface Period {
  from: number;
  to: number;
}

export const DAY_MS = 86_400_000;

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * `2025-01-31` (a whole UTC day: as `from` its start, as `to` its end, so from=to=that day is
 * the day) or `2025-01-31T08:00:00Z` / `…+01:00` (an instant; the zone is required).
 */
export function parseInstant(name: 'from' | 'to', text: string): number {
  const value = text.trim();
  if (DATE.test(value)) {
    const start = Date.parse(`${value}T00:00:00Z`);
    if (Number.isFinite(start) && new Date(start).toISOString().startsWith(value))
      return name === 'to' ? start + DAY_MS : start;
  } else if (DATE_TIME.test(value)) {
    const at = Date.parse(value);
    if (Number.isFinite(at)) return at;
  }
  throw new ApiError(
    400,
    'invalid_query',
    `${name} must be a date (2025-01-31) or a date-time with a zone (2025-01-31T08:00:00Z), got "${text}"`,
  );
}

/** The query's parameters, refusing any not in `allowed` and any given twice. */
export function queryOf(url: string, allowed: readonly string[]): Map<string, string> {
  const query = new Map<string, string>();
  for (const [name, value] of new URL(url).searchParams) {
    if (!allowed.includes(name))
      throw new ApiError(
        400,
        'invalid_query',
        `unknown parameter "${name}" (allowed: ${allowed.join(', ') || 'none'})`,
      );
    if (query.has(name)) throw new ApiError(400, 'invalid_query', `${name} is given twice`);
    query.set(name, value);
  }
  return query;
}

/** from/to of the query; without `to` now, without `from` `defaultDays` before `to`. */
export function periodOf(query: Map<string, string>, now: number, defaultDays: number): Period {
  const toText = query.get('to');
  const fromText = query.get('from');
  const to = toText === undefined ? now : parseInstant('to', toText);
  const from = fromText === undefined ? to - defaultDays * DAY_MS : parseInstant('from', fromText);
  if (from >= to) throw new ApiError(400, 'invalid_query', 'from must be before to');
  return { from, to };
}

/** An optional short identifier parameter (a user or client id). */
export function idParam(query: Map<string, string>, name: string): string | undefined {
  const value = query.get(name);
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > 200 || /[\u0000-\u001f]/.test(value))
    throw new ApiError(400, 'invalid_query', `${name} must be an id of 1 to 200 characters`);
  return value;
}

export const isoOf = (ms: number) => new Date(ms).toISOString();
