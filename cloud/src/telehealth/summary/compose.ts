import { asc, eq } from 'drizzle-orm';
import { keyRingOf } from '../../crypto/db-key-ring.ts';
import { APPOINTMENT_CHIEF_COMPLAINT } from '../../crypto/sealed-text.ts';
import type { Db } from '../../db/database.ts';
import { ResourceStore } from '../../fhir/store/resource-store.ts';
import type { FhirResource } from '../../fhir/store/validate.ts';
import { telehealthAppointments, telehealthProviders } from '../appointments/schema.ts';
import type { Visit } from '../appointments/visit.ts';
import { type DocumentView, listDocuments } from '../documents/index.ts';
import { prescriptions } from '../prescriptions/schema.ts';
import { loadSession } from '../video/session.ts';
import { loadNotes } from './notes.ts';

const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';

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
  const [[ledger], [provider], practitioner, session, lines, documents, notes] = await Promise.all([
    db
      .select({ chiefComplaint: telehealthAppointments.chiefComplaint })
      .from(telehealthAppointments)
      .where(eq(telehealthAppointments.id, id)),
    db
      .select({ timeZone: telehealthProviders.timeZone })
      .from(telehealthProviders)
      .where(eq(telehealthProviders.userId, visit.providerUserId)),
    store.read('Practitioner', visit.practitionerId),
    loadSession(db, id),
    prescriptionLines(db, store, id),
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
          date: followUp.date ?? addDays(localDate(visit.startAt, timeZone), followUp.inDays ?? 0),
        }
      : null,
    notesUpdatedAt: notes ? iso(notes.updatedAt) : null,
  };
}

/**
 * The prescriptions signed in the visit, named from their MedicationRequest (a request the
 * prescribing code has not stored, or that lacks a name, still shows with its RxNorm code).
 */
async function prescriptionLines(
  db: Db,
  store: ResourceStore,
  appointmentId: string,
): Promise<PrescriptionLine[]> {
  const rows = await db
    .select({
      id: prescriptions.id,
      rxnormCode: prescriptions.rxnormCode,
      signedAt: prescriptions.signedAt,
      transmission: prescriptions.transmission,
      sentAt: prescriptions.sentAt,
    })
    .from(prescriptions)
    .where(eq(prescriptions.appointmentId, appointmentId))
    .orderBy(asc(prescriptions.signedAt), asc(prescriptions.id));
  return Promise.all(
    rows.map(async (row) => {
      const request = (await store.read('MedicationRequest', row.id))?.resource ?? undefined;
      const concept = request?.medicationCodeableConcept as
        | { text?: string; coding?: { system?: string; code?: string; display?: string }[] }
        | undefined;
      const rxnorm = concept?.coding?.find((c) => c.system === RXNORM);
      const dosage = (request?.dosageInstruction as { text?: string }[] | undefined)?.[0]?.text;
      return {
        id: row.id,
        medication: concept?.text ?? rxnorm?.display ?? `RxNorm ${row.rxnormCode}`,
        rxnorm: row.rxnormCode,
        dosage: dosage ?? null,
        status: typeof request?.status === 'string' ? request.status : null,
        transmission: row.transmission,
        signedAt: iso(row.signedAt),
        sentAt: row.sentAt === null ? null : iso(row.sentAt),
      };
    }),
  );
}

/** "Dr. Anne Visser" from a Practitioner's first name. */
export function practitionerName(practitioner: FhirResource | undefined): string | null {
  const name = (
    practitioner?.name as
      | { text?: string; prefix?: string[]; given?: string[]; family?: string }[]
      | undefined
  )?.[0];
  if (!name) return null;
  if (name.text) return name.text;
  const parts = [...(name.prefix ?? []), ...(name.given ?? []), name.family].filter(Boolean);
  return parts.length ? parts.join(' ') : null;
}

/** The calendar date (YYYY-MM-DD) of an instant in a time zone (UTC without one). */
export function localDate(at: number, timeZone: string | null): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timeZone ?? 'UTC',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(new Date(at));
}

export function addDays(date: string, days: number): string {
  const t = Date.parse(`${date}T00:00:00Z`) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}
