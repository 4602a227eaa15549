import { and, eq, isNull, lt } from 'drizzle-orm';
import type { AuditLog } from '../audit/audit-entry.ts';
import type { Db } from '../db/database.ts';
import { sessions, users } from '../db/schema.ts';
import type { SessionConfig } from './options.ts';
import type { RequestSource, Role, UserPrincipal } from './principal.ts';
import { newBearerToken, sha256Hex } from './tokens.ts';
import type { UserRow } from './users.ts';

export type SessionRow = typeof sessions.$inferSelect;

/** Starts a session; `mfaPassed` false leaves it waiting for the MFA step (or enrolment). */
export async function createSession(
  db: Db,
  user: UserRow,
  mfaPassed: boolean,
  source: RequestSource,
  now: number,
  config: SessionConfig,
): Promise<{ token: string; session: SessionRow }> {
  const token = newBearerToken();
  const session: SessionRow = {
    tokenHash: sha256Hex(token),
    userId: user.id,
    createdAt: now,
    lastSeenAt: now,
    expiresAt: now + config.absoluteMs,
    mfaPassedAt: mfaPassed ? now : null,
    revokedAt: null,
    sourceIp: source.ip,
    userAgent: source.userAgent,
  };
  await db.insert(sessions).values(session);
  return { token, session };
}

/** When the session ends on its own: absolute limit, idle limit, or the MFA step's deadline. */
export function sessionEndsAt(session: SessionRow, config: SessionConfig): number {
  let end = Math.min(session.expiresAt, session.lastSeenAt + config.idleMs);
  if (session.mfaPassedAt === null) end = Math.min(end, session.createdAt + config.mfaPendingMs);
  return end;
}

export type SessionRefusal =
  | 'invalid-token'
  | 'session-revoked'
  | 'session-expired'
  | 'account-disabled'
  | 'mfa-required';

export const SESSION_REFUSALS: Record<SessionRefusal, string> = {
  'invalid-token': 'the bearer token is not valid',
  'session-revoked': 'the session was ended (logout or administrator)',
  'session-expired': 'the session has expired: sign in again',
  'account-disabled': 'the account is disabled',
  'mfa-required': 'the second factor (MFA) is required first',
};

export type SessionLookup =
  | { ok: true; session: SessionRow; user: UserRow }
  | { ok: false; refusal: SessionRefusal };

/**
 * The live session of a bearer token, read from the database on every request (no cache), so a
 * logout, an administrator's revocation or a disabled account applies to the very next request.
 * `allowPending` admits a session still waiting for MFA (the MFA and logout endpoints only).
 * Null when no session has this token (it may be an API client's access token).
 */
export async function lookupSession(
  db: Db,
  tokenHash: string,
  now: number,
  config: SessionConfig,
  audit: AuditLog,
  allowPending: boolean,
): Promise<SessionLookup | null> {
  const [row] = await db
    .select({ session: sessions, user: users })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.tokenHash, tokenHash));
  if (!row) return null;
  const { session, user } = row;
  const endsAt = sessionEndsAt(session, config);
  if (session.revokedAt !== null && session.revokedAt < endsAt)
    return { ok: false, refusal: 'session-revoked' };
  if (now >= endsAt) {
    const why =
      now >= session.expiresAt
        ? 'absolute limit'
        : now >= session.lastSeenAt + config.idleMs
          ? 'idle limit'
          : 'MFA not completed in time';
    await endExpiredSession(db, session, user, now, audit, why);
    return { ok: false, refusal: 'session-expired' };
  }
  if (user.disabledAt !== null) return { ok: false, refusal: 'account-disabled' };
  if (session.mfaPassedAt === null && !allowPending) return { ok: false, refusal: 'mfa-required' };
  // last_seen_at is written at most every touchEveryMs (30 s) per session, not on every request:
  // reads stay cheap, and the idle limit is off by at most that much (a session may end up to
  // 30 s early, never late).
  if (now - session.lastSeenAt >= config.touchEveryMs) {
    await db
      .update(sessions)
      .set({ lastSeenAt: now })
      .where(and(eq(sessions.tokenHash, tokenHash), lt(sessions.lastSeenAt, now)));
    session.lastSeenAt = now;
  }
  return { ok: true, session, user };
}

/** Marks an expired session ended (so the expiry is audited once, by the request that saw it). */
async function endExpiredSession(
  db: Db,
  session: SessionRow,
  user: UserRow,
  now: number,
  audit: AuditLog,
  why: string,
): Promise<void> {
  if (session.revokedAt !== null) return;
  const ended = await db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.tokenHash, session.tokenHash), isNull(sessions.revokedAt)))
    .returning({ tokenHash: sessions.tokenHash });
  if (ended.length === 0) return;
  await audit.append({
    action: 'session-expired',
    outcome: 'success',
    actor: userPrincipal(user, session.tokenHash),
    patientIds: [],
    entity: `users/${user.id}`,
    detail: why,
    at: now,
  });
}

/** Ends one session now (logout). */
export async function revokeSession(db: Db, tokenHash: string, now: number): Promise<void> {
  await db
    .update(sessions)
    .set({ revokedAt: now })
    .where(and(eq(sessions.tokenHash, tokenHash), isNull(sessions.revokedAt)));
}

export function userPrincipal(user: UserRow, sessionId: string): UserPrincipal {
  return {
    kind: 'user',
    id: user.id,
    username: user.username,
    role: user.role as Role,
    sessionId,
    wards: user.wards,
    patientId: user.patientId,
  };
}
