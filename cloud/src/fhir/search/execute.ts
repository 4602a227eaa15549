import { and, eq, inArray, or, type SQL, sql } from 'drizzle-orm';
import { keyRingOf } from '../../crypto/db-key-ring.ts';
import { openContents } from '../../crypto/fhir-content.ts';
import type { KeyRing } from '../../crypto/key-ring.ts';
import { blindKindOf } from '../../crypto/phi-index.ts';
import type { Db } from '../../db/database.ts';
import { rowsOf } from '../../db/results.ts';
import { fhirReferenceIndex, fhirResources } from '../../db/schema.ts';
import { SearchParamError } from '../operation-outcome.ts';
import {
  DEFAULT_COUNT,
  dateCondition,
  OFFSET_PARAM,
  orValues,
  parseCount,
  parseDate,
  parseOffset,
  unescapeValue,
} from '../search-params.ts';
import type { FhirResource } from '../store/validate.ts';
import { paramCondition } from './conditions.ts';
import { searchParamsOf } from './definitions.ts';

export interface StoredSearchResult {
  /** null when the client asked for _total=none. */
  total: number | null;
  matches: FhirResource[];
  includes: FhirResource[];
  /** The accepted parameters in request order (for the Bundle links), paging excluded. */
  linkParams: [string, string][];
  count: number;
  offset: number;
  summaryCount: boolean;
}

interface Include {
  sourceType: string;
  param: string;
  targetType?: string;
}

const SORTABLE = ['string', 'token', 'date', 'number', 'quantity', 'uri'];
const SORT_COLUMN: Record<string, string> = {
  string: 'normalized',
  token: 'code',
  date: 'start',
  number: 'value',
  quantity: 'value',
  uri: 'uri',
};
const SORT_TABLE: Record<string, string> = {
  string: 'fhir_idx_string',
  token: 'fhir_idx_token',
  date: 'fhir_idx_date',
  number: 'fhir_idx_number',
  quantity: 'fhir_idx_quantity',
  uri: 'fhir_idx_uri',
};

/**
 * A search on a stored resource type with the standard R4 parameters: each occurrence ANDed,
 * comma alternatives ORed; modifiers, prefixes and one level of chaining; _id, _lastUpdated,
 * _sort (several keys, '-' descending), _count, _include, _revinclude, _summary=count, _total.
 * Anything else is a 400 naming the parameter. `restriction` (authorization: what the caller may
 * see) is one more condition, so counts and pages hold only what may be seen.
 */
export async function searchStored(
  db: Db,
  type: string,
  pairs: [string, string][],
  restriction?: SQL,
): Promise<StoredSearchResult> {
  const ring = keyRingOf(db);
  // The type as a constant, so each index lookup can use (resource_type, param, value) indexes.
  const subject = {
    type: sql`${type}`,
    id: sql`${fhirResources.id}`,
    tokens: sql`${fhirResources.searchTokens}`,
  };
  const conditions: SQL[] = [
    eq(fhirResources.resourceType, type),
    eq(fhirResources.deleted, false),
  ];
  if (restriction) conditions.push(restriction);
  const linkParams: [string, string][] = [];
  const order: SQL[] = [];
  const includes: Include[] = [];
  const revincludes: Include[] = [];
  let count_ = DEFAULT_COUNT;
  let offset = 0;
  let summaryCount = false;
  let totalMode = 'accurate';
  const singletons = new Set<string>();
  const once = (name: string) => {
    if (singletons.has(name)) throw new SearchParamError(name, 'may appear only once');
    singletons.add(name);
  };

  for (const [name, value] of pairs) {
    if (value === '') continue;
    switch (name) {
      case '_count':
        once(name);
        count_ = parseCount(value);
        continue;
      case OFFSET_PARAM:
        once(name);
        offset = parseOffset(value);
        continue;
      case '_summary':
        once(name);
        if (value !== 'count' && value !== 'false')
          throw new SearchParamError(
            name,
            `only count and false are supported, not "${value}"`,
            'not-supported',
          );
        summaryCount = value === 'count';
        break;
      case '_total':
        once(name);
        if (!['none', 'estimate', 'accurate'].includes(value))
          throw new SearchParamError(name, `must be none, estimate or accurate, not "${value}"`);
        totalMode = value;
        break;
      case '_sort':
        once(name);
        order.push(...sortKeys(type, value));
        break;
      case '_include':
      case '_revinclude':
        (name === '_include' ? includes : revincludes).push(
          parseInclude(name, value, name === '_include' ? type : undefined),
        );
        break;
      case '_id':
        conditions.push(inArray(fhirResources.id, orValues(name, value).map(unescapeValue)));
        break;
      case '_lastUpdated':
        conditions.push(
          or(
            ...orValues(name, value).map((d) =>
              dateCondition(fhirResources.lastUpdated, parseDate(name, d)),
            ),
          ) as SQL,
        );
        break;
      default:
        conditions.push(paramCondition(type, name, value, subject, ring));
    }
    linkParams.push([name, value]);
  }

  // The matching ids first, from the index tables and the "live" index alone (no resource row
  // read), counted; then only the page's resources are read, in one statement.
  const where = and(...conditions);
  const needTotal = summaryCount || totalMode !== 'none';
  const limit = summaryCount ? 0 : count_;
  const orderBy = sql.join([...order, sql`${fhirResources.id}`], sql`, `);
  const result = await db.execute(sql`
    with ids as materialized (select ${fhirResources.id} as id from ${fhirResources} where ${where})
    select ${needTotal ? sql`(select count(*) from ids)::int` : sql`null::int`} as total,
           page.content, page.id, page.version_id as "versionId"
    from (select 1) one
    left join lateral (
      select ${fhirResources.content} as content, ${fhirResources.id} as id,
             ${fhirResources.versionId} as version_id from ${fhirResources}
      where ${fhirResources.resourceType} = ${type} and ${fhirResources.id} in (select id from ids)
      order by ${orderBy} limit ${limit} offset ${offset}
    ) page on true`);
  const resultRows = rowsOf<{
    total: number | null;
    content: unknown;
    id: string | null;
    versionId: number;
  }>(result);
  const total = needTotal ? Number(resultRows[0]?.total ?? 0) : null;
  if (summaryCount)
    return { total, matches: [], includes: [], linkParams, count: count_, offset, summaryCount };
  const rows = resultRows.filter((r) => r.id !== null) as {
    content: unknown;
    id: string;
    versionId: number;
  }[];
  const matches = (
    await openContents(
      ring,
      rows.map((r) => ({ ...r, resourceType: type })),
    )
  ).filter((r) => r !== null);
  const ids = rows.map((r) => r.id);
  const included =
    ids.length > 0 ? await loadIncludes(db, ring, type, ids, includes, revincludes) : [];
  const seen = new Set(matches.map((m) => `${m.resourceType}/${m.id}`));
  const uniqueIncludes = included.filter((r) => {
    const key = `${r.resourceType}/${r.id}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  return {
    total,
    matches,
    includes: uniqueIncludes,
    linkParams,
    count: count_,
    offset,
    summaryCount,
  };
}

function sortKeys(type: string, value: string): SQL[] {
  return value.split(',').map((part) => {
    const descending = part.startsWith('-');
    const key = descending ? part.slice(1) : part;
    if (key === '_id') return descending ? sql`${fhirResources.id} desc` : sql`${fhirResources.id}`;
    if (key === '_lastUpdated')
      return descending
        ? sql`${fhirResources.lastUpdated} desc`
        : sql`${fhirResources.lastUpdated}`;
    const def = searchParamsOf(type).get(key);
    if (!def || !SORTABLE.includes(def.type))
      throw new SearchParamError('_sort', `cannot sort ${type} by "${key}"`);
    if (blindKindOf(type, key))
      throw new SearchParamError(
        '_sort',
        `cannot sort ${type} by "${key}": it identifies a person and is stored encrypted`,
        'not-supported',
      );
    // The smallest value ascending, the largest descending; resources without one go last.
    const fn = sql.raw(descending ? 'max' : 'min');
    const column = sql.raw(SORT_COLUMN[def.type]);
    const table = sql.raw(SORT_TABLE[def.type]);
    const value = sql`(select ${fn}(s.${column}) from ${table} s where s.resource_type = ${fhirResources.resourceType} and s.id = ${fhirResources.id} and s.param = ${def.code})`;
    return descending ? sql`${value} desc nulls last` : sql`${value} asc nulls last`;
  });
}

/** `Source:param` or `Source:param:Target`; for _include the source must be the searched type. */
function parseInclude(name: string, value: string, searchedType: string | undefined): Include {
  const [sourceType, param, targetType] = value.split(':');
  if (!sourceType || !param)
    throw new SearchParamError(name, `"${value}" is not Type:parameter[:TargetType]`);
  if (searchedType && sourceType !== searchedType)
    throw new SearchParamError(name, `"${value}" must start with ${searchedType}`);
  const def = searchParamsOf(sourceType).get(param);
  if (def?.type !== 'reference')
    throw new SearchParamError(name, `${sourceType} has no reference parameter "${param}"`);
  return { sourceType, param, targetType };
}

/** The resources _include points at and the ones _revinclude finds pointing back. */
async function loadIncludes(
  db: Db,
  ring: KeyRing,
  type: string,
  ids: string[],
  includes: Include[],
  revincludes: Include[],
): Promise<FhirResource[]> {
  const keys: { type: string; id: string }[] = [];
  for (const inc of includes) {
    const refs = await db
      .select({ targetType: fhirReferenceIndex.targetType, targetId: fhirReferenceIndex.targetId })
      .from(fhirReferenceIndex)
      .where(
        and(
          eq(fhirReferenceIndex.resourceType, type),
          inArray(fhirReferenceIndex.id, ids),
          eq(fhirReferenceIndex.param, inc.param),
          inc.targetType ? eq(fhirReferenceIndex.targetType, inc.targetType) : undefined,
        ),
      );
    for (const r of refs)
      if (r.targetType && r.targetId) keys.push({ type: r.targetType, id: r.targetId });
  }
  for (const inc of revincludes) {
    const refs = await db
      .select({ id: fhirReferenceIndex.id })
      .from(fhirReferenceIndex)
      .where(
        and(
          eq(fhirReferenceIndex.resourceType, inc.sourceType),
          eq(fhirReferenceIndex.param, inc.param),
          eq(fhirReferenceIndex.targetType, type),
          inArray(fhirReferenceIndex.targetId, ids),
        ),
      );
    for (const r of refs) keys.push({ type: inc.sourceType, id: r.id });
  }
  if (keys.length === 0) return [];
  const rows = await db
    .select({
      resourceType: fhirResources.resourceType,
      id: fhirResources.id,
      versionId: fhirResources.versionId,
      content: fhirResources.content,
    })
    .from(fhirResources)
    .where(
      and(
        eq(fhirResources.deleted, false),
        or(
          ...keys.map((k) =>
            and(eq(fhirResources.resourceType, k.type), eq(fhirResources.id, k.id)),
          ),
        ),
      ),
    );
  return (await openContents(ring, rows)).filter((r) => r !== null);
}
