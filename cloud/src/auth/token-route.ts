import { type Context, Hono } from 'hono';
import type { Db } from '../db/database.ts';
import { authenticateClient, type ClientRow, issueAccessToken } from './clients.ts';
import { type AuthRequest, audit } from './login.ts';
import type { AuthConfig } from './options.ts';
import { requestSource } from './request-source.ts';
import { grantScopes } from './scopes.ts';

type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'unsupported_grant_type'
  | 'invalid_scope';

/** A refused token request, answered as RFC 6749 §5.2 says. */
class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly basic: boolean;
  constructor(code: OAuthErrorCode, description: string, basic = false) {
    super(description);
    this.code = code;
    this.basic = basic;
  }
}

/** RFC 6749 §2.3.1: id and secret are form-encoded, then joined by ':' and base64'd. */
function basicCredentials(header: string): { id: string; secret: string } | null {
  const match = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header);
  if (!match) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const form = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
  try {
    return { id: form(decoded.slice(0, colon)), secret: form(decoded.slice(colon + 1)) };
  } catch {
    return null;
  }
}

async function formOf(c: Context): Promise<URLSearchParams> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/x-www-form-urlencoded\b/i.test(type))
    throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded');
  const form = new URLSearchParams(await c.req.text());
  for (const key of new Set(form.keys()))
    if (form.getAll(key).length > 1)
      throw new OAuthError('invalid_request', `the parameter ${key} is given more than once`);
  return form;
}

function clientCredentials(c: Context, form: URLSearchParams) {
  const header = c.req.header('authorization');
  const inBody = form.has('client_id') || form.has('client_secret');
  if (header && inBody)
    throw new OAuthError(
      'invalid_request',
      'authenticate the client one way only: HTTP Basic or the body',
    );
  if (header) {
    const basic = basicCredentials(header);
    if (!basic) throw new OAuthError('invalid_client', 'malformed HTTP Basic credentials', true);
    return { ...basic, basic: true };
  }
  const id = form.get('client_id');
  const secret = form.get('client_secret');
  if (!id || !secret)
    throw new OAuthError(
      'invalid_client',
      'client authentication required: HTTP Basic, or client_id and client_secret in the body',
    );
  return { id, secret, basic: false };
}

/**
 * POST `/auth/token`: OAuth 2.0 client credentials (RFC 6749 §4.4) for API clients. The token is
 * short-lived and carries SMART backend-services scopes: those asked for, each within what the
 * client may have, or all of those when none are asked for.
 */
export function tokenRoute(db: Db, config: AuthConfig): Hono {
  const app = new Hono();
  app.post('/auth/token', async (c) => {
    const request: AuthRequest = { db, config, source: requestSource(c) };
    let client: ClientRow | null = null;
    try {
      const form = await formOf(c);
      const credentials = clientCredentials(c, form);
      client = await authenticateClient(db, credentials.id, credentials.secret);
      if (!client)
        throw new OAuthError(
          'invalid_client',
          'unknown client, wrong secret or revoked client',
          credentials.basic,
        );
      const grantType = form.get('grant_type');
      if (!grantType) throw new OAuthError('invalid_request', 'grant_type is required');
      if (grantType !== 'client_credentials')
        throw new OAuthError(
          'unsupported_grant_type',
          'only grant_type=client_credentials is supported',
        );
      const requested = (form.get('scope') ?? '').split(' ').filter((s) => s !== '');
      const grant = grantScopes(requested, client.scopes);
      if (!grant.ok) throw new OAuthError('invalid_scope', grant.description);
      const now = config.now();
      const issued = await issueAccessToken(db, client, grant.scopes, now, config.accessTokenTtlMs);
      await audit(request, {
        action: 'token',
        outcome: 'success',
        actor: { kind: 'client', id: client.id, name: client.name, scopes: grant.scopes },
        entity: `api_clients/${client.id}`,
        detail: `access token issued: ${grant.scopes.join(' ')}`,
      });
      c.header('Cache-Control', 'no-store');
      c.header('Pragma', 'no-cache');
      return c.json({
        access_token: issued.token,
        token_type: 'Bearer',
        expires_in: Math.round((issued.expiresAt - now) / 1000),
        scope: grant.scopes.join(' '),
      });
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      await audit(request, {
        action: 'token',
        outcome: error.code === 'invalid_scope' ? 'denied' : 'failure',
        actor: client
          ? { kind: 'client', id: client.id, name: client.name, scopes: [] }
          : { kind: 'anonymous' },
        entity: client ? `api_clients/${client.id}` : undefined,
        detail: `${error.code}: ${error.message}`,
      });
      c.header('Cache-Control', 'no-store');
      c.header('Pragma', 'no-cache');
      if (error.code === 'invalid_client') {
        if (error.basic) c.header('WWW-Authenticate', 'Basic realm="wardgate"');
        return c.json({ error: error.code, error_description: error.message }, 401);
      }
      return c.json({ error: error.code, error_description: error.message }, 400);
    }
  });
  return app;
}
