import { eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import type { Db } from '../db/database.ts';
import { users } from '../db/schema.ts';
import { jsonBody } from '../http/json-body.ts';
import { AuthError } from './errors.ts';
import { type AuthRequest, audit, failedAttempt, lockedError, login } from './login.ts';
import { activateMfa, passMfa, regenerateRecoveryCodes, startEnrolment } from './mfa.ts';
import type { AuthConfig } from './options.ts';
import { assertStrongPassword, hashPassword, verifyPassword } from './passwords.ts';
import { requestSource } from './request-source.ts';
import { revokeSession, sessionEndsAt, userPrincipal } from './sessions.ts';
import { signedIn } from './signed-in.ts';
import { revokeUserSessions, userView } from './users.ts';

const LoginBody = z.object({
  username: z.string().min(1).max(256),
  password: z.string().min(1).max(4096),
});
const CodeBody = z.object({ code: z.string().max(32) });
const MfaBody = z
  .object({ code: z.string().max(32).optional(), recoveryCode: z.string().max(64).optional() })
  .refine((b) => (b.code === undefined) !== (b.recoveryCode === undefined), {
    message: 'give either code (from the authenticator app) or recoveryCode',
  });
const PasswordBody = z.object({
  currentPassword: z.string().min(1).max(4096),
  newPassword: z.string().min(1).max(4096),
});

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * `/auth/*`: sign-in with password, the MFA step and enrolment, logout, whoami and password change.
 * Login needs no token; the MFA and logout endpoints take a session still waiting for MFA; the
 * others a full one.
 */
export function sessionRoutes(db: Db, config: AuthConfig): Hono {
  const app = new Hono();
  const request = (c: Parameters<typeof requestSource>[0]): AuthRequest => ({
    db,
    config,
    source: requestSource(c),
  });

  app.post('/auth/login', async (c) => {
    const body = await jsonBody(c, LoginBody);
    const result = await login(request(c), body);
    return c.json({
      token: result.token,
      tokenType: 'Bearer',
      mfaRequired: result.mfaRequired,
      mfaEnrolmentRequired: result.mfaEnrolmentRequired,
      expiresAt: iso(sessionEndsAt(result.session, config.session)),
      user: userView(result.user, config.now()),
    });
  });

  app.post('/auth/mfa', async (c) => {
    const session = await signedIn(c, db, config, true);
    const body = await jsonBody(c, MfaBody);
    const result = await passMfa(request(c), session, body);
    return c.json({ mfaRequired: false, ...result });
  });

  app.post('/auth/mfa/enrol', async (c) => {
    const session = await signedIn(c, db, config, true);
    return c.json(await startEnrolment(request(c), session));
  });

  app.post('/auth/mfa/activate', async (c) => {
    const session = await signedIn(c, db, config, true);
    const { code } = await jsonBody(c, CodeBody);
    return c.json(await activateMfa(request(c), session, code));
  });

  app.post('/auth/mfa/recovery-codes', async (c) => {
    const session = await signedIn(c, db, config, false);
    const { code } = await jsonBody(c, CodeBody);
    return c.json(await regenerateRecoveryCodes(request(c), session, code));
  });

  app.post('/auth/logout', async (c) => {
    const { session, user } = await signedIn(c, db, config, true);
    await revokeSession(db, session.tokenHash, config.now());
    await audit(request(c), {
      action: 'logout',
      outcome: 'success',
      actor: userPrincipal(user, session.tokenHash),
      entity: `users/${user.id}`,
    });
    return c.body(null, 204);
  });

  app.get('/auth/me', async (c) => {
    const { session, user } = await signedIn(c, db, config, false);
    return c.json({
      user: userView(user, config.now()),
      session: {
        createdAt: iso(session.createdAt),
        expiresAt: iso(sessionEndsAt(session, config.session)),
        absoluteExpiresAt: iso(session.expiresAt),
      },
    });
  });

  app.post('/auth/password', async (c) => {
    const signed = await signedIn(c, db, config, false);
    const { user, session } = signed;
    const body = await jsonBody(c, PasswordBody);
    const req = request(c);
    const now = config.now();
    if (user.lockedUntil !== null && user.lockedUntil > now) throw lockedError(user.lockedUntil);
    const actor = userPrincipal(user, session.tokenHash);
    if (!(await verifyPassword(body.currentPassword, user.passwordHash))) {
      await audit(req, {
        action: 'admin',
        outcome: 'failure',
        actor,
        entity: `users/${user.id}`,
        detail: 'password change refused: wrong current password',
      });
      await failedAttempt(req, user.username, user);
      throw new AuthError(401, 'invalid-credentials', 'the current password is wrong');
    }
    if (body.newPassword === body.currentPassword)
      throw new AuthError(
        400,
        'weak-password',
        'the new password must differ from the current one',
      );
    assertStrongPassword(body.newPassword, user.username);
    const passwordHash = await hashPassword(body.newPassword);
    await db
      .update(users)
      .set({ passwordHash, passwordChangedAt: now })
      .where(eq(users.id, user.id));
    const ended = await revokeUserSessions(db, user.id, now, session.tokenHash);
    await audit(req, {
      action: 'admin',
      outcome: 'success',
      actor,
      entity: `users/${user.id}`,
      detail: `password changed by the user; ${ended} other session(s) ended`,
    });
    return c.json({ passwordChangedAt: iso(now), otherSessionsEnded: ended });
  });

  return app;
}
