import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { accessTokens, apiClients } from '../db/schema.ts';
import { AuthError } from './errors.ts';
import type { ClientPrincipal } from './principal.ts';
import { invalidScopes } from './scopes.ts';
import { newBearerToken, sha256Hex } from './tokens.ts';

export type ClientRow = typeof apiClients.$inferSelect;

export interface ClientView {
  id: string;
  name: string;
  scopes: string[];
  createdAt: string;
  revokedAt: string | null;
}

export function clientView(row: ClientRow): ClientView {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    createdAt: new Date(row.createdAt).toISOString(),
    revokedAt: row.revokedAt === null ? null : new Date(row.revokedAt).toISOString(),
  };
}

/**
 * A new API client and its secret, which is shown this once. The secret is 256 random bits, so
 * its SHA-256 is what is stored: nobody can guess such a secret, fast hash or not, and Argon2id
 * would cost a quarter of a second of CPU on every token request.
 */
export async function createClient(
  db: Db,
  input: { name: string; scopes: string[] },
  now: number,
): Promise<{ client: ClientRow; secret: string }> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100)
    throw new AuthError(400, 'invalid-name', 'a client name is 1 to 100 characters');
  const scopes = [...new Set(input.scopes)];
  if (scopes.length === 0)
    throw new AuthError(400, 'invalid-scope', 'a client needs at least one scope');
  const bad = invalidScopes(scopes);
  if (bad.length > 0)
    throw new AuthError(
      400,
      'invalid-scope',
      `not SMART system scopes (system/Type.read, system/*.write, system/Type.rs): ${bad.join(', ')}`,
    );
  const secret = randomBytes(32).toString('base64url');
  const client: ClientRow = {
    id: randomUUID(),
    name,
    secretHash: sha256Hex(secret),
    scopes,
    createdAt: now,
    revokedAt: null,
  };
  await db.insert(apiClients).values(client);
  return { client, secret };
}

export async function listClients(db: Db): Promise<ClientRow[]> {
  return db.select().from(apiClients).orderBy(asc(apiClients.createdAt), asc(apiClients.id));
}

/** Revokes the client and every token it holds, effective on the next request. */
export async function revokeClient(db: Db, id: string, now: number): Promise<ClientRow> {
  const [client] = await db.select().from(apiClients).where(eq(apiClients.id, id));
  if (!client) throw new AuthError(404, 'not-found', `no API client ${id}`);
  if (client.revokedAt === null) {
    await db.update(apiClients).set({ revokedAt: now }).where(eq(apiClients.id, id));
    client.revokedAt = now;
  }
  await db
    .update(accessTokens)
    .set({ revokedAt: now })
    .where(and(eq(accessTokens.clientId, id), isNull(accessTokens.revokedAt)));
  return client;
}

/** The live client with this id and secret, else null (unknown, wrong secret or revoked). */
export async function authenticateClient(
  db: Db,
  id: string,
  secret: string,
): Promise<ClientRow | null> {
  const [client] = await db.select().from(apiClients).where(eq(apiClients.id, id));
  const given = Buffer.from(sha256Hex(secret), 'hex');
  const expected = Buffer.from(client?.secretHash ?? sha256Hex(''), 'hex');
  const right = timingSafeEqual(given, expected);
  return client && right && client.revokedAt === null ? client : null;
}

export async function issueAccessToken(
  db: Db,
  client: ClientRow,
  scopes: string[],
  now: number,
  ttlMs: number,
): Promise<{ token: string; expiresAt: number }> {
  const token = newBearerToken();
  const expiresAt = now + ttlMs;
  await db.insert(accessTokens).values({
    tokenHash: sha256Hex(token),
    clientId: client.id,
    scopes,
    issuedAt: now,
    expiresAt,
    revokedAt: null,
  });
  return { token, expiresAt };
}

export type TokenLookup =
  | { ok: true; principal: ClientPrincipal }
  | { ok: false; refusal: 'token-expired' | 'token-revoked' };

/** The client principal of a live access token; null when no token has this hash. */
export async function lookupAccessToken(
  db: Db,
  tokenHash: string,
  now: number,
): Promise<TokenLookup | null> {
  const [row] = await db
    .select({ token: accessTokens, client: apiClients })
    .from(accessTokens)
    .innerJoin(apiClients, eq(apiClients.id, accessTokens.clientId))
    .where(eq(accessTokens.tokenHash, tokenHash));
  if (!row) return null;
  if (row.token.revokedAt !== null || row.client.revokedAt !== null)
    return { ok: false, refusal: 'token-revoked' };
  if (now >= row.token.expiresAt) return { ok: false, refusal: 'token-expired' };
  return {
    ok: true,
    principal: {
      kind: 'client',
      id: row.client.id,
      name: row.client.name,
      scopes: row.token.scopes,
    },
  };
}
