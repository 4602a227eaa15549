import { and, eq, lt, notExists, sql } from 'drizzle-orm';
import type { Db } from '../../db/database.ts';
import { type RepeatingJob, startRepeatingJob } from '../../jobs/repeating-job.ts';
import type { TelehealthOptions } from '../options.ts';
import { skipReminders } from '../reminders/schedule.ts';
import { videoRoomEvents } from '../video/schema.ts';
import { telehealthAppointments } from './schema.ts';
import { setAppointmentStatus } from './status.ts';

export interface AppointmentJobOptions extends Pick<TelehealthOptions, 'now' | 'log'> {
  /** How long after its end a visit nobody was admitted to becomes a no-show (default 15). */
  noShowGraceMinutes?: number;
  /** How often the job looks (default every minute). */
  everyMs?: number;
}

export const DEFAULT_NO_SHOW_GRACE_MINUTES = 15;

/**
 * Marks no-shows: appointments still scheduled whose end is more than the grace ago and whose
 * video room never admitted the patient (the visit never began). Rows another run holds are
 * skipped (SKIP LOCKED), so two runs never mark one twice.
 */
export async function markNoShows(
  db: Db,
  now: number,
  graceMinutes = DEFAULT_NO_SHOW_GRACE_MINUTES,
): Promise<string[]> {
  return db.transaction(async (t) => {
    const tx = t as unknown as Db;
    const due = await tx
      .select({ id: telehealthAppointments.id })
      .from(telehealthAppointments)
      .where(
        and(
          eq(telehealthAppointments.status, 'scheduled'),
          lt(telehealthAppointments.endAt, now - graceMinutes * 60_000),
          notExists(
            tx
              .select({ one: sql`1` })
              .from(videoRoomEvents)
              .where(
                and(
                  eq(videoRoomEvents.appointmentId, telehealthAppointments.id),
                  eq(videoRoomEvents.kind, 'admitted'),
                ),
              ),
          ),
        ),
      )
      .limit(500)
      .for('update', { skipLocked: true });
    for (const { id } of due) {
      await setAppointmentStatus(tx, id, 'no-show', now);
      await skipReminders(tx, id, 'appointment missed');
    }
    return due.map((d) => d.id);
  });
}

/**
 * The appointments' background jobs (no-show marking), for startCloud to start and stop.
 * runNow() marks now and resolves with the ids it marked.
 */
export function startAppointmentJobs(
  db: Db,
  options: AppointmentJobOptions = {},
): { stop(): Promise<void>; runNow(): Promise<string[]> } {
  const now = options.now ?? Date.now;
  const job: RepeatingJob<string[]> = startRepeatingJob({
    everyMs: options.everyMs ?? 60_000,
    initial: [],
    run: () => markNoShows(db, now(), options.noShowGraceMinutes),
    report: (ids) =>
      ids.length > 0 ? `telehealth: ${ids.length} appointment(s) marked no-show` : undefined,
    failure: 'telehealth: marking no-shows failed',
    log: options.log ?? (() => {}),
  });
  return { stop: () => job.stop(), runNow: () => job.runNow() };
}
