import { keyRingOf } from '../../crypto/db-key-ring.ts';
import { APPOINTMENT_CHIEF_COMPLAINT } from '../../crypto/sealed-text.ts';
import type { Db } from '../../db/database.ts';
import type { AppointmentRow } from './booking.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/** An appointment as its participants see it (the chief complaint opened). */
export async function appointmentView(db: Db, row: AppointmentRow) {
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    start: iso(row.startAt),
    end: iso(row.endAt),
    patientId: row.patientId,
    providerUserId: row.providerUserId,
    chiefComplaint: await APPOINTMENT_CHIEF_COMPLAINT.open(
      keyRingOf(db),
      row.id,
      row.chiefComplaint,
    ),
    rescheduledFrom: row.rescheduledFrom,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}
