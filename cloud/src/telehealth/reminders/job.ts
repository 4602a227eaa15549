import cron from 'node-cron';
import { errorForLog } from '../../crypto/log-redaction.ts';
import type { Db } from '../../db/database.ts';
import type { TelehealthOptions } from '../options.ts';
import { DEFAULT_REMINDER_CRON } from './options.ts';
import { type ReminderRunResult, sendDueReminders } from './send-due.ts';

export interface ReminderJob {
  /** Sends what is due now (after a run in progress) and says what it did. */
  runNow(): Promise<ReminderRunResult>;
  /** No more runs; resolves when a running one has finished. */
  stop(): Promise<void>;
}

/**
 * Sends due appointment reminders on a node-cron schedule (options.reminders.cron, default
 * every minute). Runs of one job never overlap; several jobs (replicas) may run at once, each
 * reminder is still sent once (send-due.ts claims them).
 */
export function startReminderJob(db: Db, options: TelehealthOptions = {}): ReminderJob {
  const reminders = options.reminders ?? {};
  const expression = reminders.cron ?? DEFAULT_REMINDER_CRON;
  if (!cron.validate(expression))
    throw new Error(`reminders.cron: "${expression}" is not a cron expression`);
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  let running: Promise<ReminderRunResult> = Promise.resolve({
    sent: 0,
    retrying: 0,
    failed: 0,
    skipped: 0,
  });
  const runNow = () => {
    running = running
      .catch(() => undefined)
      .then(() => sendDueReminders(db, reminders, now(), log))
      .then((result) => {
        if (result.sent + result.retrying + result.failed > 0)
          log(
            `reminders: ${result.sent} sent, ${result.retrying} to retry, ${result.failed} given up, ${result.skipped} skipped`,
          );
        return result;
      });
    return running;
  };
  const task = cron.schedule(
    expression,
    () =>
      runNow().then(
        () => undefined,
        (error) => log(`reminders: run failed: ${errorForLog(error)}`),
      ),
    { name: 'wardgate-telehealth-reminders', noOverlap: true },
  );
  return {
    runNow,
    async stop() {
      await task.destroy();
      await running.catch(() => undefined);
    },
  };
}
