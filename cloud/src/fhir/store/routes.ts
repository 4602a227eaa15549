import type { Context, Hono } from 'hono';
import { accessOf, classificationOf, redactQuery, storeGuard } from '../../access/index.ts';
import type { AuditAction } from '../../audit/audit-entry.ts';
import type { Db } from '../../db/database.ts';
import { searchsetBundle } from '../bundle.ts';
import { FhirError, fhirJson, operationOutcome, SearchParamError } from '../operation-outcome.ts';
import { formPairs, queryPairs } from '../request.ts';
import { searchStored } from '../search/execute.ts';
import { DEFAULT_COUNT, OFFSET_PARAM, parseCount, parseOffset } from '../search-params.ts';
import {
  createInteraction,
  parseIfMatch,
  patchInteraction,
  present,
  updateInteraction,
} from './interactions.ts';
import { ResourceStore, type StoredVersion } from './resource-store.ts';
import { type FhirResource, parseJson, READ_ONLY_TYPES, STORED_TYPES } from './validate.ts';

/**
 * read, vread, create (with If-None-Exist), update (with If-Match), JSON Patch, delete and
 * instance / type history for the STORED_TYPES, on `app` (mounted at /fhir/R4). Each route
 * works through the request's access (access/): a store guarded for its principal, searches
 * restricted to what it may see.
 */
export function storedResourceRoutes(app: Hono, db: Db, baseOf: (c: Context) => string): void {
  /** A store for one audited operation of the request. */
  const storeFor = (c: Context, action: AuditAction, entity: string) => {
    const access = accessOf(c);
    return new ResourceStore(db, storeGuard(access, access.record(action, entity)));
  };

  for (const type of STORED_TYPES) {
    const search = async (c: Context, pairs: [string, string][]) => {
      const access = accessOf(c);
      const restriction = access.searchRestriction(type, pairs);
      const op = access.record('search', `${type}?`, [], redactQuery(pairs));
      const result = await searchStored(db, type, pairs, restriction);
      result.matches = result.matches.flatMap((r) => access.visible(r, op) ?? []);
      result.includes = result.includes.flatMap((r) => access.visible(r, op) ?? []);
      return fhirJson(
        c,
        searchsetBundle({
          base: baseOf(c),
          resourceType: type,
          params: result.linkParams,
          count: result.summaryCount ? 0 : result.count,
          offset: result.offset,
          total: result.total,
          resources: result.matches as (FhirResource & { id: string })[],
          includes: result.includes,
        }),
      );
    };
    app.get(`/${type}`, (c) => search(c, queryPairs(c)));
    app.post(`/${type}/_search`, async (c) =>
      search(c, [...queryPairs(c), ...(await formPairs(c))]),
    );

    app.get(`/${type}/_history`, async (c) => {
      const access = accessOf(c);
      access.require(type, 'read');
      // Filtering a page after the fact would leak through its total: relationship-bound
      // principals use search or a resource's own history instead.
      if (!access.everyPatient && classificationOf(type) === 'phi')
        throw access.deny(`type-level history of ${type} needs access to every patient`);
      const page = historyPage(c);
      const store = storeFor(c, 'history', `${type}/_history`);
      const { total, versions } = await store.history({ type, ...page });
      return fhirJson(c, historyBundle(baseOf(c), `${type}/_history`, page, total, versions));
    });

    app.get(`/${type}/:id`, async (c) => {
      accessOf(c).require(type, 'read');
      const store = storeFor(c, 'read', `${type}/${c.req.param('id')}`);
      const version = await store.read(type, c.req.param('id'));
      return versionResponse(c, baseOf(c), present(type, c.req.param('id'), version), 200);
    });

    app.get(`/${type}/:id/_history`, async (c) => {
      const id = c.req.param('id');
      accessOf(c).require(type, 'read');
      const page = historyPage(c);
      const store = storeFor(c, 'history', `${type}/${id}/_history`);
      const { total, versions } = await store.history({ type, id, ...page });
      if (total === 0) throw new FhirError(404, 'not-found', `${type}/${id} is not known`);
      return fhirJson(c, historyBundle(baseOf(c), `${type}/${id}/_history`, page, total, versions));
    });

    app.get(`/${type}/:id/_history/:vid`, async (c) => {
      const { id, vid } = c.req.param();
      const versionId = Number(vid);
      accessOf(c).require(type, 'read');
      const store = storeFor(c, 'vread', `${type}/${id}/_history/${vid}`);
      const version = Number.isInteger(versionId)
        ? await store.vread(type, id, versionId)
        : undefined;
      return versionResponse(c, baseOf(c), present(type, `${id}/_history/${vid}`, version), 200);
    });

    if (READ_ONLY_TYPES.has(type)) {
      readOnlyRoutes(app, type);
      continue;
    }
    app.post(`/${type}`, async (c) => {
      accessOf(c).require(type, 'create');
      const body = parseJson(await c.req.text(), 'Body');
      const { status, version } = await createInteraction(
        storeFor(c, 'create', type),
        type,
        body,
        c.req.header('if-none-exist'),
      );
      return versionResponse(c, baseOf(c), version, status);
    });

    app.put(`/${type}/:id`, async (c) => {
      const id = c.req.param('id');
      accessOf(c).require(type, 'update');
      const body = parseJson(await c.req.text(), 'Body');
      const { status, version } = await updateInteraction(
        storeFor(c, 'update', `${type}/${id}`),
        type,
        id,
        body,
        parseIfMatch(c.req.header('if-match')),
      );
      return versionResponse(c, baseOf(c), version, status);
    });

    app.patch(`/${type}/:id`, async (c) => {
      const id = c.req.param('id');
      accessOf(c).require(type, 'update');
      const contentType = c.req.header('content-type') ?? '';
      if (!/^application\/json-patch\+json\s*(;|$)/i.test(contentType))
        throw new FhirError(
          415,
          'not-supported',
          `PATCH takes application/json-patch+json (RFC 6902), not "${contentType || 'none'}"`,
        );
      const operations = parseJson(await c.req.text(), 'JSON Patch');
      const { version } = await patchInteraction(
        storeFor(c, 'update', `${type}/${id}`),
        type,
        id,
        operations,
        parseIfMatch(c.req.header('if-match')),
      );
      return versionResponse(c, baseOf(c), version, 200);
    });

    app.delete(`/${type}/:id`, async (c) => {
      accessOf(c).require(type, 'delete');
      await storeFor(c, 'delete', `${type}/${c.req.param('id')}`).delete(type, c.req.param('id'));
      // Deleting what is already gone succeeds too: the end state is what the client asked for.
      return c.body(null, 204);
    });
  }
}

/** Writes on a read-only type: 405 with the methods it has. */
function readOnlyRoutes(app: Hono, type: string): void {
  const refuse = (c: Context) =>
    fhirJson(
      c,
      operationOutcome('not-supported', `${type} is read-only here: only the server writes it`),
      405,
      { Allow: 'GET, HEAD' },
    );
  app.on(['POST', 'PUT', 'PATCH', 'DELETE'], [`/${type}`, `/${type}/:id`], refuse);
}

function versionResponse(c: Context, base: string, version: StoredVersion, status: 200 | 201) {
  const { resourceType, id, versionId, lastUpdated } = version;
  const headers: Record<string, string> = {
    ETag: `W/"${versionId}"`,
    'Last-Modified': new Date(lastUpdated).toUTCString(),
  };
  if (status === 201) headers.Location = `${base}/${resourceType}/${id}/_history/${versionId}`;
  return fhirJson(c, version.resource, status, headers);
}

interface HistoryPage {
  since?: number;
  count: number;
  offset: number;
}

function historyPage(c: Context): HistoryPage {
  const page: HistoryPage = { count: DEFAULT_COUNT, offset: 0 };
  for (const [name, value] of queryPairs(c)) {
    if (value === '') continue;
    if (name === '_count') page.count = parseCount(value);
    else if (name === OFFSET_PARAM) page.offset = parseOffset(value);
    else if (name === '_since') {
      page.since = Date.parse(value);
      if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(page.since))
        throw new FhirError(
          400,
          'invalid',
          `_since must be an instant (YYYY-MM-DDThh:mm:ssZ), got ${value}`,
        );
    } else
      throw new SearchParamError(
        name,
        'unknown parameter for a history (supported: _count, _since)',
        'not-supported',
      );
  }
  return page;
}

function historyBundle(
  base: string,
  path: string,
  page: HistoryPage,
  total: number,
  versions: StoredVersion[],
) {
  const link = (offset: number) => {
    const q = new URLSearchParams({ _count: String(page.count), _offset: String(offset) });
    if (page.since !== undefined) q.set('_since', new Date(page.since).toISOString());
    return `${base}/${path}?${q}`;
  };
  const links = [{ relation: 'self', url: link(page.offset) }];
  if (page.offset + page.count < total)
    links.push({ relation: 'next', url: link(page.offset + page.count) });
  if (page.offset > 0)
    links.push({ relation: 'previous', url: link(Math.max(0, page.offset - page.count)) });
  return {
    resourceType: 'Bundle',
    type: 'history',
    total,
    link: links,
    // FHIR JSON forbids an empty array: a page without versions has no entry.
    ...(versions.length > 0 && {
      entry: versions.map((v) => ({
        fullUrl: `${base}/${v.resourceType}/${v.id}`,
        ...(v.resource ? { resource: v.resource } : {}),
        request: {
          method: v.method === 'create' ? 'POST' : v.method === 'update' ? 'PUT' : 'DELETE',
          url: v.method === 'create' ? v.resourceType : `${v.resourceType}/${v.id}`,
        },
        response: {
          status: v.method === 'create' ? '201' : v.method === 'update' ? '200' : '204',
          etag: `W/"${v.versionId}"`,
          lastModified: new Date(v.lastUpdated).toISOString(),
        },
      })),
    }),
  };
}
