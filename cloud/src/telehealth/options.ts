import type { DocumentOptions } from './documents/options.ts';
import type { PharmacyOptions } from './prescriptions/options.ts';
import type { ReminderOptions } from './reminders/options.ts';
import type { VideoOptions } from './video/options.ts';

/** Telehealth settings; each feature documents its own part. */
export interface TelehealthOptions {
  /** Milliseconds clock (tests move it). */
  now?: () => number;
  log?: (message: string) => void;
  reminders?: ReminderOptions;
  video?: VideoOptions;
  /** Where NewRx messages go; without it prescriptions are signed but wait, pending. */
  pharmacy?: PharmacyOptions;
  documents?: DocumentOptions;
}
