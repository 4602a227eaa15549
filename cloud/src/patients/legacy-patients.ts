import { sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { rowsOf } from '../db/results.ts';
import { ResourceStore } from '../fhir/store/resource-store.ts';
import { type Demographics, patientResource } from './patient-record.ts';

/**
 * Migration 0007 renamed the old `patients` table to `legacy_patients`: each of its rows becomes
 * a stored Patient (same id, same MRN; written through the store so that search finds it), then
 * the table goes, all in one transaction. Does nothing once the table is gone.
 */
export async function moveLegacyPatients(db: Db): Promise<number> {
  const found = await db.execute(sql`select to_regclass('legacy_patients') is not null as present`);
  if (!rowsOf<{ present: boolean }>(found)[0]?.present) return 0;
  return db.transaction(async (tx) => {
    const result = await tx.execute(
      sql`select id, mrn, family, given, gender, birth_date as "birthDate" from legacy_patients for update`,
    );
    const rows = rowsOf<Demographics>(result);
    const store = new ResourceStore(tx as unknown as Db);
    for (const row of rows) {
      const current = await store.read('Patient', row.id);
      if (!current) await store.update(patientResource(row));
    }
    await tx.execute(sql`drop table legacy_patients`);
    return rows.length;
  });
}
