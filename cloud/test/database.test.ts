import { sql } from 'drizzle-orm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { searchStored } from '../src/fhir/search/execute.ts';
import { ResourceStore } from '../src/fhir/store/resource-store.ts';
import { moveLegacyPatients } from '../src/patients/legacy-patients.ts';
import { testDatabaseTargets } from './support/test-database.ts';

for (const target of testDatabaseTargets()) {
  test(`${target.name}: the old patients table moves into the FHIR store, once`, async () => {
    const database = await target.open();
    try {
      const { db } = database;
      // The table as migration 0007 leaves it on a database that had patients.
      await db.execute(sql`create table legacy_patients (id text primary key, mrn text not null,
        family text not null, given text not null, gender text not null, birth_date text not null,
        version_id integer not null default 1, last_updated bigint not null)`);
      await db.execute(sql`insert into legacy_patients (id, mrn, family, given, gender, birth_date, last_updated)
        values ('p1', 'MRN-1', 'Doe', 'Jane', 'female', '1950-01-01', 1),
               ('p2', 'MRN-2', 'Roe', 'Rick', 'male', '1961-02-03', 1)`);

      assert.is(await moveLegacyPatients(db), 2);
      const p1 = await new ResourceStore(db).read('Patient', 'p1');
      assert.equal(p1?.resource?.name, [{ family: 'Doe', given: ['Jane'] }]);
      assert.is(p1?.resource?.birthDate, '1950-01-01');
      const byMrn = await searchStored(db, 'Patient', [['identifier', 'urn:wardgate:mrn|MRN-2']]);
      assert.equal(
        byMrn.matches.map((r) => r.id),
        ['p2'],
        'searchable by MRN',
      );
      const gone = await db.execute(sql`select to_regclass('legacy_patients') as t`);
      assert.is((gone as unknown as { rows: { t: unknown }[] }).rows[0].t, null, 'table dropped');
      assert.is(await moveLegacyPatients(db), 0, 'nothing to do the second time');
    } finally {
      await database.close();
    }
  });
}

test.run();
