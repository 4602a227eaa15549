import type { Role } from '../auth/principal.ts';

/** What can be done to a resource type. `read` covers read, vread, history; `search` searching. */
export type Action = 'read' | 'search' | 'create' | 'update' | 'delete';

/** r: read and search; rw: also create, update, delete. */
type Grant = 'r' | 'rw';

/**
 * Whose records a role reaches (the care relationship): `care-team` a doctor's own patients,
 * `ward` the patients in a nurse's wards' beds, `self` a patient's own record, `organization`
 * every patient (roles that serve the whole hospital: pharmacy, laboratory, billing), `none` no
 * patient at all.
 */
export type Relationship = 'care-team' | 'ward' | 'self' | 'organization' | 'none';

export interface RolePolicy {
  grants: Record<string, Grant>;
  relationship: Relationship;
  /**
   * Minimum necessary: for these types the role sees only the listed elements (and may not
   * write the type), and searches only on the listed parameters.
   */
  fields?: Record<string, { elements: string[]; searchParams: string[] }>;
  /** May declare an emergency (break-the-glass) to reach a patient outside the relationship. */
  breakGlass: boolean;
}

const REFERENCE_DATA = {
  Practitioner: 'r',
  PractitionerRole: 'r',
  Organization: 'r',
  Location: 'r',
  Medication: 'r',
} as const;

const CLINICAL_RECORD = [
  'Patient',
  'Observation',
  'Flag',
  'Encounter',
  'Condition',
  'AllergyIntolerance',
  'MedicationRequest',
  'DiagnosticReport',
  'Appointment',
  'DocumentReference',
  'Binary',
] as const;

const all = (types: readonly string[], grant: Grant) =>
  Object.fromEntries(types.map((t) => [t, grant])) as Record<string, Grant>;

/** Identity only: enough to be sure of the patient, nothing of where they live or how to call. */
const PATIENT_IDENTITY = {
  elements: ['id', 'meta', 'identifier', 'active', 'name', 'gender', 'birthDate'],
  searchParams: ['_id', 'identifier', 'name', 'family', 'given', 'gender', 'birthdate'],
};

export const ROLE_POLICIES: Record<Role, RolePolicy> = {
  doctor: {
    grants: {
      ...REFERENCE_DATA,
      Device: 'r',
      Schedule: 'r',
      Slot: 'r',
      ...all(CLINICAL_RECORD, 'rw'),
    },
    relationship: 'care-team',
    breakGlass: true,
  },
  nurse: {
    grants: {
      ...REFERENCE_DATA,
      Device: 'r',
      ...all(CLINICAL_RECORD, 'r'),
      Observation: 'rw',
      Flag: 'rw',
      Encounter: 'rw',
      AllergyIntolerance: 'rw',
    },
    relationship: 'ward',
    breakGlass: true,
  },
  pharmacist: {
    grants: {
      ...REFERENCE_DATA,
      Medication: 'rw',
      Patient: 'r',
      MedicationRequest: 'rw',
      AllergyIntolerance: 'r',
      Condition: 'r',
    },
    relationship: 'organization',
    fields: { Patient: PATIENT_IDENTITY },
    breakGlass: false,
  },
  'lab-technician': {
    grants: { ...REFERENCE_DATA, Patient: 'r', Observation: 'rw', DiagnosticReport: 'rw' },
    relationship: 'organization',
    fields: { Patient: PATIENT_IDENTITY },
    breakGlass: false,
  },
  'billing-specialist': {
    grants: { ...REFERENCE_DATA, Patient: 'r', Encounter: 'r', Appointment: 'r' },
    relationship: 'organization',
    fields: {
      Patient: {
        elements: [...PATIENT_IDENTITY.elements, 'address', 'telecom', 'managingOrganization'],
        searchParams: [...PATIENT_IDENTITY.searchParams, 'address', 'address-postalcode'],
      },
      Encounter: {
        elements: [
          'id',
          'meta',
          'identifier',
          'status',
          'class',
          'type',
          'subject',
          'period',
          'serviceProvider',
        ],
        searchParams: [
          '_id',
          'identifier',
          'status',
          'class',
          'type',
          'subject',
          'patient',
          'date',
        ],
      },
      Appointment: {
        elements: [
          'id',
          'meta',
          'identifier',
          'status',
          'serviceType',
          'start',
          'end',
          'participant',
        ],
        searchParams: ['_id', 'identifier', 'status', 'date', 'patient', 'actor'],
      },
    },
    breakGlass: false,
  },
  administrator: {
    grants: {
      ...all(['Practitioner', 'PractitionerRole', 'Organization', 'Location', 'Device'], 'rw'),
      ...all(['Medication', 'Schedule', 'Slot'], 'rw'),
    },
    relationship: 'none',
    breakGlass: false,
  },
  'compliance-officer': {
    grants: { AuditEvent: 'r', Practitioner: 'r', PractitionerRole: 'r', Organization: 'r' },
    relationship: 'none',
    breakGlass: false,
  },
  patient: {
    grants: { ...REFERENCE_DATA, Schedule: 'r', Slot: 'r', ...all(CLINICAL_RECORD, 'r') },
    relationship: 'self',
    breakGlass: false,
  },
};

/** Does the role's grant on `type` allow `action` (before relationship and field rules)? */
export function roleAllows(role: Role, type: string, action: Action): boolean {
  const grant = ROLE_POLICIES[role].grants[type];
  if (!grant) return false;
  return grant === 'rw' || action === 'read' || action === 'search';
}
