import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { Db } from '../db/database.ts';
import { BackupError } from './errors.ts';
import { backupTimeOf, isPartialBackupName } from './file-names.ts';
import { removeFile } from './format.ts';
import { lastVerifiedBackup } from './runs.ts';

export interface RetentionPolicy {
  /** Keep the newest N backups (default 14 when maxAgeDays is not given either). */
  keepLast?: number;
  /** Keep backups younger than this many days. */
  maxAgeDays?: number;
}

export const DEFAULT_KEEP_LAST = 14;
/** A .partial file this old is left over from a run that died (no run takes a day). */
const PARTIAL_STALE_MS = 24 * 3_600_000;

export interface BackupFile {
  name: string;
  path: string;
  takenAt: number;
  bytes: number;
}

/** The backups in `dir` (files named like ours only), newest first. */
export async function listBackupFiles(dir: string): Promise<BackupFile[]> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const files: BackupFile[] = [];
  for (const name of names) {
    const takenAt = backupTimeOf(name);
    if (takenAt === null) continue;
    const path = resolve(dir, name);
    const info = await stat(path);
    if (info.isFile()) files.push({ name, path, takenAt, bytes: info.size });
  }
  return files.sort((a, b) => b.takenAt - a.takenAt || (a.name < b.name ? 1 : -1));
}

export interface RetentionResult {
  kept: string[];
  deleted: string[];
}

/**
 * Deletes the backups in `dir` that the policy does not keep: a backup is kept when it is one of
 * the newest `keepLast` or younger than `maxAgeDays` (either rule keeps it), and the names in
 * `protect` are always kept. Only files named like our backups are touched, plus .partial files
 * left by a run that died more than a day ago.
 */
export async function applyRetention(
  dir: string,
  policy: RetentionPolicy,
  options: { now?: number; protect?: string[] } = {},
): Promise<RetentionResult> {
  const keepLast =
    policy.keepLast ?? (policy.maxAgeDays === undefined ? DEFAULT_KEEP_LAST : undefined);
  if (keepLast !== undefined && !(Number.isInteger(keepLast) && keepLast >= 1)) {
    throw new BackupError(`retention keepLast must be a whole number ≥ 1, got ${keepLast}`);
  }
  if (policy.maxAgeDays !== undefined && !(policy.maxAgeDays > 0)) {
    throw new BackupError(`retention maxAgeDays must be > 0, got ${policy.maxAgeDays}`);
  }
  const now = options.now ?? Date.now();
  const protect = new Set((options.protect ?? []).map((file) => basename(file)));
  const files = await listBackupFiles(dir);
  const kept: string[] = [];
  const deleted: string[] = [];
  for (const [index, file] of files.entries()) {
    const keep =
      protect.has(file.name) ||
      (keepLast !== undefined && index < keepLast) ||
      (policy.maxAgeDays !== undefined && now - file.takenAt < policy.maxAgeDays * 86_400_000);
    if (keep) kept.push(file.name);
    else {
      await removeFile(file.path);
      deleted.push(file.name);
    }
  }
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!isPartialBackupName(name)) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info?.isFile() && now - info.mtimeMs > PARTIAL_STALE_MS) {
      await removeFile(path);
      deleted.push(name);
    }
  }
  return { kept, deleted };
}

/** applyRetention that never deletes the newest verified backup recorded in `db`. */
export async function pruneBackups(
  db: Db,
  dir: string,
  policy: RetentionPolicy,
  options: { now?: number } = {},
): Promise<RetentionResult> {
  const verified = await lastVerifiedBackup(db);
  return applyRetention(dir, policy, {
    ...options,
    protect: verified ? [verified.file] : [],
  });
}
