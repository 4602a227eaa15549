/**
 * A backup, verify or restore that cannot go on: the message says what and why, never a row value
 * (it reaches logs and backup_runs.error).
 */
export class BackupError extends Error {
  override name = 'BackupError';
}

/** The file is not a sound backup for this key: wrong key, damaged, truncated or edited. */
export class BackupFileError extends BackupError {
  override name = 'BackupFileError';
}

/** A restore refused before it wrote anything (target not empty, other schema level). */
export class RestoreRefusedError extends BackupError {
  override name = 'RestoreRefusedError';
}

/** The restored copy differs from what was dumped. */
export class BackupMismatchError extends BackupError {
  override name = 'BackupMismatchError';
}

/**
 * An error's message fit for a log line or backup_runs.error. Database errors can quote a value
 * ("invalid input syntax for type bigint: "…""), so quoted parts of those are blanked.
 */
export function describeError(error: unknown): string {
  if (error instanceof BackupError) return error.message;
  const { message, code } = error as { message?: string; code?: unknown };
  const text = String(message ?? error).split('\n')[0];
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    return `database error ${code}: ${text.replace(/"[^"]*"/g, '"…"').replace(/'[^']*'/g, "'…'")}`;
  }
  return text;
}
