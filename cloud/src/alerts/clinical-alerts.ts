import { randomUUID } from 'node:crypto';
import { termFor } from '@wardgate/shared';
import { and, desc, eq, inArray, isNull, type SQL, sql } from 'drizzle-orm';
import { keyRingOf } from '../crypto/db-key-ring.ts';
import { ALERT_ACKNOWLEDGE_NOTE } from '../crypto/sealed-text.ts';
import type { Db } from '../db/database.ts';
import { clinicalAlerts } from '../db/schema.ts';
import type { ReadingRow } from '../fhir/observation.ts';
import { ResourceStore } from '../fhir/store/resource-store.ts';
import type { FhirResource } from '../fhir/store/validate.ts';
import { ApiError } from '../http/json-body.ts';

/** An alert as the functions here return it: the acknowledge note opened (it is stored sealed). */
export type ClinicalAlertRow = typeof clinicalAlerts.$inferSelect;

async function opened(db: Db, row: ClinicalAlertRow): Promise<ClinicalAlertRow> {
  const note = await ALERT_ACKNOWLEDGE_NOTE.open(keyRingOf(db), row.id, row.acknowledgeNote);
  return { ...row, acknowledgeNote: note };
}

const FLAG_CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/flag-category';
export const CLINICAL_ALERT_SYSTEM = 'urn:wardgate:clinical-alert';
const EXTENSION_BASE = 'urn:wardgate:fhir:StructureDefinition';
export const ALERT_EXTENSION = {
  observation: `${EXTENSION_BASE}/clinical-alert-observation`,
  acknowledged: `${EXTENSION_BASE}/clinical-alert-acknowledged`,
} as const;

const CRITICAL = { LL: 'Critical low', HH: 'Critical high' } as const;

/**
 * A charted Observation whose interpretation is critical (LL / HH) raises a clinical alert, shown
 * as a FHIR Flag, unless the patient has an open (unacknowledged) alert for the same parameter:
 * one alert per episode, not one per chart slot. Returns whether an alert was raised. Runs in the
 * caller's transaction, with the charting of the Observation.
 */
export async function raiseCriticalAlert(
  db: Db,
  observation: FhirResource,
  reading: ReadingRow,
  now: number,
): Promise<boolean> {
  const interpretation = (
    observation.interpretation as { coding?: { code?: string }[] }[] | undefined
  )?.[0]?.coding?.[0]?.code;
  if (interpretation !== 'LL' && interpretation !== 'HH') return false;
  const [row] = await db
    .insert(clinicalAlerts)
    .values({
      id: randomUUID(),
      patientId: reading.patientId as string,
      observationId: observation.id as string,
      parameter: reading.parameter,
      value: reading.value,
      unit: reading.unit,
      interpretation,
      effectiveTime: reading.deviceTime,
      raisedAt: now,
    })
    .onConflictDoNothing({
      target: [clinicalAlerts.patientId, clinicalAlerts.parameter],
      where: sql`acknowledged_at is null`,
    })
    .returning();
  if (!row) return false;
  await new ResourceStore(db).update(alertFlag(row));
  return true;
}

/** The alert as a Flag: active until acknowledged, then inactive with the period ended. */
export function alertFlag(alert: ClinicalAlertRow): FhirResource {
  const term = termFor(alert.parameter);
  const label = CRITICAL[alert.interpretation as keyof typeof CRITICAL] ?? alert.interpretation;
  const text = `${label} ${term?.display ?? alert.parameter}: ${alert.value} ${alert.unit}`;
  const acknowledged = alert.acknowledgedAt !== null;
  return {
    resourceType: 'Flag',
    id: alert.id,
    extension: [
      {
        url: ALERT_EXTENSION.observation,
        valueReference: { reference: `Observation/${alert.observationId}` },
      },
      ...(acknowledged
        ? [
            {
              url: ALERT_EXTENSION.acknowledged,
              extension: [
                ...(alert.acknowledgedBy ? [{ url: 'by', valueString: alert.acknowledgedBy }] : []),
                { url: 'at', valueDateTime: iso(alert.acknowledgedAt as number) },
                ...(alert.acknowledgeNote
                  ? [{ url: 'note', valueString: alert.acknowledgeNote }]
                  : []),
              ],
            },
          ]
        : []),
    ],
    identifier: [{ system: CLINICAL_ALERT_SYSTEM, value: alert.id }],
    status: acknowledged ? 'inactive' : 'active',
    category: [
      { coding: [{ system: FLAG_CATEGORY_SYSTEM, code: 'clinical', display: 'Clinical' }] },
    ],
    code: { text },
    subject: { reference: `Patient/${alert.patientId}` },
    period: {
      start: iso(alert.raisedAt),
      ...(acknowledged && { end: iso(alert.acknowledgedAt as number) }),
    },
  };
}

/** Acknowledges an open alert (who, an optional note); its Flag becomes inactive. */
export async function acknowledgeAlert(
  db: Db,
  id: string,
  input: { by: string; note?: string; at?: number },
): Promise<ClinicalAlertRow> {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const [current] = await t
      .select()
      .from(clinicalAlerts)
      .where(eq(clinicalAlerts.id, id))
      .for('update');
    if (!current) throw new ApiError(404, 'unknown_alert', `no clinical alert ${id}`);
    if (current.acknowledgedAt !== null)
      throw new ApiError(
        409,
        'already_acknowledged',
        `alert ${id} was acknowledged at ${iso(current.acknowledgedAt)}`,
      );
    const note =
      input.note === undefined ? null : ALERT_ACKNOWLEDGE_NOTE.seal(keyRingOf(t), id, input.note);
    const [stored] = await t
      .update(clinicalAlerts)
      .set({
        acknowledgedAt: input.at ?? Date.now(),
        acknowledgedBy: input.by,
        acknowledgeNote: note,
      })
      .where(eq(clinicalAlerts.id, id))
      .returning();
    const row = { ...stored, acknowledgeNote: input.note ?? null };
    await new ResourceStore(t).update(alertFlag(row));
    return row;
  });
}

/** The patient an alert is about, or undefined when there is no such alert. */
export async function alertPatient(db: Db, id: string): Promise<string | undefined> {
  const [row] = await db
    .select({ patientId: clinicalAlerts.patientId })
    .from(clinicalAlerts)
    .where(eq(clinicalAlerts.id, id));
  return row?.patientId;
}

/**
 * Alerts newest first: of one patient or all, open ones only or all; `patientIds` (access)
 * limits them to those patients.
 */
export async function listAlerts(
  db: Db,
  filter: { patientId?: string; patientIds?: readonly string[]; open?: boolean; limit: number },
): Promise<ClinicalAlertRow[]> {
  const conditions: SQL[] = [];
  if (filter.patientId) conditions.push(eq(clinicalAlerts.patientId, filter.patientId));
  if (filter.patientIds)
    conditions.push(
      filter.patientIds.length === 0
        ? sql`false`
        : inArray(clinicalAlerts.patientId, [...filter.patientIds]),
    );
  if (filter.open === true) conditions.push(isNull(clinicalAlerts.acknowledgedAt));
  if (filter.open === false) conditions.push(sql`${clinicalAlerts.acknowledgedAt} is not null`);
  const rows = await db
    .select()
    .from(clinicalAlerts)
    .where(and(...conditions))
    .orderBy(desc(clinicalAlerts.raisedAt), clinicalAlerts.id)
    .limit(filter.limit);
  return Promise.all(rows.map((row) => opened(db, row)));
}

/** The alert as the API shows it. */
export function alertView(row: ClinicalAlertRow) {
  return {
    id: row.id,
    patient: row.patientId,
    parameter: row.parameter,
    display: termFor(row.parameter)?.display ?? row.parameter,
    value: row.value,
    unit: row.unit,
    interpretation: row.interpretation,
    effectiveAt: iso(row.effectiveTime),
    raisedAt: iso(row.raisedAt),
    observation: `Observation/${row.observationId}`,
    flag: `Flag/${row.id}`,
    acknowledged:
      row.acknowledgedAt === null
        ? null
        : { at: iso(row.acknowledgedAt), by: row.acknowledgedBy, note: row.acknowledgeNote },
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
