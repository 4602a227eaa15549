import type { Db } from '../db/database.ts';
import { MRN_SYSTEM } from '../db/schema.ts';
import { ResourceStore } from '../fhir/store/resource-store.ts';
import type { FhirResource } from '../fhir/store/validate.ts';

/** The demographics wardgate itself writes (seed-demo, the move of the old patients table). */
export interface Demographics {
  id: string;
  mrn: string;
  family: string;
  given: string;
  gender: 'female' | 'male' | 'other' | 'unknown';
  birthDate: string;
}

const IDENTIFIER_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v2-0203';

/** A FHIR Patient with the MRN as its `MR` identifier. */
export function patientResource(p: Demographics): FhirResource {
  return {
    resourceType: 'Patient',
    id: p.id,
    identifier: [
      {
        type: {
          coding: [
            { system: IDENTIFIER_TYPE_SYSTEM, code: 'MR', display: 'Medical record number' },
          ],
        },
        system: MRN_SYSTEM,
        value: p.mrn,
      },
    ],
    name: [{ family: p.family, given: [p.given] }],
    gender: p.gender,
    birthDate: p.birthDate,
  };
}

/** The current Patient `id`, or undefined when it is unknown or deleted. */
export async function readPatient(db: Db, id: string): Promise<FhirResource | undefined> {
  const version = await new ResourceStore(db).read('Patient', id);
  return version?.resource ?? undefined;
}

/** The patient's MRN (identifier with MRN_SYSTEM), if it has one. */
export function mrnOf(patient: FhirResource): string | undefined {
  const identifiers = (patient.identifier ?? []) as { system?: string; value?: string }[];
  return identifiers.find((i) => i.system === MRN_SYSTEM)?.value;
}

interface HumanName {
  use?: string;
  family?: string;
  given?: string[];
  text?: string;
  period?: { end?: string };
}

/** The name to show: the `official` or `usual` one in use, else the first. */
export function nameOf(patient: FhirResource): { given: string; family: string } {
  const names = ((patient.name ?? []) as HumanName[]).filter(
    (n) => n.period?.end === undefined || Date.parse(n.period.end) > Date.now(),
  );
  const name =
    names.find((n) => n.use === 'official') ?? names.find((n) => n.use === 'usual') ?? names[0];
  const given = name?.given?.[0] ?? name?.text?.split(/\s+/)[0] ?? '';
  const family = name?.family ?? name?.text?.split(/\s+/).slice(1).join(' ') ?? '';
  return { given, family };
}

/** Stores the patient (a new version when the id exists), searchable by MRN and name. */
export async function savePatient(db: Db, patient: Demographics): Promise<void> {
  await new ResourceStore(db).update(patientResource(patient));
}
