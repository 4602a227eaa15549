import { OFFSET_PARAM } from './search-params.ts';

export interface SearchPage<R> {
  /** Base URL of the FHIR endpoint, without a trailing slash. */
  base: string;
  resourceType: string;
  /** Path of the search under `base` when it is not the type (an operation: Patient/1/$everything). */
  path?: string;
  /** The accepted search parameters (no `_count`/`_offset`), in request order. */
  params: [string, string][];
  count: number;
  offset: number;
  /** null when the client asked for no total (_total=none): then a full page means "more". */
  total: number | null;
  resources: (R & { id: string })[];
  /** Resources added by _include / _revinclude (search.mode include). */
  includes?: { resourceType: string; id?: string }[];
}

export interface BundleLink {
  relation: 'self' | 'first' | 'previous' | 'next';
  url: string;
}

/**
 * A searchset Bundle for one page of offset paging. `next` is present only when rows remain after
 * this page, `previous` only when the page does not start at 0; links are GET URLs even when the
 * search came as POST `_search`.
 */
export function searchsetBundle<R>(page: SearchPage<R>) {
  const { base, resourceType, count, offset, total } = page;
  const more = total === null ? page.resources.length === count : offset + count < total;
  const url = (pageOffset: number) => {
    const pairs: [string, string][] = [...page.params, ['_count', String(count)]];
    if (pageOffset > 0) pairs.push([OFFSET_PARAM, String(pageOffset)]);
    const query = pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
    return `${base}/${page.path ?? resourceType}?${query.join('&')}`;
  };
  const link: BundleLink[] = [
    { relation: 'self', url: url(offset) },
    { relation: 'first', url: url(0) },
  ];
  if (offset > 0 && count > 0) {
    link.push({
      relation: 'previous',
      url: url(Math.max(0, Math.min(offset, total ?? offset) - count)),
    });
  }
  if (count > 0 && more) link.push({ relation: 'next', url: url(offset + count) });
  const entries = [
    ...page.resources.map((resource) => ({
      fullUrl: `${base}/${(resource as { resourceType?: string }).resourceType ?? resourceType}/${resource.id}`,
      resource,
      search: { mode: 'match' as const },
    })),
    ...(page.includes ?? []).map((resource) => ({
      fullUrl: `${base}/${resource.resourceType}/${resource.id}`,
      resource,
      search: { mode: 'include' as const },
    })),
  ];
  return {
    resourceType: 'Bundle' as const,
    meta: { lastUpdated: new Date().toISOString() },
    type: 'searchset' as const,
    ...(total !== null && { total }),
    link,
    // FHIR JSON forbids empty arrays, so an empty page has no `entry` at all.
    ...(entries.length > 0 && { entry: entries }),
  };
}
