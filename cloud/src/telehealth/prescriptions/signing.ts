import { randomUUID } from 'node:crypto';
import { and, asc, eq, isNull } from 'drizzle-orm';
import { storeGuard } from '../../access/index.ts';
import type { AccessOperation, RequestAccess } from '../../access/request-access.ts';
import { keyRingOf } from '../../crypto/db-key-ring.ts';
import { PRESCRIPTION_ALERTS } from '../../crypto/sealed-text.ts';
import type { Db } from '../../db/database.ts';
import { ResourceStore } from '../../fhir/store/resource-store.ts';
import type { PrescriptionAlert } from './checks.ts';
import { medicationRequest } from './medication-request.ts';
import type { OrderedMedication } from './order.ts';
import { prescriptions } from './schema.ts';

/** An alert as stored with a signed prescription: what was shown and why it was overridden. */
export type OverriddenAlert = PrescriptionAlert & { overrideReason: string };

/** The alerts with no override reason given (each alert needs its own). */
export function missingOverrides(
  alerts: PrescriptionAlert[],
  overrides: { alertId: string; reason: string }[],
): PrescriptionAlert[] {
  const reasons = new Set(overrides.map((o) => o.alertId));
  return alerts.filter((a) => !reasons.has(a.id));
}

/** Who prescribes for whom: in a visit (its appointment), or outside one (null). */
export interface PrescribingContext {
  patientId: string;
  practitionerId: string;
  appointmentId: string | null;
}

/**
 * Writes the order: per medication a prescription row (its alerts and their override reasons
 * sealed, transmission pending) and an active MedicationRequest, in one transaction. The store
 * write goes through the request's authorization and is recorded on `op`.
 */
export async function signOrder(
  db: Db,
  access: RequestAccess,
  fields: {
    context: PrescribingContext;
    order: OrderedMedication[];
    alerts: PrescriptionAlert[];
    overrides: { alertId: string; reason: string }[];
    pharmacyId: string;
    at: number;
  },
): Promise<string[]> {
  const { context, order, at } = fields;
  const reasons = new Map(fields.overrides.map((o) => [o.alertId, o.reason]));
  const ring = keyRingOf(db);
  const orderId = randomUUID();
  const planned = order.map((medication) => ({ id: randomUUID(), medication }));
  await db.transaction(async (tx) => {
    for (const { id, medication } of planned) {
      const op: AccessOperation = access.record('create', `MedicationRequest/${id}`, [
        context.patientId,
      ]);
      const alerts: OverriddenAlert[] = fields.alerts
        .filter((a) => a.drug.rxnorm === medication.drug.rxcui)
        .map((a) => ({ ...a, overrideReason: reasons.get(a.id) as string }));
      const messageId = randomUUID();
      await tx.insert(prescriptions).values({
        id,
        appointmentId: context.appointmentId,
        patientId: context.patientId,
        prescriberUserId: access.principal.id,
        rxnormCode: medication.drug.rxcui,
        signedAt: at,
        alerts: PRESCRIPTION_ALERTS.seal(ring, id, JSON.stringify(alerts)),
        pharmacyId: fields.pharmacyId,
        transmission: 'pending',
        attempts: 0,
        nextAttemptAt: null,
        lastError: null,
        messageId,
        sentAt: null,
      });
      await new ResourceStore(tx, storeGuard(access, op)).update(
        medicationRequest({
          id,
          orderId,
          medication,
          patientId: context.patientId,
          practitionerId: context.practitionerId,
          appointmentId: context.appointmentId,
          authoredOn: at,
          transmission: {
            status: 'pending',
            messageId,
            pharmacyId: fields.pharmacyId,
            attempts: 0,
          },
        }),
      );
    }
  });
  return planned.map((p) => p.id);
}

/** One prescription as the visit's participants see it. */
export interface PrescriptionView {
  id: string;
  appointmentId: string | null;
  medicationRequest: string;
  medication: { rxnorm: string; name: string | null; text: string | null };
  sig: string | null;
  quantity: { value: number; unit: string } | null;
  daysSupply: number | null;
  refills: number | null;
  status: string | null;
  signedAt: string;
  transmission: {
    status: string;
    attempts: number;
    pharmacyId: string;
    messageId: string;
    sentAt: string | null;
    nextAttemptAt: string | null;
    lastError: string | null;
  };
  /** The alerts overridden at signing, with the reasons: for the prescriber's side only. */
  alerts?: OverriddenAlert[];
}

type Row = typeof prescriptions.$inferSelect;

async function viewOf(
  db: Db,
  store: ResourceStore,
  row: Row,
  withAlerts: boolean,
): Promise<PrescriptionView> {
  const request = (await store.read('MedicationRequest', row.id))?.resource ?? undefined;
  const concept = request?.medicationCodeableConcept as
    | { text?: string; coding?: { display?: string }[] }
    | undefined;
  const dispense = request?.dispenseRequest as
    | {
        numberOfRepeatsAllowed?: number;
        quantity?: { value: number; unit: string };
        expectedSupplyDuration?: { value: number };
      }
    | undefined;
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  const view: PrescriptionView = {
    id: row.id,
    appointmentId: row.appointmentId,
    medicationRequest: `MedicationRequest/${row.id}`,
    medication: {
      rxnorm: row.rxnormCode,
      name: concept?.coding?.[0]?.display ?? null,
      text: concept?.text ?? null,
    },
    sig: (request?.dosageInstruction as { text?: string }[] | undefined)?.[0]?.text ?? null,
    quantity: dispense?.quantity ?? null,
    daysSupply: dispense?.expectedSupplyDuration?.value ?? null,
    refills: dispense?.numberOfRepeatsAllowed ?? null,
    status: typeof request?.status === 'string' ? request.status : null,
    signedAt: new Date(row.signedAt).toISOString(),
    transmission: {
      status: row.transmission,
      attempts: row.attempts,
      pharmacyId: row.pharmacyId,
      messageId: row.messageId,
      sentAt: iso(row.sentAt),
      nextAttemptAt: row.transmission === 'pending' ? iso(row.nextAttemptAt) : null,
      lastError: row.lastError,
    },
  };
  if (withAlerts) {
    const text = await PRESCRIPTION_ALERTS.open(keyRingOf(db), row.id, row.alerts);
    view.alerts = JSON.parse(text ?? '[]');
  }
  return view;
}

/** The prescriptions signed in a visit, oldest first (the alerts when `withAlerts`). */
export async function listPrescriptions(
  db: Db,
  appointmentId: string,
  withAlerts = false,
): Promise<PrescriptionView[]> {
  const rows = await db
    .select()
    .from(prescriptions)
    .where(eq(prescriptions.appointmentId, appointmentId))
    .orderBy(asc(prescriptions.signedAt), asc(prescriptions.id));
  const store = new ResourceStore(db);
  return Promise.all(rows.map((row) => viewOf(db, store, row, withAlerts)));
}

/** The prescriptions of a patient signed outside a visit, oldest first. */
export async function listPatientPrescriptions(
  db: Db,
  patientId: string,
  withAlerts: boolean,
): Promise<PrescriptionView[]> {
  const rows = await db
    .select()
    .from(prescriptions)
    .where(and(eq(prescriptions.patientId, patientId), isNull(prescriptions.appointmentId)))
    .orderBy(asc(prescriptions.signedAt), asc(prescriptions.id));
  const store = new ResourceStore(db);
  return Promise.all(rows.map((row) => viewOf(db, store, row, withAlerts)));
}

export async function loadPrescription(db: Db, id: string): Promise<Row | undefined> {
  const [row] = await db.select().from(prescriptions).where(eq(prescriptions.id, id));
  return row;
}

export async function prescriptionView(db: Db, row: Row, withAlerts: boolean) {
  return viewOf(db, new ResourceStore(db), row, withAlerts);
}
