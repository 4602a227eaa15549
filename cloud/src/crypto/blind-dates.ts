import type { DatePrefix } from '../fhir/search-params.ts';

// A date of a person (birth, death) is indexed as blind tokens of its calendar units instead of a
// clear range, and a search range becomes the set of units it covers, so ranges still work:
//   a day value 1980-03-04 stores D:1980-03-04, DM:1980-03 (a day value in that month) and
//   DY:1980 (a day value in that year); a month value stores M:1980-03 and MY:1980; a year value
//   stores Y:1980. `birthdate=lt1980-03-04` is then every DY year before 1980, DM:1980-01,
//   DM:1980-02, D:1980-03-01..03, every MY year before 1980, M:1980-01, M:1980-02, and every Y
//   year before 1980, all matched exactly like FHIR compares ranges (search/conditions.ts).
// Units are UTC calendar units. Open-ended ranges reach from WINDOW_FIRST_YEAR to WINDOW_LAST_YEAR.

export const WINDOW_FIRST_YEAR = 1800;
export const WINDOW_LAST_YEAR = 2199;

const DAY_MS = 86_400_000;

function utc(year: number, month0: number, day: number): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month0, day);
  date.setUTCHours(0, 0, 0, 0);
  return date.getTime();
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const ym = (year: number, month0: number) => `${pad(year, 4)}-${pad(month0 + 1, 2)}`;

/** The blind-index tokens of a stored date value standing for [start, end) (epoch ms). */
export function dateValueTokens(start: number, end: number): string[] {
  const d = new Date(start);
  const year = d.getUTCFullYear();
  const month0 = d.getUTCMonth();
  if (start === utc(year, 0, 1) && end === utc(year + 1, 0, 1)) return [`Y:${pad(year, 4)}`];
  if (start === utc(year, month0, 1) && end === utc(year, month0 + 1, 1))
    return [`M:${ym(year, month0)}`, `MY:${pad(year, 4)}`];
  // A day, or a time within one (dateTime): its UTC day.
  return [
    `D:${ym(year, month0)}-${pad(d.getUTCDate(), 2)}`,
    `DM:${ym(year, month0)}`,
    `DY:${pad(year, 4)}`,
  ];
}

/** One kind of calendar unit, numbered consecutively. */
interface Unit {
  of(ms: number): number;
  start(index: number): number;
  first: number;
  last: number;
}

const DAYS: Unit = {
  of: (ms) => Math.floor(ms / DAY_MS),
  start: (i) => i * DAY_MS,
  first: Math.floor(utc(WINDOW_FIRST_YEAR, 0, 1) / DAY_MS),
  last: Math.floor(utc(WINDOW_LAST_YEAR + 1, 0, 1) / DAY_MS) - 1,
};
const MONTHS: Unit = {
  of: (ms) => {
    const d = new Date(ms);
    return d.getUTCFullYear() * 12 + d.getUTCMonth();
  },
  start: (i) => utc(Math.floor(i / 12), i % 12, 1),
  first: WINDOW_FIRST_YEAR * 12,
  last: WINDOW_LAST_YEAR * 12 + 11,
};
const YEARS: Unit = {
  of: (ms) => new Date(ms).getUTCFullYear(),
  start: (i) => utc(i, 0, 1),
  first: WINDOW_FIRST_YEAR,
  last: WINDOW_LAST_YEAR,
};

type Interval = [number, number];

/**
 * The units u (range [lo, hi)) meeting a FHIR prefix against the searched range [start, end), as
 * intervals of unit numbers: eq = inside it, ne = not inside, gt = reaching past its end, lt =
 * reaching before its start, ge = reaching past its start, le = reaching before its end, sa =
 * wholly after, eb = wholly before (the comparisons of search/conditions.ts rangeCondition).
 */
function matchingUnits(unit: Unit, prefix: DatePrefix, start: number, end: number): Interval[] {
  const startAtLeast = (x: number) => (unit.start(unit.of(x)) === x ? unit.of(x) : unit.of(x) + 1);
  const endAtMost = (x: number) => unit.of(x) - 1;
  const endAfter = (x: number) => unit.of(x);
  const startBefore = (x: number) => (unit.start(unit.of(x)) === x ? unit.of(x) - 1 : unit.of(x));
  const from = (a: number): Interval[] => [[a, Number.POSITIVE_INFINITY]];
  const upTo = (b: number): Interval[] => [[Number.NEGATIVE_INFINITY, b]];
  switch (prefix) {
    case 'eq':
      return [[startAtLeast(start), endAtMost(end)]];
    case 'ne': {
      const [a, b] = [startAtLeast(start), endAtMost(end)];
      return a > b ? upTo(Number.POSITIVE_INFINITY) : [...upTo(a - 1), ...from(b + 1)];
    }
    case 'gt':
      return from(endAfter(end));
    case 'lt':
      return upTo(startBefore(start));
    case 'ge':
      return from(endAfter(start));
    case 'le':
      return upTo(startBefore(end));
    case 'sa':
      return from(startAtLeast(end));
    case 'eb':
      return upTo(endAtMost(start));
  }
}

/** Open ends clamped to the window; bounded ends kept (an exact date before 1800 still matches). */
function clamp(unit: Unit, [a, b]: Interval): Interval {
  return [
    a === Number.NEGATIVE_INFINITY ? unit.first : a,
    b === Number.POSITIVE_INFINITY ? unit.last : b,
  ];
}

/** The tokens of every stored value a search `prefix` [start, end) matches (their OR). */
export function dateSearchTokens(prefix: DatePrefix, start: number, end: number): string[] {
  const tokens: string[] = [];
  for (const interval of matchingUnits(DAYS, prefix, start, end)) {
    const [a, b] = clamp(DAYS, interval);
    for (let i = a; i <= b; ) {
      const d = new Date(DAYS.start(i));
      const [year, month0, day] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()];
      const nextYear = DAYS.of(utc(year + 1, 0, 1));
      const nextMonth = DAYS.of(utc(year, month0 + 1, 1));
      if (month0 === 0 && day === 1 && nextYear - 1 <= b) {
        tokens.push(`DY:${pad(year, 4)}`);
        i = nextYear;
      } else if (day === 1 && nextMonth - 1 <= b) {
        tokens.push(`DM:${ym(year, month0)}`);
        i = nextMonth;
      } else {
        tokens.push(`D:${ym(year, month0)}-${pad(day, 2)}`);
        i++;
      }
    }
  }
  for (const interval of matchingUnits(MONTHS, prefix, start, end)) {
    const [a, b] = clamp(MONTHS, interval);
    for (let i = a; i <= b; ) {
      const [year, month0] = [Math.floor(i / 12), i % 12];
      if (month0 === 0 && i + 11 <= b) {
        tokens.push(`MY:${pad(year, 4)}`);
        i += 12;
      } else {
        tokens.push(`M:${ym(year, month0)}`);
        i++;
      }
    }
  }
  for (const interval of matchingUnits(YEARS, prefix, start, end)) {
    const [a, b] = clamp(YEARS, interval);
    for (let year = a; year <= b; year++) tokens.push(`Y:${pad(year, 4)}`);
  }
  return tokens;
}
