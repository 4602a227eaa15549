import { and, asc, count, eq, ilike, inArray, or, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { MRN_SYSTEM, patients } from '../db/schema.ts';
import {
  orValues,
  type ParsedSearch,
  parseToken,
  type SearchSpec,
  unescapeValue,
} from './search-params.ts';

export const PATIENT_SEARCH: SearchSpec = {
  resourceType: 'Patient',
  params: { identifier: 'token', name: 'string' },
  sortKeys: [],
};

const IDENTIFIER_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v2-0203';

type PatientRow = typeof patients.$inferSelect;

export interface Patient {
  resourceType: 'Patient';
  id: string;
  meta: { versionId: string; lastUpdated: string };
  identifier: {
    type: { coding: { system: string; code: string; display: string }[] };
    system: string;
    value: string;
  }[];
  name: { family: string; given: string[] }[];
  gender: string;
  birthDate: string;
}

export function patientFromRow(row: PatientRow): Patient {
  return {
    resourceType: 'Patient',
    id: row.id,
    meta: {
      versionId: String(row.versionId),
      lastUpdated: new Date(row.lastUpdated).toISOString(),
    },
    identifier: [
      {
        type: {
          coding: [
            { system: IDENTIFIER_TYPE_SYSTEM, code: 'MR', display: 'Medical record number' },
          ],
        },
        system: MRN_SYSTEM,
        value: row.mrn,
      },
    ],
    name: [{ family: row.family, given: [row.given] }],
    gender: row.gender,
    birthDate: row.birthDate,
  };
}

export async function readPatient(db: Db, id: string): Promise<Patient | undefined> {
  const rows = await db.select().from(patients).where(eq(patients.id, id));
  return rows[0] && patientFromRow(rows[0]);
}

export async function searchPatients(
  db: Db,
  search: ParsedSearch,
): Promise<{ total: number; resources: Patient[] }> {
  const conditions: SQL[] = [];
  for (const [param, values] of search.filters) {
    for (const value of values) conditions.push(conditionFor(param, orValues(param, value)));
  }
  const where = conditions.length > 0 ? and(...conditions) : undefined;
  const [{ total }] = await db.select({ total: count() }).from(patients).where(where);
  if (search.count === 0) return { total, resources: [] };
  const rows = await db
    .select()
    .from(patients)
    .where(where)
    .orderBy(asc(patients.id))
    .limit(search.count)
    .offset(search.offset);
  return { total, resources: rows.map(patientFromRow) };
}

const NOTHING = sql`false`;

function conditionFor(param: string, alternatives: string[]): SQL {
  switch (param) {
    case 'identifier': {
      // `value` or `MRN_SYSTEM|value`; another system, or none (`|value`), matches nothing.
      const mrns = alternatives
        .map((a) => parseToken(param, a))
        .filter((t) => t.system === undefined || t.system === MRN_SYSTEM)
        .map((t) => t.code);
      return mrns.length > 0 ? inArray(patients.mrn, mrns) : NOTHING;
    }
    case 'name': {
      // FHIR string search: case-insensitive "starts with" on any part of the name.
      const prefixes = alternatives.map((a) => `${escapeLike(unescapeValue(a))}%`);
      return or(
        ...prefixes.flatMap((p) => [ilike(patients.family, p), ilike(patients.given, p)]),
      ) as SQL;
    }
    default:
      throw new Error(`patient search parameter "${param}" has no SQL translation`);
  }
}

function escapeLike(value: string): string {
  return value.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}
