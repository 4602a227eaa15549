import { searchParamsOf } from './search/definitions.ts';
import { READ_ONLY_TYPES, STORED_TYPES } from './store/validate.ts';

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

const READ_INTERACTIONS = ['read', 'vread', 'history-instance', 'history-type', 'search-type'];
const WRITE_INTERACTIONS = ['create', 'update', 'patch', 'delete'];

/**
 * Exactly what this API implements: the versioned interactions and search on every stored type;
 * AuditEvent is read and search only (the audit trail writes it).
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
          ...STORED_TYPES.map((type) => {
            const readOnly = READ_ONLY_TYPES.has(type);
            return {
              type,
              interaction: [...READ_INTERACTIONS, ...(readOnly ? [] : WRITE_INTERACTIONS)].map(
                (code) => ({ code }),
              ),
              versioning: 'versioned-update',
              readHistory: true,
              updateCreate: !readOnly,
              conditionalCreate: !readOnly,
              conditionalDelete: 'not-supported',
              searchParam: storedSearchParams(type),
              ...(type === 'Patient' && {
                operation: [
                  {
                    name: 'everything',
                    definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
                  },
                ],
              }),
            };
          }),
        ],
      },
    ],
  };
}
