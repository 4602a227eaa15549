import { basename } from 'node:path';
import cron from 'node-cron';
import type { Db } from '../db/database.ts';
import { type BackupResult, createBackup } from './create-backup.ts';
import { BackupError, describeError } from './errors.ts';
import { checkKey } from './format.ts';
import { pruneBackups, type RetentionPolicy, type RetentionResult } from './retention.ts';
import { type VerifyResult, verifyBackup } from './verify.ts';

export const DEFAULT_BACKUP_CRON = '0 2 * * *';

/** Registers `run` to be called on `expression`; returns how to stop it (node-cron by default). */
export type BackupScheduler = (
  expression: string,
  run: () => Promise<void>,
  timezone?: string,
) => { stop(): void | Promise<void>; nextRun(): Date | null };

export interface BackupScheduleOptions {
  dir: string;
  /** 32-byte secretstream key. */
  key: Uint8Array;
  /** Cron expression (node-cron syntax, 5 or 6 fields); default every day at 02:00. */
  cron?: string;
  /** IANA time zone of the cron expression; default the server's. */
  timezone?: string;
  /** Restore each backup into a scratch database and compare (default true). */
  verify?: boolean;
  /** Which backups to keep after each run (default the newest 14). */
  retention?: RetentionPolicy;
  /** Verify into a scratch PostgreSQL database made there (else an in-memory PGlite). */
  scratchPostgresUrl?: string;
  log?: (message: string) => void;
  now?: () => number;
  scheduler?: BackupScheduler;
}

export interface BackupCycleResult {
  /** Another run was still going: this one did nothing. */
  skipped: boolean;
  backup?: BackupResult;
  verify?: VerifyResult;
  retention?: RetentionResult;
  /** PHI-free messages of what failed (also logged and, for backup/verify, in backup_runs). */
  errors: string[];
}

export interface BackupSchedule {
  expression: string;
  /** Runs a cycle now (backup, verify, retention), unless one is running. */
  runNow(): Promise<BackupCycleResult>;
  nextRun(): Date | null;
  /** No new runs; resolves when a running one has finished. */
  stop(): Promise<void>;
}

/** Throws a BackupError when the options cannot work (before anything is started). */
export function checkBackupScheduleOptions(options: BackupScheduleOptions): void {
  checkKey(options.key);
  if (!options.dir) throw new BackupError('a backup folder is required');
  const expression = options.cron ?? DEFAULT_BACKUP_CRON;
  if (!cron.validate(expression)) {
    throw new BackupError(
      `"${expression}" is not a cron expression (e.g. "${DEFAULT_BACKUP_CRON}")`,
    );
  }
}

const nodeCronScheduler: BackupScheduler = (expression, run, timezone) => {
  const task = cron.schedule(expression, run, { timezone, name: 'wardgate-backup' });
  return { stop: () => task.destroy(), nextRun: () => task.getNextRun() };
};

const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Backs up on a cron schedule: each run makes a backup, verifies it by a scratch restore, then
 * applies retention. Failures are logged without PHI and recorded in backup_runs; they never
 * throw out of the schedule. A run that comes while another is going is skipped.
 */
export function startBackupSchedule(db: Db, options: BackupScheduleOptions): BackupSchedule {
  checkBackupScheduleOptions(options);
  const expression = options.cron ?? DEFAULT_BACKUP_CRON;
  const log = options.log ?? (() => {});
  const now = options.now ?? Date.now;
  let running: Promise<BackupCycleResult> | undefined;
  let stopped = false;

  async function cycle(): Promise<BackupCycleResult> {
    const result: BackupCycleResult = { skipped: false, errors: [] };
    const fail = (step: string, error: unknown) => {
      const message = `${step}: ${describeError(error)}`;
      result.errors.push(message);
      log(`backup: ${message}`);
    };
    try {
      result.backup = await createBackup(db, { dir: options.dir, key: options.key, now });
      const b = result.backup;
      log(
        `backup: ${basename(b.file)} written (${b.rows} rows in ${b.tables.length} tables, ${mb(b.bytes)}, ${seconds(b.finishedAt - b.startedAt)})`,
      );
    } catch (error) {
      fail('backup failed', error);
    }
    if (result.backup && options.verify !== false) {
      const started = now();
      try {
        result.verify = await verifyBackup(result.backup.file, options.key, {
          db,
          scratchPostgresUrl: options.scratchPostgresUrl,
          now,
        });
        log(
          `backup: ${basename(result.backup.file)} verified identical by a restore into ${result.verify.scratch} (${seconds(now() - started)})`,
        );
      } catch (error) {
        fail('verify failed', error);
      }
    }
    try {
      result.retention = await pruneBackups(db, options.dir, options.retention ?? {}, {
        now: now(),
      });
      if (result.retention.deleted.length > 0) {
        log(`backup: retention deleted ${result.retention.deleted.length} old file(s)`);
      }
    } catch (error) {
      fail('retention failed', error);
    }
    return result;
  }

  function runNow(): Promise<BackupCycleResult> {
    if (stopped || running) {
      if (running) log('backup: a run is still going; this one is skipped');
      return Promise.resolve({ skipped: true, errors: [] });
    }
    running = cycle()
      .catch((error): BackupCycleResult => {
        // cycle() catches per step; this is a last guard so the cloud never sees a rejection.
        log(`backup: run failed: ${describeError(error)}`);
        return { skipped: false, errors: [describeError(error)] };
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  }

  const scheduled = (options.scheduler ?? nodeCronScheduler)(
    expression,
    async () => {
      await runNow();
    },
    options.timezone,
  );

  return {
    expression,
    runNow,
    nextRun: () => scheduled.nextRun(),
    async stop() {
      stopped = true;
      await scheduled.stop();
      await running;
    },
  };
}
