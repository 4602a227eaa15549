import { FLAG_SEARCH } from './flag.ts';
import { OBSERVATION_SEARCH } from './observation.ts';
import { PATIENT_SEARCH } from './patient.ts';
import { searchParamsOf } from './search/definitions.ts';
import type { ParamType, SearchSpec } from './search-params.ts';
import { STORED_TYPES } from './store/validate.ts';

/** Canonical SearchParameter definitions of the standard parameters this server implements. */
const DEFINITIONS: Record<string, string> = {
  'Observation.patient': 'http://hl7.org/fhir/SearchParameter/clinical-patient',
  'Observation.subject': 'http://hl7.org/fhir/SearchParameter/Observation-subject',
  'Observation.code': 'http://hl7.org/fhir/SearchParameter/clinical-code',
  'Observation.date': 'http://hl7.org/fhir/SearchParameter/clinical-date',
  'Observation.device': 'http://hl7.org/fhir/SearchParameter/Observation-device',
  'Patient.identifier': 'http://hl7.org/fhir/SearchParameter/Patient-identifier',
  'Patient.name': 'http://hl7.org/fhir/SearchParameter/Patient-name',
  'Flag.patient': 'http://hl7.org/fhir/SearchParameter/clinical-patient',
  'Flag.subject': 'http://hl7.org/fhir/SearchParameter/Flag-subject',
  'Flag.date': 'http://hl7.org/fhir/SearchParameter/clinical-date',
};

const DOCUMENTATION: Record<string, string> = {
  'Observation.date': 'Prefixes eq, ne, gt, lt, ge, le, sa, eb; dates without a time are UTC days.',
  'Observation.code': 'LOINC (http://loinc.org) or MDC (urn:iso:std:iso:11073:10101) codes.',
  'Observation.device': 'Device/{gatewayId}.{deviceId}',
  'Flag.date': 'When the alarm was raised (period start); prefixes as Observation.date.',
  'Flag.status': 'active (alarm not cleared) or inactive (cleared).',
  _count: 'Page size, default 50, at most 1000.',
  _lastUpdated: 'When the current version was written; prefixes as Observation.date.',
  _sort: 'date, _lastUpdated; prefix "-" for descending; several keys comma-separated.',
};

function searchParams(spec: SearchSpec) {
  const params: [string, ParamType | 'number' | 'special'][] = [
    ...(Object.entries(spec.params) as [string, ParamType][]),
    ['_count', 'number'],
  ];
  if (spec.sortKeys.length > 0) params.push(['_sort', 'special']);
  return params.map(([name, type]) => {
    const key = `${spec.resourceType}.${name}`;
    const definition = DEFINITIONS[key];
    const documentation = DOCUMENTATION[key] ?? DOCUMENTATION[name];
    return {
      name,
      ...(definition && { definition }),
      type,
      ...(documentation && { documentation }),
    };
  });
}

/** The standard R4 parameters of a stored type, then the common ones. */
function storedSearchParams(type: string) {
  const standard = [...searchParamsOf(type).values()]
    .sort((a, b) => a.code.localeCompare(b.code))
    .map((p) => ({ name: p.code, definition: p.url, type: p.type }));
  const common: [string, string, string][] = [
    ['_id', 'token', 'http://hl7.org/fhir/SearchParameter/Resource-id'],
    ['_lastUpdated', 'date', 'http://hl7.org/fhir/SearchParameter/Resource-lastUpdated'],
  ];
  return [
    ...standard,
    ...common.map(([name, t, definition]) => ({ name, definition, type: t })),
    ...['_count', '_sort', '_include', '_revinclude', '_summary', '_total'].map((name) => ({
      name,
      type: name === '_count' ? 'number' : 'special',
    })),
  ];
}

const PUBLISHED = new Date().toISOString();

const STORED_INTERACTIONS = [
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'history-type',
  'create',
  'search-type',
] as const;

/**
 * Exactly what this API implements: read and search on Observation, Patient and Flag (from device
 * data), and the versioned interactions on the stored resource types.
 */
export function capabilityStatement(base: string) {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: PUBLISHED,
    publisher: 'wardgate',
    kind: 'instance',
    software: { name: 'wardgate cloud' },
    implementation: { description: 'wardgate FHIR R4 API', url: base },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [
      {
        mode: 'server',
        documentation:
          'Searches page by offset: follow the Bundle next/previous links. Unknown search ' +
          'parameters are rejected (strict handling).',
        resource: [
          ...[OBSERVATION_SEARCH, PATIENT_SEARCH, FLAG_SEARCH].map((spec) => ({
            type: spec.resourceType,
            interaction: [{ code: 'read' }, { code: 'search-type' }],
            searchParam: searchParams(spec),
          })),
          ...STORED_TYPES.map((type) => ({
            type,
            interaction: STORED_INTERACTIONS.map((code) => ({ code })),
            versioning: 'versioned-update',
            readHistory: true,
            updateCreate: true,
            conditionalCreate: true,
            conditionalDelete: 'not-supported',
            searchParam: storedSearchParams(type),
          })),
        ],
      },
    ],
  };
}
