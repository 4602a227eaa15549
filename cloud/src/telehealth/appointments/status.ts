import { eq } from 'drizzle-orm';
import type { Db } from '../../db/database.ts';
import { ResourceStore } from '../../fhir/store/resource-store.ts';
import { FHIR_APPOINTMENT_STATUS } from './fhir-appointment.ts';
import { telehealthAppointments } from './schema.ts';
import type { AppointmentStatus } from './visit.ts';

/**
 * Moves an appointment to `status` in the ledger and on its FHIR Appointment (whose other
 * elements stay as they are). `cancelationReason` goes on the FHIR resource.
 */
export async function setAppointmentStatus(
  db: Db,
  appointmentId: string,
  status: AppointmentStatus,
  now: number,
  cancelationReason?: string,
): Promise<void> {
  await db
    .update(telehealthAppointments)
    .set({ status, updatedAt: now })
    .where(eq(telehealthAppointments.id, appointmentId));
  const store = new ResourceStore(db);
  const current = await store.read('Appointment', appointmentId);
  if (!current?.resource) return;
  await store.update({
    ...current.resource,
    status: FHIR_APPOINTMENT_STATUS[status],
    ...(cancelationReason && { cancelationReason: { text: cancelationReason } }),
  });
}
