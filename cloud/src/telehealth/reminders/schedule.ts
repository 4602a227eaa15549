import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/database.ts';
import { appointmentReminders } from '../appointments/schema.ts';
import { DEFAULT_REMINDER_LEADS, type ReminderOptions } from './options.ts';

export const REMINDER_CHANNELS = ['email', 'sms'] as const;
export type ReminderChannel = (typeof REMINDER_CHANNELS)[number];

/**
 * The reminders of a new appointment: one per channel and lead time, pending until due. Whether
 * the patient opted in, and has an address, is decided when it is due (they may change their
 * mind in between). A lead already past at booking is recorded as skipped.
 */
export async function scheduleReminders(
  db: Db,
  appointment: { id: string; startAt: number },
  now: number,
  options: ReminderOptions = {},
): Promise<void> {
  const leads = options.leadMinutes ?? DEFAULT_REMINDER_LEADS;
  const rows = REMINDER_CHANNELS.flatMap((channel) =>
    leads.map((leadMinutes) => {
      const dueAt = appointment.startAt - leadMinutes * 60_000;
      const late = dueAt < now;
      return {
        id: randomUUID(),
        appointmentId: appointment.id,
        channel,
        leadMinutes,
        dueAt,
        status: late ? 'skipped' : 'pending',
        attempts: 0,
        nextAttemptAt: late ? null : dueAt,
        lastError: late ? 'booked after this reminder was due' : null,
      };
    }),
  );
  if (rows.length > 0) await db.insert(appointmentReminders).values(rows).onConflictDoNothing();
}

/** Pending reminders of an appointment that will not happen are skipped. */
export async function skipReminders(db: Db, appointmentId: string, why: string): Promise<void> {
  await db
    .update(appointmentReminders)
    .set({ status: 'skipped', nextAttemptAt: null, lastError: why })
    .where(
      and(
        eq(appointmentReminders.appointmentId, appointmentId),
        eq(appointmentReminders.status, 'pending'),
      ),
    );
}
