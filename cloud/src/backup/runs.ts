import { and, desc, eq, isNotNull } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { backupRuns } from '../db/schema.ts';

export type BackupRun = typeof backupRuns.$inferSelect;

/** Records a finished backup, or one that failed (`error` set, no digest). */
export async function recordBackupRun(db: Db, run: typeof backupRuns.$inferInsert): Promise<void> {
  await db.insert(backupRuns).values(run);
}

/**
 * Marks a backup verified (a restore of it proved identical). Only the run whose file has this
 * SHA-256 is marked: a copy that differs from what was recorded is not vouched for.
 * Returns whether a run was marked.
 */
export async function markBackupVerified(
  db: Db,
  runId: string,
  sha256: string,
  verifiedAt: number,
): Promise<boolean> {
  const marked = await db
    .update(backupRuns)
    .set({ verifiedAt, error: null })
    .where(and(eq(backupRuns.id, runId), eq(backupRuns.sha256, sha256)))
    .returning({ id: backupRuns.id });
  return marked.length > 0;
}

/**
 * Notes why a backup failed its verification: on the run whose file this is (a damaged copy
 * elsewhere, or a header naming another run, leaves the runs alone).
 */
export async function markBackupFailed(
  db: Db,
  runId: string,
  file: string,
  error: string,
): Promise<void> {
  await db
    .update(backupRuns)
    .set({ error })
    .where(and(eq(backupRuns.id, runId), eq(backupRuns.file, file)));
}

/**
 * The newest backup whose restore was verified identical, for the compliance report; null when
 * there is none.
 */
export async function lastVerifiedBackup(db: Db): Promise<BackupRun | null> {
  const [run] = await db
    .select()
    .from(backupRuns)
    .where(isNotNull(backupRuns.verifiedAt))
    .orderBy(desc(backupRuns.startedAt))
    .limit(1);
  return run ?? null;
}

/** The newest backup runs first (successes and failures). */
export async function listBackupRuns(db: Db, limit = 100): Promise<BackupRun[]> {
  return db.select().from(backupRuns).orderBy(desc(backupRuns.startedAt)).limit(limit);
}
