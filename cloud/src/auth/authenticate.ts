import type { Context, MiddlewareHandler } from 'hono';
import type { Db } from '../db/database.ts';
import { errorBody } from '../http/json-body.ts';
import { lookupAccessToken } from './clients.ts';
import type { AuthEnv } from './hono-env.ts';
import { type AuthenticateOptions, sessionConfig } from './options.ts';
import { lookupSession, SESSION_REFUSALS, userPrincipal } from './sessions.ts';
import { sha256Hex } from './tokens.ts';

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/** The bearer token of the request, or null when there is none. */
export function bearerToken(c: Context): string | null {
  const header = c.req.header('authorization');
  if (!header) return null;
  return BEARER.exec(header)?.[1] ?? null;
}

const MESSAGES: Record<string, string> = {
  ...SESSION_REFUSALS,
  'missing-token': 'authentication required: send Authorization: Bearer <token>',
  'token-expired': 'the access token has expired: request a new one',
  'token-revoked': 'the access token was revoked',
};

/**
 * Hono middleware: resolves `Authorization: Bearer <token>` to a principal — a user's session that
 * has passed MFA, or an API client's live access token — and sets `c.get('principal')`. Anything
 * else is a 401 with `WWW-Authenticate: Bearer` (RFC 6750 §3), rendered by `onError` when given
 * (the FHIR mount answers with an OperationOutcome), else as `{error: {code, message}}`.
 * Nothing is cached: a revoked session or token is refused on the very next request.
 */
export function authenticate(db: Db, options: AuthenticateOptions): MiddlewareHandler<AuthEnv> {
  const now = options.now ?? Date.now;
  const limits = sessionConfig(options.session);
  const refuse = (c: Context, code: string) => {
    const message = MESSAGES[code] ?? 'not authenticated';
    c.header(
      'WWW-Authenticate',
      code === 'missing-token'
        ? 'Bearer realm="wardgate"'
        : `Bearer realm="wardgate", error="invalid_token", error_description="${message}"`,
    );
    if (options.onError) return options.onError(c, 401, code, message);
    return c.json(errorBody(code, message), 401);
  };
  return async (c, next) => {
    const token = bearerToken(c);
    if (token === null) return refuse(c, 'missing-token');
    const hash = sha256Hex(token);
    const at = now();
    const session = await lookupSession(db, hash, at, limits, options.audit, false);
    if (session) {
      if (!session.ok) return refuse(c, session.refusal);
      c.set('principal', userPrincipal(session.user, session.session.tokenHash));
      return next();
    }
    const access = await lookupAccessToken(db, hash, at);
    if (!access) return refuse(c, 'invalid-token');
    if (!access.ok) return refuse(c, access.refusal);
    c.set('principal', access.principal);
    return next();
  };
}
