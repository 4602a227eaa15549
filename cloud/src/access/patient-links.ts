import { patientCompartmentParams } from '../fhir/everything.ts';
import { indexRows } from '../fhir/search/extract.ts';
import type { FhirResource } from '../fhir/store/validate.ts';

let paramsByType: Map<string, Set<string>> | undefined;

/** Per resource type, the search parameters that put a resource in a Patient's compartment. */
export function compartmentParamsByType(): Map<string, Set<string>> {
  if (!paramsByType) {
    paramsByType = new Map();
    for (const typeParam of patientCompartmentParams()) {
      const [type, param] = typeParam.split('.');
      const params = paramsByType.get(type) ?? new Set<string>();
      params.add(param);
      paramsByType.set(type, params);
    }
  }
  return paramsByType;
}

/** Can a resource of this type belong to a patient (is it in the Patient compartment)? */
export function isPatientLinked(type: string): boolean {
  return type === 'Patient' || compartmentParamsByType().has(type);
}

/**
 * The patients a resource belongs to: the Patient itself, or the patients its compartment
 * references name (Observation.subject, Encounter.subject, Flag.subject, ...), as the search
 * index extracts them, so an access check and a filtered search agree.
 */
export function patientsOf(resource: FhirResource): string[] {
  if (resource.resourceType === 'Patient') return resource.id ? [resource.id] : [];
  const params = compartmentParamsByType().get(resource.resourceType);
  if (!params) return [];
  const ids = new Set<string>();
  for (const ref of indexRows(resource, params).reference)
    if (ref.targetType === 'Patient' && ref.targetId && params.has(ref.param))
      ids.add(ref.targetId);
  return [...ids];
}
