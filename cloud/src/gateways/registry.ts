import { randomBytes } from 'node:crypto';
import { GatewayId } from '@wardgate/shared';
import { asc, eq } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { gateways } from '../db/schema.ts';
import { hashPassword, verifyPassword } from './password.ts';

export interface GatewayInfo {
  id: string;
  publicKey: string;
  createdAt: number;
  revokedAt: number | null;
}

export interface NewGateway {
  id: string;
  /** Ed25519 public key, base64 of 32 bytes. */
  publicKey: string;
  /** The gateway's MQTT password. */
  password: string;
}

export type PasswordCheck =
  | { ok: true; gateway: GatewayInfo }
  | { ok: false; reason: 'unknown' | 'revoked' | 'bad-password' };

const ED25519_PUBLIC_KEY_BYTES = 32;

function checkPublicKey(publicKey: string): void {
  const bytes = Buffer.from(publicKey, 'base64');
  if (bytes.toString('base64') !== publicKey || bytes.length !== ED25519_PUBLIC_KEY_BYTES) {
    throw new Error(
      `the public key must be base64 of ${ED25519_PUBLIC_KEY_BYTES} bytes (an Ed25519 public key)`,
    );
  }
}

function checkGatewayId(id: string): void {
  const parsed = GatewayId.safeParse(id);
  if (!parsed.success) {
    throw new Error(`invalid gateway id "${id}": ${parsed.error.issues[0]?.message}`);
  }
}

function info(row: typeof gateways.$inferSelect): GatewayInfo {
  return {
    id: row.id,
    publicKey: row.publicKey,
    createdAt: row.createdAt,
    revokedAt: row.revokedAt,
  };
}

export async function addGateway(
  db: Db,
  gateway: NewGateway,
  now = Date.now(),
): Promise<GatewayInfo> {
  checkGatewayId(gateway.id);
  checkPublicKey(gateway.publicKey);
  const passwordHash = await hashPassword(gateway.password);
  const inserted = await db
    .insert(gateways)
    .values({ id: gateway.id, publicKey: gateway.publicKey, passwordHash, createdAt: now })
    .onConflictDoNothing()
    .returning();
  if (inserted.length === 0) throw new Error(`gateway ${gateway.id} already exists`);
  return info(inserted[0]);
}

export async function getGateway(db: Db, id: string): Promise<GatewayInfo | undefined> {
  const rows = await db.select().from(gateways).where(eq(gateways.id, id));
  return rows[0] ? info(rows[0]) : undefined;
}

export async function listGateways(db: Db): Promise<GatewayInfo[]> {
  const rows = await db.select().from(gateways).orderBy(asc(gateways.id));
  return rows.map(info);
}

/** Idempotent: revoking a revoked gateway keeps its first revocation time. */
export async function revokeGateway(db: Db, id: string, now = Date.now()): Promise<GatewayInfo> {
  const existing = await getGateway(db, id);
  if (!existing) throw new Error(`unknown gateway ${id}`);
  if (existing.revokedAt !== null) return existing;
  const [row] = await db
    .update(gateways)
    .set({ revokedAt: now })
    .where(eq(gateways.id, id))
    .returning();
  return info(row);
}

let dummyHash: Promise<string> | undefined;
const unknownGatewayHash = () => {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash;
};

export async function verifyGatewayPassword(
  db: Db,
  id: string,
  password: string,
): Promise<PasswordCheck> {
  const rows = await db.select().from(gateways).where(eq(gateways.id, id));
  const row = rows[0];
  if (!row) {
    // Same scrypt cost as for a known gateway: the answer time must not tell which ids exist.
    await verifyPassword(password, await unknownGatewayHash());
    return { ok: false, reason: 'unknown' };
  }
  // Verify before looking at revocation so both paths cost the same scrypt time.
  const matches = await verifyPassword(password, row.passwordHash);
  if (row.revokedAt !== null) return { ok: false, reason: 'revoked' };
  if (!matches) return { ok: false, reason: 'bad-password' };
  return { ok: true, gateway: info(row) };
}

/**
 * The registry with an in-memory cache of active public keys, so the ingest hot path verifies
 * signatures without a query. The cache is refreshed by add/revoke here and by every successful
 * MQTT login (which reads the row), so a gateway enrolled by another process works as soon as it
 * connects.
 */
export class GatewayRegistry {
  readonly db: Db;
  private readonly keys = new Map<string, string>();

  constructor(db: Db) {
    this.db = db;
  }

  async load(): Promise<void> {
    const all = await listGateways(this.db);
    this.keys.clear();
    for (const gateway of all)
      if (gateway.revokedAt === null) this.keys.set(gateway.id, gateway.publicKey);
  }

  /** The active public key of a gateway, or undefined when unknown or revoked. */
  publicKeyOf(id: string): string | undefined {
    return this.keys.get(id);
  }

  activeGatewayIds(): string[] {
    return [...this.keys.keys()].sort();
  }

  async add(gateway: NewGateway): Promise<GatewayInfo> {
    const added = await addGateway(this.db, gateway);
    this.keys.set(added.id, added.publicKey);
    return added;
  }

  async revoke(id: string): Promise<GatewayInfo> {
    const revoked = await revokeGateway(this.db, id);
    this.keys.delete(id);
    return revoked;
  }

  async checkPassword(id: string, password: string): Promise<PasswordCheck> {
    const check = await verifyGatewayPassword(this.db, id, password);
    if (check.ok) this.keys.set(id, check.gateway.publicKey);
    else if (check.reason !== 'bad-password') this.keys.delete(id);
    return check;
  }

  list(): Promise<GatewayInfo[]> {
    return listGateways(this.db);
  }
}
