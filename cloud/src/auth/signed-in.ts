import type { Context } from 'hono';
import type { Db } from '../db/database.ts';
import { bearerToken } from './authenticate.ts';
import { AuthError } from './errors.ts';
import type { SignedIn } from './mfa.ts';
import type { AuthConfig } from './options.ts';
import { lookupSession, SESSION_REFUSALS } from './sessions.ts';
import { sha256Hex } from './tokens.ts';

/**
 * The user session of the request for the identity endpoints themselves; `allowPending` admits a
 * session still waiting for MFA (the MFA, enrolment and logout endpoints). 401 AuthError else.
 */
export async function signedIn(
  c: Context,
  db: Db,
  config: AuthConfig,
  allowPending: boolean,
): Promise<SignedIn> {
  const token = bearerToken(c);
  if (token === null)
    throw new AuthError(
      401,
      'missing-token',
      'sign in first: Authorization: Bearer <session token>',
    );
  const found = await lookupSession(
    db,
    sha256Hex(token),
    config.now(),
    config.session,
    config.audit,
    allowPending,
  );
  if (!found) throw new AuthError(401, 'invalid-token', SESSION_REFUSALS['invalid-token']);
  if (!found.ok) throw new AuthError(401, found.refusal, SESSION_REFUSALS[found.refusal]);
  return { session: found.session, user: found.user };
}
