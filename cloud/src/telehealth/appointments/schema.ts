import { boolean, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { epochMs } from '../../db/epoch-ms.ts';

/**
 * A clinician who sees patients by appointment: their FHIR Practitioner and Schedule, the time
 * zone their working hours are in, and the hours themselves.
 */
export const telehealthProviders = pgTable('telehealth_providers', {
  /** The doctor's user id: the host of their video visits. */
  userId: text('user_id').primaryKey(),
  practitionerId: text('practitioner_id').notNull().unique(),
  scheduleId: text('schedule_id').notNull().unique(),
  /** IANA zone, e.g. Europe/Amsterdam: working hours are wall-clock times there. */
  timeZone: text('time_zone').notNull(),
  /** Weekday (mon…sun) → [["09:00","12:30"], …]. */
  workingHours: jsonb('working_hours').notNull().$type<Record<string, [string, string][]>>(),
  slotMinutes: integer('slot_minutes').notNull(),
  updatedAt: epochMs('updated_at').notNull(),
});

/**
 * The booking ledger behind FHIR Appointment (same id): what double-booking checks run on, under
 * a lock of the provider's row. status: scheduled | in-progress | completed | cancelled | no-show.
 */
export const telehealthAppointments = pgTable(
  'telehealth_appointments',
  {
    id: text('id').primaryKey(),
    providerUserId: text('provider_user_id').notNull(),
    patientId: text('patient_id').notNull(),
    /** consultation | follow-up | urgent-care | mental-health | specialist */
    type: text('type').notNull(),
    status: text('status').notNull(),
    startAt: epochMs('start_at').notNull(),
    endAt: epochMs('end_at').notNull(),
    /** Sealed (APPOINTMENT_CHIEF_COMPLAINT). */
    chiefComplaint: text('chief_complaint'),
    /** The appointment this one replaced, when it was rescheduled. */
    rescheduledFrom: text('rescheduled_from'),
    createdAt: epochMs('created_at').notNull(),
    updatedAt: epochMs('updated_at').notNull(),
  },
  (t) => [
    index('telehealth_appointments_provider_start').on(t.providerUserId, t.startAt),
    index('telehealth_appointments_patient_start').on(t.patientId, t.startAt),
  ],
);

/** Whether a patient agreed to appointment reminders by e-mail and by SMS. */
export const reminderPreferences = pgTable('telehealth_reminder_preferences', {
  patientId: text('patient_id').primaryKey(),
  email: boolean('email').notNull(),
  sms: boolean('sms').notNull(),
  updatedAt: epochMs('updated_at').notNull(),
});

/**
 * One reminder to send: unique per appointment, channel and lead time, so it is sent once.
 * status: pending | sending (claimed by a run until next_attempt_at) | sent | failed (gave up)
 * | skipped (no opt-in, contact or channel; appointment cancelled or missed).
 */
export const appointmentReminders = pgTable(
  'telehealth_reminders',
  {
    id: text('id').primaryKey(),
    appointmentId: text('appointment_id').notNull(),
    channel: text('channel').notNull(),
    /** How long before the start it goes out, in minutes (e.g. 1440, 60). */
    leadMinutes: integer('lead_minutes').notNull(),
    dueAt: epochMs('due_at').notNull(),
    status: text('status').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: epochMs('next_attempt_at'),
    lastError: text('last_error'),
    sentAt: epochMs('sent_at'),
    providerMessageId: text('provider_message_id'),
  },
  (t) => [
    uniqueIndex('telehealth_reminders_once').on(t.appointmentId, t.channel, t.leadMinutes),
    index('telehealth_reminders_due').on(t.status, t.nextAttemptAt),
  ],
);
