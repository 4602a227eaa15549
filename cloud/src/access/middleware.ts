import type { Context, MiddlewareHandler } from 'hono';
import type { AuditEntry, AuditLog, AuditOutcome } from '../audit/audit-entry.ts';
import type { Principal } from '../auth/principal.ts';
import { requestSource } from '../auth/request-source.ts';
import { errorForLog } from '../crypto/log-redaction.ts';
import type { Db } from '../db/database.ts';
import { patientScopeOf } from './patient-scope.ts';
import { RequestAccess } from './request-access.ts';

export type AccessEnv = { Variables: { principal: Principal; access: RequestAccess } };

/** How an app answers the middleware's own refusals (JSON error or OperationOutcome). */
export type ErrorRenderer = (
  c: Context,
  status: 401 | 500,
  code: string,
  message: string,
) => Response;

export interface AccessMiddlewareOptions {
  audit: AuditLog;
  /**
   * Where the records of successful reads and searches go, when not `audit`: a log that may
   * commit without waiting for the disk flush (see server.ts). Writes, exports, refusals and
   * security events always go to `audit`.
   */
  readAudit?: AuditLog;
  render: ErrorRenderer;
  now?: () => number;
  log?: (message: string) => void;
}

/**
 * Authorization and audit around every request of an app (after authentication): builds the
 * request's RequestAccess (the principal's care relationship, read once), runs the route, then
 * writes the audit record of what the route did — and only then lets the response go. A route
 * that answered without asking for any authorization decision, or a response whose audit record
 * could not be committed, becomes a 500: no unaudited or unauthorized PHI leaves.
 */
export function accessControl(db: Db, options: AccessMiddlewareOptions): MiddlewareHandler {
  const now = options.now ?? Date.now;
  return async (context, next) => {
    const c = context as unknown as Context<AccessEnv>;
    const principal = c.get('principal') as Principal | undefined;
    if (!principal) return options.render(c, 401, 'unauthenticated', 'Sign in first');
    const access = new RequestAccess(principal, await patientScopeOf(db, principal, now()));
    c.set('access', access);
    await next();
    const status = c.res.status;
    if (status < 400 && !access.decided) {
      options.log?.(
        `access: ${c.req.method} ${c.req.routePath} answered without an authorization decision`,
      );
      c.res = options.render(c, 500, 'internal_error', 'Internal server error');
      return;
    }
    const entries = auditEntries(c, access, status, now());
    if (entries.length === 0) return;
    const readsOnly = entries.every((e) => e.outcome === 'success' && READS.has(e.action));
    try {
      await (readsOnly ? (options.readAudit ?? options.audit) : options.audit).appendMany(entries);
    } catch (error) {
      options.log?.(`access: audit record not committed, response withheld: ${errorForLog(error)}`);
      c.res = options.render(
        c,
        500,
        'audit_unavailable',
        'The audit trail is unavailable; try again',
      );
    }
  };
}

const READS = new Set(['read', 'vread', 'history', 'search']);

function auditEntries(c: Context, access: RequestAccess, status: number, at: number): AuditEntry[] {
  const outcome: AuditOutcome =
    status === 401 || status === 403 ? 'denied' : status < 400 ? 'success' : 'failure';
  const source = requestSource(c);
  const emergency = access.isEmergency();
  const base = {
    actor: access.principal,
    outcome,
    source,
    at,
    purposeOfUse: emergency ? 'ETREAT' : 'TREAT',
  };
  if (access.operations.length === 0) {
    if (outcome !== 'denied') return [];
    return [
      {
        ...base,
        action: 'denied',
        patientIds: [],
        entity: `${c.req.method} ${c.req.routePath}`,
        detail: access.denial,
      },
    ];
  }
  return access.operations.map((op) => ({
    ...base,
    action: outcome === 'denied' ? 'denied' : op.action,
    patientIds: [...op.patients],
    entity: op.entity,
    query: op.query,
    detail: outcome === 'denied' ? `${op.action}: ${access.denial ?? 'refused'}` : op.detail,
    ...(op.action === 'break-glass' && { purposeOfUse: 'ETREAT' }),
  }));
}
