import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Db } from '../db/database.ts';
import { searchsetBundle } from './bundle.ts';
import { capabilityStatement } from './capability.ts';
import { FLAG_SEARCH, readFlag, searchFlags } from './flag.ts';
import { OBSERVATION_SEARCH, readObservation, searchObservations } from './observation.ts';
import { FhirError, fhirJson, operationOutcome } from './operation-outcome.ts';
import { PATIENT_SEARCH, readPatient, searchPatients } from './patient.ts';
import { formPairs, queryPairs } from './request.ts';
import { type ParsedSearch, parseSearch, type SearchSpec } from './search-params.ts';
import { storedResourceRoutes } from './store/routes.ts';
import { processBundle } from './store/transaction.ts';
import { parseJson, STORED_TYPES } from './store/validate.ts';

export interface FhirAppOptions {
  /** Absolute base URL the API is reached at (e.g. https://host/fhir/R4); else from each request. */
  baseUrl?: string;
}

type Search<R> = (db: Db, search: ParsedSearch) => Promise<{ total: number; resources: R[] }>;
type Read<R> = (db: Db, id: string) => Promise<R | undefined>;

/** Largest request body (a Binary or DocumentReference with its data inline included). */
const MAX_BODY_BYTES = 8 * 1048576;

const ownRoute = new RegExp(`/(metadata|Observation|Patient|Flag|${STORED_TYPES.join('|')})(/|$)`);

/**
 * The FHIR R4 API: read and search on Observation (from device readings), Patient and Flag (from
 * alarms); the versioned interactions, search, batch and transaction on the stored types;
 * CapabilityStatement. JSON only. Mount it at `/fhir/R4`; Bundle links are absolute URLs under
 * `baseUrl`.
 */

export function fhirApp(db: Db, options: FhirAppOptions = {}): Hono {
  const app = new Hono();
  const fixedBase = options.baseUrl?.replace(/\/+$/, '');
  const baseOf = (c: Context) => {
    if (fixedBase) return fixedBase;
    const url = new URL(c.req.url);
    // Whatever precedes our own route (`/metadata`, `/Type`, `/Type/...`) is where we are mounted.
    const at = url.pathname.search(ownRoute);
    return url.origin + (at < 0 ? url.pathname : url.pathname.slice(0, at));
  };

  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) =>
        fhirJson(
          c,
          operationOutcome('too-costly', `Request body larger than ${MAX_BODY_BYTES / 1048576} MB`),
          413,
        ),
    }),
  );
  app.use('*', jsonOnly);
  app.get('/metadata', (c) => fhirJson(c, capabilityStatement(baseOf(c))));
  storedResourceRoutes(app, db, baseOf);
  app.post('/', async (c) =>
    fhirJson(
      c,
      await processBundle(db, baseOf(c).replace(/\/+$/, ''), parseJson(await c.req.text(), 'Body')),
    ),
  );

  const resources: { spec: SearchSpec; search: Search<{ id: string }>; read: Read<unknown> }[] = [
    { spec: OBSERVATION_SEARCH, search: searchObservations, read: readObservation },
    { spec: PATIENT_SEARCH, search: searchPatients, read: readPatient },
    { spec: FLAG_SEARCH, search: searchFlags, read: readFlag },
  ];
  for (const { spec, search, read } of resources) {
    const type = spec.resourceType;
    app.get(`/${type}`, (c) => runSearch(c, spec, search, queryPairs(c)));
    app.post(`/${type}/_search`, async (c) =>
      runSearch(c, spec, search, [...queryPairs(c), ...(await formPairs(c))]),
    );
    app.all(`/${type}/_search`, methodNotAllowed('POST'));
    app.get(`/${type}/:id`, async (c) => {
      const id = c.req.param('id');
      const resource = await read(db, id);
      if (resource === undefined) {
        throw new FhirError(404, 'not-found', `${type}/${id} is not known`);
      }
      return fhirJson(c, resource);
    });
    app.all(`/${type}`, methodNotAllowed('GET, HEAD'));
    app.all(`/${type}/:id`, methodNotAllowed('GET, HEAD'));
  }
  app.all('/metadata', methodNotAllowed('GET, HEAD'));

  async function runSearch<R extends { id: string }>(
    c: Context,
    spec: SearchSpec,
    search: Search<R>,
    pairs: [string, string][],
  ): Promise<Response> {
    const parsed = parseSearch(pairs, spec);
    const { total, resources } = await search(db, parsed);
    const bundle = searchsetBundle({
      base: baseOf(c),
      resourceType: spec.resourceType,
      params: parsed.linkParams,
      count: parsed.count,
      offset: parsed.offset,
      total,
      resources,
    });
    return fhirJson(c, bundle);
  }

  app.notFound((c) =>
    fhirJson(
      c,
      operationOutcome(
        'not-found',
        `No FHIR route for ${c.req.method} ${new URL(c.req.url).pathname}`,
      ),
      404,
    ),
  );
  app.onError((error, c) => {
    if (error instanceof FhirError) {
      return fhirJson(c, error.outcome(), error.status);
    }
    console.error('fhir: request failed', c.req.method, c.req.url, error);
    return fhirJson(c, operationOutcome('exception', 'Internal server error'), 500);
  });
  return app;
}

/**
 * Content negotiation: `_format` (json, application/json, application/fhir+json) or Accept may
 * ask for JSON or anything; XML or another format is 406, an XML body 415.
 */
async function jsonOnly(c: Context, next: () => Promise<void>) {
  const format = c.req.query('_format');
  const accept = c.req.header('accept') ?? '';
  const wantsOther =
    (format !== undefined && !/^(json|application\/(fhir\+)?json)(;.*)?$/i.test(format.trim())) ||
    (accept !== '' && !/json|\*\/\*|^application\/\*/i.test(accept));
  if (wantsOther)
    return fhirJson(
      c,
      operationOutcome('not-supported', `Only JSON is served here (asked for ${format ?? accept})`),
      406,
    );
  if (/xml/i.test(c.req.header('content-type') ?? ''))
    return fhirJson(c, operationOutcome('not-supported', 'Only JSON bodies are accepted'), 415);
  await next();
}

function methodNotAllowed(allow: string) {
  return (c: Context) =>
    fhirJson(
      c,
      operationOutcome(
        'not-supported',
        `${c.req.method} is not allowed on ${new URL(c.req.url).pathname} (allowed: ${allow}); this API is read-only`,
      ),
      405,
      { Allow: allow },
    );
}
