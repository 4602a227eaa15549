import { FhirError } from '../operation-outcome.ts';
import { validateStructure } from '../validation/validate-structure.ts';

export interface FhirResource {
  resourceType: string;
  id?: string;
  meta?: Record<string, unknown>;
  [element: string]: unknown;
}

/** Resource types kept in the versioned store. */
export const STORED_TYPES = [
  'Patient',
  'Observation',
  'Flag',
  'Practitioner',
  'PractitionerRole',
  'Organization',
  'Location',
  'Encounter',
  'Condition',
  'AllergyIntolerance',
  'Medication',
  'MedicationRequest',
  'DiagnosticReport',
  'Device',
  'Appointment',
  'Schedule',
  'Slot',
  'DocumentReference',
  'Binary',
  'AuditEvent',
] as const;

/** Stored types the FHIR API serves read-only: the audit trail writes AuditEvents itself. */
export const READ_ONLY_TYPES: ReadonlySet<string> = new Set(['AuditEvent']);

/** FHIR id: 1–64 of A–Z a–z 0–9 - . */
export const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Reads a request body as a resource of `type`: well-formed JSON, a JSON object, the right
 * resourceType, a valid id, FHIR's JSON rules (no null, no empty string, object or array) and
 * the R4 structure definition (validateStructure), each problem reported with its path. `id` is
 * the id the URL names (update), if any.
 */
export function parseResource(text: string, type: string, id?: string): FhirResource {
  return checkResource(parseJson(text, 'Body'), type, id);
}

/** JSON.parse with a 400 that says what was not JSON. */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new FhirError(400, 'structure', `${what} is not valid JSON: ${(error as Error).message}`);
  }
}

/** parseResource for a body already parsed (a Bundle entry's resource). */
export function checkResource(body: unknown, type: string, id?: string): FhirResource {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new FhirError(400, 'structure', 'Body must be a JSON object (a FHIR resource)');
  const resource = body as FhirResource;
  if (resource.resourceType !== type)
    throw new FhirError(
      400,
      'invalid',
      `resourceType is ${JSON.stringify(resource.resourceType ?? null)}, expected "${type}"`,
    );
  if (id !== undefined && resource.id !== id)
    throw new FhirError(
      400,
      'invalid',
      `${type}.id is ${JSON.stringify(resource.id ?? null)}, but the URL names ${type}/${id}`,
    );
  if (
    resource.id !== undefined &&
    (typeof resource.id !== 'string' || !ID_PATTERN.test(resource.id))
  )
    throw new FhirError(400, 'value', `${type}.id: not a FHIR id (1-64 of A-Z a-z 0-9 - .)`);
  const problems: string[] = [];
  jsonRuleProblems(resource, type, problems);
  if (problems.length > 0) throw new FhirError(400, 'structure', problems.join('; '));
  const structure = validateStructure(resource);
  if (structure.length > 0)
    throw new FhirError(
      400,
      structure[0].code,
      structure.map((p) => `${p.path}: ${p.message}`).join('; '),
      structure.map((p) => ({
        severity: 'error',
        code: p.code,
        diagnostics: `${p.path}: ${p.message}`,
        expression: [p.path],
      })),
    );
  return resource;
}

/** FHIR JSON: no nulls, no empty strings, objects or arrays (http://hl7.org/fhir/R4/json.html). */
function jsonRuleProblems(value: unknown, path: string, problems: string[]): void {
  if (problems.length >= 20) return;
  if (value === null) problems.push(`${path}: null is not allowed`);
  else if (value === '') problems.push(`${path}: empty string is not allowed`);
  else if (Array.isArray(value)) {
    if (value.length === 0) problems.push(`${path}: empty array is not allowed`);
    value.forEach((item, i) => {
      jsonRuleProblems(item, `${path}[${i}]`, problems);
    });
  } else if (typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) problems.push(`${path}: empty object is not allowed`);
    for (const [key, item] of entries) jsonRuleProblems(item, `${path}.${key}`, problems);
  }
}
