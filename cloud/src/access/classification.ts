/**
 * Data classification of what the FHIR API serves. PHI: health information about a patient;
 * PII: identities of staff; internal: the organisation's own records; public: reference data
 * anyone signed in may read.
 */
export type Classification = 'phi' | 'pii' | 'internal' | 'public';

const CLASSIFICATION: Record<string, Classification> = {
  Patient: 'phi',
  Observation: 'phi',
  Flag: 'phi',
  Encounter: 'phi',
  Condition: 'phi',
  AllergyIntolerance: 'phi',
  MedicationRequest: 'phi',
  DiagnosticReport: 'phi',
  Appointment: 'phi',
  DocumentReference: 'phi',
  Binary: 'phi',
  Practitioner: 'pii',
  PractitionerRole: 'pii',
  Organization: 'internal',
  Location: 'internal',
  Device: 'internal',
  Schedule: 'internal',
  Slot: 'internal',
  AuditEvent: 'internal',
  Medication: 'public',
};

/** A type nobody classified is treated as PHI: the strictest rules apply. */
export function classificationOf(type: string): Classification {
  return CLASSIFICATION[type] ?? 'phi';
}
