import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { patients } from '../src/db/schema.ts';
import { testDatabaseTargets } from './support/test-database.ts';

for (const target of testDatabaseTargets()) {
  test(`${target.name}: migrations apply and a row round-trips`, async () => {
    const database = await target.open();
    try {
      await database.db.insert(patients).values({
        id: 'p1',
        mrn: 'MRN-1',
        family: 'Doe',
        given: 'Jane',
        gender: 'female',
        birthDate: '1950-01-01',
        lastUpdated: 1,
      });
      const rows = await database.db.select().from(patients);
      assert.equal(rows.length, 1);
      assert.equal(rows[0].mrn, 'MRN-1');
    } finally {
      await database.close();
    }
  });
}

test.run();
