import { eq } from 'drizzle-orm';
import type { AuditEntry } from '../audit/audit-entry.ts';
import type { Db } from '../db/database.ts';
import { users } from '../db/schema.ts';
import { AuthError } from './errors.ts';
import { lockedUntil, recordFailure } from './lockout.ts';
import type { AuthConfig } from './options.ts';
import {
  hashPassword,
  passwordNeedsRehash,
  verifyAgainstDummy,
  verifyPassword,
} from './passwords.ts';
import { isStaff, type RequestSource, type Role } from './principal.ts';
import { createSession, type SessionRow, userPrincipal } from './sessions.ts';
import { findUserByUsername, mfaRequired, normalizeUsername, type UserRow } from './users.ts';

/** What an identity operation needs: the database, the options, and who is asking from where. */
export interface AuthRequest {
  db: Db;
  config: AuthConfig;
  source: RequestSource;
}

/** Appends a security event stamped with the request's source and the clock. */
export function audit(request: AuthRequest, entry: Omit<AuditEntry, 'source' | 'patientIds'>) {
  return request.config.audit.append({
    patientIds: [],
    source: request.source,
    at: request.config.now(),
    ...entry,
  });
}

const iso = (ms: number) => new Date(ms).toISOString();

export const lockedError = (until: number) =>
  new AuthError(
    423,
    'locked',
    `too many failed sign-in attempts: the account is locked until ${iso(until)}`,
  );

/**
 * Counts a wrong password or MFA code against the user; audits the lockout it may cause. The
 * caller audits the failure itself (it knows which kind) and answers 401.
 */
export async function failedAttempt(
  request: AuthRequest,
  username: string,
  user: UserRow | undefined,
): Promise<void> {
  const { db, config } = request;
  const now = config.now();
  const result = await recordFailure(db, username, user, request.source.ip, now, config.lockout);
  if (result.lockedUntil !== null && user)
    await audit(request, {
      action: 'lockout',
      outcome: 'success',
      actor: { kind: 'anonymous', username },
      entity: `users/${user.id}`,
      detail: `${config.lockout.maxFailures} failures within ${Math.round(config.lockout.windowMs / 60_000)} min; locked until ${iso(result.lockedUntil)}`,
    });
}

export interface LoginResult {
  token: string;
  session: SessionRow;
  user: UserRow;
  /** The session waits for POST /api/auth/mfa (or, not yet enrolled, for MFA enrolment). */
  mfaRequired: boolean;
  mfaEnrolmentRequired: boolean;
}

const WRONG = () => new AuthError(401, 'invalid-credentials', 'wrong username or password');

/**
 * Password sign-in. An unknown username and a wrong password get the same answer after the same
 * work (a verify against a dummy hash). Lockout, a disabled account and expired HIPAA training
 * (staff) refuse it; else a session starts, waiting for MFA where MFA applies.
 */
export async function login(
  request: AuthRequest,
  credentials: { username: string; password: string },
): Promise<LoginResult> {
  const { db, config } = request;
  const username = normalizeUsername(credentials.username);
  const user = await findUserByUsername(db, username);
  const now = config.now();
  const anonymous = { kind: 'anonymous' as const, username };

  const locked = await lockedUntil(db, username, user, now, config.lockout);
  if (locked !== null) {
    // Still recorded (incident detection sees a lockout being hammered), never re-locks.
    await recordFailure(db, username, user, request.source.ip, now, config.lockout);
    await audit(request, {
      action: 'login',
      outcome: 'failure',
      actor: anonymous,
      entity: user ? `users/${user.id}` : undefined,
      detail: 'account locked',
    });
    throw lockedError(locked);
  }

  const passwordRight = user
    ? await verifyPassword(credentials.password, user.passwordHash)
    : await verifyAgainstDummy(credentials.password);
  if (!user || !passwordRight) {
    await audit(request, {
      action: 'login',
      outcome: 'failure',
      actor: anonymous,
      entity: user ? `users/${user.id}` : undefined,
      detail: user ? 'wrong password' : 'unknown username',
    });
    await failedAttempt(request, username, user);
    throw WRONG();
  }

  if (user.disabledAt !== null) {
    await audit(request, {
      action: 'login',
      outcome: 'denied',
      actor: anonymous,
      entity: `users/${user.id}`,
      detail: 'account disabled',
    });
    throw new AuthError(403, 'account-disabled', 'the account is disabled');
  }
  if (isStaff(user.role as Role) && !trainingCurrent(user, now, config.trainingValidityMs)) {
    await audit(request, {
      action: 'login',
      outcome: 'denied',
      actor: anonymous,
      entity: `users/${user.id}`,
      detail: 'HIPAA training missing or expired',
    });
    throw new AuthError(
      403,
      'training-expired',
      user.trainingCompletedAt === null
        ? 'HIPAA training has not been recorded: complete it before signing in'
        : `HIPAA training expired (completed ${iso(user.trainingCompletedAt)}): renew it before signing in`,
    );
  }

  if (await passwordNeedsRehash(user.passwordHash)) {
    const passwordHash = await hashPassword(credentials.password);
    await db.update(users).set({ passwordHash }).where(eq(users.id, user.id));
  }

  const needsMfa = mfaRequired(user);
  const { token, session } = await createSession(
    db,
    user,
    !needsMfa,
    request.source,
    now,
    config.session,
  );
  if (!needsMfa) await db.update(users).set({ lastLoginAt: now }).where(eq(users.id, user.id));
  await audit(request, {
    action: 'login',
    outcome: 'success',
    actor: userPrincipal(user, session.tokenHash),
    entity: `users/${user.id}`,
    detail: needsMfa
      ? user.mfaEnabledAt === null
        ? 'password accepted; MFA enrolment required'
        : 'password accepted; MFA required'
      : 'signed in',
  });
  return {
    token,
    session,
    user,
    mfaRequired: needsMfa,
    mfaEnrolmentRequired: needsMfa && user.mfaEnabledAt === null,
  };
}

/** Staff must have completed HIPAA training within the validity period (a year). */
export function trainingCurrent(user: UserRow, now: number, validityMs: number): boolean {
  return user.trainingCompletedAt !== null && now - user.trainingCompletedAt <= validityMs;
}
