import { and, gte, lt, or, type SQL, type SQLWrapper } from 'drizzle-orm';
import { SearchParamError } from './operation-outcome.ts';

/**
 * Parsing of FHIR search parameter values (strict handling: a malformed value is a 400 naming the
 * parameter); search/execute.ts applies them.
 */

export const DEFAULT_COUNT = 50;
export const MAX_COUNT = 1000;
/** Offset paging; only ever set by the server in the links it returns. */
export const OFFSET_PARAM = '_offset';

/** `_count`: a page size, at most MAX_COUNT. */
export function parseCount(value: string): number {
  if (!/^\d+$/.test(value))
    throw new SearchParamError('_count', `"${value}" is not an integer ≥ 0`);
  return Math.min(Number(value), MAX_COUNT);
}

/** `_offset` (set by the server in paging links): a whole number. */
export function parseOffset(value: string): number {
  const offset = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(offset)) {
    throw new SearchParamError(OFFSET_PARAM, `"${value}" is not an integer ≥ 0`);
  }
  return offset;
}

/** Splits on `separator` where it is not escaped by a backslash; escapes stay in the parts. */
function splitUnescaped(value: string, separator: string, limit = Number.POSITIVE_INFINITY) {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && i + 1 < value.length) {
      current += ch + value[i + 1];
      i++;
    } else if (ch === separator && parts.length + 1 < limit) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

/** Removes FHIR search escapes: a backslash before `,`, `|`, `$` or a backslash. */
export function unescapeValue(value: string): string {
  return value.replace(/\\(.)/g, '$1');
}

/** The comma-separated alternatives of one parameter value (`\,` escapes a comma). */
export function orValues(param: string, value: string): string[] {
  const parts = splitUnescaped(value, ',');
  if (parts.some((p) => p === ''))
    throw new SearchParamError(param, `empty alternative in "${value}"`);
  return parts;
}

export interface TokenValue {
  /** undefined: any system (`code`); '': no system (`|code`); else the system URI. */
  system: string | undefined;
  code: string;
}

export function parseToken(param: string, alternative: string): TokenValue {
  const parts = splitUnescaped(alternative, '|', 2);
  if (parts.length === 1) return { system: undefined, code: unescapeValue(parts[0]) };
  const [system, code] = parts;
  if (code === '') {
    throw new SearchParamError(param, `"${alternative}" has no code after "|"`);
  }
  return { system: unescapeValue(system), code: unescapeValue(code) };
}

/** A parsed `date` alternative: the prefix and the half-open range [start, end) in epoch ms. */
export interface DateValue {
  prefix: DatePrefix;
  start: number;
  end: number;
}

const DATE_PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb'] as const;
export type DatePrefix = (typeof DATE_PREFIXES)[number];

const DATE_PATTERN =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/**
 * Parses `[prefix]YYYY[-MM[-DD[Thh:mm[:ss[.fff]](Z|±hh:mm)]]]`. The value stands for the whole
 * range of its precision (2024-03 is all of March). Dates without a time are taken in UTC; a time
 * needs a timezone. A space before the offset is read as '+', since an unencoded '+' in a query
 * string arrives as a space.
 */
export function parseDate(param: string, alternative: string): DateValue {
  let prefix: DatePrefix = 'eq';
  let text = alternative;
  const prefixMatch = /^([a-z]{2})(\d.*)$/.exec(alternative);
  if (prefixMatch) {
    const candidate = prefixMatch[1];
    if (candidate === 'ap') {
      throw new SearchParamError(param, 'prefix "ap" is not supported', 'not-supported');
    }
    if (!(DATE_PREFIXES as readonly string[]).includes(candidate)) {
      throw new SearchParamError(param, `unknown prefix "${candidate}" in "${alternative}"`);
    }
    prefix = candidate as DatePrefix;
    text = prefixMatch[2];
  }
  text = text.replace(/ (\d{2}:\d{2})$/, '+$1');
  const m = DATE_PATTERN.exec(text);
  if (!m) {
    throw new SearchParamError(
      param,
      `"${alternative}" is not a date (YYYY, YYYY-MM, YYYY-MM-DD or YYYY-MM-DDThh:mm[:ss[.fff]] with Z or ±hh:mm)`,
    );
  }
  const [, y, mo, d, h, mi, s, fraction, zone] = m;
  const bad = (problem: string) => new SearchParamError(param, `"${alternative}": ${problem}`);
  const year = Number(y);
  const month = mo === undefined ? 1 : Number(mo);
  const day = d === undefined ? 1 : Number(d);
  if (month < 1 || month > 12) throw bad(`month ${mo} out of range`);
  const daysInMonth = new Date(utcMs(year, month + 1, 1) - 86_400_000).getUTCDate();
  if (day < 1 || day > daysInMonth) throw bad(`day ${d} out of range`);
  if (h !== undefined && zone === undefined) throw bad('a time needs a timezone (Z or ±hh:mm)');
  const hour = Number(h ?? 0);
  const minute = Number(mi ?? 0);
  const second = Number(s ?? 0);
  if (hour > 23) throw bad(`hour ${h} out of range`);
  if (minute > 59) throw bad(`minute ${mi} out of range`);
  if (second > 59) throw bad(`second ${s} out of range`);
  const millis = fraction === undefined ? 0 : Number(fraction.slice(0, 3).padEnd(3, '0'));
  const offsetMinutes = zone === undefined ? 0 : parseZone(zone, bad);

  const start = utcMs(year, month, day, hour, minute, second, millis) - offsetMinutes * 60_000;
  let end: number;
  if (mo === undefined) end = utcMs(year + 1, 1, 1);
  else if (d === undefined) end = utcMs(year, month + 1, 1);
  else if (h === undefined) end = start + 86_400_000;
  else if (s === undefined) end = start + 60_000;
  else if (fraction === undefined) end = start + 1000;
  else end = start + 10 ** Math.max(0, 3 - fraction.length);
  return { prefix, start, end };
}

function parseZone(zone: string, bad: (problem: string) => SearchParamError): number {
  if (zone === 'Z') return 0;
  const hours = Number(zone.slice(1, 3));
  const minutes = Number(zone.slice(4, 6));
  if (hours > 14 || minutes > 59) throw bad(`timezone ${zone} out of range`);
  return (zone[0] === '-' ? -1 : 1) * (hours * 60 + minutes);
}

/** Date.UTC without its mapping of years 0–99 to 1900–1999; month is 1-based and may be 13. */
function utcMs(year: number, month: number, day: number, h = 0, mi = 0, s = 0, ms = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(h, mi, s, ms);
  return date.getTime();
}

/**
 * FHIR date comparison of an instant column t (epoch ms) with the range [start, end) the searched
 * value stands for: eq = t inside it, gt/sa = after it, lt/eb = before it, ge = not before it,
 * le = not after it, ne = outside it.
 */
export function dateCondition(t: SQLWrapper, { prefix, start, end }: DateValue): SQL {
  switch (prefix) {
    case 'eq':
      return and(gte(t, start), lt(t, end)) as SQL;
    case 'ne':
      return or(lt(t, start), gte(t, end)) as SQL;
    case 'gt':
    case 'sa':
      return gte(t, end);
    case 'lt':
    case 'eb':
      return lt(t, start);
    case 'ge':
      return gte(t, start);
    case 'le':
      return lt(t, end);
  }
}
