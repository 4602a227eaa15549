import { and, count, eq, gt, isNull, lte, or } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { loginFailures, sessions, users } from '../db/schema.ts';
import type { AuthConfig } from './options.ts';
import type { UserRow } from './users.ts';

type Lockout = AuthConfig['lockout'];

/**
 * Failures that count towards the next lockout: those in the window, and after the last full
 * login and the end of the last lockout (an unlock sets `locked_until` to its time), so that
 * failures already answered by a lockout or a good login are not counted again.
 */
function countingSince(user: UserRow | undefined, now: number, lockout: Lockout): number {
  return Math.max(now - lockout.windowMs, user?.lockedUntil ?? 0, user?.lastLoginAt ?? 0);
}

async function failuresSince(db: Db, username: string, since: number): Promise<number> {
  const [row] = await db
    .select({ n: count() })
    .from(loginFailures)
    .where(and(eq(loginFailures.username, username), gt(loginFailures.at, since)));
  return Number(row?.n ?? 0);
}

/**
 * When the account is locked, until when; else null. A username nobody has is "locked" by the
 * same count of recent failures, so that a lockout does not tell an attacker the account exists.
 */
export async function lockedUntil(
  db: Db,
  username: string,
  user: UserRow | undefined,
  now: number,
  lockout: Lockout,
): Promise<number | null> {
  if (user) return user.lockedUntil !== null && user.lockedUntil > now ? user.lockedUntil : null;
  const recent = await failuresSince(db, username, now - lockout.windowMs);
  return recent >= lockout.maxFailures ? now + lockout.durationMs : null;
}

/**
 * Records a failed password or MFA code. When it makes `maxFailures` in the window the account is
 * locked for `durationMs` and the user's sessions still waiting for MFA are ended; the result then
 * says until when (only to the one request that locked it, so the lockout is audited once).
 */
export async function recordFailure(
  db: Db,
  username: string,
  user: UserRow | undefined,
  sourceIp: string | null,
  now: number,
  lockout: Lockout,
): Promise<{ lockedUntil: number | null }> {
  await db.insert(loginFailures).values({ username, at: now, sourceIp });
  if (!user) return { lockedUntil: null };
  const failures = await failuresSince(db, username, countingSince(user, now, lockout));
  if (failures < lockout.maxFailures) return { lockedUntil: null };
  const until = now + lockout.durationMs;
  const locked = await db
    .update(users)
    .set({ lockedUntil: until })
    .where(and(eq(users.id, user.id), or(isNull(users.lockedUntil), lte(users.lockedUntil, now))))
    .returning({ id: users.id });
  if (locked.length === 0) return { lockedUntil: null };
  await db
    .update(sessions)
    .set({ revokedAt: now })
    .where(
      and(eq(sessions.userId, user.id), isNull(sessions.mfaPassedAt), isNull(sessions.revokedAt)),
    );
  return { lockedUntil: until };
}
