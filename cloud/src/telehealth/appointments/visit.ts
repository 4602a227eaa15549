import { eq } from 'drizzle-orm';
import type { AccessOperation, RequestAccess } from '../../access/request-access.ts';
import type { Principal } from '../../auth/principal.ts';
import type { Db } from '../../db/database.ts';
import { telehealthAppointments, telehealthProviders } from './schema.ts';

export type AppointmentStatus = 'scheduled' | 'in-progress' | 'completed' | 'cancelled' | 'no-show';
export type AppointmentType =
  | 'consultation'
  | 'follow-up'
  | 'urgent-care'
  | 'mental-health'
  | 'specialist';

/** One appointment and who takes part in it: the clinician hosts, the patient joins. */
export interface Visit {
  appointmentId: string;
  type: AppointmentType;
  status: AppointmentStatus;
  startAt: number;
  endAt: number;
  patientId: string;
  /** The clinician's user id (the host). */
  providerUserId: string;
  practitionerId: string;
}

/** What a principal is in a visit: its host (the clinician), the patient, or nobody. */
export type VisitRole = 'host' | 'patient';

export async function loadVisit(db: Db, appointmentId: string): Promise<Visit | undefined> {
  const [row] = await db
    .select({
      appointmentId: telehealthAppointments.id,
      type: telehealthAppointments.type,
      status: telehealthAppointments.status,
      startAt: telehealthAppointments.startAt,
      endAt: telehealthAppointments.endAt,
      patientId: telehealthAppointments.patientId,
      providerUserId: telehealthAppointments.providerUserId,
      practitionerId: telehealthProviders.practitionerId,
    })
    .from(telehealthAppointments)
    .innerJoin(
      telehealthProviders,
      eq(telehealthProviders.userId, telehealthAppointments.providerUserId),
    )
    .where(eq(telehealthAppointments.id, appointmentId));
  return row as Visit | undefined;
}

/** The principal's part in the visit, if any: only users take part (API clients do not). */
export function visitRoleOf(visit: Visit, principal: Principal): VisitRole | undefined {
  if (principal.kind !== 'user') return undefined;
  if (principal.role === 'doctor' && principal.id === visit.providerUserId) return 'host';
  if (principal.role === 'patient' && principal.patientId === visit.patientId) return 'patient';
  return undefined;
}

/**
 * The visit when the request's principal takes part in it, else AccessDenied (also when there is
 * no such appointment: a stranger learns nothing from the difference). The patient is recorded
 * on `op` either way, so a refused attempt names whom it was after.
 */
export async function requireParticipant(
  db: Db,
  access: RequestAccess,
  appointmentId: string,
  op: AccessOperation,
): Promise<{ visit: Visit; role: VisitRole }> {
  access.decided = true;
  const visit = await loadVisit(db, appointmentId);
  if (visit) op.patients.add(visit.patientId);
  const role = visit && visitRoleOf(visit, access.principal);
  if (!visit || !role) throw access.deny('only the participants of this appointment may do this');
  return { visit, role };
}
