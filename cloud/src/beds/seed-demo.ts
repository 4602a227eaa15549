import { GatewayId } from '@wardgate/shared';
import type { Db } from '../db/database.ts';
import { ResourceStore } from '../fhir/store/resource-store.ts';
import { type Demographics, savePatient } from '../patients/patient-record.ts';
import { assignBed, currentAssignments, wardDisplayName } from './assignments.ts';

const FEMALE = [
  'Margaret',
  'Aisha',
  'Elena',
  'Grace',
  'Yuki',
  'Fatima',
  'Ingrid',
  'Lucia',
  'Priya',
  'Hannah',
];
const MALE = [
  'Arthur',
  'Kwame',
  'Tomasz',
  'Rahul',
  'Henrik',
  'Diego',
  'Samuel',
  'Omar',
  'Liam',
  'Hiroshi',
];
const FAMILY = [
  'Okafor',
  'Lindqvist',
  'Moreau',
  'Nakamura',
  'Fitzgerald',
  'Kowalski',
  'Haddad',
  'Santos',
  'Bergström',
  'Mensah',
  'Ivanova',
  'Castillo',
  'Schneider',
  'Patel',
  "O'Brien",
  'Rossi',
  'Dubois',
];

export const MAX_DEMO_BEDS = 999;

export type DemoPatient = Demographics;

/** The i-th demo patient (1-based), always the same for the same i. */
export function demoPatient(i: number): DemoPatient {
  const number = String(i).padStart(4, '0');
  const gender = i % 2 === 1 ? 'female' : 'male';
  const givenNames = gender === 'female' ? FEMALE : MALE;
  const given = givenNames[Math.floor((i - 1) / 2) % givenNames.length];
  const family = FAMILY[(i * 7) % FAMILY.length];
  // Adult ward: born 1935..1994, spread over months and days.
  const year = 1935 + ((i * 23) % 60);
  const month = String(1 + ((i * 5) % 12)).padStart(2, '0');
  const day = String(1 + ((i * 11) % 28)).padStart(2, '0');
  return {
    id: `demo-${number}`,
    mrn: `DEMO-${number}`,
    family,
    given,
    gender,
    birthDate: `${year}-${month}-${day}`,
  };
}

export interface SeedResult {
  patientsCreated: number;
  bedsAssigned: number;
}

/**
 * Creates demo patients 1..beds (when missing) and puts patient i in `bed-i` of the gateway.
 * Idempotent: a second run with the same arguments changes nothing.
 */
export async function seedDemo(
  db: Db,
  options: { gatewayId: string; beds: number; at?: number },
): Promise<SeedResult> {
  const { gatewayId, beds } = options;
  if (!GatewayId.safeParse(gatewayId).success) throw new Error(`invalid gateway id "${gatewayId}"`);
  if (!Number.isInteger(beds) || beds < 1 || beds > MAX_DEMO_BEDS)
    throw new Error(`the number of beds must be an integer from 1 to ${MAX_DEMO_BEDS}`);
  const at = options.at ?? Date.now();
  const wanted = Array.from({ length: beds }, (_, i) => demoPatient(i + 1));

  const store = new ResourceStore(db);
  let patientsCreated = 0;
  for (const patient of wanted) {
    const current = await store.read('Patient', patient.id);
    if (current && !current.deleted) continue;
    await savePatient(db, patient);
    patientsCreated++;
  }

  const current = new Map(
    (await currentAssignments(db, gatewayId)).map((row) => [row.bedId, row.patientId]),
  );
  let bedsAssigned = 0;
  for (const [i, patient] of wanted.entries()) {
    const bedId = `bed-${i + 1}`;
    if (current.get(bedId) === patient.id) continue;
    await assignBed(db, {
      gatewayId,
      bedId,
      patientId: patient.id,
      displayName: wardDisplayName(patient),
      at,
    });
    bedsAssigned++;
  }
  return { patientsCreated, bedsAssigned };
}
