import { randomUUID } from 'node:crypto';
import { AccessDenied, type RequestAccess, redactQuery, storeGuard } from '../../access/index.ts';
import type { AuditAction } from '../../audit/audit-entry.ts';
import type { Db } from '../../db/database.ts';
import { FhirError, operationOutcome } from '../operation-outcome.ts';
import { searchStored } from '../search/execute.ts';
import {
  checkWritable,
  createInteraction,
  type Outcome,
  parseIfMatch,
  patchInteraction,
  present,
  updateInteraction,
} from './interactions.ts';
import { ResourceStore } from './resource-store.ts';
import { type FhirResource, ID_PATTERN, STORED_TYPES } from './validate.ts';

interface BundleEntry {
  fullUrl?: string;
  resource?: FhirResource;
  request?: { method?: string; url?: string; ifMatch?: string; ifNoneExist?: string };
}

interface EntryResponse {
  status: string;
  location?: string;
  etag?: string;
  lastModified?: string;
  outcome?: unknown;
}

interface ResponseEntry {
  fullUrl?: string;
  resource?: unknown;
  response: EntryResponse;
}

const METHOD_ORDER = ['DELETE', 'POST', 'PUT', 'PATCH', 'GET'];

/**
 * A batch or transaction Bundle (POST to the base). A transaction runs in one database
 * transaction: every entry succeeds or nothing is written, and the first failure is the answer.
 * Entries run in FHIR's order (DELETE, POST, PUT/PATCH, GET); a POST's `urn:uuid:` fullUrl is
 * replaced, wherever another entry references it, by the id the server assigns. A batch runs each
 * entry on its own and reports each outcome. With `access`, every entry is authorized and
 * recorded for the audit trail like the same request on its own.
 */
export async function processBundle(
  db: Db,
  base: string,
  body: unknown,
  access?: RequestAccess,
): Promise<unknown> {
  const bundle = body as { resourceType?: string; type?: string; entry?: BundleEntry[] };
  if (bundle?.resourceType !== 'Bundle')
    throw new FhirError(400, 'invalid', 'POST to the base takes a Bundle');
  if (bundle.type !== 'transaction' && bundle.type !== 'batch')
    throw new FhirError(
      400,
      'invalid',
      `Bundle.type must be transaction or batch, not ${JSON.stringify(bundle.type ?? null)}`,
    );
  // Each entry is authorized on its own below; one refused before that (405, 400) shows nothing.
  if (access) access.decided = true;
  const entries = bundle.entry ?? [];
  if (!Array.isArray(entries))
    throw new FhirError(400, 'structure', 'Bundle.entry must be an array');
  const order = entries
    .map((entry, index) => ({ entry, index }))
    .sort(
      (a, b) => rank(a.entry.request?.method) - rank(b.entry.request?.method) || a.index - b.index,
    );

  if (bundle.type === 'batch') {
    const responses: ResponseEntry[] = new Array(entries.length);
    for (const { entry, index } of order) {
      try {
        responses[index] = await runEntry(db, base, entry, access);
      } catch (error) {
        responses[index] = failure(error);
      }
    }
    return { resourceType: 'Bundle', type: 'batch-response', entry: responses };
  }

  return db.transaction(async (tx) => {
    const txDb = tx as unknown as Db;
    const responses: ResponseEntry[] = new Array(entries.length);
    // fullUrl (urn:uuid:…) → Type/id, filled as the ids become known.
    const assigned = new Map<string, string>();
    const run = async ({ entry, index }: { entry: BundleEntry; index: number }) => {
      try {
        responses[index] = await runEntry(txDb, base, rewrite(entry, assigned), access);
      } catch (error) {
        const e = asFhirError(error);
        throw new FhirError(
          e?.status ?? 500,
          e?.code ?? 'exception',
          `Transaction failed at entry ${index} (${entry.request?.method ?? '?'} ${entry.request?.url ?? '?'}), nothing was written: ${(error as Error).message}`,
        );
      }
      const created = responses[index].fullUrl;
      if (entry.fullUrl && created) assigned.set(entry.fullUrl, created.slice(base.length + 1));
    };
    const isPost = ({ entry }: { entry: BundleEntry }) => entry.request?.method === 'POST';
    const conditional = ({ entry }: { entry: BundleEntry }) => Boolean(entry.request?.ifNoneExist);
    // Deletes; then conditional creates, whose outcome (a new or an existing resource) others may
    // point at; then the other creates under ids assigned up front, so they can point at each
    // other; then updates, patches and reads.
    for (const item of order.filter((o) => o.entry.request?.method === 'DELETE')) await run(item);
    for (const item of order.filter((o) => isPost(o) && conditional(o))) await run(item);
    const creates = order.filter((o) => isPost(o) && !conditional(o));
    for (const { entry } of creates) {
      const type = entry.resource?.resourceType;
      if (entry.fullUrl?.startsWith('urn:uuid:') && type)
        assigned.set(entry.fullUrl, `${type}/${randomUUID()}`);
    }
    for (const item of creates) await run(item);
    for (const item of order.filter((o) => !isPost(o) && o.entry.request?.method !== 'DELETE'))
      await run(item);
    return { resourceType: 'Bundle', type: 'transaction-response', entry: responses };
  });
}

function rank(method: string | undefined): number {
  const i = METHOD_ORDER.indexOf(method ?? '');
  return i < 0 ? METHOD_ORDER.length : i;
}

/** The entry with every reference to an assigned fullUrl replaced by the new `Type/id`. */
function rewrite(entry: BundleEntry, assigned: Map<string, string>): BundleEntry {
  if (!entry.resource) return entry;
  const replace = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(replace);
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (k === 'reference' && typeof v === 'string' && v.startsWith('urn:uuid:')) {
          const target = assigned.get(v);
          if (!target)
            throw new FhirError(
              400,
              'invalid',
              `reference ${v} names no resource created in this Bundle`,
            );
          out[k] = target;
        } else out[k] = replace(v);
      }
      return out;
    }
    return value;
  };
  const resource = replace(entry.resource) as FhirResource;
  const own = entry.fullUrl ? assigned.get(entry.fullUrl) : undefined;
  return { ...entry, resource: own ? { ...resource, id: own.split('/')[1] } : resource };
}

/** AccessDenied as the FhirError a Bundle entry answers with; other errors as they are. */
function asFhirError(error: unknown): FhirError | null {
  if (error instanceof AccessDenied) return new FhirError(403, 'forbidden', error.message);
  return error instanceof FhirError ? error : null;
}

async function runEntry(
  db: Db,
  base: string,
  entry: BundleEntry,
  access: RequestAccess | undefined,
): Promise<ResponseEntry> {
  const method = entry.request?.method;
  const url = entry.request?.url ?? '';
  const [path, query] = url.split('?', 2);
  const [type, id, ...rest] = path.replace(/^\/+/, '').split('/');
  if (!type || !(STORED_TYPES as readonly string[]).includes(type))
    throw new FhirError(404, 'not-supported', `request.url "${url}": not a stored resource type`);
  if (id !== undefined && !ID_PATTERN.test(id))
    throw new FhirError(400, 'invalid', `request.url "${url}": "${id}" is not an id`);
  if (rest.length > 0)
    throw new FhirError(400, 'not-supported', `request.url "${url}" is not supported`);
  const ifMatch = parseIfMatch(entry.request?.ifMatch);
  if (method !== 'GET') checkWritable(type);
  const storeFor = (action: AuditAction, entity: string) =>
    access
      ? new ResourceStore(db, storeGuard(access, access.record(action, entity)))
      : new ResourceStore(db);
  switch (method) {
    case 'POST': {
      access?.require(type, 'create');
      const store = storeFor('create', type);
      // A transaction pre-assigns the id (for references); createInteraction would drop it.
      const preassigned = entry.resource?.id;
      if (preassigned && entry.fullUrl?.startsWith('urn:uuid:')) {
        const outcome = await updateInteraction(store, type, preassigned, entry.resource);
        return written(base, { ...outcome, status: 201 });
      }
      return written(
        base,
        await createInteraction(store, type, entry.resource, entry.request?.ifNoneExist),
      );
    }
    case 'PUT':
      if (!id) throw new FhirError(400, 'invalid', `PUT needs Type/id, got "${url}"`);
      access?.require(type, 'update');
      return written(
        base,
        await updateInteraction(
          storeFor('update', `${type}/${id}`),
          type,
          id,
          entry.resource,
          ifMatch,
        ),
      );
    case 'PATCH': {
      if (!id) throw new FhirError(400, 'invalid', `PATCH needs Type/id, got "${url}"`);
      access?.require(type, 'update');
      // FHIR carries a JSON Patch in a Bundle as a Binary whose data is the base64 patch.
      const binary = entry.resource as { resourceType?: string; data?: string } | undefined;
      if (binary?.resourceType !== 'Binary' || !binary.data)
        throw new FhirError(
          400,
          'invalid',
          'a PATCH entry carries its JSON Patch as a Binary (data, base64)',
        );
      let operations: unknown;
      try {
        operations = JSON.parse(Buffer.from(binary.data, 'base64').toString('utf8'));
      } catch {
        throw new FhirError(400, 'structure', 'the PATCH entry Binary.data is not a JSON Patch');
      }
      return written(
        base,
        await patchInteraction(storeFor('update', `${type}/${id}`), type, id, operations, ifMatch),
      );
    }
    case 'DELETE':
      if (!id) throw new FhirError(400, 'not-supported', 'conditional delete is not supported');
      access?.require(type, 'delete');
      await storeFor('delete', `${type}/${id}`).delete(type, id);
      return { response: { status: '204' } };
    case 'GET': {
      if (id) {
        access?.require(type, 'read');
        const version = present(type, id, await storeFor('read', `${type}/${id}`).read(type, id));
        return {
          fullUrl: `${base}/${type}/${id}`,
          resource: version.resource,
          response: { status: '200', etag: `W/"${version.versionId}"` },
        };
      }
      const pairs = [...new URLSearchParams(query ?? '')];
      const restriction = access?.searchRestriction(type, pairs);
      const op = access?.record('search', `${type}?`, [], redactQuery(pairs));
      const result = await searchStored(db, type, pairs, restriction);
      if (access) result.matches = result.matches.flatMap((r) => access.visible(r, op) ?? []);
      return {
        resource: {
          resourceType: 'Bundle',
          type: 'searchset',
          ...(result.total !== null && { total: result.total }),
          ...(result.matches.length > 0 && {
            entry: result.matches.map((r) => ({
              fullUrl: `${base}/${type}/${r.id}`,
              resource: r,
              search: { mode: 'match' },
            })),
          }),
        },
        response: { status: '200' },
      };
    }
    default:
      throw new FhirError(
        400,
        'invalid',
        `request.method must be GET, POST, PUT, PATCH or DELETE, not ${JSON.stringify(method ?? null)}`,
      );
  }
}

function written(base: string, { status, version }: Outcome): ResponseEntry {
  const { resourceType, id, versionId, lastUpdated } = version;
  return {
    fullUrl: `${base}/${resourceType}/${id}`,
    resource: version.resource,
    response: {
      status: String(status),
      location: `${resourceType}/${id}/_history/${versionId}`,
      etag: `W/"${versionId}"`,
      lastModified: new Date(lastUpdated).toISOString(),
    },
  };
}

function failure(error: unknown): ResponseEntry {
  const e = asFhirError(error);
  return {
    response: {
      status: String(e?.status ?? 500),
      outcome: operationOutcome(e?.code ?? 'exception', e ? e.message : 'Internal server error'),
    },
  };
}
