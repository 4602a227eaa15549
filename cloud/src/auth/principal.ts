/** The roles a user can hold. Every role but `patient` is staff (MFA and HIPAA training required). */
export const ROLES = [
  'doctor',
  'nurse',
  'pharmacist',
  'lab-technician',
  'administrator',
  'billing-specialist',
  'compliance-officer',
  'patient',
] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function isStaff(role: Role): boolean {
  return role !== 'patient';
}

/**
 * Who is making a request, once authenticated: a signed-in user (after MFA where required) or an
 * API client holding a client-credentials token. Authorization decides from this alone plus the
 * care relationships in the database.
 */
export type Principal = UserPrincipal | ClientPrincipal;

export interface UserPrincipal {
  kind: 'user';
  id: string;
  username: string;
  role: Role;
  /** The session (hash of its token) this request came with. */
  sessionId: string;
  /** Role nurse: the wards (gateway ids) they work on. */
  wards: string[];
  /** Role patient: their own Patient id. */
  patientId: string | null;
}

export interface ClientPrincipal {
  kind: 'client';
  id: string;
  name: string;
  /** SMART backend-services scopes granted to this token, e.g. `system/Observation.read`. */
  scopes: string[];
}

/** Where a request came from, for the audit trail. */
export interface RequestSource {
  ip: string | null;
  userAgent: string | null;
}
