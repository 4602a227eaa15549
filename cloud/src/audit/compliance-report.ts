import type { Db } from '../db/database.ts';
import {
  type AccessReview,
  type AccessReviewRules,
  accessReview,
  type BackupStatus,
  backupStatus,
} from './access-review.ts';
import { PHI_ACTIONS } from './audit-event.ts';
import { detectIncidents, type Incident, type IncidentRules } from './incidents.ts';
import { isoOf, type Period } from './period.ts';
import { activityReport } from './report.ts';
import { type ChainVerification, verifyAuditChain } from './verify.ts';

/** What the phi-crypto part reports about encryption at rest (its own shape, passed through). */
export type EncryptionCoverage = (db: Db) => Promise<unknown>;

export interface ComplianceReport {
  generatedAt: string;
  period: { from: string; to: string };
  accessMetrics: {
    events: number;
    byAction: Record<string, number>;
    byOutcome: Record<string, number>;
    /** Record reads, searches, writes and exports that succeeded. */
    phiAccesses: number;
    uniquePatients: number;
    activeUsers: number;
    deniedAccesses: number;
    failedSignIns: number;
    breakGlassAccesses: number;
    exports: number;
    /** Events per role (`client`, `anonymous` and `system` for the non-users). */
    byRole: Record<string, number>;
  };
  incidents: {
    total: number;
    byKind: Record<string, number>;
    bySeverity: Record<string, number>;
    items: Incident[];
  };
  /** The whole chain verified now; keep headSeq/headHash to check the next report against. */
  auditChain: ChainVerification & { verifiedAt: string };
  encryption: unknown;
  accessReview: AccessReview;
  backup: BackupStatus;
  /** One line per thing that needs attention; empty when nothing does. */
  findings: string[];
}

export interface ComplianceOptions {
  incidents: IncidentRules;
  review: AccessReviewRules;
  encryptionCoverage?: EncryptionCoverage;
}

const count = (counts: Record<string, number>, key: string) => counts[key] ?? 0;

async function coverage(db: Db, provider: EncryptionCoverage | undefined): Promise<unknown> {
  if (!provider)
    return { status: 'not-configured', message: 'no encryption coverage check is configured' };
  try {
    return await provider(db);
  } catch (error) {
    return { status: 'error', message: (error as Error).message };
  }
}

/** The compliance officer's report for `period`: every part computed now, from the database. */
export async function complianceReport(
  db: Db,
  period: Period,
  now: number,
  options: ComplianceOptions,
  expectHead?: { seq: number; hash: string },
): Promise<ComplianceReport> {
  const [activity, incidents, chain, encryption, review, backup] = await Promise.all([
    activityReport(db, period),
    detectIncidents(db, period, options.incidents),
    verifyAuditChain(db, { expectHead }),
    coverage(db, options.encryptionCoverage),
    accessReview(db, now, options.review),
    backupStatus(db, now, options.review),
  ]);
  const { byAction, byOutcome } = activity.totals;
  const byRole: Record<string, number> = {};
  let activeUsers = 0;
  for (const u of activity.users) {
    const role = u.role ?? 'unknown';
    byRole[role] = (byRole[role] ?? 0) + u.events;
    if (u.role !== 'anonymous' && u.role !== 'system' && (u.byOutcome.success ?? 0) > 0)
      activeUsers++;
  }
  const matrix = activity.totals.byActionAndOutcome;
  const sum = (actions: readonly string[], outcome: (o: string) => boolean) =>
    actions.reduce(
      (total, action) =>
        total +
        Object.entries(matrix[action] ?? {}).reduce((n, [o, c]) => n + (outcome(o) ? c : 0), 0),
      0,
    );
  const byKind: Record<string, number> = {};
  const bySeverity: Record<string, number> = {};
  for (const i of incidents) {
    byKind[i.kind] = (byKind[i.kind] ?? 0) + 1;
    bySeverity[i.severity] = (bySeverity[i.severity] ?? 0) + 1;
  }

  const findings: string[] = [];
  if (!chain.ok && chain.firstProblem)
    findings.push(
      `audit chain broken at seq ${chain.firstProblem.seq} (${chain.firstProblem.kind}): ${chain.firstProblem.message}`,
    );
  if (incidents.length > 0)
    findings.push(
      `${incidents.length} security incident(s), ${bySeverity.high ?? 0} of high severity`,
    );
  if (review.staleAccounts.length > 0)
    findings.push(`${review.staleAccounts.length} stale account(s) to disable or confirm`);
  if (review.training.length > 0)
    findings.push(
      `${review.training.length} staff account(s) with missing or expired HIPAA training`,
    );
  if (review.unusedPrivileges.length > 0)
    findings.push(
      `${review.unusedPrivileges.length} account(s) or client(s) with unused privileges`,
    );
  if (review.openBreakGlass.length > 0)
    findings.push(`${review.openBreakGlass.length} break-the-glass access(es) not yet reviewed`);
  if (backup.status !== 'ok') findings.push(`backups: ${backup.message}`);
  const coverageOf = encryption as { status?: unknown; message?: unknown } | null;
  if (coverageOf?.status !== 'ok')
    findings.push(`encryption at rest: ${String(coverageOf?.message ?? 'no coverage reported')}`);

  return {
    generatedAt: isoOf(now),
    period: activity.period,
    accessMetrics: {
      events: activity.totals.events,
      byAction,
      byOutcome,
      phiAccesses: sum(PHI_ACTIONS, (o) => o === 'success'),
      uniquePatients: activity.totals.uniquePatients,
      activeUsers,
      deniedAccesses: count(byOutcome, 'denied'),
      failedSignIns: sum(['login', 'mfa', 'token'], (o) => o !== 'success'),
      breakGlassAccesses: sum(['break-glass'], (o) => o === 'success'),
      exports: count(byAction, 'export'),
      byRole,
    },
    incidents: { total: incidents.length, byKind, bySeverity, items: incidents },
    auditChain: { ...chain, verifiedAt: isoOf(now) },
    encryption,
    accessReview: review,
    backup,
    findings,
  };
}
