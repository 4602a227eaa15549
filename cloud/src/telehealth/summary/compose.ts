import { eq } from 'drizzle-orm';
import { keyRingOf } from '../../crypto/db-key-ring.ts';
import { APPOINTMENT_CHIEF_COMPLAINT } from '../../crypto/sealed-text.ts';
import type { Db } from '../../db/database.ts';
import { ResourceStore } from '../../fhir/store/resource-store.ts';
import { addDays, formatLocalDate, localTimeOf } from '../../time/zoned-time.ts';
import { findProvider, practitionerName } from '../appointments/providers.ts';
import { telehealthAppointments } from '../appointments/schema.ts';
import type { Visit } from '../appointments/visit.ts';
import { type DocumentView, listDocuments } from '../documents/index.ts';
import { listPrescriptions } from '../prescriptions/index.ts';
import { loadSession } from '../video/session.ts';
import { loadNotes } from './notes.ts';

export interface PrescriptionLine {
  id: string;
  medication: string;
  rxnorm: string;
  dosage: string | null;
  /** The MedicationRequest's status (active, cancelled…); null if it is missing. */
  status: string | null;
  /** e-prescribing: pending | sent | failed */
  transmission: string;
  signedAt: string;
  sentAt: string | null;
}

/** Everything about one visit a participant sees after it (GET …/summary). */
export interface VisitSummary {
  appointment: {
    id: string;
    type: string;
    status: string;
    start: string;
    end: string;
    timeZone: string | null;
    clinician: { name: string | null; practitioner: string };
    patient: { id: string; reference: string };
  };
  session: { startedAt: string; endedAt: string | null; durationSeconds: number | null } | null;
  chiefComplaint: string | null;
  prescriptions: PrescriptionLine[];
  documents: DocumentView[];
  nextSteps: string | null;
  followUp: { type: string; inDays: number | null; date: string } | null;
  notesUpdatedAt: string | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The summary of a visit from its ledger row, room events, prescriptions, documents and notes. */
export async function composeSummary(db: Db, visit: Visit): Promise<VisitSummary> {
  const id = visit.appointmentId;
  const store = new ResourceStore(db);
  const [[ledger], provider, practitioner, session, lines, documents, notes] = await Promise.all([
    db
      .select({ chiefComplaint: telehealthAppointments.chiefComplaint })
      .from(telehealthAppointments)
      .where(eq(telehealthAppointments.id, id)),
    findProvider(db, visit.providerUserId),
    store.read('Practitioner', visit.practitionerId),
    loadSession(db, id),
    prescriptionLines(db, id),
    listDocuments(db, id),
    loadNotes(db, id),
  ]);
  const timeZone = provider?.timeZone ?? null;
  const followUp = notes?.followUp;
  return {
    appointment: {
      id,
      type: visit.type,
      status: visit.status,
      start: iso(visit.startAt),
      end: iso(visit.endAt),
      timeZone,
      clinician: {
        name: practitionerName(practitioner?.resource ?? undefined),
        practitioner: `Practitioner/${visit.practitionerId}`,
      },
      patient: { id: visit.patientId, reference: `Patient/${visit.patientId}` },
    },
    session: session
      ? {
          startedAt: iso(session.startedAt),
          endedAt: session.endedAt === null ? null : iso(session.endedAt),
          durationSeconds: session.durationSeconds,
        }
      : null,
    chiefComplaint: await APPOINTMENT_CHIEF_COMPLAINT.open(
      keyRingOf(db),
      id,
      ledger?.chiefComplaint ?? null,
    ),
    prescriptions: lines,
    documents,
    nextSteps: notes?.nextSteps ?? null,
    followUp: followUp
      ? {
          type: followUp.type,
          inDays: followUp.inDays ?? null,
          date:
            followUp.date ??
            formatLocalDate(
              addDays(localTimeOf(visit.startAt, timeZone ?? 'UTC'), followUp.inDays ?? 0),
            ),
        }
      : null,
    notesUpdatedAt: notes ? iso(notes.updatedAt) : null,
  };
}

/**
 * The prescriptions signed in the visit, named from their MedicationRequest (a request the
 * prescribing code has not stored, or that lacks a name, still shows with its RxNorm code).
 */
async function prescriptionLines(db: Db, appointmentId: string): Promise<PrescriptionLine[]> {
  return (await listPrescriptions(db, appointmentId)).map((view) => ({
    id: view.id,
    medication: view.medication.text ?? view.medication.name ?? `RxNorm ${view.medication.rxnorm}`,
    rxnorm: view.medication.rxnorm,
    dosage: view.sig,
    status: view.status,
    transmission: view.transmission.status,
    signedAt: view.signedAt,
    sentAt: view.transmission.sentAt,
  }));
}
