import { randomInt } from 'node:crypto';
import { and, eq, isNull } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { recoveryCodes } from '../db/schema.ts';
import { sha256Hex } from './tokens.ts';

export const RECOVERY_CODE_COUNT = 10;
/** Lower case letters and digits without the look-alikes i, l, o, 0, 1. */
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** Ten codes like `k7mq-x3vd-9hta` (about 59 random bits each), shown to the user once. */
export function generateRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () =>
    Array.from({ length: 3 }, () =>
      Array.from({ length: 4 }, () => ALPHABET[randomInt(ALPHABET.length)]).join(''),
    ).join('-'),
  );
}

/** Bound to the user, and indifferent to case, spaces and dashes as people type them. */
function recoveryCodeHash(userId: string, code: string): string {
  return sha256Hex(`${userId}:${code.toLowerCase().replace(/[^a-z0-9]/g, '')}`);
}

/** Replaces the user's recovery codes with `codes` (only their hashes are kept). */
export async function replaceRecoveryCodes(db: Db, userId: string, codes: string[]): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.delete(recoveryCodes).where(eq(recoveryCodes.userId, userId));
    await tx
      .insert(recoveryCodes)
      .values(
        codes.map((code) => ({ userId, codeHash: recoveryCodeHash(userId, code), usedAt: null })),
      );
  });
}

/** Uses up one recovery code: true once for each code, false for a wrong or used one. */
export async function useRecoveryCode(
  db: Db,
  userId: string,
  code: string,
  now: number,
): Promise<boolean> {
  const used = await db
    .update(recoveryCodes)
    .set({ usedAt: now })
    .where(
      and(
        eq(recoveryCodes.userId, userId),
        eq(recoveryCodes.codeHash, recoveryCodeHash(userId, code)),
        isNull(recoveryCodes.usedAt),
      ),
    )
    .returning({ userId: recoveryCodes.userId });
  return used.length === 1;
}

/** How many unused codes the user has left. */
export async function recoveryCodesLeft(db: Db, userId: string): Promise<number> {
  const rows = await db
    .select({ usedAt: recoveryCodes.usedAt })
    .from(recoveryCodes)
    .where(eq(recoveryCodes.userId, userId));
  return rows.filter((r) => r.usedAt === null).length;
}
