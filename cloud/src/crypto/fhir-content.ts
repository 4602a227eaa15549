import type { FhirResource } from '../fhir/store/validate.ts';
import { type KeyRing, SealedValueError, UnknownKeyVersionError } from './key-ring.ts';

/**
 * The associated data of a stored resource version: the same in fhir_resources and fhir_history,
 * which hold the same version (one seal serves both rows); any other type, id or version fails.
 */
export function contentAd(type: string, id: string, versionId: number): string {
  return `fhir.content|${type}/${id}/${versionId}`;
}

/** The value stored in the jsonb `content` columns: the resource JSON sealed, as a JSON string. */
export function sealResource(
  ring: KeyRing,
  type: string,
  id: string,
  versionId: number,
  resource: object,
): string {
  return ring.seal(JSON.stringify(resource), contentAd(type, id, versionId));
}

/** A stored row's identity and its `content` column as the driver returns it. */
export interface ContentRow {
  resourceType: string;
  id: string;
  versionId: number;
  content: unknown;
}

/**
 * The resource of a stored row: null for a deletion; a sealed value opened; a JSON object as it is
 * (a row from before encryption that the background migration has not sealed yet).
 */
export function openContent(ring: KeyRing, row: ContentRow): FhirResource | null {
  const { content } = row;
  if (content === null || content === undefined) return null;
  if (typeof content === 'object') return content as FhirResource;
  if (typeof content !== 'string')
    throw new SealedValueError(
      `${row.resourceType}/${row.id}/${row.versionId}: stored content is neither sealed nor JSON`,
    );
  return JSON.parse(
    ring.open(content, contentAd(row.resourceType, row.id, Number(row.versionId))),
  ) as FhirResource;
}

/**
 * The resources of many rows, in order. A value sealed by a key version this process does not hold
 * yet (another replica rotated first) makes the ring read its source once, then it is tried again.
 */
export async function openContents(
  ring: KeyRing,
  rows: readonly ContentRow[],
): Promise<(FhirResource | null)[]> {
  try {
    return rows.map((row) => openContent(ring, row));
  } catch (error) {
    if (!(error instanceof UnknownKeyVersionError)) throw error;
    await ring.reload();
    return rows.map((row) => openContent(ring, row));
  }
}

/** One row's resource (openContents for a single row). */
export async function openOne(ring: KeyRing, row: ContentRow): Promise<FhirResource | null> {
  return (await openContents(ring, [row]))[0];
}
