// PHI at rest in the FHIR store and the other PHI columns, on PGlite and PostgreSQL: what the
// database holds is sealed or blind, every read path still answers in clear, the person search
// parameters match through blind indexes, and a sealed value moved or altered does not open.
import { sql } from 'drizzle-orm';
import type { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { acknowledgeAlert, listAlerts } from '../src/alerts/clinical-alerts.ts';
import { assignBed, currentAssignments, gatewayConfig } from '../src/beds/assignments.ts';
import { isSealed, keyRingOf, SealedValueError } from '../src/crypto/index.ts';
import type { Database } from '../src/db/database.ts';
import { rowsOf } from '../src/db/results.ts';
import { clinicalAlerts, MRN_SYSTEM } from '../src/db/schema.ts';
import { ResourceStore } from '../src/fhir/store/resource-store.ts';
import { patientsApp } from '../src/patients/routes.ts';
import { apiUnderTest, fhirAppAs } from './support/access.ts';
import { testDatabaseTargets } from './support/test-database.ts';

// biome-ignore lint/suspicious/noExplicitAny: FHIR JSON bodies are checked field by field below.
type Json = any;

const BASE = 'http://localhost/fhir/R4';
const PHONE_SYSTEM = 'phone';

/** A patient with values long and odd enough that no hash or ciphertext contains them by chance. */
const ZEPHYRINE: Json = {
  resourceType: 'Patient',
  identifier: [{ system: MRN_SYSTEM, value: 'MRN-7731-QX' }],
  name: [{ family: 'Quintanilla-Marsh', given: ['Zephyrine', 'Odalys'] }],
  telecom: [
    { system: PHONE_SYSTEM, value: '+1 (555) 013-2468' },
    { system: 'email', value: 'Zephyrine.Q@Example.org' },
  ],
  address: [{ line: ['17 Vrtača'], city: 'Ljubljana', postalCode: 'SI-1000' }],
  gender: 'female',
  birthDate: '1987-06-15',
};
const OTHER: Json = {
  resourceType: 'Patient',
  identifier: [{ system: MRN_SYSTEM, value: 'MRN-1000-AB' }],
  name: [{ family: 'Marsh', given: ['Bo'] }],
  telecom: [{ system: PHONE_SYSTEM, value: '555 0000' }],
  birthDate: '1987-06',
};
/** What must never be found in clear (compared lower case). */
const SECRETS = ['quintanilla', 'zephyrine', 'odalys', 'mrn-7731-qx', '5550132468', 'ljubljana'];

for (const target of testDatabaseTargets()) {
  const t = suite(`PHI sealed at rest (${target.name})`);
  let database: Database;
  let app: Hono;
  const id: Record<string, string> = {};

  const call = async (method: string, path: string, body?: unknown, headers = {}) => {
    const res = await app.request(
      path.startsWith('/api') ? `http://localhost${path}` : BASE + path,
      {
        method,
        headers: { 'content-type': 'application/fhir+json', ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      },
    );
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Json };
  };
  const ids = async (query: string) => {
    const res = await call('GET', query);
    assert.is(res.status, 200, `${query}: ${JSON.stringify(res.body)}`);
    return (res.body.entry ?? []).map((e: Json) => e.resource.id).sort();
  };
  /** Every row of a table as text, lower case: what a look at the database would show. */
  const dump = async (table: string) =>
    rowsOf<{ t: string | null }>(
      await database.db.execute(
        sql`select lower(string_agg(x::text, ' ')) as t from ${sql.raw(table)} x`,
      ),
    )[0].t ?? '';

  t.before(async () => {
    database = await target.open();
    app = apiUnderTest(database.db)
      .app.route('/fhir/R4', fhirAppAs(database.db))
      .route('/api', patientsApp(database.db));
    for (const [name, resource] of Object.entries({ zephyrine: ZEPHYRINE, other: OTHER })) {
      const created = await call('POST', '/Patient', resource);
      assert.is(created.status, 201, JSON.stringify(created.body));
      id[name] = created.body.id;
    }
    const updated = await call('PUT', `/Patient/${id.zephyrine}`, {
      ...ZEPHYRINE,
      id: id.zephyrine,
      active: true,
    });
    assert.is(updated.status, 200);
    const observation = await call('POST', '/Observation', {
      resourceType: 'Observation',
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
      code: {
        coding: [
          { system: 'http://loinc.org', code: '8867-4' },
          { system: 'urn:iso:std:iso:11073:10101', code: '147842' },
        ],
      },
      subject: { reference: `Patient/${id.zephyrine}` },
      effectiveDateTime: '2025-03-01T10:00:00Z',
      valueQuantity: { value: 71, unit: '/min' },
    });
    assert.is(observation.status, 201);
    id.observation = observation.body.id;
  });
  t.after(async () => {
    await database.close();
  });

  t('the database holds sealed content and blind search values, nothing in clear', async () => {
    for (const table of ['fhir_resources', 'fhir_history']) {
      const rows = rowsOf<{ content: unknown }>(
        await database.db.execute(sql`select content from ${sql.raw(table)}`),
      );
      assert.ok(rows.length >= 3, table);
      for (const { content } of rows) assert.ok(isSealed(content), `${table}: ${content}`);
    }
    for (const table of [
      'fhir_resources',
      'fhir_history',
      'fhir_idx_token',
      'fhir_idx_string',
      'fhir_idx_date',
      'fhir_idx_reference',
      'fhir_idx_uri',
    ]) {
      const text = await dump(table);
      for (const secret of SECRETS) assert.not.ok(text.includes(secret), `${secret} in ${table}`);
    }
    // No birth date as a clear range, no name as a clear string row.
    const clearRows = rowsOf<{ n: number }>(
      await database.db.execute(sql`
        select (select count(*) from fhir_idx_string where resource_type = 'Patient')
             + (select count(*) from fhir_idx_date where resource_type = 'Patient') as n`),
    );
    assert.is(Number(clearRows[0].n), 0);
    // The search tokens are hashes of blind indexes: the hash of the clear MRN is not among them.
    const clearHash = rowsOf<{ found: boolean }>(
      await database.db.execute(sql`
        select exists (select 1 from fhir_resources where resource_type = 'Patient'
          and search_tokens && array[hashtextextended(${'t\u0001identifier\u0001A\u0001MRN-7731-QX'}, 0)]) as found`),
    );
    assert.is(clearHash[0].found, false);
  });

  t(
    'read, vread, history, search, _include, $everything and the summary answer in clear',
    async () => {
      const read = await call('GET', `/Patient/${id.zephyrine}`);
      assert.is(read.status, 200);
      assert.equal(read.body.name, ZEPHYRINE.name);
      assert.is(read.body.active, true);
      const v1 = await call('GET', `/Patient/${id.zephyrine}/_history/1`);
      assert.is(v1.status, 200);
      assert.is(v1.body.active, undefined);
      assert.equal(v1.body.telecom, ZEPHYRINE.telecom);
      const history = await call('GET', `/Patient/${id.zephyrine}/_history`);
      assert.equal(
        history.body.entry.map((e: Json) => [e.resource.meta.versionId, e.resource.birthDate]),
        [
          ['2', '1987-06-15'],
          ['1', '1987-06-15'],
        ],
      );
      const typeHistory = await call('GET', '/Patient/_history');
      assert.is(typeHistory.body.total, 3);

      const included = await call(
        'GET',
        `/Observation?patient=${id.zephyrine}&_include=Observation:subject`,
      );
      assert.equal(
        included.body.entry.map((e: Json) => [e.resource.resourceType, e.search.mode]),
        [
          ['Observation', 'match'],
          ['Patient', 'include'],
        ],
      );
      assert.is(included.body.entry[1].resource.name[0].family, 'Quintanilla-Marsh');
      const revincluded = await call(
        'GET',
        `/Patient?_id=${id.zephyrine}&_revinclude=Observation:subject`,
      );
      assert.is(revincluded.body.entry.length, 2);

      const everything = await call('GET', `/Patient/${id.zephyrine}/$everything`);
      assert.is(everything.status, 200);
      assert.equal(
        everything.body.entry.map((e: Json) => e.resource.resourceType),
        ['Patient', 'Observation'],
      );
      assert.is(everything.body.entry[0].resource.identifier[0].value, 'MRN-7731-QX');

      const summary = await call('GET', `/api/patients/${id.zephyrine}/summary`);
      assert.is(summary.status, 200, JSON.stringify(summary.body));
      assert.is(summary.body.patient.name, 'Zephyrine Quintanilla-Marsh');
      assert.is(summary.body.patient.mrn, 'MRN-7731-QX');
      assert.is(summary.body.patient.birthDate, '1987-06-15');
      assert.equal(
        summary.body.latestVitals.map((v: Json) => [v.value, v.observation]),
        [[71, `Observation/${id.observation}`]],
      );
    },
  );

  t(
    'identifiers, names, phones, emails, addresses and birth dates match by blind index',
    async () => {
      const [z, o] = [id.zephyrine, id.other];
      const both = [z, o].sort();
      // Identifier: system|value, value, |value (no system: none here), system| (any value).
      assert.equal(await ids(`/Patient?identifier=${MRN_SYSTEM}|MRN-7731-QX`), [z]);
      assert.equal(await ids('/Patient?identifier=MRN-7731-QX'), [z]);
      assert.equal(await ids('/Patient?identifier=MRN-7731-QX,MRN-1000-AB'), both);
      assert.equal(await ids('/Patient?identifier=|MRN-7731-QX'), []);
      assert.equal(await ids('/Patient?identifier=http://other|MRN-7731-QX'), []);
      assert.equal(await ids('/Patient?identifier=mrn-7731-qx'), [], 'identifiers are exact');
      assert.equal(await ids(`/Patient?identifier=${encodeURIComponent(`${MRN_SYSTEM}|`)}`), both);
      assert.equal(await ids('/Patient?identifier:not=MRN-7731-QX'), [o]);
      // Names: whole words, any case, accents ignored; every word of the value must be there.
      assert.equal(await ids('/Patient?name=quintanilla'), [z]);
      assert.equal(
        await ids('/Patient?family=MARSH'),
        both,
        'Quintanilla-Marsh has the word Marsh',
      );
      assert.equal(await ids('/Patient?given=odalys'), [z]);
      assert.equal(await ids('/Patient?name=zephyrine%20marsh'), [z]);
      assert.equal(await ids('/Patient?name=bo%20marsh'), [o]);
      assert.equal(await ids('/Patient?name=zephyrine%20bo'), []);
      assert.equal(await ids('/Patient?name=quint'), [], 'no prefixes');
      assert.equal(await ids('/Patient?family:exact=Quintanilla-Marsh'), [z]);
      assert.equal(await ids('/Patient?family:exact=quintanilla-marsh'), []);
      assert.equal(await ids('/Patient?name:missing=false'), both);
      // Phones by their digits, emails in any case, through phone, email and telecom.
      assert.equal(await ids(`/Patient?phone=${encodeURIComponent('+1 555-013-2468')}`), [z]);
      assert.equal(await ids('/Patient?phone=15550132468'), [z]);
      assert.equal(await ids('/Patient?phone=5550132468'), [], 'the same digits, not a suffix');
      assert.equal(await ids('/Patient?telecom=phone|15550132468'), [z]);
      assert.equal(await ids('/Patient?telecom=email|15550132468'), []);
      assert.equal(await ids('/Patient?email=zephyrine.q@EXAMPLE.ORG'), [z]);
      // Addresses: words, accents ignored.
      assert.equal(await ids('/Patient?address-city=ljubljana'), [z]);
      assert.equal(await ids('/Patient?address=vrtaca'), [z]);
      assert.equal(await ids('/Patient?address-postalcode=SI-1000'), [z]);
      // Birth dates, ranges included (Zephyrine 1987-06-15, Bo 1987-06 by month).
      assert.equal(await ids('/Patient?birthdate=1987-06-15'), [z]);
      assert.equal(await ids('/Patient?birthdate=1987-06'), both);
      assert.equal(await ids('/Patient?birthdate=1987'), both);
      assert.equal(
        await ids('/Patient?birthdate=lt1987-06-15'),
        [o],
        'June starts before the 15th',
      );
      assert.equal(await ids('/Patient?birthdate=eb1987-06-15'), []);
      assert.equal(await ids('/Patient?birthdate=le1987-06-15'), both, 'June overlaps the 15th');
      assert.equal(await ids('/Patient?birthdate=gt1987-06-14'), both);
      assert.equal(await ids('/Patient?birthdate=sa1987-06-14'), [z]);
      assert.equal(await ids('/Patient?birthdate=ge1990'), []);
      assert.equal(await ids('/Patient?birthdate=ne1987-06-15'), [o]);
      assert.equal(await ids('/Patient?birthdate=1950,1987-06-15'), [z]);
      // Chained through a reference, and conditional create by identifier.
      assert.equal(await ids('/Observation?subject:Patient.identifier=MRN-7731-QX'), [
        id.observation,
      ]);
      assert.equal(await ids('/Observation?subject:Patient.name=zephyrine'), [id.observation]);
      assert.equal(await ids('/Observation?subject:Patient.name=bo'), []);
      const again = await call('POST', '/Patient', ZEPHYRINE, {
        'if-none-exist': `identifier=${MRN_SYSTEM}|MRN-7731-QX`,
      });
      assert.is(again.status, 200, 'If-None-Exist found it');
      assert.is(again.body.id, z);

      // What blind indexes cannot do is refused, not answered wrong.
      const contains = await call('GET', '/Patient?name:contains=anill');
      assert.is(contains.status, 400);
      assert.match(contains.body.issue[0].diagnostics, 'stored encrypted');
      const sorted = await call('GET', '/Patient?_sort=family');
      assert.is(sorted.status, 400);
      assert.match(sorted.body.issue[0].diagnostics, 'stored encrypted');
    },
  );

  t('a sealed value copied to another row, or altered, does not open', async () => {
    const { db } = database;
    await db.execute(sql`
      update fhir_resources set content = (
        select content from fhir_resources where resource_type = 'Patient' and id = ${id.zephyrine})
      where resource_type = 'Patient' and id = ${id.other}`);
    const store = new ResourceStore(db);
    let refused: unknown;
    await store.read('Patient', id.other).catch((error) => {
      refused = error;
    });
    assert.ok(refused instanceof SealedValueError, String(refused));
    const res = await call('GET', `/Patient/${id.other}`);
    assert.is(res.status, 500);
    assert.not.match(JSON.stringify(res.body), 'Quintanilla');

    // One character of the sealed history row changed.
    await db.execute(sql`
      update fhir_history set content = to_jsonb(overlay(content #>> '{}'
        placing (case when substr(content #>> '{}', 40, 1) = 'A' then 'B' else 'A' end)
        from 40 for 1))
      where resource_type = 'Patient' and id = ${id.zephyrine} and version_id = 1`);
    assert.is((await call('GET', `/Patient/${id.zephyrine}/_history/1`)).status, 500);
    assert.is((await call('GET', `/Patient/${id.zephyrine}`)).status, 200, 'v2 untouched');
  });

  t('bed display names and acknowledge notes are sealed to their rows', async () => {
    const { db } = database;
    const ring = keyRingOf(db);
    const row = await assignBed(db, {
      gatewayId: 'ward-phi',
      bedId: 'bed-1',
      patientId: id.zephyrine,
      displayName: 'Zephyrine Q.',
      at: Date.UTC(2025, 0, 1),
    });
    assert.is(row.displayName, 'Zephyrine Q.');
    const stored = rowsOf<{ id: string; display_name: string }>(
      await db.execute(sql`select id::text as id, display_name from bed_assignments`),
    );
    assert.is(stored.length, 1);
    assert.ok(isSealed(stored[0].display_name));
    assert.is(
      ring.open(stored[0].display_name, `bed_assignments.display_name|${row.id}`),
      'Zephyrine Q.',
    );
    // The ward still gets the name, opened on the way out.
    assert.equal(
      (await currentAssignments(db, 'ward-phi')).map((a) => a.displayName),
      ['Zephyrine Q.'],
    );
    assert.equal((await gatewayConfig(db, 'ward-phi')).beds, [
      { bedId: 'bed-1', displayName: 'Zephyrine Q.' },
    ]);

    await db.insert(clinicalAlerts).values({
      id: 'alert-phi',
      patientId: id.zephyrine,
      observationId: id.observation,
      parameter: 'MDC_ECG_HEART_RATE',
      value: 31,
      unit: '/min',
      interpretation: 'LL',
      effectiveTime: Date.UTC(2025, 0, 1),
      raisedAt: Date.UTC(2025, 0, 1),
    });
    const note = 'Zephyrine says she felt faint at home in Ljubljana';
    const acknowledged = await acknowledgeAlert(db, 'alert-phi', { by: 'nurse-1', note });
    assert.is(acknowledged.acknowledgeNote, note);
    const [alert] = await listAlerts(db, { patientId: id.zephyrine, limit: 10 });
    assert.is(alert.acknowledgeNote, note);
    const [raw] = rowsOf<{ acknowledge_note: string }>(
      await db.execute(sql`select acknowledge_note from clinical_alerts where id = 'alert-phi'`),
    );
    assert.ok(isSealed(raw.acknowledge_note));
    for (const table of ['bed_assignments', 'clinical_alerts', 'fhir_resources', 'fhir_history']) {
      const text = await dump(table);
      for (const secret of SECRETS) assert.not.ok(text.includes(secret), `${secret} in ${table}`);
    }
    const flag = await call('GET', '/Flag/alert-phi');
    assert.is(flag.body.extension[1].extension.at(-1).valueString, note);

    // The note moved to the display name's row: refused.
    await db.execute(
      sql`update bed_assignments set display_name = ${raw.acknowledge_note} where id = ${row.id}`,
    );
    let refused: unknown;
    await currentAssignments(db, 'ward-phi').catch((error) => {
      refused = error;
    });
    assert.ok(refused instanceof SealedValueError);
  });

  t.run();
}
