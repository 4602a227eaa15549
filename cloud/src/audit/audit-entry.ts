import type { Principal, RequestSource } from '../auth/principal.ts';

/** What happened, in the vocabulary reports and incident detection use. */
export type AuditAction =
  // PHI access
  | 'read'
  | 'vread'
  | 'history'
  | 'search'
  | 'create'
  | 'update'
  | 'delete'
  | 'export'
  // security events
  | 'login'
  | 'mfa'
  | 'logout'
  | 'lockout'
  | 'session-expired'
  | 'token'
  | 'denied'
  | 'break-glass'
  // administration
  | 'admin';

export type AuditOutcome = 'success' | 'failure' | 'denied';

/** The actor when nobody is authenticated yet (a failed login names the username tried). */
export interface AnonymousActor {
  kind: 'anonymous';
  username?: string;
}

/** One audit record before it is chained; the audit log turns it into a FHIR AuditEvent. */
export interface AuditEntry {
  action: AuditAction;
  outcome: AuditOutcome;
  actor: Principal | AnonymousActor | { kind: 'system'; id: string };
  /** Patients whose data was touched (Patient ids); [] for security and admin events. */
  patientIds: string[];
  /** What was acted on, e.g. `Observation/123`, `Observation?` for a search, `users/u-1`. */
  entity?: string;
  /** The request's query with PHI values redacted (never names, identifiers, phone numbers). */
  query?: string;
  source?: RequestSource;
  /** HL7 v3 PurposeOfUse: TREAT (default for care), ETREAT (break-the-glass), HOPERAT, ... */
  purposeOfUse?: string;
  /** Short, PHI-free words: a denial's reason, a break-glass reason, an admin change. */
  detail?: string;
  /** When it happened; now when absent. */
  at?: number;
}

/** The one door into the audit trail. `append` resolves once the record is committed. */
export interface AuditLog {
  append(entry: AuditEntry): Promise<void>;
  appendMany(entries: AuditEntry[]): Promise<void>;
}
