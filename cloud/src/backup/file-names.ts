import { basename } from 'node:path';

// wardgate-backup-2026-01-02T03-04-05.123Z.wgbak: UTC, sorts in time order, no ':' (Windows,
// scp). A backup being written is hidden under a dot-name with .partial until it is complete.
const NAME = /^wardgate-backup-(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})\.(\d{3})Z\.wgbak$/;
const PARTIAL = /^\.wardgate-backup-.*\.wgbak\.partial$/;

export function backupFileName(at: number): string {
  const iso = new Date(at).toISOString(); // 2026-01-02T03:04:05.123Z
  return `wardgate-backup-${iso.replace(/:/g, '-')}`.replace(/Z$/, 'Z.wgbak');
}

export function partialFileName(name: string): string {
  return `.${name}.partial`;
}

/** When the backup of this file name was taken, or null when the name is not one of ours. */
export function backupTimeOf(file: string): number | null {
  const match = NAME.exec(basename(file));
  if (!match) return null;
  const [, day, h, m, s, ms] = match;
  const at = Date.parse(`${day}T${h}:${m}:${s}.${ms}Z`);
  return Number.isNaN(at) ? null : at;
}

export function isPartialBackupName(name: string): boolean {
  return PARTIAL.test(name);
}
