import { createClient } from '../../src/auth/clients.ts';
import type { Db } from '../../src/db/database.ts';

/**
 * An access token for a running cloud, the way an API consumer gets one: a client registered
 * in the database with `scopes`, then the OAuth2 client-credentials grant at /api/auth/token.
 */
export async function apiToken(
  cloud: { httpUrl: string; database: { db: Db } },
  scopes: string[] = ['system/*.*'],
): Promise<string> {
  const { client, secret } = await createClient(
    cloud.database.db,
    { name: 'test client', scopes },
    Date.now(),
  );
  const res = await fetch(`${cloud.httpUrl}/api/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: client.id,
      client_secret: secret,
    }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (res.status !== 200 || !body.access_token)
    throw new Error(`token endpoint answered ${res.status}: ${JSON.stringify(body)}`);
  return body.access_token;
}

/** The Authorization header for `token`. */
export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** fetch sending `token` as the bearer with every request. */
export function fetchWith(token: string): typeof fetch {
  return (input, init = {}) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetch(input, { ...init, headers });
  };
}
