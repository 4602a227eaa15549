import { SearchParamError } from '../fhir/operation-outcome.ts';
import { type IndexRows, normalizeString } from '../fhir/search/extract.ts';
import { orValues, parseDate, parseToken, unescapeValue } from '../fhir/search-params.ts';
import { dateSearchTokens, dateValueTokens } from './blind-dates.ts';
import type { KeyRing } from './key-ring.ts';

/**
 * The search parameters that identify a person. Their values are never stored in clear in the
 * search indexes: each is a blind index (keyed hash) in fhir_idx_token instead, so equal values
 * still match (and fhir_resources.search_tokens, hashed from the token rows, holds only hashes of
 * blind indexes).
 * - words: names and addresses; a search matches when every word of the value is a whole word of
 *   the element (case and accents ignored): `name=chalmers`, `name=peter james`. No prefixes,
 *   no :contains; :exact compares the element as written.
 * - contact: telecom, phone, email; phone numbers compared by their digits, emails lower case.
 * - identifier: the value exactly as written; the system stays in clear (it names the issuer).
 * - date: birth and death dates, as blind calendar units (blind-dates.ts), ranges included.
 */
type BlindKind = 'words' | 'contact' | 'identifier' | 'date';

const PERSON_TYPES: ReadonlySet<string> = new Set(['Patient', 'Person', 'RelatedPerson']);

const PERSON_PARAMS: Readonly<Record<string, BlindKind>> = {
  name: 'words',
  family: 'words',
  given: 'words',
  phonetic: 'words',
  address: 'words',
  'address-city': 'words',
  'address-country': 'words',
  'address-postalcode': 'words',
  'address-state': 'words',
  telecom: 'contact',
  phone: 'contact',
  email: 'contact',
  identifier: 'identifier',
  birthdate: 'date',
  'death-date': 'date',
};

/** How `type`'s parameter `param` is blinded, or undefined when its values are stored in clear. */
export function blindKindOf(type: string, param: string): BlindKind | undefined {
  return PERSON_TYPES.has(type) ? PERSON_PARAMS[param] : undefined;
}

/**
 * Where a person-identifying value would sit in clear had it been indexed before blind indexes:
 * string rows (names, addresses) and date rows (birth, death). Token rows cannot be told apart.
 */
export function personIndexedParams(): { fhir_idx_string: string[]; fhir_idx_date: string[] } {
  const params = Object.entries(PERSON_PARAMS);
  return {
    fhir_idx_string: params.filter(([, kind]) => kind === 'words').map(([p]) => p),
    fhir_idx_date: params.filter(([, kind]) => kind === 'date').map(([p]) => p),
  };
}

/** The whole words of a name or address, lower case without accents. */
export function wordsOf(text: string): string[] {
  return normalizeString(text)
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== '');
}

/** A phone number as its digits, an email lower case, anything else trimmed. */
export function normalizeContact(value: string): string {
  const text = value.trim();
  if (text.includes('@')) return text.toLowerCase();
  if (/^[+\d\s().\-/]+$/.test(text) && /\d/.test(text)) return text.replace(/\D/g, '');
  return text;
}

const field = (type: string, param: string, part?: string) =>
  part ? `${type}.${param}:${part}` : `${type}.${param}`;

type TokenRow = IndexRows['token'][number];

/**
 * `rows` (the index rows of a resource of `type`, search/extract.ts) with every value of a person-
 * identifying parameter replaced by blind index token rows.
 */
export function blindIndexRows(ring: KeyRing, type: string, rows: IndexRows): IndexRows {
  if (!PERSON_TYPES.has(type)) return rows;
  const blind: TokenRow[] = [];
  const token: TokenRow[] = [];
  for (const row of rows.token) {
    const kind = blindKindOf(type, row.param);
    if (kind === undefined) token.push(row);
    else if (row.code === null)
      blind.push({ ...row, text: kind === 'identifier' ? row.text : null });
    else {
      const value = kind === 'contact' ? normalizeContact(row.code) : row.code;
      blind.push({
        param: row.param,
        system: row.system,
        code: ring.blindIndex(field(type, row.param), value),
        // An identifier's type text ("Medical record number") says what it is, not whose.
        text: kind === 'identifier' ? row.text : null,
      });
    }
  }
  const string = rows.string.filter((row) => {
    if (blindKindOf(type, row.param) === undefined) return true;
    for (const word of wordsOf(row.exact))
      blind.push(blindToken(ring.blindIndex(field(type, row.param, 'word'), word), row.param));
    blind.push(blindToken(ring.blindIndex(field(type, row.param, 'exact'), row.exact), row.param));
    return false;
  });
  const date = rows.date.filter((row) => {
    if (blindKindOf(type, row.param) === undefined) return true;
    for (const unit of dateValueTokens(row.start, row.end))
      blind.push(blindToken(ring.blindIndex(field(type, row.param, 'date'), unit), row.param));
    return false;
  });
  // One row per distinct value: a name repeated in text, family and given is one word.
  const seen = new Set<string>();
  for (const row of blind) {
    const key = `${row.param}\u0001${row.system ?? ''}\u0001${row.code ?? ''}\u0001${row.text ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    token.push(row);
  }
  return { ...rows, token, string, date };
}

function blindToken(code: string, param: string): TokenRow {
  return { param, system: null, code, text: null };
}

/**
 * A match on one fhir_idx_token row: `system` undefined means any system, null no system; `code`
 * undefined means any code.
 */
export interface TokenMatch {
  system?: string | null;
  code?: string;
}

/**
 * What a search value on a blinded parameter matches, as an OR of groups each of which is an AND
 * of token rows the resource must have. An empty list matches nothing.
 */
export function blindSearchMatches(
  ring: KeyRing,
  type: string,
  param: string,
  name: string,
  modifier: string | undefined,
  value: string,
): TokenMatch[][] {
  const kind = blindKindOf(type, param);
  if (kind === undefined) throw new Error(`${type}.${param} is not a blinded parameter`);
  const alternatives = orValues(name, value);
  switch (kind) {
    case 'identifier':
    case 'contact':
      return alternatives.map((alternative) => {
        const systemOnly = /^([^|]+)\|$/.exec(alternative);
        if (systemOnly) return [{ system: unescapeValue(systemOnly[1]) }];
        const { system, code } = parseToken(name, alternative);
        const normalized = kind === 'contact' ? normalizeContact(code) : code;
        return [
          {
            system: system === undefined ? undefined : system === '' ? null : system,
            code: ring.blindIndex(field(type, param), normalized),
          },
        ];
      });
    case 'words':
      if (modifier === 'contains')
        throw new SearchParamError(
          name,
          `:contains is not supported on ${type} ${param}: the names and addresses of people are stored encrypted, searchable by whole words`,
          'not-supported',
        );
      return alternatives.flatMap((alternative) => {
        const text = unescapeValue(alternative);
        if (modifier === 'exact')
          return [[{ system: null, code: ring.blindIndex(field(type, param, 'exact'), text) }]];
        const words = wordsOf(text);
        if (words.length === 0) return [];
        return [
          words.map((w) => ({
            system: null,
            code: ring.blindIndex(field(type, param, 'word'), w),
          })),
        ];
      });
    case 'date':
      return alternatives.flatMap((alternative) => {
        const { prefix, start, end } = parseDate(name, alternative);
        return dateSearchTokens(prefix, start, end).map((unit) => [
          { system: null, code: ring.blindIndex(field(type, param, 'date'), unit) },
        ]);
      });
  }
}
