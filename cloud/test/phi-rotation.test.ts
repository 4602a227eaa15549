// Key rotation and the sealing of an install from before encryption, on PGlite and PostgreSQL:
// every record stays readable while the background re-encryption works through the rows, and
// afterwards every PHI value is sealed with the current key version.
import { waitFor } from '@wardgate/shared/testing';
import { sql } from 'drizzle-orm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { acknowledgeAlert, listAlerts } from '../src/alerts/clinical-alerts.ts';
import { assignBed, currentAssignments } from '../src/beds/assignments.ts';
import {
  bindKeyRing,
  type EncryptionCoverage,
  encryptionCoverage,
  KeyRing,
  MemoryKeySource,
  reencryptPass,
  startKeyRotation,
} from '../src/crypto/index.ts';
import type { Database, Db } from '../src/db/database.ts';
import { rowsOf } from '../src/db/results.ts';
import { clinicalAlerts } from '../src/db/schema.ts';
import { searchStored } from '../src/fhir/search/execute.ts';
import { indexRows } from '../src/fhir/search/extract.ts';
import { ResourceStore } from '../src/fhir/store/resource-store.ts';
import type { FhirResource } from '../src/fhir/store/validate.ts';
import { patientResource, savePatient } from '../src/patients/patient-record.ts';
import { testDatabaseTargets } from './support/test-database.ts';

const PATIENTS = 24;
const person = (i: number) => ({
  id: `rot-${i}`,
  mrn: `MRN-ROT-${i}`,
  family: `Family${i}`,
  given: `Given${i}`,
  gender: 'female' as const,
  birthDate: `19${50 + i}-01-02`,
});

/** A database of `target` whose key ring the test holds (to rotate it). */
async function openWithRing(open: () => Promise<Database>) {
  const database = await open();
  const source = new MemoryKeySource();
  const ring = await KeyRing.load(source);
  bindKeyRing(database.db, ring);
  return { database, source, ring };
}

/** Every column only on `version`, nothing in clear. */
function assertAllOn(coverage: EncryptionCoverage, version: number) {
  assert.is(coverage.status, 'ok', coverage.message);
  assert.is(coverage.currentVersion, version);
  for (const c of coverage.columns) {
    assert.is(c.clear, 0, `${c.table}.${c.column} in clear`);
    assert.equal(
      Object.keys(c.byVersion).filter((v) => c.byVersion[v] > 0),
      c.total > 0 ? [String(version)] : [],
      `${c.table}.${c.column}`,
    );
  }
}

/** Reads every kind of PHI record and checks it says what was written; the number of checks. */
async function readEverything(db: Db): Promise<number> {
  const store = new ResourceStore(db);
  let checks = 0;
  for (let i = 0; i < PATIENTS; i++) {
    const p = person(i);
    const current = await store.read('Patient', p.id);
    assert.equal(current?.resource?.name, [{ family: p.family, given: [p.given] }]);
    const first = await store.vread('Patient', p.id, 1);
    assert.is(first?.resource?.birthDate, p.birthDate);
    checks += 2;
  }
  const found = await searchStored(db, 'Patient', [['identifier', 'MRN-ROT-3']]);
  assert.equal(
    found.matches.map((r) => r.id),
    ['rot-3'],
  );
  const history = await store.history({ type: 'Patient', count: 1000, offset: 0 });
  assert.is(history.versions.filter((v) => v.resource?.resourceType === 'Patient').length, 48);
  const beds = await currentAssignments(db, 'ward-rot');
  assert.equal(
    beds.map((b) => b.displayName),
    ['Given0 F.', 'Given1 F.', 'Given2 F.'],
  );
  const alerts = await listAlerts(db, { limit: 10 });
  assert.equal(
    alerts.map((a) => a.acknowledgeNote),
    ['note about Given1', 'note about Given0'],
  );
  return checks + 4;
}

for (const target of testDatabaseTargets()) {
  test(`${target.name}: every record stays readable while the key rotates, then all are on the new version`, async () => {
    const { database, source, ring } = await openWithRing(target.open);
    const { db } = database;
    try {
      for (let i = 0; i < PATIENTS; i++) {
        await savePatient(db, person(i));
        await savePatient(db, person(i)); // a second version: history rows too
      }
      for (let i = 0; i < 3; i++)
        await assignBed(db, {
          gatewayId: 'ward-rot',
          bedId: `bed-${i + 1}`,
          patientId: `rot-${i}`,
          displayName: `Given${i} F.`,
          at: Date.UTC(2025, 0, 1),
        });
      for (let i = 0; i < 2; i++) {
        await db.insert(clinicalAlerts).values({
          id: `alert-rot-${i}`,
          patientId: `rot-${i}`,
          observationId: `obs-${i}`,
          parameter: 'MDC_ECG_HEART_RATE',
          value: 30,
          unit: '/min',
          interpretation: 'LL',
          effectiveTime: Date.UTC(2025, 0, 1),
          raisedAt: Date.UTC(2025, 0, 1) + i,
        });
        await acknowledgeAlert(db, `alert-rot-${i}`, { by: 'n', note: `note about Given${i}` });
      }
      const before = await encryptionCoverage(db);
      assertAllOn(before, 1);
      const sealedBefore = before.columns.reduce((sum, c) => sum + c.sealed, 0);

      source.rotate();
      assert.is(await ring.reload(), true);
      // Reads run the whole time the re-encryption works, in batches of 5.
      let done = false;
      let reads = 0;
      const reader = (async () => {
        while (!done) reads += await readEverything(db);
      })();
      const pass = await reencryptPass(db, ring, { batchSize: 5 }).finally(() => {
        done = true;
      });
      await reader;
      assert.ok(reads > 0, 'records were read during the rotation');
      assert.is(pass.sealed, 0);
      assert.is(pass.resealed + pass.skipped, sealedBefore);
      assert.is(pass.skipped, 0, 'nothing wrote meanwhile');
      assertAllOn(await encryptionCoverage(db), 2);
      await readEverything(db);
      const oldValues = rowsOf<{ n: number }>(
        await db.execute(sql`select count(*)::int as n from fhir_history
          where content #>> '{}' like 'wg1.1.%'`),
      );
      assert.is(Number(oldValues[0].n), 0);

      // The background job sees the next rotation by itself and re-seals everything.
      const job = startKeyRotation(db, ring, { checkEverySeconds: 0.05, batchSize: 7 });
      try {
        source.rotate();
        await waitFor(
          async () => {
            const coverage = await encryptionCoverage(db);
            return coverage.currentVersion === 3 && coverage.status === 'ok';
          },
          { what: 'every value re-sealed with version 3', timeoutMs: 30_000 },
        );
      } finally {
        await job.stop();
      }
      assertAllOn(await encryptionCoverage(db), 3);
      await readEverything(db);
    } finally {
      await database.close();
    }
  });

  test(`${target.name}: an install from before encryption is sealed and re-indexed in the background`, async () => {
    const { database, ring } = await openWithRing(target.open);
    const { db } = database;
    try {
      // Rows as the store wrote them before: clear JSON, clear search values.
      const clearWrite = async (resource: FhirResource, version: number) => {
        const stamped = {
          ...resource,
          meta: { versionId: String(version), lastUpdated: '2024-01-01T00:00:00.000Z' },
        };
        const index = Object.fromEntries(
          Object.entries(indexRows(stamped)).filter(([, rows]) => rows.length > 0),
        );
        await db.execute(sql`select fhir_write(${resource.resourceType}, ${resource.id as string},
          ${version}, ${Date.UTC(2024, 0, 1) + version}, false, ${version === 1 ? 'create' : 'update'},
          ${JSON.stringify(stamped)}::jsonb, ${JSON.stringify(index)}::jsonb, ${version === 1})`);
      };
      const legacy = patientResource({
        id: 'legacy-1',
        mrn: 'MRN-LEGACY-1',
        family: 'Oyelaran',
        given: 'Temitope',
        gender: 'female',
        birthDate: '1944-08-09',
      });
      await clearWrite(legacy, 1);
      await clearWrite({ ...legacy, active: true }, 2);
      await clearWrite(
        {
          resourceType: 'Observation',
          id: 'legacy-obs',
          status: 'final',
          category: [
            {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/observation-category',
                  code: 'vital-signs',
                },
              ],
            },
          ],
          code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
          subject: { reference: 'Patient/legacy-1' },
          effectiveDateTime: '2024-01-01T08:00:00Z',
          valueQuantity: { value: 64, unit: '/min' },
        },
        1,
      );
      await db.execute(sql`insert into bed_assignments
        (gateway_id, bed_id, patient_id, display_name, from_time)
        values ('ward-old', 'bed-1', 'legacy-1', 'Temitope O.', 1)`);
      await db.execute(sql`insert into clinical_alerts (id, patient_id, observation_id, parameter,
          value, unit, interpretation, effective_time, raised_at, acknowledged_at, acknowledged_by,
          acknowledge_note)
        values ('alert-old', 'legacy-1', 'legacy-obs', 'MDC_ECG_HEART_RATE', 30, '/min', 'LL', 1, 1,
          2, 'n', 'Temitope was asleep')`);

      // Readable as it is, and reported as not encrypted.
      const store = new ResourceStore(db);
      assert.is((await store.read('Patient', 'legacy-1'))?.resource?.active, true);
      assert.equal(
        (await currentAssignments(db, 'ward-old')).map((b) => b.displayName),
        ['Temitope O.'],
      );
      const before = await encryptionCoverage(db);
      assert.is(before.status, 'incomplete');
      const clearOf = (c: EncryptionCoverage, table: string) =>
        c.columns.filter((x) => x.table === table).reduce((sum, x) => sum + x.clear, 0);
      assert.is(clearOf(before, 'fhir_resources'), 2);
      assert.is(clearOf(before, 'fhir_history'), 3);
      assert.is(clearOf(before, 'bed_assignments'), 1);
      assert.is(clearOf(before, 'clinical_alerts'), 1);
      assert.ok(before.clearPersonIndexRows > 0);
      assert.match(before.message, '7 PHI value(s) in clear');

      const job = startKeyRotation(db, ring);
      const pass = await job.runNow();
      await job.stop();
      assert.is(pass.sealed, 7);
      assertAllOn(await encryptionCoverage(db), 1);
      assert.is((await encryptionCoverage(db)).clearPersonIndexRows, 0);

      // Found by blind index now, and no clear value left in the index tables.
      const byName = await searchStored(db, 'Patient', [['name', 'oyelaran']]);
      assert.equal(
        byName.matches.map((r) => r.id),
        ['legacy-1'],
      );
      const byMrn = await searchStored(db, 'Patient', [['identifier', 'MRN-LEGACY-1']]);
      assert.equal(
        byMrn.matches.map((r) => r.active),
        [true],
      );
      const byBirth = await searchStored(db, 'Patient', [['birthdate', 'lt1945']]);
      assert.equal(
        byBirth.matches.map((r) => r.id),
        ['legacy-1'],
      );
      for (const table of ['fhir_idx_token', 'fhir_idx_string', 'fhir_idx_date']) {
        const [{ t }] = rowsOf<{ t: string | null }>(
          await db.execute(
            sql`select lower(string_agg(x::text, ' ')) as t from ${sql.raw(table)} x`,
          ),
        );
        for (const secret of ['oyelaran', 'temitope', 'mrn-legacy-1'])
          assert.not.ok((t ?? '').includes(secret), `${secret} in ${table}`);
      }
      assert.is((await store.vread('Patient', 'legacy-1', 1))?.resource?.active, undefined);
      assert.equal(
        (await currentAssignments(db, 'ward-old')).map((b) => b.displayName),
        ['Temitope O.'],
      );
      assert.equal(
        (await listAlerts(db, { limit: 5 })).map((a) => a.acknowledgeNote),
        ['Temitope was asleep'],
      );
      // Observations are re-indexed too (the summary's code-first grouping needs it).
      const firstCode = await searchStored(db, 'Observation', [
        ['code-first', 'http://loinc.org|8867-4'],
      ]);
      assert.equal(
        firstCode.matches.map((r) => r.id),
        ['legacy-obs'],
      );
    } finally {
      await database.close();
    }
  });
}

test.run();
