import fastJsonPatch from 'fast-json-patch';
import { FhirError } from '../operation-outcome.ts';
import type { ResourceStore, StoredVersion } from './resource-store.ts';
import { checkResource, type FhirResource, READ_ONLY_TYPES } from './validate.ts';

// The interactions on stored resources, shared by the REST routes and Bundle entries.

const { applyPatch, validate: validatePatch } = fastJsonPatch;

export interface Outcome {
  status: 200 | 201;
  version: StoredVersion;
}

/** create; with `ifNoneExist` (If-None-Exist) an existing match is returned instead (200). */
export async function createInteraction(
  store: ResourceStore,
  type: string,
  body: unknown,
  ifNoneExistCriteria?: string,
): Promise<Outcome> {
  const resource = checkResource(body, type);
  delete resource.id; // create: the server assigns the id
  const existing = await ifNoneExist(store, type, ifNoneExistCriteria);
  if (existing) return { status: 200, version: existing };
  return { status: 201, version: await store.create(resource) };
}

/** update (201 when it created the id); `ifMatch` is the version the client last saw. */
export async function updateInteraction(
  store: ResourceStore,
  type: string,
  id: string,
  body: unknown,
  ifMatch?: number,
): Promise<Outcome> {
  const resource = checkResource(body, type, id);
  const { version, created } = await store.update(resource, ifMatch);
  return { status: created ? 201 : 200, version };
}

/** JSON Patch (RFC 6902) on the current version, checked as a whole resource afterwards. */
export async function patchInteraction(
  store: ResourceStore,
  type: string,
  id: string,
  operations: unknown,
  ifMatch?: number,
): Promise<Outcome> {
  const current = present(type, id, await store.read(type, id)).resource as FhirResource;
  const patched = patchResource(current, operations);
  const match = ifMatch ?? Number(current.meta?.versionId);
  return updateInteraction(store, type, id, patched, match);
}

/** 405 for the types the API serves read-only. */
export function checkWritable(type: string): void {
  if (READ_ONLY_TYPES.has(type))
    throw new FhirError(
      405,
      'not-supported',
      `${type} is read-only here: only the server writes it`,
    );
}

/** A current version that exists and is not deleted, else 404 / 410 Gone. */
export function present(
  type: string,
  what: string,
  version: StoredVersion | undefined,
): StoredVersion {
  if (!version) throw new FhirError(404, 'not-found', `${type}/${what} is not known`);
  if (version.deleted) throw new FhirError(410, 'deleted', `${type}/${what} was deleted`);
  return version;
}

/** If-Match: W/"3" (or "3") → 3; absent → undefined. */
export function parseIfMatch(header: string | undefined): number | undefined {
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
  // As a search value: a comma or backslash in the identifier is a literal, not syntax.
  const literal = (text: string) => text.replace(/[\\,|$]/g, (c) => `\\${c}`);
  let criterion: [string, string];
  if (name === 'identifier') {
    const bar = value.indexOf('|');
    if (value.slice(bar + 1) === '')
      throw new FhirError(400, 'invalid', 'If-None-Exist: the identifier has no value');
    criterion = [
      name,
      bar < 0 ? literal(value) : `${literal(value.slice(0, bar))}|${literal(value.slice(bar + 1))}`,
    ];
  } else if (name === '_id') criterion = [name, literal(value)];
  else
    throw new FhirError(
      400,
      'not-supported',
      `If-None-Exist: only identifier and _id are supported, got "${name}"`,
    );
  const matches = await store.findMatching(type, criterion, 2);
  if (matches.length > 1)
    throw new FhirError(412, 'duplicate', `If-None-Exist: ${header} matches several ${type}`);
  return matches[0];
}

function patchResource(current: FhirResource, operations: unknown): unknown {
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
