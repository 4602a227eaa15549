export {
  type AccessReview,
  type AccessReviewRules,
  accessReview,
  type BackupStatus,
  backupStatus,
  DEFAULT_ACCESS_REVIEW,
} from './access-review.ts';
export type {
  AnonymousActor,
  AuditAction,
  AuditEntry,
  AuditLog,
  AuditOutcome,
} from './audit-entry.ts';
export { auditEvent } from './audit-event.ts';
export { canonicalJson, GENESIS_HASH, rowHash } from './chain-hash.ts';
export {
  type AuditLogOptions,
  type ChainedAuditLog,
  type ChainHead,
  createAuditLog,
} from './chain-writer.ts';
export { AUDIT_USAGE, auditCommand } from './cli.ts';
export {
  type ComplianceReport,
  complianceReport,
  type EncryptionCoverage,
} from './compliance-report.ts';
export {
  DEFAULT_INCIDENT_RULES,
  detectIncidents,
  type Incident,
  type IncidentRules,
  incidentRules,
} from './incidents.ts';
export type { Period } from './period.ts';
export {
  type AuditProjection,
  type AuditProjectionOptions,
  startAuditProjection,
} from './projection.ts';
export { type ActivityReport, activityReport } from './report.ts';
export { type AuditAppOptions, auditApp, mayReadAuditTrail } from './routes.ts';
export {
  type ChainProblem,
  type ChainVerification,
  parseHead,
  verifyAuditChain,
} from './verify.ts';
