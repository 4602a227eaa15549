/** Appointment reminders: e-mail over SMTP, SMS through an HTTP provider. */
export interface ReminderOptions {
  /** smtp://host:port (or smtps://) of the mail relay, and the From address. */
  smtp?: { url: string; from: string };
  /** The SMS provider's HTTP API (reminders/sms-sender.ts documents it). */
  sms?: { url: string; apiKey: string; from: string };
  /** How long before the start reminders go out, in minutes (default 1440 and 60). */
  leadMinutes?: number[];
  /** node-cron expression of the sending job (default every minute: "* * * * *"). */
  cron?: string;
  /** Sending attempts before a reminder is given up as failed (default 5). */
  maxAttempts?: number;
  /** Wait before the first retry in ms, doubled after each failure (default 60 000). */
  retryBaseMs?: number;
  /** Where the visit is joined, named in the messages (default "the wardgate visit page"). */
  joinHint?: string;
}

export const DEFAULT_REMINDER_LEADS = [24 * 60, 60];
export const DEFAULT_REMINDER_CRON = '* * * * *';
export const DEFAULT_REMINDER_ATTEMPTS = 5;
export const DEFAULT_RETRY_BASE_MS = 60_000;
