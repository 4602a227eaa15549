import type { FhirResource } from '../fhir/store/validate.ts';

/** The code FHIR uses to say a resource is incomplete on purpose (R4 §2.34 "Subsetting"). */
const SUBSETTED = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'SUBSETTED',
  display: 'subsetted',
};

/** `resource` with only `elements` (top-level names) left, tagged SUBSETTED. */
export function subset(resource: FhirResource, elements: readonly string[]): FhirResource {
  const kept: Record<string, unknown> = { resourceType: resource.resourceType };
  for (const name of elements)
    if (name in resource) kept[name] = resource[name as keyof FhirResource];
  const meta = (kept.meta ?? {}) as { tag?: unknown[] };
  kept.meta = { ...meta, tag: [...(meta.tag ?? []), SUBSETTED] };
  return kept as FhirResource;
}

/** Parameters that shape a search but test no element of the resource. */
const CONTROL_PARAMS = new Set([
  '_count',
  '_offset',
  '_summary',
  '_total',
  '_include',
  '_revinclude',
  '_format',
  '_pretty',
  '_lastUpdated',
]);

/**
 * The first search parameter in `pairs` that touches an element outside `allowed` (a
 * parameter, the base of a chain or a modifier, or a `_sort` key), else undefined.
 */
export function forbiddenSearchParam(
  pairs: readonly [string, string][],
  allowed: readonly string[],
): string | undefined {
  const ok = (name: string) => allowed.includes(name.split(/[.:]/)[0]);
  for (const [name, value] of pairs) {
    if (name === '_sort') {
      const key = value.split(',').find((k) => !ok(k.trim().replace(/^-/, '')));
      if (key !== undefined) return `_sort=${key}`;
    } else if (!CONTROL_PARAMS.has(name) && !ok(name)) return name;
  }
  return undefined;
}
