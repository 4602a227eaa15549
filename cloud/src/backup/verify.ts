import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import pg from 'pg';
import { type Database, type Db, openDatabase } from '../db/database.ts';
import { applicationTables, readTableRows, sequenceStates, useExactTextForms } from './catalog.ts';
import type { TableSummary } from './create-backup.ts';
import { BackupMismatchError, describeError } from './errors.ts';
import { openBackup, readBackupHeader } from './format.ts';
import { restoreReading } from './restore.ts';
import { markBackupFailed, markBackupVerified } from './runs.ts';
import { TableDigest } from './table-digest.ts';

export interface VerifyOptions {
  /** The source database: its backup_runs row gets verifiedAt (or the error). */
  db?: Db;
  /**
   * A PostgreSQL URL allowed to CREATE DATABASE: the scratch restore goes into a new database
   * there, dropped afterwards. Without it the scratch database is an in-memory PGlite.
   */
  scratchPostgresUrl?: string;
  now?: () => number;
}

export interface VerifyResult {
  runId: string;
  file: string;
  bytes: number;
  sha256: string;
  rows: number;
  tables: TableSummary[];
  /** "pglite:memory" or the scratch PostgreSQL database. */
  scratch: string;
  verifiedAt: number;
  /** Whether a backup_runs row (with this file's SHA-256) was marked verified. */
  recorded: boolean;
}

/**
 * Proves a backup restorable and identical: restores it into a scratch database migrated like
 * this build, then reads every restored table back and compares its row count and digest with
 * those computed from the source while dumping, and each sequence with its recorded position.
 * Throws BackupFileError (damaged, truncated, wrong key), RestoreRefusedError (other schema
 * level) or BackupMismatchError (restore not identical); with `db` the outcome is recorded in
 * backup_runs.
 */
export async function verifyBackup(
  file: string,
  key: Uint8Array,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const now = options.now ?? Date.now;
  const runId = await readBackupHeader(file).then(
    (header) => header.runId,
    () => undefined,
  );
  try {
    // Opened first: a wrong key or an edited header fails before a scratch database is made.
    const reading = await openBackup(file, key);
    let scratch: Database;
    try {
      scratch = await openScratch(options.scratchPostgresUrl);
    } catch (error) {
      await reading.close();
      throw error;
    }
    let result: Omit<VerifyResult, 'verifiedAt' | 'recorded'>;
    try {
      const restored = await restoreReading(reading, file, scratch.db);
      const readBack = await digestTables(scratch.db);
      const differences: string[] = [];
      for (const table of restored.tables) {
        const back = readBack.tables.get(table.name);
        if (!back || back.rows !== table.rows || back.digest !== table.digest) {
          differences.push(
            `${table.name} (${table.rows} rows dumped, ${back?.rows ?? 0} restored${back && back.rows === table.rows ? ', contents differ' : ''})`,
          );
        }
      }
      for (const [name, back] of readBack.tables) {
        if (back.rows > 0 && !restored.tables.some((t) => t.name === name)) {
          differences.push(`${name} (not in the backup, ${back.rows} rows after restore)`);
        }
      }
      for (const sequence of restored.sequences) {
        const back = readBack.sequences.get(sequence.name);
        if (!back || BigInt(back.lastValue) < BigInt(sequence.lastValue)) {
          differences.push(`sequence ${sequence.name} (behind its recorded value)`);
        }
      }
      if (differences.length > 0) {
        throw new BackupMismatchError(
          `restore of ${file} is not identical: ${differences.join('; ')}`,
        );
      }
      result = {
        runId: restored.header.runId,
        file,
        bytes: restored.bytes,
        sha256: restored.sha256,
        rows: restored.rows,
        tables: restored.tables,
        scratch: scratch.describe,
      };
    } finally {
      await scratch.close();
    }
    const verifiedAt = now();
    const recorded = options.db
      ? await markBackupVerified(options.db, result.runId, result.sha256, verifiedAt)
      : false;
    return { ...result, verifiedAt, recorded };
  } catch (error) {
    if (options.db && runId) {
      await markBackupFailed(
        options.db,
        runId,
        resolve(file),
        `verify: ${describeError(error)}`,
      ).catch(() => {});
    }
    throw error;
  }
}

/** Row count and digest of every table, and each sequence, read in one snapshot. */
export async function digestTables(db: Db): Promise<{
  tables: Map<string, { rows: number; digest: string }>;
  sequences: Map<string, { lastValue: string; isCalled: boolean }>;
}> {
  return db.transaction(
    async (tx) => {
      const snapshot = tx as unknown as Db;
      await useExactTextForms(snapshot);
      const tables = new Map<string, { rows: number; digest: string }>();
      for (const table of await applicationTables(snapshot)) {
        const digest = new TableDigest();
        for await (const rows of readTableRows(snapshot, table)) {
          for (const row of rows) digest.add(row);
        }
        tables.set(table.name, { rows: digest.rows, digest: digest.hex() });
      }
      const sequences = new Map((await sequenceStates(snapshot)).map((s) => [s.name, s] as const));
      return { tables, sequences };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}

/** A new, migrated, empty database that is gone once closed. */
async function openScratch(postgresUrl: string | undefined): Promise<Database> {
  if (!postgresUrl) return openDatabase({});
  const name = `wardgate_verify_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(postgresUrl);
  url.pathname = `/${name}`;
  const drop = async () => {
    const dropper = new pg.Client({ connectionString: postgresUrl });
    await dropper.connect();
    try {
      await dropper.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await dropper.end();
    }
  };
  let database: Database;
  try {
    database = await openDatabase({ databaseUrl: url.toString() });
  } catch (error) {
    await drop();
    throw error;
  }
  return {
    ...database,
    async close() {
      await database.close();
      await drop();
    },
  };
}
