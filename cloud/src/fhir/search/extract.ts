import { parseDate } from '../search-params.ts';
import { type SearchParamDef, searchParamsOf, type TypedValue } from './definitions.ts';

/** The index rows of one resource, by table (param + values; type and id are added on insert). */
export interface IndexRows {
  token: { param: string; system: string | null; code: string | null; text: string | null }[];
  string: { param: string; normalized: string; exact: string }[];
  date: { param: string; start: number; end: number }[];
  reference: {
    param: string;
    targetType: string | null;
    targetId: string | null;
    url: string | null;
  }[];
  quantity: {
    param: string;
    value: number;
    system: string | null;
    code: string | null;
    unit: string | null;
  }[];
  number: { param: string; value: number }[];
  uri: { param: string; uri: string }[];
}

/** Earliest and latest instants an open Period stands for. */
export const BEFORE_ALL = -8_640_000_000_000_000;
export const AFTER_ALL = 8_640_000_000_000_000;

/** Lower case, accents removed: how string search compares (starts-with, :contains). */
export function normalizeString(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase();
}

/**
 * Every search parameter value of `resource`, ready for the index tables; with `only`, the
 * values of those parameters alone.
 */
export function indexRows(
  resource: { resourceType: string },
  only?: ReadonlySet<string>,
): IndexRows {
  const rows: IndexRows = {
    token: [],
    string: [],
    date: [],
    reference: [],
    quantity: [],
    number: [],
    uri: [],
  };
  for (const def of searchParamsOf(resource.resourceType).values()) {
    if (only && !only.has(def.code)) continue;
    let values: TypedValue[];
    try {
      values = def.extract(resource);
    } catch {
      continue; // an expression the resource's shape cannot satisfy yields no values
    }
    for (const value of values) addValue(rows, def, value);
  }
  return rows;
}

type Json = Record<string, unknown>;
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);

function addValue(rows: IndexRows, def: SearchParamDef, { type, value }: TypedValue): void {
  const param = def.code;
  const v = value as Json;
  switch (def.type) {
    case 'token':
      for (const t of tokens(type, value)) rows.token.push({ param, ...t });
      return;
    case 'string':
      for (const s of strings(type, value)) {
        rows.string.push({ param, normalized: normalizeString(s), exact: s });
      }
      return;
    case 'date':
      for (const range of dateRanges(type, value)) rows.date.push({ param, ...range });
      return;
    case 'reference': {
      const target = typeof value === 'string' ? value : str(v?.reference);
      if (!target || target.startsWith('#')) return;
      const relative =
        /^(?:.*\/)?([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(target);
      const absolute = /^[a-z][a-z0-9+.-]*:/i.test(target);
      if (relative && !absolute)
        rows.reference.push({ param, targetType: relative[1], targetId: relative[2], url: null });
      else rows.reference.push({ param, targetType: null, targetId: null, url: target });
      return;
    }
    case 'quantity':
      if (typeof v?.value === 'number')
        rows.quantity.push({
          param,
          value: v.value,
          system: str(v.system),
          code: str(v.code),
          unit: str(v.unit),
        });
      return;
    case 'number':
      if (typeof value === 'number') rows.number.push({ param, value });
      return;
    case 'uri':
      if (typeof value === 'string' && value !== '') rows.uri.push({ param, uri: value });
      return;
  }
}

function tokens(
  type: string,
  value: unknown,
): { system: string | null; code: string | null; text: string | null }[] {
  const v = value as Json;
  switch (type) {
    case 'Coding':
      return [{ system: str(v.system), code: str(v.code), text: str(v.display) }];
    case 'CodeableConcept': {
      const codings = Array.isArray(v.coding) ? (v.coding as Json[]) : [];
      const text = str(v.text);
      if (codings.length === 0) return text ? [{ system: null, code: null, text }] : [];
      return codings.map((c) => ({
        system: str(c.system),
        code: str(c.code),
        text: text ?? str(c.display),
      }));
    }
    case 'Identifier':
      return [{ system: str(v.system), code: str(v.value), text: str((v.type as Json)?.text) }];
    case 'ContactPoint':
      return [{ system: str(v.system), code: str(v.value), text: null }];
    case 'boolean':
      return [{ system: null, code: String(value), text: null }];
    default:
      return typeof value === 'string' && value !== ''
        ? [{ system: null, code: value, text: null }]
        : [];
  }
}

function strings(type: string, value: unknown): string[] {
  const v = value as Json;
  const list = (...items: unknown[]) =>
    items.flat().filter((s): s is string => typeof s === 'string' && s !== '');
  switch (type) {
    case 'HumanName':
      return list(v.text, v.family, v.given, v.prefix, v.suffix);
    case 'Address':
      return list(v.text, v.line, v.city, v.district, v.state, v.postalCode, v.country);
    default:
      return list(value);
  }
}

function dateRanges(type: string, value: unknown): { start: number; end: number }[] {
  const v = value as Json;
  const range = (text: unknown) => {
    if (typeof text !== 'string') return null;
    try {
      const { start, end } = parseDate('index', text);
      return { start, end };
    } catch {
      return null;
    }
  };
  switch (type) {
    case 'Period': {
      const start = range(v.start);
      const end = range(v.end);
      if (!start && !end) return [];
      return [{ start: start?.start ?? BEFORE_ALL, end: end?.end ?? AFTER_ALL }];
    }
    case 'Timing':
      return (Array.isArray(v.event) ? v.event : []).map(range).filter((r) => r !== null);
    default: {
      const r = range(value);
      return r ? [r] : [];
    }
  }
}
