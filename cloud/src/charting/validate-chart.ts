import type { Db } from '../db/database.ts';
import { searchStored } from '../fhir/search/execute.ts';
import { ResourceStore } from '../fhir/store/resource-store.ts';
import type { FhirResource } from '../fhir/store/validate.ts';
import { ApiError } from '../http/json-body.ts';
import { readPatient } from '../patients/patient-record.ts';

export interface ValidateChartInput {
  patientId: string;
  /** Who validates (a nurse's name or user id), recorded as a performer. */
  by: string;
  /** Validate these Observations only; else every preliminary one up to `through`. */
  observationIds?: string[];
  /** Epoch ms; default now. */
  through?: number;
}

const PAGE = 500;

/**
 * A nurse validates charted device values: each preliminary Observation of the patient (those
 * named, or all taken up to `through`) becomes `final`, with the validator as a performer, as a
 * new version (the preliminary one stays in the history). Returns the ids validated.
 */
export async function validateChart(db: Db, input: ValidateChartInput): Promise<string[]> {
  if (!(await readPatient(db, input.patientId)))
    throw new ApiError(404, 'unknown_patient', `no patient ${input.patientId}`);
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const store = new ResourceStore(t);
    const chosen = input.observationIds
      ? await named(store, input.patientId, input.observationIds)
      : await preliminaryThrough(t, input.patientId, input.through ?? Date.now());
    for (const observation of chosen) {
      const performer = (observation.performer as unknown[] | undefined) ?? [];
      await store.update(
        { ...observation, status: 'final', performer: [...performer, { display: input.by }] },
        Number(observation.meta?.versionId),
      );
    }
    return chosen.map((o) => o.id as string);
  });
}

async function named(store: ResourceStore, patientId: string, ids: string[]) {
  const out: FhirResource[] = [];
  for (const id of new Set(ids)) {
    const version = await store.read('Observation', id);
    const resource = version?.resource;
    if (!resource) throw new ApiError(404, 'unknown_observation', `no Observation ${id}`);
    if ((resource.subject as { reference?: string })?.reference !== `Patient/${patientId}`)
      throw new ApiError(409, 'other_patient', `Observation ${id} is not of patient ${patientId}`);
    if (resource.status !== 'preliminary')
      throw new ApiError(409, 'not_preliminary', `Observation ${id} is ${resource.status}`);
    out.push(resource);
  }
  return out;
}

async function preliminaryThrough(db: Db, patientId: string, through: number) {
  const out: FhirResource[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await searchStored(db, 'Observation', [
      ['patient', `Patient/${patientId}`],
      ['status', 'preliminary'],
      ['date', `le${new Date(through).toISOString()}`],
      ['_sort', 'date'],
      ['_count', String(PAGE)],
      ['_offset', String(offset)],
      ['_total', 'none'],
    ]);
    out.push(...page.matches);
    if (page.matches.length < PAGE) return out;
  }
}
