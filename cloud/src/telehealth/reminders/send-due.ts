import { and, asc, eq, inArray, lte, or, sql } from 'drizzle-orm';
import type { Db } from '../../db/database.ts';
import { ResourceStore } from '../../fhir/store/resource-store.ts';
import type { FhirResource } from '../../fhir/store/validate.ts';
import { practitionerName } from '../appointments/providers.ts';
import {
  appointmentReminders,
  telehealthAppointments,
  telehealthProviders,
} from '../appointments/schema.ts';
import { type EmailSender, emailSender, SendError } from './email-sender.ts';
import { reminderMessage } from './message.ts';
import {
  DEFAULT_REMINDER_ATTEMPTS,
  DEFAULT_RETRY_BASE_MS,
  type ReminderOptions,
} from './options.ts';
import { preferencesOf } from './preferences.ts';
import type { ReminderChannel } from './schedule.ts';
import { type SmsSender, smsSender } from './sms-sender.ts';

type ReminderRow = typeof appointmentReminders.$inferSelect;

/** How long a claimed reminder is another run's to send; after it, a crashed run's are retried. */
const CLAIM_LEASE_MS = 10 * 60_000;
const BATCH = 50;

export interface ReminderRunResult {
  sent: number;
  /** Failed this time, to be retried. */
  retrying: number;
  /** Failed for the last allowed time: given up. */
  failed: number;
  skipped: number;
}

/**
 * Claims the due reminders (atomically: a reminder another run claimed is not seen, SKIP
 * LOCKED, and stays claimed for CLAIM_LEASE_MS) and sends each. A send that fails is retried
 * after retryBaseMs, doubled each time, until maxAttempts; then it is failed for good.
 */
export async function sendDueReminders(
  db: Db,
  options: ReminderOptions,
  now: number,
  log: (message: string) => void = () => {},
): Promise<ReminderRunResult> {
  const result: ReminderRunResult = { sent: 0, retrying: 0, failed: 0, skipped: 0 };
  const claimed = await claimDue(db, now);
  if (claimed.length === 0) return result;
  const email = options.smtp && emailSender(options.smtp);
  const sms = options.sms && smsSender(options.sms);
  try {
    for (const reminder of claimed) {
      const outcome = await sendOne(db, reminder, options, { email, sms }).catch(
        (error: unknown) => ({
          error: error instanceof SendError ? error.message : 'reminder could not be prepared',
        }),
      );
      if ('skip' in outcome) {
        await finish(db, reminder.id, { status: 'skipped', lastError: outcome.skip });
        result.skipped++;
      } else if ('error' in outcome) {
        const maxAttempts = options.maxAttempts ?? DEFAULT_REMINDER_ATTEMPTS;
        const giveUp = reminder.attempts >= maxAttempts;
        const wait = (options.retryBaseMs ?? DEFAULT_RETRY_BASE_MS) * 2 ** (reminder.attempts - 1);
        await finish(db, reminder.id, {
          status: giveUp ? 'failed' : 'pending',
          nextAttemptAt: giveUp ? null : now + wait,
          lastError: outcome.error,
        });
        if (giveUp) result.failed++;
        else result.retrying++;
        log(
          `reminders: ${reminder.channel} reminder ${reminder.id} attempt ${reminder.attempts} failed (${outcome.error})${giveUp ? ', giving up' : ''}`,
        );
      } else {
        await finish(db, reminder.id, {
          status: 'sent',
          sentAt: now,
          nextAttemptAt: null,
          lastError: null,
          providerMessageId: outcome.messageId ?? null,
        });
        result.sent++;
      }
    }
  } finally {
    email?.close();
  }
  return result;
}

async function claimDue(db: Db, now: number): Promise<ReminderRow[]> {
  const r = appointmentReminders;
  const due = db
    .select({ id: r.id })
    .from(r)
    .where(and(or(eq(r.status, 'pending'), eq(r.status, 'sending')), lte(r.nextAttemptAt, now)))
    .orderBy(asc(r.nextAttemptAt))
    .limit(BATCH)
    .for('update', { skipLocked: true });
  return db
    .update(r)
    .set({
      status: 'sending',
      attempts: sql`${r.attempts} + 1`,
      nextAttemptAt: now + CLAIM_LEASE_MS,
    })
    .where(inArray(r.id, due))
    .returning();
}

async function finish(db: Db, id: string, fields: Partial<Omit<ReminderRow, 'id'>>): Promise<void> {
  await db
    .update(appointmentReminders)
    .set(fields)
    .where(and(eq(appointmentReminders.id, id), eq(appointmentReminders.status, 'sending')));
}

type Outcome = { skip: string } | { error: string } | { messageId: string | undefined };

async function sendOne(
  db: Db,
  reminder: ReminderRow,
  options: ReminderOptions,
  senders: { email?: EmailSender; sms?: SmsSender },
): Promise<Outcome> {
  const [appointment] = await db
    .select({
      status: telehealthAppointments.status,
      startAt: telehealthAppointments.startAt,
      patientId: telehealthAppointments.patientId,
      practitionerId: telehealthProviders.practitionerId,
      timeZone: telehealthProviders.timeZone,
    })
    .from(telehealthAppointments)
    .innerJoin(
      telehealthProviders,
      eq(telehealthProviders.userId, telehealthAppointments.providerUserId),
    )
    .where(eq(telehealthAppointments.id, reminder.appointmentId));
  if (appointment?.status !== 'scheduled') return { skip: 'appointment no longer scheduled' };
  const channel = reminder.channel as ReminderChannel;
  const preferences = await preferencesOf(db, appointment.patientId);
  if (!preferences[channel]) return { skip: `patient has not opted in to ${channel} reminders` };
  const store = new ResourceStore(db);
  const patient = (await store.read('Patient', appointment.patientId))?.resource;
  const to = patient && contactOf(patient, channel);
  if (!to)
    return { skip: `patient has no ${channel === 'email' ? 'e-mail address' : 'mobile number'}` };
  const practitioner = (await store.read('Practitioner', appointment.practitionerId))?.resource;
  const message = reminderMessage({
    startAt: appointment.startAt,
    timeZone: appointment.timeZone,
    clinician: practitionerName(practitioner ?? undefined) ?? 'your clinician',
    joinHint: options.joinHint ?? 'the wardgate visit page',
  });
  if (channel === 'email') {
    if (!senders.email) return { skip: 'no SMTP relay configured' };
    return { messageId: await senders.email.send(to, message) };
  }
  if (!senders.sms) return { skip: 'no SMS provider configured' };
  return { messageId: await senders.sms.send(to, message, reminder.id) };
}

type Telecom = { system?: string; value?: string; use?: string; period?: { end?: string } };

/** The e-mail address, or for SMS the mobile (else any phone) number, of the Patient. */
export function contactOf(patient: FhirResource, channel: ReminderChannel): string | undefined {
  const telecom = ((patient.telecom as Telecom[] | undefined) ?? []).filter(
    (t) => t.value && t.use !== 'old' && !t.period?.end,
  );
  if (channel === 'email') return telecom.find((t) => t.system === 'email')?.value;
  return (
    telecom.find((t) => t.system === 'sms') ??
    telecom.find((t) => t.system === 'phone' && t.use === 'mobile') ??
    telecom.find((t) => t.system === 'phone')
  )?.value;
}
