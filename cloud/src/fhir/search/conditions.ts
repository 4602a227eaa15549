import { type SQL, sql } from 'drizzle-orm';
import type { KeyRing } from '../../crypto/key-ring.ts';
import { blindKindOf, blindSearchMatches, type TokenMatch } from '../../crypto/phi-index.ts';
import { NOTHING } from '../../db/conditions.ts';
import { SearchParamError } from '../operation-outcome.ts';
import {
  type DatePrefix,
  orValues,
  parseDate,
  parseToken,
  unescapeValue,
} from '../search-params.ts';
import { type SearchParamDef, searchParamsOf } from './definitions.ts';
import { normalizeString } from './extract.ts';
import { anyTokenCondition, referenceKey, tokenKey } from './search-tokens.ts';

/** The resource a condition is about: SQL for its type and id columns. */
export interface Subject {
  type: SQL;
  id: SQL;
  /** Its search_tokens column, when the subject is a fhir_resources row itself. */
  tokens?: SQL;
}

const TABLE: Record<SearchParamDef['type'], string> = {
  token: 'fhir_idx_token',
  string: 'fhir_idx_string',
  date: 'fhir_idx_date',
  reference: 'fhir_idx_reference',
  quantity: 'fhir_idx_quantity',
  number: 'fhir_idx_number',
  uri: 'fhir_idx_uri',
};

const MODIFIERS: Record<SearchParamDef['type'], readonly string[]> = {
  token: ['missing', 'not', 'text'],
  string: ['missing', 'exact', 'contains'],
  date: ['missing'],
  reference: ['missing'], // plus a resource type, e.g. subject:Patient
  quantity: ['missing'],
  number: ['missing'],
  uri: ['missing', 'below', 'above'],
};

let aliasCount = 0;
const nextAlias = () => sql.raw(`i${aliasCount++ % 1_000_000}`);

/**
 * The condition for one occurrence of a search parameter on resources of `type`: `name` as sent
 * (with modifier or chain), `value` with its comma alternatives ORed. `ring` computes the blind
 * indexes of the parameters that identify a person (crypto/phi-index.ts).
 */
export function paramCondition(
  type: string,
  name: string,
  value: string,
  subject: Subject,
  ring: KeyRing,
): SQL {
  const dot = name.indexOf('.');
  const head = dot < 0 ? name : name.slice(0, dot);
  const chain = dot < 0 ? undefined : name.slice(dot + 1);
  const [code, modifier] = head.split(':', 2) as [string, string | undefined];
  const def = searchParamsOf(type).get(code);
  if (!def) {
    const known = [...searchParamsOf(type).keys()].sort().join(', ');
    throw new SearchParamError(
      name,
      `unknown parameter for ${type} (supported: ${known})`,
      'not-supported',
    );
  }
  if (chain !== undefined) return chainCondition(def, name, modifier, chain, value, subject, ring);
  if (modifier === 'missing') return missingCondition(type, def, name, value, subject);
  if (modifier !== undefined && !MODIFIERS[def.type].includes(modifier)) {
    const isTypeModifier = def.type === 'reference' && /^[A-Z][A-Za-z]+$/.test(modifier);
    if (!isTypeModifier)
      throw new SearchParamError(
        name,
        `modifier ":${modifier}" is not supported for ${def.type} parameters`,
        'not-supported',
      );
  }
  if (blindKindOf(type, def.code) && modifier !== 'text') {
    const groups = blindSearchMatches(ring, type, def.code, name, modifier, value);
    return blindCondition(def.code, groups, modifier === 'not', subject);
  }
  const alternatives = orValues(name, value);
  if (subject.tokens && modifier !== 'not' && modifier !== 'text') {
    const keys = alternatives.map((alt) => searchKey(def, name, modifier, alt));
    if (keys.every((k) => k !== undefined)) return anyTokenCondition(subject.tokens, keys);
  }
  const i = nextAlias();
  const match = sql.join(
    alternatives.map((alt) => sql`(${valueCondition(def, name, modifier, alt, i)})`),
    sql` or `,
  );
  const exists = sql`exists (select 1 from ${sql.raw(TABLE[def.type])} ${i} where ${i}.resource_type = ${subject.type} and ${i}.id = ${subject.id} and ${i}.param = ${def.code} and (${match}))`;
  return modifier === 'not' ? sql`not ${exists}` : exists;
}

function missingCondition(
  type: string,
  def: SearchParamDef,
  name: string,
  value: string,
  subject: Subject,
): SQL {
  if (value !== 'true' && value !== 'false')
    throw new SearchParamError(name, `:missing takes true or false, not "${value}"`);
  const i = nextAlias();
  // Blinded values are token rows whatever the parameter's type.
  const table = blindKindOf(type, def.code) ? TABLE.token : TABLE[def.type];
  const exists = sql`exists (select 1 from ${sql.raw(table)} ${i} where ${i}.resource_type = ${subject.type} and ${i}.id = ${subject.id} and ${i}.param = ${def.code})`;
  return value === 'true' ? sql`not ${exists}` : exists;
}

/** `subject:Patient.name=peter` / `subject.identifier=x`: a reference whose target matches. */
function chainCondition(
  def: SearchParamDef,
  name: string,
  modifier: string | undefined,
  chain: string,
  value: string,
  subject: Subject,
  ring: KeyRing,
): SQL {
  if (def.type !== 'reference')
    throw new SearchParamError(name, `only reference parameters can be chained`);
  const targets = modifier ? [modifier] : def.targets;
  if (targets.length !== 1)
    throw new SearchParamError(
      name,
      `say which type the chain goes through (${def.code}:Type.${chain}); ${def.code} may point at ${targets.join(', ')}`,
    );
  const target = targets[0];
  if (chain.includes('.'))
    throw new SearchParamError(name, 'only one level of chaining is supported', 'not-supported');
  const i = nextAlias();
  const inner = paramCondition(
    target,
    chain,
    value,
    { type: sql`${target}`, id: sql`${i}.target_id` },
    ring,
  );
  return sql`exists (select 1 from fhir_idx_reference ${i} where ${i}.resource_type = ${subject.type} and ${i}.id = ${subject.id} and ${i}.param = ${def.code} and ${i}.target_type = ${target} and ${inner})`;
}

function valueCondition(
  def: SearchParamDef,
  name: string,
  modifier: string | undefined,
  value: string,
  i: SQL,
): SQL {
  switch (def.type) {
    case 'token': {
      if (modifier === 'text') return sql`${i}.text ilike ${`${likeEscape(value)}%`}`;
      // `system|`: any code of that system.
      const systemOnly = /^([^|]+)\|$/.exec(value);
      const { system, code } = systemOnly
        ? { system: unescapeValue(systemOnly[1]), code: undefined }
        : parseToken(name, value);
      const parts: SQL[] = [];
      if (code !== undefined) parts.push(sql`${i}.code = ${code}`);
      if (system === '') parts.push(sql`${i}.system is null`);
      else if (system !== undefined) parts.push(sql`${i}.system = ${system}`);
      return parts.length > 0 ? sql.join(parts, sql` and `) : sql`true`;
    }
    case 'string': {
      const text = unescapeValue(value);
      if (modifier === 'exact') return sql`${i}.exact = ${text}`;
      const pattern = likeEscape(normalizeString(text));
      return modifier === 'contains'
        ? sql`${i}.normalized like ${`%${pattern}%`}`
        : sql`${i}.normalized like ${`${pattern}%`}`;
    }
    case 'date': {
      const { prefix, start, end } = parseDate(name, value);
      return rangeCondition(prefix, start, end, sql`${i}.start`, sql`${i}."end"`);
    }
    case 'reference': {
      const ref = unescapeValue(value);
      const typeFromModifier = modifier && /^[A-Z]/.test(modifier) ? modifier : undefined;
      const relative = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(ref);
      if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) return sql`${i}.url = ${ref}`;
      const targetType = relative?.[1] ?? typeFromModifier;
      const targetId = relative?.[2] ?? ref;
      if (typeFromModifier && relative && relative[1] !== typeFromModifier)
        throw new SearchParamError(name, `"${ref}" is not a ${typeFromModifier}`);
      return targetType
        ? sql`${i}.target_type = ${targetType} and ${i}.target_id = ${targetId}`
        : sql`${i}.target_id = ${targetId}`;
    }
    case 'quantity':
    case 'number': {
      const [numberPart, system, code] =
        def.type === 'quantity' ? splitQuantity(name, value) : [value, undefined, undefined];
      const { prefix, number, precision } = parseNumber(name, numberPart);
      const half = 0.5 * 10 ** -precision;
      const parts = [
        rangeCondition(
          prefix,
          number - half,
          number + half,
          sql`${i}.value`,
          sql`${i}.value`,
          true,
        ),
      ];
      if (system) parts.push(sql`${i}.system = ${system}`);
      if (code)
        parts.push(sql`(${i}.code = ${code} or (${i}.code is null and ${i}.unit = ${code}))`);
      return sql.join(parts, sql` and `);
    }
    case 'uri': {
      const uri = unescapeValue(value);
      if (modifier === 'below') return sql`${i}.uri like ${`${likeEscape(uri)}%`}`;
      if (modifier === 'above')
        return sql`${uri} like (replace(replace(${i}.uri, '%', '\\%'), '_', '\\_') || '%')`;
      return sql`${i}.uri = ${uri}`;
    }
  }
}

/**
 * The search_tokens key an exact token or reference value stands for (the same match as
 * valueCondition's), or undefined when the value needs the index table (`system|`, modifiers).
 */
function searchKey(
  def: SearchParamDef,
  name: string,
  modifier: string | undefined,
  value: string,
): string | undefined {
  if (def.type === 'token' && modifier === undefined) {
    if (/^([^|]+)\|$/.test(value)) return undefined;
    const { system, code } = parseToken(name, value);
    if (code === undefined || code === '') return undefined;
    return tokenKey(def.code, system === '' ? null : system, code);
  }
  if (def.type === 'reference' && (modifier === undefined || /^[A-Z]/.test(modifier))) {
    const ref = unescapeValue(value);
    if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) return referenceKey(def.code, { url: ref });
    const relative = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})$/.exec(ref);
    const typeFromModifier = modifier;
    if (typeFromModifier && relative && relative[1] !== typeFromModifier)
      throw new SearchParamError(name, `"${ref}" is not a ${typeFromModifier}`);
    const type = relative?.[1] ?? typeFromModifier;
    const id = relative?.[2] ?? ref;
    return type ? referenceKey(def.code, { type, id }) : referenceKey(def.code, { id });
  }
  return undefined;
}

/**
 * A blinded parameter's condition: any group of token rows (blind indexes) present in full, or
 * (`negate`, :not) none. On a fhir_resources row the search_tokens GIN index answers it (`&&` for
 * single rows, `@>` for a group: every word of a name); else the token index table.
 */
function blindCondition(
  param: string,
  groups: TokenMatch[][],
  negate: boolean,
  subject: Subject,
): SQL {
  if (groups.length === 0) return negate ? sql`true` : NOTHING;
  const exact = groups.every((group) => group.every((m) => m.code !== undefined));
  if (subject.tokens && !negate && exact) {
    const key = (m: TokenMatch) => tokenKey(param, m.system, m.code as string);
    const singles = groups.filter((g) => g.length === 1).map((g) => key(g[0]));
    const parts = groups
      .filter((g) => g.length > 1)
      .map(
        (g) =>
          sql`${subject.tokens} @> array[${sql.join(
            g.map((m) => sql`hashtextextended(${key(m)}, 0)`),
            sql`, `,
          )}]::bigint[]`,
      );
    if (singles.length > 0) parts.unshift(anyTokenCondition(subject.tokens, singles));
    return parts.length === 1 ? parts[0] : sql`(${sql.join(parts, sql` or `)})`;
  }
  const exists = (matches: TokenMatch[]) => {
    const i = nextAlias();
    return sql`exists (select 1 from fhir_idx_token ${i} where ${i}.resource_type = ${subject.type} and ${i}.id = ${subject.id} and ${i}.param = ${param} and (${tokenMatches(i, matches)}))`;
  };
  // Single-row groups in one lookup (a date range is hundreds of them), the others row by row.
  const singles = groups.filter((g) => g.length === 1).map((g) => g[0]);
  const parts = groups
    .filter((g) => g.length > 1)
    .map(
      (g) =>
        sql`(${sql.join(
          g.map((m) => exists([m])),
          sql` and `,
        )})`,
    );
  if (singles.length > 0) parts.unshift(exists(singles));
  const any = sql`(${sql.join(parts, sql` or `)})`;
  return negate ? sql`not ${any}` : any;
}

/** Token rows (alias `i`) matching any of `matches`, codes of one system in one `in` list. */
function tokenMatches(i: SQL, matches: TokenMatch[]): SQL {
  const bySystem = new Map<string | null | undefined, TokenMatch[]>();
  for (const m of matches) bySystem.set(m.system, [...(bySystem.get(m.system) ?? []), m]);
  const parts = [...bySystem].map(([system, list]) => {
    const systemPart =
      system === undefined
        ? sql`true`
        : system === null
          ? sql`${i}.system is null`
          : sql`${i}.system = ${system}`;
    const codes = list.filter((m) => m.code !== undefined).map((m) => sql`${m.code}`);
    if (codes.length < list.length) return systemPart; // one of them takes any code
    return sql`(${systemPart} and ${i}.code in (${sql.join(codes, sql`, `)}))`;
  });
  return sql.join(parts, sql` or `);
}

/**
 * FHIR prefix semantics for a target range [lo, hi) against the searched range [start, end):
 * eq = inside it, ne = not inside it, gt/lt = reaching beyond it above/below, ge/le = reaching
 * into it or beyond, sa/eb = wholly after/before it. A number is a point (lo = hi = value, and
 * `point` makes the bounds inclusive where a point needs it).
 */
function rangeCondition(
  prefix: DatePrefix,
  start: number,
  end: number,
  lo: SQL,
  hi: SQL,
  point = false,
): SQL {
  switch (prefix) {
    case 'eq':
      return sql`(${lo} >= ${start} and ${hi} ${point ? sql`<` : sql`<=`} ${end})`;
    case 'ne':
      return sql`not (${lo} >= ${start} and ${hi} ${point ? sql`<` : sql`<=`} ${end})`;
    case 'gt':
      return point ? sql`${hi} > ${(start + end) / 2}` : sql`${hi} > ${end}`;
    case 'lt':
      return point ? sql`${lo} < ${(start + end) / 2}` : sql`${lo} < ${start}`;
    case 'ge':
      return point ? sql`${hi} >= ${(start + end) / 2}` : sql`${hi} > ${start}`;
    case 'le':
      return point ? sql`${lo} <= ${(start + end) / 2}` : sql`${lo} < ${end}`;
    case 'sa':
      return point ? sql`${lo} > ${(start + end) / 2}` : sql`${lo} >= ${end}`;
    case 'eb':
      return point ? sql`${hi} < ${(start + end) / 2}` : sql`${hi} <= ${start}`;
  }
}

const NUMBER_PREFIXES = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb'] as const;

function parseNumber(
  name: string,
  text: string,
): { prefix: DatePrefix; number: number; precision: number } {
  const m = /^([a-z]{2})?([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)$/.exec(text);
  if (!m) throw new SearchParamError(name, `"${text}" is not a number (with an optional prefix)`);
  const prefix = (m[1] ?? 'eq') as DatePrefix;
  if (!(NUMBER_PREFIXES as readonly string[]).includes(prefix))
    throw new SearchParamError(name, `prefix "${prefix}" is not supported`, 'not-supported');
  const digits = m[2].split(/[eE]/)[0];
  const precision = digits.includes('.') ? digits.length - digits.indexOf('.') - 1 : 0;
  return { prefix, number: Number(m[2]), precision };
}

/** `[prefix]number|system|code` (system and code optional, `number||code` allowed). */
function splitQuantity(
  name: string,
  value: string,
): [string, string | undefined, string | undefined] {
  const parts = value.split('|');
  if (parts.length > 3) throw new SearchParamError(name, `"${value}" is not number|system|code`);
  const [number, system, code] = parts.map((p) => unescapeValue(p));
  return [number, system || undefined, code || undefined];
}

function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
