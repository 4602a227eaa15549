import { and, eq, isNull, lt, or } from 'drizzle-orm';
import { sessions, users } from '../db/schema.ts';
import { AuthError } from './errors.ts';
import { type AuthRequest, audit, failedAttempt, lockedError } from './login.ts';
import {
  generateRecoveryCodes,
  recoveryCodesLeft,
  replaceRecoveryCodes,
  useRecoveryCode,
} from './recovery-codes.ts';
import { mfaSecretAd } from './secret-box.ts';
import { type SessionRow, userPrincipal } from './sessions.ts';
import { generateTotpSecret, matchTotp, otpauthUri } from './totp.ts';
import type { UserRow } from './users.ts';

/** The signed-in user and the session the request came with. */
export interface SignedIn {
  session: SessionRow;
  user: UserRow;
}

function refuseWhileLocked(request: AuthRequest, user: UserRow): void {
  const now = request.config.now();
  if (user.lockedUntil !== null && user.lockedUntil > now) throw lockedError(user.lockedUntil);
}

async function openSecret(request: AuthRequest, user: UserRow): Promise<string> {
  if (user.mfaSecret === null)
    throw new AuthError(409, 'mfa-not-enrolled', 'MFA is not enrolled: POST /api/auth/mfa/enrol');
  return request.config.secretBox.open(user.mfaSecret, mfaSecretAd(user.id));
}

/**
 * Checks a TOTP code and records its time step in the same statement, so the code (and any older
 * one) is never accepted again, even by two requests racing with it. False for a wrong code.
 */
async function acceptTotp(request: AuthRequest, user: UserRow, code: string): Promise<boolean> {
  const secret = await openSecret(request, user);
  const step = matchTotp(secret, code, request.config.now(), user.mfaLastStep);
  if (step === null) return false;
  const recorded = await request.db
    .update(users)
    .set({ mfaLastStep: step })
    .where(and(eq(users.id, user.id), or(isNull(users.mfaLastStep), lt(users.mfaLastStep, step))))
    .returning({ id: users.id });
  return recorded.length === 1;
}

/** A wrong code: audited, counted towards lockout, 401. */
/** The audit record of an MFA step of this session. */
function auditMfa(
  request: AuthRequest,
  { user, session }: SignedIn,
  outcome: 'success' | 'failure',
  detail: string,
): Promise<void> {
  return audit(request, {
    action: 'mfa',
    outcome,
    actor: userPrincipal(user, session.tokenHash),
    entity: `users/${user.id}`,
    detail,
  });
}

async function wrongCode(request: AuthRequest, signedIn: SignedIn, what: string): Promise<never> {
  const { user } = signedIn;
  await auditMfa(request, signedIn, 'failure', what);
  await failedAttempt(request, user.username, user);
  throw new AuthError(401, 'invalid-code', 'the code is wrong, expired or already used');
}

/** The session has passed MFA: it becomes a full session, and the login counts as complete. */
async function completeSignIn(request: AuthRequest, signedIn: SignedIn): Promise<void> {
  const now = request.config.now();
  const passed = await request.db
    .update(sessions)
    .set({ mfaPassedAt: now })
    .where(and(eq(sessions.tokenHash, signedIn.session.tokenHash), isNull(sessions.mfaPassedAt)))
    .returning({ tokenHash: sessions.tokenHash });
  if (passed.length === 1)
    await request.db.update(users).set({ lastLoginAt: now }).where(eq(users.id, signedIn.user.id));
}

/** POST /api/auth/mfa: the second factor, a TOTP code or one of the recovery codes. */
export async function passMfa(
  request: AuthRequest,
  signedIn: SignedIn,
  proof: { code?: string; recoveryCode?: string },
): Promise<{ recoveryCodesLeft?: number }> {
  const { user, session } = signedIn;
  if (user.mfaEnabledAt === null)
    throw new AuthError(
      409,
      'mfa-not-enrolled',
      'MFA is not enrolled: POST /api/auth/mfa/enrol, then /api/auth/mfa/activate',
    );
  if (session.mfaPassedAt !== null)
    throw new AuthError(409, 'mfa-already-passed', 'this session has already passed MFA');
  refuseWhileLocked(request, user);
  let left: number | undefined;
  if (proof.recoveryCode !== undefined) {
    const used = await useRecoveryCode(
      request.db,
      user.id,
      proof.recoveryCode,
      request.config.now(),
    );
    if (!used) return wrongCode(request, signedIn, 'wrong or used recovery code');
    left = await recoveryCodesLeft(request.db, user.id);
  } else if (!(await acceptTotp(request, user, proof.code ?? ''))) {
    return wrongCode(request, signedIn, 'wrong or reused TOTP code');
  }
  await completeSignIn(request, signedIn);
  await auditMfa(
    request,
    signedIn,
    'success',
    left === undefined ? 'TOTP code' : `recovery code (${left} left)`,
  );
  return left === undefined ? {} : { recoveryCodesLeft: left };
}

/**
 * POST /api/auth/mfa/enrol: a new TOTP secret (sealed at rest), shown once as the secret and the
 * otpauth URI. Only while MFA is not active: replacing an active secret takes an administrator's
 * MFA reset, so that a stolen password alone can never move MFA to the thief's phone.
 */
export async function startEnrolment(
  request: AuthRequest,
  signedIn: SignedIn,
): Promise<{ secret: string; otpauthUri: string }> {
  const { user } = signedIn;
  if (user.mfaEnabledAt !== null)
    throw new AuthError(
      409,
      'mfa-already-enrolled',
      'MFA is already active; an administrator can reset it',
    );
  const secret = generateTotpSecret();
  const sealed = await request.config.secretBox.seal(secret, mfaSecretAd(user.id));
  await request.db
    .update(users)
    .set({ mfaSecret: sealed, mfaLastStep: null })
    .where(and(eq(users.id, user.id), isNull(users.mfaEnabledAt)));
  await auditMfa(request, signedIn, 'success', 'enrolment started');
  return { secret, otpauthUri: otpauthUri(user.username, secret) };
}

/**
 * POST /api/auth/mfa/activate: the first right code activates MFA, passes it for this session and
 * yields the ten recovery codes, shown this once.
 */
export async function activateMfa(
  request: AuthRequest,
  signedIn: SignedIn,
  code: string,
): Promise<{ recoveryCodes: string[] }> {
  const { user } = signedIn;
  if (user.mfaEnabledAt !== null)
    throw new AuthError(409, 'mfa-already-enrolled', 'MFA is already active');
  refuseWhileLocked(request, user);
  if (!(await acceptTotp(request, user, code)))
    return wrongCode(request, signedIn, 'wrong TOTP code at enrolment');
  const now = request.config.now();
  const activated = await request.db
    .update(users)
    .set({ mfaEnabledAt: now })
    .where(and(eq(users.id, user.id), isNull(users.mfaEnabledAt)))
    .returning({ id: users.id });
  if (activated.length === 0)
    throw new AuthError(409, 'mfa-already-enrolled', 'MFA is already active');
  const recoveryCodes = generateRecoveryCodes();
  await replaceRecoveryCodes(request.db, user.id, recoveryCodes);
  await completeSignIn(request, signedIn);
  await auditMfa(request, signedIn, 'success', 'enrolled: MFA active, recovery codes issued');
  return { recoveryCodes };
}

/** POST /api/auth/mfa/recovery-codes: new codes for old (the old ones stop working); needs a TOTP code. */
export async function regenerateRecoveryCodes(
  request: AuthRequest,
  signedIn: SignedIn,
  code: string,
): Promise<{ recoveryCodes: string[] }> {
  const { user } = signedIn;
  if (user.mfaEnabledAt === null)
    throw new AuthError(409, 'mfa-not-enrolled', 'MFA is not enrolled');
  refuseWhileLocked(request, user);
  if (!(await acceptTotp(request, user, code)))
    return wrongCode(request, signedIn, 'wrong TOTP code for new recovery codes');
  const recoveryCodes = generateRecoveryCodes();
  await replaceRecoveryCodes(request.db, user.id, recoveryCodes);
  await auditMfa(request, signedIn, 'success', 'recovery codes regenerated');
  return { recoveryCodes };
}
