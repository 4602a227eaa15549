import { randomUUID } from 'node:crypto';
import { access, link, mkdir, open, rename } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Db } from '../db/database.ts';
import {
  applicationTables,
  databaseSchemaLevel,
  readTableRows,
  sequenceStates,
  useExactTextForms,
} from './catalog.ts';
import { BackupError, describeError } from './errors.ts';
import { backupFileName, partialFileName } from './file-names.ts';
import {
  type BackupHeader,
  BackupWriter,
  backupKeyId,
  checkKey,
  FORMAT_VERSION,
  readySodium,
  removeFile,
  type SchemaLevel,
} from './format.ts';
import { recordBackupRun } from './runs.ts';
import { TableDigest } from './table-digest.ts';

export interface TableSummary {
  name: string;
  rows: number;
  /** TableDigest of the rows (order-independent). */
  digest: string;
}

export interface BackupResult {
  /** The backup_runs row. */
  id: string;
  /** Absolute path of the backup file. */
  file: string;
  /** Size of the file. */
  bytes: number;
  /** Size of the dumped data before compression (rows as JSON text). */
  plainBytes: number;
  sha256: string;
  rows: number;
  tables: TableSummary[];
  schema: SchemaLevel;
  startedAt: number;
  finishedAt: number;
}

export interface CreateBackupOptions {
  /** Folder of the backups (created when missing, mode 0700). */
  dir: string;
  /** 32-byte secretstream key. */
  key: Uint8Array;
  now?: () => number;
  /** Rows per cursor fetch and per encrypted message. */
  batchRows?: number;
}

/**
 * A logical backup of every table of the public schema, from one snapshot (a REPEATABLE READ,
 * read-only transaction), streamed table by table through a cursor into an encrypted file
 * `wardgate-backup-<UTC time>.wgbak` in `dir`: written under a temporary name, fsynced, then
 * linked to its name (never over an existing file). Each table's row count and digest go into
 * the file so that a restore can be proved identical. The run is recorded in backup_runs, a
 * failed one with its error. On PGlite (one connection) other queries wait until the snapshot is
 * read.
 */
export async function createBackup(db: Db, options: CreateBackupOptions): Promise<BackupResult> {
  await readySodium();
  checkKey(options.key);
  const now = options.now ?? Date.now;
  const id = randomUUID();
  const startedAt = now();
  const dir = resolve(options.dir);
  const name = backupFileName(startedAt);
  const file = resolve(dir, name);
  const partial = resolve(dir, partialFileName(name));
  let writer: BackupWriter | undefined;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const dumped = await db.transaction(
      async (tx) => {
        const snapshot = tx as unknown as Db;
        await useExactTextForms(snapshot);
        const schema = await databaseSchemaLevel(snapshot);
        const tables = await applicationTables(snapshot);
        const header: BackupHeader = {
          format: FORMAT_VERSION,
          createdAt: startedAt,
          runId: id,
          keyId: backupKeyId(options.key),
          schema,
          compression: 'deflate-raw',
        };
        writer = await BackupWriter.create(partial, header, options.key);
        await writer.write({
          type: 'tables',
          tables: tables.map((t) => ({ name: t.name, columns: t.columns.map((c) => c.name) })),
        });
        const summaries: TableSummary[] = [];
        for (const [index, table] of tables.entries()) {
          const digest = new TableDigest();
          for await (const rows of readTableRows(snapshot, table, options.batchRows)) {
            for (const row of rows) digest.add(row);
            await writer.write({ type: 'rows', table: index, rows });
          }
          const summary = { name: table.name, rows: digest.rows, digest: digest.hex() };
          summaries.push(summary);
          await writer.write({ type: 'table-end', table: index, ...summary });
        }
        await writer.write({ type: 'sequences', sequences: await sequenceStates(snapshot) });
        const rows = summaries.reduce((sum, t) => sum + t.rows, 0);
        const written = await writer.finish({ type: 'end', tables: tables.length, rows });
        return { schema, tables: summaries, rows, ...written };
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
    await publish(partial, file);
    await syncFolder(dir);
    const finishedAt = now();
    await recordBackupRun(db, {
      id,
      file,
      startedAt,
      finishedAt,
      bytes: dumped.bytes,
      sha256: dumped.sha256,
      rows: dumped.rows,
    });
    return { id, file, startedAt, finishedAt, ...dumped };
  } catch (error) {
    await writer?.abort();
    await removeFile(partial).catch(() => {});
    const message = describeError(error);
    await recordBackupRun(db, { id, file, startedAt, finishedAt: now(), error: message }).catch(
      () => {},
    );
    throw error instanceof BackupError
      ? error
      : new BackupError(`backup failed: ${message}`, { cause: error });
  }
}

/** Gives the complete file its name, never replacing a file of that name. */
async function publish(partial: string, file: string): Promise<void> {
  try {
    await link(partial, file);
    await removeFile(partial);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new BackupError(`${file} already exists; not overwritten`);
    // Filesystems without hard links: rename after checking (a narrow race, same process).
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
  }
  const exists = await access(file).then(
    () => true,
    () => false,
  );
  if (exists) throw new BackupError(`${file} already exists; not overwritten`);
  await rename(partial, file);
}

/** fsync of a folder, so a rename or link in it survives a power cut. */
async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
