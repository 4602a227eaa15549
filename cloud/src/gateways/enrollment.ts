import { createHash, randomBytes } from 'node:crypto';
import { GatewayId } from '@wardgate/shared';
import { and, eq, gt, isNull } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { enrollmentTokens } from '../db/schema.ts';
import { type GatewayInfo, getGateway, type NewGateway } from './registry.ts';

export class EnrollmentError extends Error {
  readonly code: 'invalid-token' | 'gateway-exists' | 'invalid-request';
  constructor(code: EnrollmentError['code'], message: string) {
    super(message);
    this.name = 'EnrollmentError';
    this.code = code;
  }
}

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * A one-time enrollment token for a gateway id not in use yet, valid `ttlMs` (default 24 h).
 * Only its hash is stored: the token itself is shown once, to the admin.
 */
export async function createEnrollment(
  db: Db,
  options: { gatewayId: string; ttlMs?: number; now?: number },
): Promise<{ token: string; gatewayId: string; expiresAt: number }> {
  const id = GatewayId.safeParse(options.gatewayId);
  if (!id.success)
    throw new EnrollmentError(
      'invalid-request',
      `invalid gateway id "${options.gatewayId}": ${id.error.issues[0]?.message}`,
    );
  if (await getGateway(db, options.gatewayId))
    throw new EnrollmentError('gateway-exists', `gateway ${options.gatewayId} already exists`);
  const now = options.now ?? Date.now();
  const token = randomBytes(32).toString('base64url');
  const expiresAt = now + (options.ttlMs ?? 24 * 3_600_000);
  await db
    .insert(enrollmentTokens)
    .values({ tokenHash: hashOf(token), gatewayId: options.gatewayId, createdAt: now, expiresAt });
  return { token, gatewayId: options.gatewayId, expiresAt };
}

/**
 * Redeems a token once: registers the gateway's public key with a fresh random MQTT password and
 * returns the credentials. Unknown, used and expired tokens are refused alike.
 */
export async function redeemEnrollment(
  db: Db,
  register: (gateway: NewGateway) => Promise<GatewayInfo>,
  request: { token: string; publicKey: string; now?: number },
): Promise<{ gatewayId: string; username: string; password: string }> {
  const now = request.now ?? Date.now();
  if (Buffer.from(request.publicKey ?? '', 'base64').length !== 32)
    throw new EnrollmentError(
      'invalid-request',
      'publicKey must be a base64 Ed25519 public key (32 bytes)',
    );
  const tokenHash = hashOf(String(request.token ?? ''));
  // Claimed in one conditional update: of two concurrent redemptions only one gets the row.
  const [claimed] = await db
    .update(enrollmentTokens)
    .set({ usedAt: now })
    .where(
      and(
        eq(enrollmentTokens.tokenHash, tokenHash),
        isNull(enrollmentTokens.usedAt),
        gt(enrollmentTokens.expiresAt, now),
      ),
    )
    .returning();
  if (!claimed)
    throw new EnrollmentError('invalid-token', 'enrollment token unknown, used or expired');
  const password = randomBytes(24).toString('base64url');
  await register({ id: claimed.gatewayId, publicKey: request.publicKey, password });
  return { gatewayId: claimed.gatewayId, username: claimed.gatewayId, password };
}
