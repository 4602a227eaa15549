import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { assignPatient } from '../../auth/care-assignments.ts';
import { keyRingOf } from '../../crypto/db-key-ring.ts';
import { APPOINTMENT_CHIEF_COMPLAINT } from '../../crypto/sealed-text.ts';
import type { Db } from '../../db/database.ts';
import { ResourceStore } from '../../fhir/store/resource-store.ts';
import { ApiError } from '../../http/json-body.ts';
import type { ReminderOptions } from '../reminders/options.ts';
import { scheduleReminders, skipReminders } from '../reminders/schedule.ts';
import { fhirAppointment } from './fhir-appointment.ts';
import type { Provider } from './providers.ts';
import { telehealthAppointments, telehealthProviders } from './schema.ts';
import { bookedBetween, fhirSlot, slotAt } from './slots.ts';
import { setAppointmentStatus } from './status.ts';
import type { AppointmentType } from './visit.ts';

export type AppointmentRow = typeof telehealthAppointments.$inferSelect;

export interface BookingRequest {
  providerUserId: string;
  patientId: string;
  start: number;
  type: AppointmentType;
  chiefComplaint?: string;
}

/**
 * Books one slot of the provider for the patient. Double booking is prevented by serializing
 * the bookings of a provider: the provider's row is locked (FOR UPDATE) for the whole
 * transaction, so the overlap check and the insert of one booking see every booking committed
 * before it. Also writes the FHIR Appointment, stores the Slot as busy, puts the patient in the
 * doctor's care and schedules the reminders — all or nothing.
 */
export async function bookAppointment(
  db: Db,
  request: BookingRequest,
  now: number,
  reminders?: ReminderOptions,
): Promise<AppointmentRow> {
  return db.transaction(async (tx) => {
    const provider = await lockProvider(tx as unknown as Db, request.providerUserId);
    return bookLocked(tx as unknown as Db, provider, request, now, reminders);
  });
}

/**
 * Moves a scheduled appointment to a new start, atomically: under the provider's lock the old
 * one is cancelled ("rescheduled") and the new one booked with `rescheduledFrom`; when the new
 * time is taken nothing changes (409).
 */
export async function rescheduleAppointment(
  db: Db,
  appointmentId: string,
  start: number,
  now: number,
  reminders?: ReminderOptions,
): Promise<{ old: AppointmentRow; booked: AppointmentRow }> {
  return db.transaction(async (t) => {
    const tx = t as unknown as Db;
    const provider = await lockProvider(tx, await providerOf(tx, appointmentId));
    const old = await lockScheduled(tx, appointmentId);
    const chiefComplaint = await APPOINTMENT_CHIEF_COMPLAINT.open(
      keyRingOf(tx),
      old.id,
      old.chiefComplaint,
    );
    const booked = await bookLocked(
      tx,
      provider,
      {
        providerUserId: old.providerUserId,
        patientId: old.patientId,
        start,
        type: old.type as AppointmentType,
        chiefComplaint: chiefComplaint ?? undefined,
      },
      now,
      reminders,
      old.id,
    );
    await releaseAppointment(tx, provider, old, now, 'rescheduled');
    return { old, booked };
  });
}

/** Cancels a scheduled appointment: its Slot is free again, its reminders are not sent. */
export async function cancelAppointment(
  db: Db,
  appointmentId: string,
  reason: string,
  now: number,
): Promise<AppointmentRow> {
  return db.transaction(async (t) => {
    const tx = t as unknown as Db;
    const provider = await lockProvider(tx, await providerOf(tx, appointmentId));
    const current = await lockScheduled(tx, appointmentId);
    await releaseAppointment(tx, provider, current, now, reason);
    return { ...current, status: 'cancelled', updatedAt: now };
  });
}

/**
 * Whose appointment it is. Every change locks the provider's row before the appointment's, in
 * that order, so a cancel and a reschedule of one appointment cannot deadlock.
 */
async function providerOf(tx: Db, appointmentId: string): Promise<string> {
  const [row] = await tx
    .select({ providerUserId: telehealthAppointments.providerUserId })
    .from(telehealthAppointments)
    .where(eq(telehealthAppointments.id, appointmentId));
  if (!row) throw new ApiError(404, 'not_found', 'no such appointment');
  return row.providerUserId;
}

async function lockProvider(tx: Db, providerUserId: string): Promise<Provider> {
  const [provider] = await tx
    .select()
    .from(telehealthProviders)
    .where(eq(telehealthProviders.userId, providerUserId))
    .for('update');
  if (!provider) throw new ApiError(404, 'unknown_provider', 'no such telehealth provider');
  return provider as Provider;
}

async function lockScheduled(tx: Db, appointmentId: string): Promise<AppointmentRow> {
  const [row] = await tx
    .select()
    .from(telehealthAppointments)
    .where(eq(telehealthAppointments.id, appointmentId))
    .for('update');
  if (!row) throw new ApiError(404, 'not_found', 'no such appointment');
  if (row.status !== 'scheduled')
    throw new ApiError(409, 'not_scheduled', `the appointment is ${row.status}, not scheduled`);
  return row;
}

async function bookLocked(
  tx: Db,
  provider: Provider,
  request: BookingRequest,
  now: number,
  reminders: ReminderOptions | undefined,
  rescheduledFrom?: string,
): Promise<AppointmentRow> {
  const slot = slotAt(provider, request.start);
  if (!slot)
    throw new ApiError(
      400,
      'not_a_slot',
      `${new Date(request.start).toISOString()} is not the start of a slot in the provider's working hours`,
    );
  if (slot.start <= now) throw new ApiError(400, 'in_the_past', 'the slot has already started');
  const taken = await bookedBetween(tx, provider.userId, slot.start, slot.end, rescheduledFrom);
  if (taken.length > 0)
    throw new ApiError(
      409,
      'slot_taken',
      `the provider is already booked at ${new Date(slot.start).toISOString()}; choose another slot`,
    );
  const id = randomUUID();
  const ring = keyRingOf(tx);
  const row: AppointmentRow = {
    id,
    providerUserId: provider.userId,
    patientId: request.patientId,
    type: request.type,
    status: 'scheduled',
    startAt: slot.start,
    endAt: slot.end,
    chiefComplaint: request.chiefComplaint
      ? APPOINTMENT_CHIEF_COMPLAINT.seal(ring, id, request.chiefComplaint)
      : null,
    rescheduledFrom: rescheduledFrom ?? null,
    createdAt: now,
    updatedAt: now,
  };
  await tx.insert(telehealthAppointments).values(row);
  const store = new ResourceStore(tx);
  const busy = fhirSlot(provider, slot, 'busy');
  await store.update(busy);
  await store.update(
    fhirAppointment({
      id,
      type: request.type,
      status: 'scheduled',
      startAt: slot.start,
      endAt: slot.end,
      patientId: request.patientId,
      practitionerId: provider.practitionerId,
      slotId: busy.id,
      replaces: rescheduledFrom,
    }),
  );
  await assignPatient(tx, provider.userId, request.patientId, now);
  await scheduleReminders(tx, { id, startAt: slot.start }, now, reminders);
  return row;
}

async function releaseAppointment(
  tx: Db,
  provider: Provider,
  appointment: AppointmentRow,
  now: number,
  reason: string,
): Promise<void> {
  await setAppointmentStatus(tx, appointment.id, 'cancelled', now, reason);
  const stillBusy = await bookedBetween(
    tx,
    provider.userId,
    appointment.startAt,
    appointment.endAt,
  );
  if (stillBusy.length === 0)
    await new ResourceStore(tx).update(
      fhirSlot(provider, { start: appointment.startAt, end: appointment.endAt }, 'free'),
    );
  await skipReminders(
    tx,
    appointment.id,
    reason === 'rescheduled' ? 'appointment rescheduled' : 'appointment cancelled',
  );
}
