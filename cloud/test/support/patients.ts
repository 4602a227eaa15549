import type { Db } from '../../src/db/database.ts';
import { type Demographics, savePatient } from '../../src/patients/patient-record.ts';

/** Stores test patients in the FHIR store, as the cloud's own writers do. */
export async function savePatients(db: Db, patients: Demographics | Demographics[]): Promise<void> {
  for (const patient of [patients].flat()) await savePatient(db, patient);
}
