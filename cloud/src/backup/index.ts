// Encrypted logical backups of the cloud database: create, verify by a scratch restore, restore,
// retention, a cron schedule and the `wardgate-cloud backup` commands.
export { applicationTables, codeSchemaLevel, schemaTableNames } from './catalog.ts';
export {
  type BackupResult,
  type CreateBackupOptions,
  createBackup,
  type TableSummary,
} from './create-backup.ts';
export {
  BackupError,
  BackupFileError,
  BackupMismatchError,
  describeError,
  RestoreRefusedError,
} from './errors.ts';
export { backupTimeOf } from './file-names.ts';
export {
  type BackupHeader,
  type BackupReading,
  backupKeyId,
  KEY_BYTES,
  openBackup,
  readBackupHeader,
} from './format.ts';
export { generateBackupKeyFile, readBackupKeyFile } from './key-file.ts';
export { type RestoreResult, restoreBackup, restoreReading } from './restore.ts';
export {
  applyRetention,
  type BackupFile,
  DEFAULT_KEEP_LAST,
  listBackupFiles,
  pruneBackups,
  type RetentionPolicy,
  type RetentionResult,
} from './retention.ts';
export { type BackupRun, lastVerifiedBackup, listBackupRuns } from './runs.ts';
export {
  type BackupCycleResult,
  type BackupSchedule,
  type BackupScheduleOptions,
  checkBackupScheduleOptions,
  DEFAULT_BACKUP_CRON,
  startBackupSchedule,
} from './schedule.ts';
export { digestTables, type VerifyOptions, type VerifyResult, verifyBackup } from './verify.ts';
