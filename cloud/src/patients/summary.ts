import { sql } from 'drizzle-orm';
import { alertView, listAlerts } from '../alerts/clinical-alerts.ts';
import { keyRingOf } from '../crypto/db-key-ring.ts';
import { openContents } from '../crypto/fhir-content.ts';
import type { Db } from '../db/database.ts';
import { rowsOf } from '../db/results.ts';
import { searchStored } from '../fhir/search/execute.ts';
import type { FhirResource } from '../fhir/store/validate.ts';
import { ApiError } from '../http/json-body.ts';
import { mrnOf, nameOf, readPatient } from './patient-record.ts';

const RECENT_ENCOUNTERS = 5;
const LISTED = 100;

/**
 * What a clinician sees first about a patient: demographics with age and MRN, the latest charted
 * value of each vital sign, active conditions, allergies and medications, recent encounters and
 * open clinical alerts. The lists are the FHIR resources themselves.
 */
export async function patientSummary(db: Db, patientId: string, now = Date.now()) {
  const patient = await readPatient(db, patientId);
  if (!patient) throw new ApiError(404, 'unknown_patient', `no patient ${patientId}`);
  const search = async (type: string, pairs: [string, string][]) =>
    (
      await searchStored(db, type, [
        ['patient', `Patient/${patientId}`],
        ...pairs,
        ['_total', 'none'],
      ])
    ).matches;
  const [vitals, conditions, allergies, medications, encounters, alerts] = await Promise.all([
    latestVitals(db, patientId),
    search('Condition', [
      ['clinical-status', 'active,recurrence,relapse'],
      ['_count', String(LISTED)],
    ]),
    search('AllergyIntolerance', [
      ['clinical-status', 'active'],
      ['_count', String(LISTED)],
    ]),
    search('MedicationRequest', [
      ['status', 'active,on-hold'],
      ['_count', String(LISTED)],
    ]),
    search('Encounter', [
      ['_sort', '-date'],
      ['_count', String(RECENT_ENCOUNTERS)],
    ]),
    listAlerts(db, { patientId, open: true, limit: LISTED }),
  ]);
  const name = nameOf(patient);
  const birthDate = patient.birthDate as string | undefined;
  return {
    patient: {
      id: patientId,
      mrn: mrnOf(patient) ?? null,
      name: [name.given, name.family].filter(Boolean).join(' '),
      gender: (patient.gender as string | undefined) ?? null,
      birthDate: birthDate ?? null,
      age: birthDate ? ageOn(birthDate, now) : null,
    },
    latestVitals: vitals.map((o) => ({
      code: (o.code as { text?: string; coding?: { display?: string }[] }).text,
      value: (o.valueQuantity as { value?: number })?.value ?? null,
      unit: (o.valueQuantity as { unit?: string })?.unit ?? null,
      effective: o.effectiveDateTime ?? null,
      status: o.status,
      interpretation:
        (o.interpretation as { coding?: { code?: string }[] }[] | undefined)?.[0]?.coding?.[0]
          ?.code ?? null,
      observation: `Observation/${o.id}`,
    })),
    activeConditions: conditions,
    allergies,
    activeMedications: medications,
    recentEncounters: encounters,
    openAlerts: alerts.map(alertView),
  };
}

/** Whole years from a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD) to `now`, in UTC. */
export function ageOn(birthDate: string, now: number): number | null {
  const [y, m = 1, d = 1] = birthDate.split('-').map(Number);
  if (!Number.isInteger(y)) return null;
  const today = new Date(now);
  let age = today.getUTCFullYear() - y;
  const month = today.getUTCMonth() + 1;
  if (month < m || (month === m && today.getUTCDate() < d)) age--;
  return age;
}

/**
 * The most recent vital-sign Observation of each code (by its first coding), not in error. The
 * content is sealed: status and first coding come from the search indexes (`status`, and
 * wardgate's `code-first`), and only the chosen rows are read and opened.
 */
async function latestVitals(db: Db, patientId: string): Promise<FhirResource[]> {
  const result = await db.execute(sql`
    select distinct on (f.system, f.code)
           r.resource_type as "resourceType", r.id, r.version_id as "versionId", r.content
    from fhir_idx_reference s
    join fhir_resources r on r.resource_type = 'Observation' and r.id = s.id and not r.deleted
    join fhir_idx_token c on c.resource_type = 'Observation' and c.id = r.id
      and c.param = 'category' and c.code = 'vital-signs'
    join fhir_idx_date d on d.resource_type = 'Observation' and d.id = r.id and d.param = 'date'
    left join fhir_idx_token f on f.resource_type = 'Observation' and f.id = r.id
      and f.param = 'code-first'
    where s.resource_type = 'Observation' and s.param = 'patient'
      and s.target_type = 'Patient' and s.target_id = ${patientId}
      and exists (select 1 from fhir_idx_token st
        where st.resource_type = 'Observation' and st.id = r.id and st.param = 'status'
          and st.code in ('preliminary', 'final', 'amended', 'corrected'))
    order by f.system, f.code, d.start desc`);
  const rows = rowsOf<{ resourceType: string; id: string; versionId: number; content: unknown }>(
    result,
  );
  return (await openContents(keyRingOf(db), rows)).filter((r): r is FhirResource => r !== null);
}
