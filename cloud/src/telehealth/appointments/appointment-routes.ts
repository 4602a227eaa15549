import { and, asc, eq, type SQL } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import { accessOf } from '../../access/index.ts';
import type { Db } from '../../db/database.ts';
import { ResourceStore } from '../../fhir/store/resource-store.ts';
import { ApiError, jsonBody } from '../../http/json-body.ts';
import type { TelehealthOptions } from '../options.ts';
import { bookAppointment, cancelAppointment, rescheduleAppointment } from './booking.ts';
import { APPOINTMENT_TYPES } from './fhir-appointment.ts';
import { findProvider } from './providers.ts';
import { telehealthAppointments } from './schema.ts';
import { appointmentView } from './views.ts';
import { requireParticipant } from './visit.ts';

const instant = z
  .string()
  .datetime({ offset: true, message: 'an ISO date-time with a zone, e.g. 2026-03-02T09:00:00Z' })
  .transform((s) => Date.parse(s));

const bookingSchema = z
  .object({
    /** The provider: the doctor's user id, or their Practitioner id (practitionerId). */
    providerId: z.string().min(1).max(64).optional(),
    practitionerId: z.string().min(1).max(64).optional(),
    start: instant,
    type: z.enum(Object.keys(APPOINTMENT_TYPES) as [keyof typeof APPOINTMENT_TYPES]),
    chiefComplaint: z.string().trim().min(1).max(2000).optional(),
    /** Whom for: a doctor booking names their patient; a patient books for themself. */
    patientId: z.string().min(1).max(64).optional(),
  })
  .refine((b) => (b.providerId ? 1 : 0) + (b.practitionerId ? 1 : 0) === 1, {
    message: 'give providerId or practitionerId (one of them)',
  });

const cancelSchema = z.object({ reason: z.string().trim().min(1).max(500) });
const rescheduleSchema = z.object({ start: instant });

/**
 * Appointments:
 * - POST /appointments: a patient books for themself, a doctor for a patient in their care on
 *   their own schedule. 201 with the appointment, 409 `slot_taken` when the time is booked.
 * - GET /appointments[?status=]: the caller's own (a patient's, or the ones a doctor hosts).
 * - GET /appointments/:id, POST /appointments/:id/cancel {reason},
 *   POST /appointments/:id/reschedule {start}: its participants only.
 */
export function appointmentRoutes(db: Db, options: TelehealthOptions): Hono {
  const app = new Hono();
  const now = options.now ?? Date.now;

  app.post('/appointments', async (c) => {
    const access = accessOf(c);
    const op = access.record('create', 'Appointment');
    access.requireRole('patient', 'doctor');
    const body = await jsonBody(c, bookingSchema);
    const p = access.principal;
    if (p.kind !== 'user') throw access.deny('only users book appointments');
    const provider = await findProvider(db, (body.providerId ?? body.practitionerId) as string);
    if (!provider) throw new ApiError(404, 'unknown_provider', 'no such telehealth provider');
    let patientId: string;
    if (p.role === 'patient') {
      if (!p.patientId) throw access.deny('this patient account has no patient record');
      if (body.patientId && body.patientId !== p.patientId)
        throw access.deny('a patient books only for themself');
      patientId = p.patientId;
      op.patients.add(patientId);
    } else {
      if (!body.patientId) throw new ApiError(400, 'invalid_body', 'patientId: required');
      patientId = body.patientId;
      access.requirePatient(patientId, 'Appointment', 'create', op);
      if (provider.userId !== p.id)
        throw access.deny('a doctor books appointments on their own schedule');
    }
    if (!(await new ResourceStore(db).read('Patient', patientId))?.resource)
      throw new ApiError(400, 'unknown_patient', 'no such patient');
    const row = await bookAppointment(
      db,
      {
        providerUserId: provider.userId,
        patientId,
        start: body.start,
        type: body.type,
        chiefComplaint: body.chiefComplaint,
      },
      now(),
      options.reminders,
    );
    op.entity = `Appointment/${row.id}`;
    return c.json({ appointment: await appointmentView(db, row) }, 201);
  });

  app.get('/appointments', async (c) => {
    const access = accessOf(c);
    access.requireRole('patient', 'doctor');
    const p = access.principal;
    const status = c.req.query('status');
    const conditions: SQL[] = [];
    if (p.kind === 'user' && p.role === 'patient') {
      if (!p.patientId) throw access.deny('this patient account has no patient record');
      conditions.push(eq(telehealthAppointments.patientId, p.patientId));
    } else conditions.push(eq(telehealthAppointments.providerUserId, p.id));
    if (status) conditions.push(eq(telehealthAppointments.status, status));
    const rows = await db
      .select()
      .from(telehealthAppointments)
      .where(and(...conditions))
      .orderBy(asc(telehealthAppointments.startAt));
    access.record(
      'search',
      status ? 'Appointment?status' : 'Appointment?',
      rows.map((r) => r.patientId),
    );
    return c.json({ appointments: await Promise.all(rows.map((r) => appointmentView(db, r))) });
  });

  app.get('/appointments/:id', async (c) => {
    const id = c.req.param('id');
    const access = accessOf(c);
    const op = access.record('read', `Appointment/${id}`);
    const { role } = await requireParticipant(db, access, id, op);
    const row = await appointmentRow(db, id);
    const resource = (await new ResourceStore(db).read('Appointment', id))?.resource;
    return c.json({ appointment: await appointmentView(db, row), role, resource });
  });

  app.post('/appointments/:id/cancel', async (c) => {
    const id = c.req.param('id');
    const access = accessOf(c);
    const op = access.record('update', `Appointment/${id}`);
    await requireParticipant(db, access, id, op);
    const { reason } = await jsonBody(c, cancelSchema);
    const row = await cancelAppointment(db, id, reason, now());
    op.detail = 'appointment cancelled';
    return c.json({ appointment: await appointmentView(db, row) });
  });

  app.post('/appointments/:id/reschedule', async (c) => {
    const id = c.req.param('id');
    const access = accessOf(c);
    const op = access.record('update', `Appointment/${id}`);
    const { visit } = await requireParticipant(db, access, id, op);
    const { start } = await jsonBody(c, rescheduleSchema);
    const { booked } = await rescheduleAppointment(db, id, start, now(), options.reminders);
    op.detail = 'appointment rescheduled';
    access.record('create', `Appointment/${booked.id}`, [visit.patientId]);
    return c.json(
      {
        appointment: await appointmentView(db, booked),
        cancelled: await appointmentView(db, await appointmentRow(db, id)),
      },
      201,
    );
  });

  return app;
}

async function appointmentRow(db: Db, id: string) {
  const [row] = await db
    .select()
    .from(telehealthAppointments)
    .where(eq(telehealthAppointments.id, id));
  if (!row) throw new ApiError(404, 'not_found', 'no such appointment');
  return row;
}
