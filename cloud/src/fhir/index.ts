import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AccessDenied, accessControl, accessOf } from '../access/index.ts';
import type { AuditLog } from '../audit/audit-entry.ts';
import { errorForLog } from '../crypto/log-redaction.ts';
import type { Db } from '../db/database.ts';
import { searchsetBundle } from './bundle.ts';
import { capabilityStatement } from './capability.ts';
import { patientEverything } from './everything.ts';
import { FhirError, fhirJson, operationOutcome } from './operation-outcome.ts';
import { parametersPairs, queryPairs } from './request.ts';
import { storedResourceRoutes } from './store/routes.ts';
import { processBundle } from './store/transaction.ts';
import { type FhirResource, parseJson, STORED_TYPES } from './store/validate.ts';

export interface FhirAppOptions {
  /** Absolute base URL the API is reached at (e.g. https://host/fhir/R4); else from each request. */
  baseUrl?: string;
  /** Where every access is recorded; a request's response waits for its record. */
  audit: AuditLog;
  /** Where successful reads and searches are recorded, when not `audit` (access/middleware.ts). */
  readAudit?: AuditLog;
  log?: (message: string) => void;
  /** The clock for relationships that end (break-the-glass, care assignments); tests move it. */
  now?: () => number;
  /**
   * Binaries kept outside the resource store (documents shared in a visit, encrypted apart): a
   * read of Binary/:id goes to it first; undefined means not one of its own.
   */
  binaries?: BinarySource;
}

export interface BinarySource {
  /** The answer to a read of Binary/:id, authorized and recorded on the request's access. */
  read(c: Context, id: string): Promise<Response | undefined>;
}

/** Largest request body (a Binary or DocumentReference with its data inline included). */
const MAX_BODY_BYTES = 8 * 1048576;

const ownRoute = new RegExp(`/(metadata|${STORED_TYPES.join('|')})(/|$)`);

/**
 * The FHIR R4 API: the versioned interactions, search, batch and transaction on the stored types,
 * Patient/$everything, CapabilityStatement. JSON only. Mount it at `/fhir/R4` behind
 * authentication (the principal in `c.get('principal')`); every route but `/metadata` is
 * authorized and audited here. Bundle links are absolute URLs under `baseUrl`.
 */
export function fhirApp(db: Db, options: FhirAppOptions): Hono {
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
          // The unread rest of a streamed body would hold the keep-alive connection.
          { Connection: 'close' },
        ),
    }),
  );
  app.use('*', jsonOnly);
  app.get('/metadata', (c) => fhirJson(c, capabilityStatement(baseOf(c))));
  const guard = accessControl(db, {
    audit: options.audit,
    readAudit: options.readAudit,
    log: options.log,
    now: options.now,
    render: (c, status, _code, message) =>
      fhirJson(c, operationOutcome(status === 401 ? 'login' : 'exception', message), status),
  });
  app.use('*', (c, next) => (c.req.path.endsWith('/metadata') ? next() : guard(c, next)));
  const everything = async (c: Context, pairs: [string, string][]) => {
    const id = c.req.param('id') as string;
    const access = accessOf(c);
    const op = access.record('export', `Patient/${id}/$everything`);
    access.requirePatient(id, 'Patient', 'read', op);
    const readable = STORED_TYPES.filter((t) => access.can(t, 'read'));
    const page = await patientEverything(db, id, pairs, readable);
    page.resources = page.resources.flatMap((r) => access.visible(r, op) ?? []);
    return fhirJson(
      c,
      searchsetBundle({
        base: baseOf(c),
        resourceType: 'Patient',
        path: `Patient/${id}/$everything`,
        params: page.linkParams,
        count: page.count,
        offset: page.offset,
        total: page.total,
        resources: page.resources as (FhirResource & { id: string })[],
      }),
    );
  };
  app.get('/Patient/:id/$everything', (c) => everything(c, queryPairs(c)));
  app.post('/Patient/:id/$everything', async (c) =>
    everything(c, [...queryPairs(c), ...(await parametersPairs(c))]),
  );
  const binaries = options.binaries;
  if (binaries)
    app.get('/Binary/:id', async (c, next) => {
      const answer = await binaries.read(c, c.req.param('id'));
      if (answer) return answer;
      await next();
    });
  storedResourceRoutes(app, db, baseOf);
  app.post('/', async (c) =>
    fhirJson(
      c,
      await processBundle(
        db,
        baseOf(c).replace(/\/+$/, ''),
        parseJson(await c.req.text(), 'Body'),
        accessOf(c),
      ),
    ),
  );

  app.all('/metadata', methodNotAllowed('GET, HEAD'));

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
    if (error instanceof AccessDenied)
      return fhirJson(c, operationOutcome('forbidden', error.message), 403);
    // The path only: a query can hold names or identifiers.
    console.error(
      'fhir: request failed',
      c.req.method,
      new URL(c.req.url).pathname,
      errorForLog(error),
    );
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
        `${c.req.method} is not allowed on ${new URL(c.req.url).pathname} (allowed: ${allow})`,
      ),
      405,
      { Allow: allow },
    );
}
