import type { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chartedObservationId, chartOnce } from '../src/charting/charting.ts';
import {
  type ChartingOptions,
  chartingOptions,
  parseChartInterval,
} from '../src/charting/options.ts';
import { chartApp } from '../src/charting/routes.ts';
import type { Database } from '../src/db/database.ts';
import { bedAssignments, ingestCursors, readings } from '../src/db/schema.ts';
import { validateStructure } from '../src/fhir/validation/validate-structure.ts';
import { apiUnderTest, fhirAppAs } from './support/access.ts';
import { savePatients } from './support/patients.ts';
import { testDatabaseTargets } from './support/test-database.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked field by field below.
type Json = any;

const MINUTE = 60_000;
/** 2025-01-01T08:00Z, the start of a 10-minute and of a 60-minute chart slot. */
const T0 = Date.UTC(2025, 0, 1, 8);
const GW = 'gw1';
const OPTIONS: ChartingOptions = chartingOptions({
  intervalSeconds: 600,
  parameterIntervals: { MDC_TEMP_BODY: 3600 },
  settleSeconds: 60,
  runEverySeconds: 3600,
});
const iso = (ms: number) => new Date(ms).toISOString();

type Reading = [bed: string, parameter: string, minute: number, value: number, quality?: string];
const CHANNEL: Record<string, { device: string; unit: string }> = {
  MDC_ECG_HEART_RATE: { device: 'mon', unit: '/min' },
  MDC_TEMP_BODY: { device: 'mon', unit: 'Cel' },
  MDC_PULS_OXIM_SAT_O2: { device: 'ox', unit: '%' },
  MDC_FLOW_FLUID_PUMP: { device: 'pump', unit: 'mL/h' },
};
const PATIENT_IN: Record<string, string | null> = { bed1: 'p1', bed2: 'p2', bed3: null };

/** Readings as ingest stores them (patient resolved from the bed), and the ingest cursor moved. */
async function ingest(database: Database, list: Reading[]) {
  const { db } = database;
  const [cursor] = await db.select().from(ingestCursors);
  let seq = cursor ? Number(cursor.ackedUpTo) : 0;
  await db.insert(readings).values(
    list.map(([bed, parameter, minute, value, quality = 'valid']) => ({
      gatewayId: GW,
      seq: ++seq,
      deviceId: `${bed}-${CHANNEL[parameter].device}`,
      bedId: bed,
      parameter,
      value,
      unit: CHANNEL[parameter].unit,
      deviceTime: T0 + minute * MINUTE,
      gatewayTime: T0 + minute * MINUTE + 50,
      quality,
      patientId: PATIENT_IN[bed],
      receivedAt: T0 + minute * MINUTE + 500,
    })),
  );
  await db
    .insert(ingestCursors)
    .values({ gatewayId: GW, stream: 'readings', ackedUpTo: seq })
    .onConflictDoUpdate({
      target: [ingestCursors.gatewayId, ingestCursors.stream],
      set: { ackedUpTo: seq },
    });
}

for (const target of testDatabaseTargets()) {
  const t = suite(`charting (${target.name})`);
  let database: Database;
  let app: Hono;

  t.before(async () => {
    database = await target.open();
    const { db } = database;
    await savePatients(db, [
      {
        id: 'p1',
        mrn: 'M1',
        family: 'Doe',
        given: 'Jane',
        gender: 'female',
        birthDate: '1950-04-02',
      },
      {
        id: 'p2',
        mrn: 'M2',
        family: 'Roe',
        given: 'Rick',
        gender: 'male',
        birthDate: '1961-02-03',
      },
    ]);
    await db.insert(bedAssignments).values(
      ['p1', 'p2'].map((patientId, i) => ({
        gatewayId: GW,
        bedId: `bed${i + 1}`,
        patientId,
        displayName: patientId,
        fromTime: T0 - 60 * MINUTE,
        encounterId: i === 0 ? 'enc-1' : null,
      })),
    );
    app = apiUnderTest(db).app.route('/api', chartApp(db)).route('/fhir/R4', fhirAppAs(db));
  });
  t.after(async () => {
    await database.close();
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(`http://localhost${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const chart = async (query: string) =>
    ((await call('GET', `/fhir/R4/Observation?${query}&_sort=date`)).body.entry ?? []).map(
      (e: Json) => e.resource,
    );
  const values = async (query: string) =>
    (await chart(query)).map((o: Json) => [o.effectiveDateTime, o.valueQuantity.value]);

  t('each slot charts its latest valid reading once it has ended and settled', async () => {
    await ingest(database, [
      ['bed1', 'MDC_ECG_HEART_RATE', 1, 70],
      ['bed1', 'MDC_ECG_HEART_RATE', 5, 72],
      ['bed1', 'MDC_ECG_HEART_RATE', 9, 99, 'questionable'], // later, but not valid
      ['bed1', 'MDC_ECG_HEART_RATE', 12, 75],
      ['bed1', 'MDC_TEMP_BODY', 2, 36.8], // charted hourly
      ['bed1', 'MDC_TEMP_BODY', 50, 37.0],
      ['bed2', 'MDC_PULS_OXIM_SAT_O2', 3, 88], // critical low
      ['bed2', 'MDC_PULS_OXIM_SAT_O2', 15, 87],
      ['bed3', 'MDC_FLOW_FLUID_PUMP', 4, 25], // nobody in bed3: never charted
    ]);
    // At +20:30 the slot ending +20:00 has not settled (60 s): only the first slots are charted.
    const first = await chartOnce(database.db, OPTIONS, T0 + 20.5 * MINUTE);
    assert.equal(first, { slotsFound: 5, charted: 2, alerts: 1 });
    assert.equal(await values('patient=p1'), [[iso(T0 + 5 * MINUTE), 72]]);
    assert.equal(await values('patient=p2'), [[iso(T0 + 3 * MINUTE), 88]]);

    const second = await chartOnce(database.db, OPTIONS, T0 + 21 * MINUTE);
    assert.equal(second, { slotsFound: 0, charted: 2, alerts: 0 }, 'alert already open');
    assert.equal(await values('patient=p1&code=http://loinc.org|8867-4'), [
      [iso(T0 + 5 * MINUTE), 72],
      [iso(T0 + 12 * MINUTE), 75],
    ]);
    assert.equal(await values('patient=p1&code=http://loinc.org|8310-5'), [], 'hour not over');

    // A late reading for a charted slot does not chart it again.
    await ingest(database, [['bed1', 'MDC_ECG_HEART_RATE', 8, 200]]);
    assert.equal(await chartOnce(database.db, OPTIONS, T0 + 22 * MINUTE), {
      slotsFound: 1,
      charted: 0,
      alerts: 0,
    });
    assert.equal((await values('patient=p1&code=http://loinc.org|8867-4'))[0], [
      iso(T0 + 5 * MINUTE),
      72,
    ]);

    const hourly = await chartOnce(database.db, OPTIONS, T0 + 61 * MINUTE);
    assert.is(hourly.charted, 1);
    assert.equal(await values('patient=p1&code=http://loinc.org|8310-5'), [
      [iso(T0 + 50 * MINUTE), 37],
    ]);
    assert.equal(await values('device=Device/gw1.bed3-pump'), []);
  });

  t('a charted Observation: every field, a valid R4 resource', async () => {
    const [heartRate] = await chart('patient=p1&code=http://loinc.org|8867-4');
    const key = `p1/MDC_ECG_HEART_RATE/${iso(T0)}`;
    assert.equal(heartRate, {
      resourceType: 'Observation',
      id: chartedObservationId(key),
      meta: heartRate.meta,
      identifier: [{ system: 'urn:wardgate:charted-observation', value: key }],
      status: 'preliminary',
      category: [
        {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/observation-category',
              code: 'vital-signs',
              display: 'Vital Signs',
            },
          ],
        },
      ],
      code: {
        coding: [
          { system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' },
          { system: 'urn:iso:std:iso:11073:10101', code: '147842', display: 'MDC_ECG_HEART_RATE' },
        ],
        text: 'HR',
      },
      subject: { reference: 'Patient/p1' },
      encounter: { reference: 'Encounter/enc-1' },
      effectiveDateTime: iso(T0 + 5 * MINUTE),
      issued: iso(T0 + 20.5 * MINUTE),
      valueQuantity: { value: 72, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
      interpretation: [
        {
          coding: [
            {
              system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
              code: 'N',
              display: 'Normal',
            },
          ],
          text: 'Normal',
        },
      ],
      device: { reference: 'Device/gw1.bed1-mon' },
      referenceRange: [
        {
          low: { value: 60, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
          high: { value: 100, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
          text: 'adult normal range',
        },
      ],
    });
    assert.is(heartRate.meta.versionId, '1');
    assert.equal(validateStructure(heartRate), []);
    const [spo2] = await chart('patient=p2');
    assert.is(spo2.interpretation[0].coding[0].code, 'LL', 'SpO2 88 % is critical (NEWS2 ≤ 91)');
    assert.is(spo2.encounter, undefined, 'no Encounter recorded for that bed');
    // Searchable by interpretation and value like any stored Observation.
    assert.is((await chart('value-quantity=lt90|http://unitsofmeasure.org|%25')).length, 2);
  });

  t('a critical value raises one alert, shown as a Flag, until acknowledged', async () => {
    const open = await call('GET', '/api/alerts');
    assert.is(open.status, 200);
    assert.is(open.body.alerts.length, 1);
    const alert = open.body.alerts[0];
    assert.equal(
      {
        patient: alert.patient,
        parameter: alert.parameter,
        value: alert.value,
        interpretation: alert.interpretation,
        acknowledged: alert.acknowledged,
      },
      {
        patient: 'p2',
        parameter: 'MDC_PULS_OXIM_SAT_O2',
        value: 88,
        interpretation: 'LL',
        acknowledged: null,
      },
    );
    const flags = await call(
      'GET',
      '/fhir/R4/Flag?patient=p2&status=active&category=http://terminology.hl7.org/CodeSystem/flag-category|clinical',
    );
    assert.is(flags.body.total, 1);
    const flag = flags.body.entry[0].resource;
    assert.is(flag.id, alert.id);
    assert.match(flag.code.text, /^Critical low .*: 88 %$/);
    assert.equal(validateStructure(flag), []);
    assert.is((await call('GET', `/fhir/R4/${alert.observation}`)).status, 200);

    const ack = await call('POST', `/api/alerts/${alert.id}/acknowledge`, {
      by: 'Dr. A. Med',
      note: 'oxygen started',
    });
    assert.is(ack.status, 200, JSON.stringify(ack.body));
    // Who acknowledged is who signed in (here the test's API client), not a name in the body.
    assert.is(ack.body.acknowledged.by, 'client:test');
    assert.is((await call('POST', `/api/alerts/${alert.id}/acknowledge`, { by: 'x' })).status, 409);
    assert.equal((await call('GET', '/api/alerts')).body.alerts, []);
    assert.is((await call('GET', '/api/alerts?status=all&patient=p2')).body.alerts.length, 1);
    const inactive = (await call('GET', `/fhir/R4/Flag/${alert.id}`)).body;
    assert.is(inactive.status, 'inactive');
    assert.is(inactive.period.end, ack.body.acknowledged.at);
    assert.is((await call('GET', `/fhir/R4/Flag/${alert.id}/_history`)).body.total, 2);

    // After the acknowledgement, a new critical value is a new alert.
    await ingest(database, [['bed2', 'MDC_PULS_OXIM_SAT_O2', 25, 85]]);
    assert.is((await chartOnce(database.db, OPTIONS, T0 + 31 * MINUTE)).alerts, 1);
    assert.is((await call('GET', '/api/alerts?patient=p2')).body.alerts[0].value, 85);
  });

  t('alert requests with bad input are refused with the reason', async () => {
    const refusals: [string, string, unknown, number, string][] = [
      ['POST', '/api/alerts/nope/acknowledge', { by: 'x' }, 404, 'unknown_alert'],
      ['POST', '/api/alerts/nope/acknowledge', { note: 42 }, 400, 'invalid_body'],
      ['GET', '/api/alerts?status=closed', undefined, 400, 'invalid_status'],
      ['GET', '/api/alerts?limit=0', undefined, 400, 'invalid_limit'],
    ];
    for (const [method, path, body, status, code] of refusals) {
      const r = await call(method, path, body);
      assert.is(r.status, status, `${method} ${path}`);
      assert.is(r.body.error.code, code);
    }
  });

  t('a nurse validates named Observations or all up to a time', async () => {
    const [first, second] = await chart('patient=p1&code=http://loinc.org|8867-4');
    const refusals: [unknown, number, string][] = [
      [{ patientId: 'p9', by: 'N' }, 404, 'unknown_patient'],
      [{ patientId: 'p2', by: 'N', observations: [first.id] }, 409, 'other_patient'],
      [{ patientId: 'p1', by: 'N', observations: ['nope'] }, 404, 'unknown_observation'],
      [{ by: 'N' }, 400, 'invalid_body'],
    ];
    for (const [body, status, code] of refusals) {
      const r = await call('POST', '/api/chart/validate', body);
      assert.is(r.status, status, JSON.stringify(body));
      assert.is(r.body.error.code, code);
    }
    const named = await call('POST', '/api/chart/validate', {
      patientId: 'p1',
      by: 'Nurse N.',
      observations: [second.id],
    });
    assert.equal(named.body.validated, [`Observation/${second.id}`]);
    const again = await call('POST', '/api/chart/validate', {
      patientId: 'p1',
      by: 'Nurse N.',
      observations: [second.id],
    });
    assert.is(again.body.error.code, 'not_preliminary');
    const through = await call('POST', '/api/chart/validate', {
      patientId: 'p1',
      by: 'Nurse M.',
      through: iso(T0 + 10 * MINUTE),
    });
    assert.equal(
      through.body.validated,
      [`Observation/${first.id}`],
      'only what was taken by then',
    );
    const statuses = (await chart('patient=p1')).map((o: Json) => [o.id, o.status]);
    assert.equal(
      statuses.filter(([, status]: string[]) => status === 'preliminary').length,
      1,
      'the hourly temperature is still preliminary',
    );
  });

  t.run();
}

const options = suite('charting options');
options('are checked, with the reason', () => {
  assert.throws(() => chartingOptions({ intervalSeconds: 0 }), /chart interval/);
  assert.throws(() => chartingOptions({ intervalSeconds: 1.5 }), /whole number/);
  assert.throws(
    () => chartingOptions({ parameterIntervals: { MDC_NONSENSE: 60 } }),
    /unknown parameter "MDC_NONSENSE"/,
  );
  const parsed = { intervalSeconds: 900, parameterIntervals: {} as Record<string, number> };
  parseChartInterval('300', parsed);
  parseChartInterval('MDC_TEMP_BODY=3600', parsed);
  assert.equal(parsed, { intervalSeconds: 300, parameterIntervals: { MDC_TEMP_BODY: 3600 } });
  parseChartInterval('5m', parsed);
  assert.throws(() => chartingOptions(parsed), /chart interval/);
});
options.run();
