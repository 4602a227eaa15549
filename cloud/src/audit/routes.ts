import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { scopesAllow } from '../access/scopes.ts';
import type { AuthEnv } from '../auth/hono-env.ts';
import type { Principal } from '../auth/principal.ts';
import { requestSource } from '../auth/request-source.ts';
import type { Db } from '../db/database.ts';
import { ApiError, apiErrors, errorBody } from '../http/json-body.ts';
import { type AccessReviewRules, DEFAULT_ACCESS_REVIEW } from './access-review.ts';
import type { AuditAction, AuditLog } from './audit-entry.ts';
import { complianceReport, type EncryptionCoverage } from './compliance-report.ts';
import { detectIncidents, type IncidentRules, incidentRules } from './incidents.ts';
import { idParam, isoOf, periodOf, queryOf } from './period.ts';
import { activityReport } from './report.ts';
import { parseHead, verifyAuditChain } from './verify.ts';

export interface AuditAppOptions {
  /** The phi-crypto part's report of what is encrypted at rest (for the compliance report). */
  encryptionCoverage?: EncryptionCoverage;
  /** Incident detection thresholds and working hours over DEFAULT_INCIDENT_RULES. */
  incidents?: Partial<IncidentRules>;
  /** Access review limits over DEFAULT_ACCESS_REVIEW. */
  review?: Partial<AccessReviewRules>;
  /** Days a report covers when `from` is not given (default 30). */
  defaultDays?: number;
  now?: () => number;
}

/** Compliance work, in HL7 PurposeOfUse: what the audit trail records these reads for. */
const PURPOSE = 'HCOMPL';

/** The compliance officer, or an API client granted AuditEvent reads (`system/AuditEvent.read`). */
export function mayReadAuditTrail(principal: Principal): boolean {
  return principal.kind === 'user'
    ? principal.role === 'compliance-officer'
    : scopesAllow(principal.scopes, 'AuditEvent', 'read');
}

const ENTITY: Record<string, string> = {
  '/audit/verify': 'AuditEvent/$verify',
  '/audit/report': 'AuditEvent/$report',
  '/audit/incidents': 'AuditEvent/$incidents',
  '/compliance/report': 'AuditEvent/$compliance-report',
};

/**
 * The compliance officer's API, mounted at `/api` behind authentication:
 * - `GET /audit/verify[?head=SEQ:HASH][&since=SEQ:HASH]` — the hash chain checked (only after
 *   `since`, when given), and where it breaks;
 * - `GET /audit/report?from=&to=&user=` — totals by action and outcome, per user, patients touched;
 * - `GET /audit/incidents?from=&to=` — security incidents found in the log;
 * - `GET /compliance/report?from=&to=[&head=SEQ:HASH]` — all of it with the access review,
 *   encryption coverage and the last verified backup.
 * Each read is itself audited (`read`; the compliance report, a download of the whole picture,
 * `export`) before the answer goes out.
 */
export function auditApp(db: Db, audit: AuditLog, options: AuditAppOptions = {}): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const now = options.now ?? Date.now;
  const defaultDays = options.defaultDays ?? 30;
  const rules = incidentRules(options.incidents);
  const review = { ...DEFAULT_ACCESS_REVIEW, ...options.review };

  const record = async (
    c: Context<AuthEnv>,
    action: AuditAction,
    outcome: 'success' | 'denied',
    patientIds: string[] = [],
    detail?: string,
  ) => {
    const url = new URL(c.req.url);
    const route = Object.keys(ENTITY).find((path) => url.pathname.endsWith(path));
    await audit.append({
      action: outcome === 'denied' ? 'denied' : action,
      outcome,
      actor: c.get('principal'),
      patientIds,
      entity: route ? ENTITY[route] : url.pathname,
      query: url.search.slice(1) || undefined,
      source: requestSource(c),
      purposeOfUse: PURPOSE,
      at: now(),
      detail,
    });
  };

  /** Only the compliance officer (or a client with AuditEvent read); a refusal is audited. */
  const guard: MiddlewareHandler<AuthEnv> = async (c, next) => {
    const principal = c.get('principal') as Principal | undefined;
    if (!principal) return c.json(errorBody('unauthenticated', 'Sign in first'), 401);
    if (!mayReadAuditTrail(principal)) {
      const message =
        'only the compliance officer (or a client with system/AuditEvent.read) may read the audit trail';
      await record(c, 'read', 'denied', [], message);
      return c.json(errorBody('forbidden', message), 403);
    }
    await next();
  };
  app.use('/audit/*', guard);
  app.use('/compliance/*', guard);

  const headOf = (query: Map<string, string>, name = 'head') => {
    const text = query.get(name);
    if (text === undefined) return undefined;
    const head = parseHead(text);
    if (!head)
      throw new ApiError(
        400,
        'invalid_query',
        `${name} must be SEQ:HASH (a seq and 64 hex digits)`,
      );
    return head;
  };

  app.get('/audit/verify', async (c) => {
    const query = queryOf(c.req.url, ['head', 'since']);
    const result = await verifyAuditChain(db, {
      expectHead: headOf(query),
      startAfter: headOf(query, 'since'),
    });
    await record(c, 'read', 'success');
    return c.json({ ...result, verifiedAt: isoOf(now()) });
  });

  app.get('/audit/report', async (c) => {
    const query = queryOf(c.req.url, ['from', 'to', 'user']);
    const period = periodOf(query, now(), defaultDays);
    const report = await activityReport(db, period, idParam(query, 'user'));
    await record(c, 'read', 'success');
    return c.json(report);
  });

  app.get('/audit/incidents', async (c) => {
    const query = queryOf(c.req.url, ['from', 'to']);
    const period = periodOf(query, now(), defaultDays);
    const incidents = await detectIncidents(db, period, rules);
    await record(c, 'read', 'success');
    return c.json({
      period: { from: isoOf(period.from), to: isoOf(period.to) },
      rules,
      incidents,
    });
  });

  app.get('/compliance/report', async (c) => {
    const query = queryOf(c.req.url, ['from', 'to', 'head']);
    const at = now();
    const period = periodOf(query, at, defaultDays);
    const report = await complianceReport(
      db,
      period,
      at,
      { incidents: rules, review, encryptionCoverage: options.encryptionCoverage },
      headOf(query),
    );
    // The report names the patients of unreviewed emergency accesses: that is a disclosure.
    const patients = [...new Set(report.accessReview.openBreakGlass.map((b) => b.patientId))];
    await record(c, 'export', 'success', patients);
    return c.json(report);
  });

  app.onError(apiErrors);
  return app;
}
