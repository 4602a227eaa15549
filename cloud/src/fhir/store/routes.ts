import fastJsonPatch from 'fast-json-patch';
import type { Context, Hono } from 'hono';
import type { Db } from '../../db/database.ts';
import { searchsetBundle } from '../bundle.ts';
import { FhirError, fhirJson } from '../operation-outcome.ts';
import { formPairs, queryPairs } from '../request.ts';
import { searchStored } from '../search/execute.ts';
import { parseSearch, type SearchSpec } from '../search-params.ts';
import { ResourceStore, type StoredVersion } from './resource-store.ts';
import { type FhirResource, parseResource, STORED_TYPES } from './validate.ts';

const { applyPatch, validate: validatePatch } = fastJsonPatch;

const HISTORY_SPEC = (resourceType: string): SearchSpec => ({
  resourceType,
  params: {},
  sortKeys: [],
});

/**
 * read, vread, create (with If-None-Exist), update (with If-Match), JSON Patch, delete and
 * instance / type history for the STORED_TYPES, on `app` (mounted at /fhir/R4).
 */
export function storedResourceRoutes(app: Hono, db: Db, baseOf: (c: Context) => string): void {
  const store = new ResourceStore(db);

  for (const type of STORED_TYPES) {
    const search = async (c: Context, pairs: [string, string][]) => {
      const result = await searchStored(db, type, pairs);
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

    app.post(`/${type}`, async (c) => {
      const resource = parseResource(await c.req.text(), type);
      delete resource.id; // create: the server assigns the id
      const existing = await ifNoneExist(store, type, c.req.header('if-none-exist'));
      if (existing) return versionResponse(c, baseOf(c), existing, 200);
      return versionResponse(c, baseOf(c), await store.create(resource), 201);
    });

    app.get(`/${type}/_history`, async (c) => {
      const page = historyPage(c, type);
      const { total, versions } = await store.history({ type, ...page });
      return fhirJson(c, historyBundle(baseOf(c), `${type}/_history`, page, total, versions));
    });

    app.get(`/${type}/:id`, async (c) => {
      const version = await store.read(type, c.req.param('id'));
      return versionResponse(c, baseOf(c), present(type, c.req.param('id'), version), 200);
    });

    app.get(`/${type}/:id/_history`, async (c) => {
      const id = c.req.param('id');
      const page = historyPage(c, type);
      const { total, versions } = await store.history({ type, id, ...page });
      if (total === 0) throw new FhirError(404, 'not-found', `${type}/${id} is not known`);
      return fhirJson(c, historyBundle(baseOf(c), `${type}/${id}/_history`, page, total, versions));
    });

    app.get(`/${type}/:id/_history/:vid`, async (c) => {
      const { id, vid } = c.req.param();
      const versionId = Number(vid);
      const version = Number.isInteger(versionId)
        ? await store.vread(type, id, versionId)
        : undefined;
      return versionResponse(c, baseOf(c), present(type, `${id}/_history/${vid}`, version), 200);
    });

    app.put(`/${type}/:id`, async (c) => {
      const id = c.req.param('id');
      const resource = parseResource(await c.req.text(), type, id);
      const { version, created } = await store.update(resource, ifMatch(c));
      return versionResponse(c, baseOf(c), version, created ? 201 : 200);
    });

    app.patch(`/${type}/:id`, async (c) => {
      const id = c.req.param('id');
      const contentType = c.req.header('content-type') ?? '';
      if (!/^application\/json-patch\+json\s*(;|$)/i.test(contentType))
        throw new FhirError(
          415,
          'not-supported',
          `PATCH takes application/json-patch+json (RFC 6902), not "${contentType || 'none'}"`,
        );
      const current = present(type, id, await store.read(type, id)).resource as FhirResource;
      const patched = patchResource(current, await c.req.text());
      const resource = parseResource(JSON.stringify(patched), type, id);
      const match = ifMatch(c) ?? Number(current.meta?.versionId);
      const { version } = await store.update(resource, match);
      return versionResponse(c, baseOf(c), version, 200);
    });

    app.delete(`/${type}/:id`, async (c) => {
      await store.delete(type, c.req.param('id'));
      // Deleting what is already gone succeeds too: the end state is what the client asked for.
      return c.body(null, 204);
    });
  }
}

/** A current version that exists and is not deleted, else 404 / 410 Gone. */
function present(type: string, what: string, version: StoredVersion | undefined): StoredVersion {
  if (!version) throw new FhirError(404, 'not-found', `${type}/${what} is not known`);
  if (version.deleted) throw new FhirError(410, 'deleted', `${type}/${what} was deleted`);
  return version;
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

/** If-Match: W/"3" (or "3") → 3; absent → undefined. */
function ifMatch(c: Context): number | undefined {
  const header = c.req.header('if-match');
  if (header === undefined) return undefined;
  const m = /^(?:W\/)?"(\d+)"$/.exec(header.trim());
  if (!m) throw new FhirError(400, 'invalid', `If-Match must be W/"<versionId>", got ${header}`);
  return Number(m[1]);
}

/**
 * If-None-Exist: `identifier=system|value` or `_id=x`: one match is returned instead of creating,
 * several are 412. Other criteria need the full search engine, not here yet: 400, not ignored.
 */
async function ifNoneExist(
  store: ResourceStore,
  type: string,
  header: string | undefined,
): Promise<StoredVersion | undefined> {
  if (!header) return undefined;
  const criteria = [...new URLSearchParams(header.replace(/^[A-Za-z]+\?/, ''))];
  if (criteria.length !== 1)
    throw new FhirError(400, 'not-supported', `If-None-Exist: give one criterion, got "${header}"`);
  const [[name, value]] = criteria;
  let fragment: object;
  if (name === 'identifier') {
    const bar = value.indexOf('|');
    fragment = {
      identifier: [
        bar < 0 ? { value } : { system: value.slice(0, bar), value: value.slice(bar + 1) },
      ],
    };
  } else if (name === '_id') fragment = { id: value };
  else
    throw new FhirError(
      400,
      'not-supported',
      `If-None-Exist: only identifier and _id are supported, got "${name}"`,
    );
  const matches = await store.findContaining(type, fragment, 2);
  if (matches.length > 1)
    throw new FhirError(412, 'duplicate', `If-None-Exist: ${header} matches several ${type}`);
  return matches[0];
}

function patchResource(current: FhirResource, text: string): unknown {
  let operations: unknown;
  try {
    operations = JSON.parse(text);
  } catch (error) {
    throw new FhirError(
      400,
      'structure',
      `JSON Patch is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (!Array.isArray(operations))
    throw new FhirError(400, 'structure', 'JSON Patch must be an array of operations');
  const document = structuredClone(current);
  const problem = validatePatch(operations, document);
  if (problem)
    throw new FhirError(
      problem.name === 'TEST_OPERATION_FAILED' ? 409 : 400,
      problem.name === 'TEST_OPERATION_FAILED' ? 'conflict' : 'invalid',
      `JSON Patch operation ${problem.index ?? 0}: ${problem.message.split('\n')[0]}`,
    );
  return applyPatch(document, operations, false, true).newDocument;
}

interface HistoryPage {
  since?: number;
  count: number;
  offset: number;
}

function historyPage(c: Context, type: string): HistoryPage {
  const pairs = [...new URL(c.req.url).searchParams];
  const since = pairs.find(([k]) => k === '_since')?.[1];
  const parsed = parseSearch(
    pairs.filter(([k]) => k !== '_since'),
    HISTORY_SPEC(type),
  );
  let sinceMs: number | undefined;
  if (since !== undefined) {
    sinceMs = Date.parse(since);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(since) || Number.isNaN(sinceMs))
      throw new FhirError(
        400,
        'invalid',
        `_since must be an instant (YYYY-MM-DDThh:mm:ssZ), got ${since}`,
      );
  }
  return { since: sinceMs, count: parsed.count, offset: parsed.offset };
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
