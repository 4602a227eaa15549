// Patient/$everything and the patient summary, on PGlite and PostgreSQL, from resources written
// through the FHIR API.
import type { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { raiseCriticalAlert } from '../src/alerts/clinical-alerts.ts';
import type { Database } from '../src/db/database.ts';
import { patientsApp } from '../src/patients/routes.ts';
import { ageOn } from '../src/patients/summary.ts';
import { apiUnderTest, fhirAppAs } from './support/access.ts';
import { savePatients } from './support/patients.ts';
import { testDatabaseTargets } from './support/test-database.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked field by field below.
type Json = any;

const BASE = 'http://localhost/fhir/R4';
const LOINC = 'http://loinc.org';
const VITAL = {
  coding: [
    { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' },
  ],
};

function vital(patient: string, loinc: string, value: number, unit: string, at: string): Json {
  return {
    resourceType: 'Observation',
    status: 'final',
    category: [VITAL],
    code: { coding: [{ system: LOINC, code: loinc }], text: loinc },
    subject: { reference: `Patient/${patient}` },
    effectiveDateTime: at,
    valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code: unit },
  };
}
const clinicalStatus = (code: string, system: string) => ({ coding: [{ system, code }] });
const CONDITION_STATUS = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const ALLERGY_STATUS = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical';

for (const target of testDatabaseTargets()) {
  const t = suite(`patient record (${target.name})`);
  let database: Database;
  let app: Hono;
  const ids: Record<string, string> = {};

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(
      path.startsWith('/api') ? `http://localhost${path}` : `${BASE}${path}`,
      {
        method,
        headers: { 'content-type': 'application/fhir+json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      },
    );
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as Json };
  };
  const create = async (name: string, resource: Json) => {
    const r = await call('POST', `/${resource.resourceType}`, resource);
    assert.is(r.status, 201, `${name}: ${JSON.stringify(r.body)}`);
    ids[name] = `${resource.resourceType}/${r.body.id}`;
  };

  t.before(async () => {
    database = await target.open();
    await savePatients(database.db, [
      {
        id: 'p1',
        mrn: 'MRN-1',
        family: 'Doe',
        given: 'Jane',
        gender: 'female',
        birthDate: '1950-04-02',
      },
      {
        id: 'p2',
        mrn: 'MRN-2',
        family: 'Roe',
        given: 'Rick',
        gender: 'male',
        birthDate: '1961-02-03',
      },
    ]);
    app = apiUnderTest(database.db)
      .app.route('/fhir/R4', fhirAppAs(database.db))
      .route('/api', patientsApp(database.db));
    await create('hr-old', vital('p1', '8867-4', 80, '/min', '2025-01-01T08:00:00Z'));
    await create('hr-new', vital('p1', '8867-4', 92, '/min', '2025-01-02T08:00:00Z'));
    await create('spo2', vital('p1', '59408-5', 96, '%', '2025-01-01T09:00:00Z'));
    await create('other-hr', vital('p2', '8867-4', 60, '/min', '2025-01-03T08:00:00Z'));
    await create('pneumonia', {
      resourceType: 'Condition',
      clinicalStatus: clinicalStatus('active', CONDITION_STATUS),
      code: { text: 'Pneumonia' },
      subject: { reference: 'Patient/p1' },
      recordedDate: '2025-01-01',
    });
    await create('old-fracture', {
      resourceType: 'Condition',
      clinicalStatus: clinicalStatus('resolved', CONDITION_STATUS),
      code: { text: 'Fracture' },
      subject: { reference: 'Patient/p1' },
      recordedDate: '2010-06-01',
    });
    await create('penicillin', {
      resourceType: 'AllergyIntolerance',
      clinicalStatus: clinicalStatus('active', ALLERGY_STATUS),
      code: { text: 'Penicillin' },
      patient: { reference: 'Patient/p1' },
    });
    for (const [name, status] of [
      ['amoxicillin', 'stopped'],
      ['ceftriaxone', 'active'],
    ])
      await create(name, {
        resourceType: 'MedicationRequest',
        status,
        intent: 'order',
        medicationCodeableConcept: { text: name },
        subject: { reference: 'Patient/p1' },
      });
    for (const day of [1, 2, 3, 4, 5, 6])
      await create(`stay-${day}`, {
        resourceType: 'Encounter',
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'IMP' },
        subject: { reference: 'Patient/p1' },
        period: { start: `2024-0${day}-01T00:00:00Z`, end: `2024-0${day}-03T00:00:00Z` },
      });
    await create('gone', vital('p1', '8310-5', 37, 'Cel', '2025-01-01T10:00:00Z'));
    assert.is((await call('DELETE', `/${ids.gone}`)).status, 204);
  });
  t.after(async () => {
    await database.close();
  });

  const everything = async (query = '') => {
    const found: string[] = [];
    let url: string | undefined = `${BASE}/Patient/p1/$everything?_count=4${query}`;
    let total: number | undefined;
    while (url) {
      const r = await call('GET', url.slice(BASE.length));
      assert.is(r.status, 200, JSON.stringify(r.body));
      total ??= r.body.total;
      for (const e of r.body.entry ?? []) {
        assert.is(e.fullUrl, `${BASE}/${e.resource.resourceType}/${e.resource.id}`);
        found.push(`${e.resource.resourceType}/${e.resource.id}`);
      }
      url = r.body.link.find((l: Json) => l.relation === 'next')?.url;
    }
    assert.is(found.length, total);
    return found;
  };

  t('$everything: the patient first, then its compartment, paged, nothing of others', async () => {
    const all = await everything();
    assert.is(all[0], 'Patient/p1');
    const expected = Object.entries(ids)
      .filter(([name]) => name !== 'other-hr' && name !== 'gone')
      .map(([, id]) => id);
    assert.equal([...all.slice(1)].sort(), [...expected].sort());
    const first = await call('GET', '/Patient/p1/$everything?_count=4');
    assert.match(
      first.body.link.find((l: Json) => l.relation === 'next').url,
      `${BASE}/Patient/p1/$everything?_count=4&_offset=4`,
    );
  });

  t('$everything: _type, start and end, _since; POST with Parameters', async () => {
    assert.equal(await everything('&_type=Condition'), [ids.pneumonia, ids['old-fracture']].sort());
    const since2020 = await everything('&_type=Condition,Observation&start=2020-01-01');
    assert.ok(since2020.includes(ids.pneumonia) && !since2020.includes(ids['old-fracture']));
    assert.ok(since2020.includes(ids['hr-new']));
    const upTo = await everything('&_type=Observation&end=2025-01-01');
    assert.equal(upTo.sort(), [ids['hr-old'], ids.spo2].sort());
    assert.equal(await everything('&_since=2999-01-01T00:00:00Z'), []);
    const posted = await call('POST', '/Patient/p1/$everything', {
      resourceType: 'Parameters',
      parameter: [{ name: '_type', valueCode: 'MedicationRequest' }],
    });
    assert.is(posted.body.total, 2);
  });

  t('$everything: unknown patient 404, bad parameters 400', async () => {
    assert.is((await call('GET', '/Patient/p9/$everything')).status, 404);
    for (const query of ['_type=Spaceship', 'start=yesterday', 'colour=red', '_since=2020']) {
      const r = await call('GET', `/Patient/p1/$everything?${query}`);
      assert.is(r.status, 400, query);
      assert.is(r.body.resourceType, 'OperationOutcome');
    }
    const notParameters = await call('POST', '/Patient/p1/$everything', { resourceType: 'Bundle' });
    assert.is(notParameters.status, 400);
  });

  t(
    'summary: demographics with age and MRN, latest vitals, active lists, open alerts',
    async () => {
      const hr = await call('GET', `/${ids['hr-new']}`);
      await raiseCriticalAlert(
        database.db,
        { ...hr.body, interpretation: [{ coding: [{ code: 'HH' }] }] },
        {
          gatewayId: 'gw',
          seq: 1,
          deviceId: 'mon',
          bedId: 'bed-1',
          parameter: 'MDC_ECG_HEART_RATE',
          value: 140,
          unit: '/min',
          deviceTime: Date.parse('2025-01-02T08:00:00Z'),
          gatewayTime: 0,
          quality: 'valid',
          patientId: 'p1',
          receivedAt: 0,
        },
        Date.parse('2025-01-02T08:01:00Z'),
      );
      const { status, body } = await call('GET', '/api/patients/p1/summary');
      assert.is(status, 200, JSON.stringify(body));
      assert.equal(body.patient, {
        id: 'p1',
        mrn: 'MRN-1',
        name: 'Jane Doe',
        gender: 'female',
        birthDate: '1950-04-02',
        age: ageOn('1950-04-02', Date.now()),
      });
      assert.equal(
        body.latestVitals.map((v: Json) => [v.code, v.value, v.effective]),
        [
          ['59408-5', 96, '2025-01-01T09:00:00Z'],
          ['8867-4', 92, '2025-01-02T08:00:00Z'],
        ],
      );
      assert.equal(
        body.activeConditions.map((c: Json) => c.code.text),
        ['Pneumonia'],
      );
      assert.equal(
        body.allergies.map((a: Json) => a.code.text),
        ['Penicillin'],
      );
      assert.equal(
        body.activeMedications.map((m: Json) => m.medicationCodeableConcept.text),
        ['ceftriaxone'],
      );
      assert.equal(
        body.recentEncounters.map((e: Json) => e.period.start),
        [6, 5, 4, 3, 2].map((m) => `2024-0${m}-01T00:00:00Z`),
      );
      assert.equal(
        body.openAlerts.map((a: Json) => [a.parameter, a.value, a.interpretation]),
        [['MDC_ECG_HEART_RATE', 140, 'HH']],
      );
      const missing = await call('GET', '/api/patients/p9/summary');
      assert.is(missing.status, 404);
      assert.is(missing.body.error.code, 'unknown_patient');
    },
  );

  t.run();
}

const age = suite('age');
age('whole years, the birthday counted from its day', () => {
  const on = (iso: string) => Date.parse(iso);
  assert.is(ageOn('1950-04-02', on('2025-04-01T23:59:59Z')), 74);
  assert.is(ageOn('1950-04-02', on('2025-04-02T00:00:00Z')), 75);
  assert.is(ageOn('1950', on('2025-01-01T00:00:00Z')), 75);
  assert.is(ageOn('1950-12', on('2025-11-30T00:00:00Z')), 74);
});
age.run();
