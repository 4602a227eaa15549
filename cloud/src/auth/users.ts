import { randomUUID } from 'node:crypto';
import { and, asc, eq, isNull, ne } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { recoveryCodes, sessions, users } from '../db/schema.ts';
import { AuthError } from './errors.ts';
import { assertStrongPassword, hashPassword } from './passwords.ts';
import { isRole, isStaff, ROLES, type Role } from './principal.ts';

export type UserRow = typeof users.$inferSelect;

/** A user as the admin API and CLI show it: no password hash, no TOTP secret. */
export interface UserView {
  id: string;
  username: string;
  role: Role;
  wards: string[];
  patientId: string | null;
  trainingCompletedAt: string | null;
  mfaEnabled: boolean;
  lockedUntil: string | null;
  disabled: boolean;
  createdAt: string;
  lastLoginAt: string | null;
  passwordChangedAt: string;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function userView(row: UserRow, now: number): UserView {
  return {
    id: row.id,
    username: row.username,
    role: row.role as Role,
    wards: row.wards,
    patientId: row.patientId,
    trainingCompletedAt: iso(row.trainingCompletedAt),
    mfaEnabled: row.mfaEnabledAt !== null,
    lockedUntil: row.lockedUntil !== null && row.lockedUntil > now ? iso(row.lockedUntil) : null,
    disabled: row.disabledAt !== null,
    createdAt: iso(row.createdAt) as string,
    lastLoginAt: iso(row.lastLoginAt),
    passwordChangedAt: iso(row.passwordChangedAt) as string,
  };
}

const USERNAME = /^[a-z0-9][a-z0-9._@-]{2,63}$/;

/** Usernames compare case-insensitively: they are stored and looked up in lower case. */
export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

function checkUsername(username: string): string {
  const name = normalizeUsername(username);
  if (!USERNAME.test(name))
    throw new AuthError(
      400,
      'invalid-username',
      'a username is 3 to 64 characters: letters, digits and . _ @ -, starting with a letter or digit',
    );
  return name;
}

function checkRole(role: string): Role {
  if (!isRole(role))
    throw new AuthError(400, 'invalid-role', `role must be one of ${ROLES.join(', ')}`);
  return role;
}

/** Wards belong to nurses and a Patient id to patients; nobody else has either. */
function checkRoleFields(role: Role, wards: string[], patientId: string | null): void {
  if (wards.length > 0 && role !== 'nurse')
    throw new AuthError(400, 'invalid-wards', 'only nurses have wards');
  if (wards.some((w) => w.trim() === ''))
    throw new AuthError(400, 'invalid-wards', 'a ward id must not be empty');
  if (role === 'patient' && !patientId)
    throw new AuthError(400, 'invalid-patient-id', 'a patient user needs the id of their Patient');
  if (role !== 'patient' && patientId)
    throw new AuthError(400, 'invalid-patient-id', 'only patient users have a Patient id');
}

function checkTrainingTime(at: number | null, now: number): void {
  if (at === null) return;
  if (!Number.isFinite(at) || at > now + 60_000)
    throw new AuthError(400, 'invalid-training-date', 'training cannot be completed in the future');
}

function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; cause?: { code?: string } } | undefined;
  return e?.code === '23505' || e?.cause?.code === '23505';
}

export interface NewUser {
  username: string;
  role: string;
  password: string;
  wards?: string[];
  patientId?: string | null;
  trainingCompletedAt?: number | null;
}

/** Checks every field (the password against the strength rules) and stores the user. */
export async function createUser(db: Db, input: NewUser, now: number): Promise<UserRow> {
  const username = checkUsername(input.username);
  const role = checkRole(input.role);
  const wards = [...new Set(input.wards ?? [])];
  const patientId = input.patientId ?? null;
  checkRoleFields(role, wards, patientId);
  const trainingCompletedAt = input.trainingCompletedAt ?? null;
  checkTrainingTime(trainingCompletedAt, now);
  assertStrongPassword(input.password, username);
  if (await findUserByUsername(db, username)) throw usernameTaken(username);
  const row: UserRow = {
    id: randomUUID(),
    username,
    role,
    passwordHash: await hashPassword(input.password),
    passwordChangedAt: now,
    mfaSecret: null,
    mfaEnabledAt: null,
    mfaLastStep: null,
    trainingCompletedAt,
    patientId,
    wards,
    lockedUntil: null,
    createdAt: now,
    lastLoginAt: null,
    disabledAt: null,
  };
  try {
    await db.insert(users).values(row);
  } catch (error) {
    if (isUniqueViolation(error)) throw usernameTaken(username);
    throw error;
  }
  return row;
}

const usernameTaken = (username: string) =>
  new AuthError(409, 'username-taken', `there is already a user ${username}`);

export async function findUserByUsername(db: Db, username: string): Promise<UserRow | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(eq(users.username, normalizeUsername(username)));
  return row;
}

export async function getUser(db: Db, id: string): Promise<UserRow> {
  const [row] = await db.select().from(users).where(eq(users.id, id));
  if (!row) throw new AuthError(404, 'not-found', `no user ${id}`);
  return row;
}

export async function getUserByUsername(db: Db, username: string): Promise<UserRow> {
  const row = await findUserByUsername(db, username);
  if (!row) throw new AuthError(404, 'not-found', `no user ${normalizeUsername(username)}`);
  return row;
}

export async function listUsers(db: Db): Promise<UserRow[]> {
  return db.select().from(users).orderBy(asc(users.username));
}

export interface UserChanges {
  role?: string;
  wards?: string[];
  patientId?: string | null;
  trainingCompletedAt?: number | null;
}

/**
 * Changes role, wards, Patient id or training date, checked together as they end up. Sessions are
 * resolved from the database on every request, so a change applies to the next request.
 */
export async function updateUser(
  db: Db,
  id: string,
  changes: UserChanges,
  now: number,
): Promise<{ before: UserRow; after: UserRow }> {
  const before = await getUser(db, id);
  const role = changes.role === undefined ? (before.role as Role) : checkRole(changes.role);
  // A role that has no wards (or no Patient id) drops them unless they are given again.
  const wards = [...new Set(changes.wards ?? (role === 'nurse' ? before.wards : []))];
  const patientId =
    changes.patientId !== undefined
      ? changes.patientId
      : role === 'patient'
        ? before.patientId
        : null;
  checkRoleFields(role, wards, patientId);
  const trainingCompletedAt =
    changes.trainingCompletedAt === undefined
      ? before.trainingCompletedAt
      : changes.trainingCompletedAt;
  checkTrainingTime(trainingCompletedAt, now);
  const [after] = await db
    .update(users)
    .set({ role, wards, patientId, trainingCompletedAt })
    .where(eq(users.id, id))
    .returning();
  return { before, after };
}

/** Ends every live session of a user at once (the next request with one is refused). */
export async function revokeUserSessions(
  db: Db,
  userId: string,
  now: number,
  exceptTokenHash?: string,
): Promise<number> {
  const live = and(eq(sessions.userId, userId), isNull(sessions.revokedAt));
  const revoked = await db
    .update(sessions)
    .set({ revokedAt: now })
    .where(
      exceptTokenHash === undefined ? live : and(live, ne(sessions.tokenHash, exceptTokenHash)),
    )
    .returning({ tokenHash: sessions.tokenHash });
  return revoked.length;
}

/** Disables (and ends every session of) or enables a user. */
export async function setUserDisabled(
  db: Db,
  id: string,
  disabled: boolean,
  now: number,
): Promise<UserRow> {
  const [row] = await db
    .update(users)
    .set({ disabledAt: disabled ? now : null })
    .where(eq(users.id, id))
    .returning();
  if (!row) throw new AuthError(404, 'not-found', `no user ${id}`);
  if (disabled) await revokeUserSessions(db, id, now);
  return row;
}

/**
 * Lifts a lockout. `locked_until` is set to now rather than cleared: failures before it no longer
 * count towards the next lockout (see lockout.ts).
 */
export async function unlockUser(db: Db, id: string, now: number): Promise<UserRow> {
  const [row] = await db
    .update(users)
    .set({ lockedUntil: now })
    .where(eq(users.id, id))
    .returning();
  if (!row) throw new AuthError(404, 'not-found', `no user ${id}`);
  return row;
}

/**
 * Forgets the user's TOTP secret and recovery codes (a lost phone) and ends their sessions: the
 * next login enrols MFA again.
 */
export async function resetMfa(db: Db, id: string, now: number): Promise<UserRow> {
  const [row] = await db
    .update(users)
    .set({ mfaSecret: null, mfaEnabledAt: null, mfaLastStep: null })
    .where(eq(users.id, id))
    .returning();
  if (!row) throw new AuthError(404, 'not-found', `no user ${id}`);
  await db.delete(recoveryCodes).where(eq(recoveryCodes.userId, id));
  await revokeUserSessions(db, id, now);
  return row;
}

/** Does this user need a second factor at every login? Staff always; patients once enrolled. */
export function mfaRequired(row: UserRow): boolean {
  return isStaff(row.role as Role) || row.mfaEnabledAt !== null;
}
