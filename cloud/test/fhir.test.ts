import { termFor } from '@wardgate/shared';
import { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Database } from '../src/db/database.ts';
import { bedAssignments, MRN_SYSTEM, patients, readings } from '../src/db/schema.ts';
import { fhirApp } from '../src/fhir/index.ts';
import { observationFromRow } from '../src/fhir/observation.ts';
import { STORED_TYPES } from '../src/fhir/store/validate.ts';
import { validateStructure } from '../src/fhir/validation/validate-structure.ts';
import { testDatabaseTargets } from './support/test-database.ts';

type ReadingRow = typeof readings.$inferInsert;
// biome-ignore lint/suspicious/noExplicitAny: FHIR JSON bodies are checked field by field below.
type Json = any;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** 2024-03-30T00:00Z; readings run every 6 h from 00:30 over four days (30 Mar – 2 Apr). */
const START = Date.UTC(2024, 2, 30);
const RECEIVED_LATEST = Date.UTC(2024, 3, 10);

const CHANNELS = [
  {
    gatewayId: 'gw1',
    deviceId: 'mon1',
    bedId: 'bed1',
    patientId: 'p1',
    parameter: 'MDC_ECG_HEART_RATE',
    unit: '/min',
    value: 70,
  },
  {
    gatewayId: 'gw1',
    deviceId: 'mon1',
    bedId: 'bed1',
    patientId: 'p1',
    parameter: 'MDC_PULS_OXIM_SAT_O2',
    unit: '%',
    value: 97,
  },
  {
    gatewayId: 'gw1',
    deviceId: 'vent1',
    bedId: 'bed1',
    patientId: 'p1',
    parameter: 'MDC_VENT_RESP_RATE',
    unit: '/min',
    value: 14,
  },
  {
    gatewayId: 'gw1',
    deviceId: 'ox1',
    bedId: 'bed2',
    patientId: 'p2',
    parameter: 'MDC_PULS_OXIM_SAT_O2',
    unit: '%',
    value: 94,
  },
  {
    gatewayId: 'gw1',
    deviceId: 'ox1',
    bedId: 'bed2',
    patientId: 'p2',
    parameter: 'MDC_PULS_OXIM_PERF_REL',
    unit: '%',
    value: 3,
  },
  // A gateway id holding '.r' and a device id holding '.', both legal: ids must still split right.
  {
    gatewayId: 'ward.r7',
    deviceId: 'pump.2',
    bedId: 'bed3',
    patientId: null,
    parameter: 'MDC_FLOW_FLUID_PUMP',
    unit: 'mL/h',
    value: 25,
  },
] as const;

function fixtureReadings(): ReadingRow[] {
  const rows: ReadingRow[] = [];
  const seqs = new Map<string, number>();
  let n = 0;
  for (let slot = 0; slot < 16; slot++) {
    const deviceTime = START + slot * 6 * HOUR + 30 * 60_000;
    for (const ch of CHANNELS) {
      const seq = (seqs.get(ch.gatewayId) ?? 0) + 1;
      seqs.set(ch.gatewayId, seq);
      rows.push({
        gatewayId: ch.gatewayId,
        seq,
        deviceId: ch.deviceId,
        bedId: ch.bedId,
        parameter: ch.parameter,
        value: ch.value + slot / 2,
        unit: ch.unit,
        deviceTime,
        gatewayTime: deviceTime + 120,
        quality: n % 7 === 3 ? 'questionable' : n % 11 === 5 ? 'invalid' : 'valid',
        patientId: ch.patientId,
        // Received in reverse order, so _lastUpdated order differs from date order.
        receivedAt: RECEIVED_LATEST - n * 1000,
      });
      n++;
    }
  }
  return rows;
}

const ROWS = fixtureReadings();
const idOf = (r: ReadingRow) => `${r.gatewayId}.r${r.seq}`;
const idsWhere = (keep: (r: ReadingRow) => boolean) => ROWS.filter(keep).map(idOf).sort();
const ALL_IDS = idsWhere(() => true);

async function insertFixture(database: Database) {
  const { db } = database;
  await db.insert(patients).values([
    {
      id: 'p1',
      mrn: 'MRN-0001',
      family: 'Doe',
      given: 'Jane',
      gender: 'female',
      birthDate: '1950-04-02',
      versionId: 3,
      lastUpdated: Date.UTC(2024, 2, 1, 8),
    },
    {
      id: 'p2',
      mrn: 'MRN-0002',
      family: 'Smith',
      given: 'Dorothy',
      gender: 'female',
      birthDate: '1942-11-20',
      lastUpdated: Date.UTC(2024, 2, 2),
    },
    {
      id: 'p3',
      mrn: 'MRN-0003',
      family: 'O_Neil',
      given: 'Sam',
      gender: 'male',
      birthDate: '1980-01-01',
      lastUpdated: Date.UTC(2024, 2, 3),
    },
  ]);
  await db.insert(bedAssignments).values([
    {
      gatewayId: 'gw1',
      bedId: 'bed1',
      patientId: 'p1',
      displayName: 'Doe, J',
      fromTime: START - DAY,
    },
    {
      gatewayId: 'gw1',
      bedId: 'bed2',
      patientId: 'p2',
      displayName: 'Smith, D',
      fromTime: START - DAY,
    },
  ]);
  await db.insert(readings).values(ROWS);
}

for (const target of testDatabaseTargets()) {
  const t = suite(`fhir (${target.name})`);
  let database: Database;
  let app: Hono;

  t.before(async () => {
    database = await target.open();
    await insertFixture(database);
    app = fhirApp(database.db);
  });
  t.after(async () => {
    await database.close();
  });

  async function get(
    path: string,
    init?: RequestInit,
  ): Promise<{ status: number; body: Json; res: Response }> {
    const res = await app.request(path, init);
    return { status: res.status, body: await res.json(), res };
  }
  async function search(query: string): Promise<Json> {
    const { status, body } = await get(`/Observation?${query}`);
    assert.is(status, 200, `${query}: ${JSON.stringify(body)}`);
    assert.is(body.resourceType, 'Bundle');
    return body;
  }
  /** Follows next links from the first page; returns every id in the order served. */
  async function allIds(query: string): Promise<string[]> {
    const ids: string[] = [];
    let url: string | undefined = `/Observation?${query}&_count=1000`;
    while (url) {
      const { body } = await get(url);
      for (const e of body.entry ?? []) ids.push(e.resource.id);
      url = body.link.find((l: Json) => l.relation === 'next')?.url;
    }
    return ids;
  }
  const sorted = (ids: string[]) => [...ids].sort();
  async function expectIds(query: string, expected: string[]) {
    const ids = await allIds(query);
    assert.equal(sorted(ids), expected, query);
    const body = await search(query);
    assert.is(body.total, expected.length, `${query}: total`);
  }
  async function expect400(query: string, ...mentions: string[]) {
    const { status, body, res } = await get(query);
    assert.is(status, 400, query);
    assert.is(res.headers.get('content-type'), 'application/fhir+json; charset=utf-8');
    assert.is(body.resourceType, 'OperationOutcome');
    assert.is(body.issue[0].severity, 'error');
    for (const m of mentions)
      assert.ok(
        body.issue[0].diagnostics.includes(m),
        `${query}: ${body.issue[0].diagnostics} lacks ${m}`,
      );
  }

  t('metadata lists exactly what is implemented', async () => {
    const { status, body, res } = await get('/metadata');
    assert.is(status, 200);
    assert.is(res.headers.get('content-type'), 'application/fhir+json; charset=utf-8');
    assert.is(body.resourceType, 'CapabilityStatement');
    assert.is(body.fhirVersion, '4.0.1');
    assert.is(body.kind, 'instance');
    assert.equal(body.format, ['json']);
    assert.is(body.rest.length, 1);
    assert.is(body.rest[0].mode, 'server');
    assert.is(body.rest[0].interaction, undefined);
    const summary = body.rest[0].resource.map((r: Json) => ({
      type: r.type,
      interactions: r.interaction.map((i: Json) => i.code),
      params: r.searchParam.map((p: Json) => `${p.name}:${p.type}`),
    }));
    assert.equal(summary.slice(0, 3), [
      {
        type: 'Observation',
        interactions: ['read', 'search-type'],
        params: [
          'patient:reference',
          'subject:reference',
          'code:token',
          'date:date',
          'device:reference',
          '_count:number',
          '_sort:special',
        ],
      },
      {
        type: 'Patient',
        interactions: ['read', 'search-type'],
        params: ['identifier:token', 'name:string', '_count:number'],
      },
      {
        type: 'Flag',
        interactions: ['read', 'search-type'],
        params: [
          'patient:reference',
          'subject:reference',
          'status:token',
          'date:date',
          '_count:number',
        ],
      },
    ]);
    // The stored types: the versioned interactions, the common search parameters.
    const stored = summary.slice(3);
    assert.equal(
      stored.map((r: Json) => r.type),
      [...STORED_TYPES],
    );
    for (const r of stored) {
      assert.equal(r.interactions, [
        'read',
        'vread',
        'update',
        'patch',
        'delete',
        'history-instance',
        'history-type',
        'create',
        'search-type',
      ]);
      // The standard R4 parameters of the type (from the official definitions), then the common ones.
      assert.equal(r.params.slice(-8), [
        '_id:token',
        '_lastUpdated:date',
        '_count:number',
        '_sort:special',
        '_include:special',
        '_revinclude:special',
        '_summary:special',
        '_total:special',
      ]);
    }
    const encounter = stored.find((r: Json) => r.type === 'Encounter');
    for (const param of ['date:date', 'patient:reference', 'status:token', 'length:quantity'])
      assert.ok(encounter.params.includes(param), `Encounter ${param}`);
    const practitioner = stored.find((r: Json) => r.type === 'Practitioner');
    for (const param of ['name:string', 'identifier:token', 'address-city:string'])
      assert.ok(practitioner.params.includes(param), `Practitioner ${param}`);
    assert.is(body.implementation.url, 'http://localhost');
  });

  t('read Observation: every field of a vital sign', async () => {
    const row = ROWS.find((r) => r.parameter === 'MDC_ECG_HEART_RATE' && r.quality === 'valid')!;
    const { status, body, res } = await get(`/Observation/${idOf(row)}`);
    assert.is(status, 200);
    assert.is(res.headers.get('content-type'), 'application/fhir+json; charset=utf-8');
    assert.equal(body, {
      resourceType: 'Observation',
      id: idOf(row),
      meta: { lastUpdated: new Date(row.receivedAt).toISOString() },
      status: 'final',
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
      effectiveDateTime: new Date(row.deviceTime).toISOString(),
      issued: new Date(row.gatewayTime).toISOString(),
      valueQuantity: {
        value: row.value,
        unit: '/min',
        system: 'http://unitsofmeasure.org',
        code: '/min',
      },
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
      device: { reference: 'Device/gw1.mon1' },
      referenceRange: [
        {
          low: { value: 60, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
          high: { value: 100, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
          text: 'adult normal range',
        },
      ],
    });
    assert.is(body.effectiveDateTime, '2024-03-30T00:30:00.000Z');
  });

  t('vital signs are interpreted against the adult ranges: LL, L, N, H, HH', () => {
    const base = ROWS.find((r) => r.parameter === 'MDC_ECG_HEART_RATE' && r.quality === 'valid')!;
    const code = (value: number, quality = 'valid', parameter = base.parameter) =>
      observationFromRow({ ...base, value, quality, parameter } as never).interpretation?.[0];
    const of = (value: number) => (code(value) as Json)?.coding[0].code;
    assert.equal([35, 40, 55, 60, 100, 101, 130, 131].map(of), [
      'LL',
      'LL',
      'L',
      'N',
      'N',
      'H',
      'H',
      'HH',
    ]);
    assert.is(code(35, 'questionable'), undefined, 'a doubtful value is not judged');
    assert.is(code(500, 'valid', 'MDC_FLOW_FLUID_PUMP'), undefined, 'no range for a pump rate');
    const spo2 = observationFromRow({
      ...base,
      parameter: 'MDC_PULS_OXIM_SAT_O2',
      unit: '%',
      value: 88,
    } as never);
    assert.is(
      (spo2.interpretation as Json)[0].coding[0].code,
      'LL',
      'SpO2 88 % is critical (NEWS2 ≤ 91)',
    );
    assert.equal(validateStructure(spo2), [], 'a valid R4 Observation');
  });

  t(
    'read Observation: non-vital reading without patient, dotted ids, quality → status',
    async () => {
      const pump = ROWS.find((r) => r.gatewayId === 'ward.r7' && r.quality === 'valid')!;
      const { body } = await get(`/Observation/${idOf(pump)}`);
      assert.is(body.id, `ward.r7.r${pump.seq}`);
      assert.is(body.category, undefined);
      assert.is(body.subject, undefined);
      // Infusion pump terms have no LOINC code: the MDC coding stands alone.
      const term = termFor('MDC_FLOW_FLUID_PUMP')!;
      const mdc = {
        system: 'urn:iso:std:iso:11073:10101',
        code: String(term.mdcCode),
        display: 'MDC_FLOW_FLUID_PUMP',
      };
      const loinc = term.loinc && {
        system: 'http://loinc.org',
        code: term.loinc,
        display: term.loincDisplay,
      };
      assert.equal(body.code, { coding: loinc ? [loinc, mdc] : [mdc], text: term.display });
      assert.equal(body.valueQuantity, {
        value: pump.value,
        unit: 'mL/h',
        system: 'http://unitsofmeasure.org',
        code: 'mL/h',
      });
      assert.equal(body.device, { reference: 'Device/ward.r7.pump.2' });

      const questionable = ROWS.find((r) => r.quality === 'questionable')!;
      assert.is((await get(`/Observation/${idOf(questionable)}`)).body.status, 'preliminary');
      const invalid = ROWS.find((r) => r.quality === 'invalid')!;
      assert.is((await get(`/Observation/${idOf(invalid)}`)).body.status, 'entered-in-error');
    },
  );

  t('a parameter missing from the terminology keeps its refid as code text', () => {
    const row = {
      ...ROWS[0],
      parameter: 'MDC_VENDOR_THING',
      unit: 'x',
      patientId: null,
    } as typeof readings.$inferSelect;
    const observation = observationFromRow(row);
    assert.equal(observation.code, { text: 'MDC_VENDOR_THING' });
    assert.equal(observation.valueQuantity, { value: row.value, unit: 'x' });
    assert.is(observation.category, undefined);
  });

  t('unknown ids, types and routes → 404; writes → 405', async () => {
    for (const path of [
      '/Observation/gw1.r9999',
      '/Observation/gw1',
      '/Observation/nope.rx',
      '/Patient/p9',
    ]) {
      const { status, body } = await get(path);
      assert.is(status, 404, path);
      assert.is(body.resourceType, 'OperationOutcome');
      assert.is(body.issue[0].code, 'not-found');
    }
    const specimen = await get('/Specimen?patient=p1');
    assert.is(specimen.status, 404);
    assert.is(specimen.body.resourceType, 'OperationOutcome');
    assert.ok(specimen.body.issue[0].diagnostics.includes('/Specimen'));
    assert.is((await get('/Observation/gw1.r1/_history')).status, 404);

    for (const [method, path] of [
      ['POST', '/Observation'],
      ['PUT', '/Observation/gw1.r1'],
      ['DELETE', '/Observation/gw1.r1'],
      ['PATCH', '/Patient/p1'],
      ['POST', '/Patient'],
      ['POST', '/metadata'],
    ]) {
      const { status, body, res } = await get(path, { method, body: '{}' });
      assert.is(status, 405, `${method} ${path}`);
      assert.is(body.resourceType, 'OperationOutcome');
      assert.is(res.headers.get('allow'), 'GET, HEAD');
    }
    const getSearch = await get('/Observation/_search');
    assert.is(getSearch.status, 405);
    assert.is(getSearch.res.headers.get('allow'), 'POST');
  });

  t('search by patient and subject in every reference form', async () => {
    const p1 = idsWhere((r) => r.patientId === 'p1');
    const p2 = idsWhere((r) => r.patientId === 'p2');
    assert.is(p1.length, 48);
    await expectIds('patient=p1', p1);
    await expectIds('patient=Patient/p1', p1);
    await expectIds('subject=Patient%2Fp2', p2);
    await expectIds('subject=http://localhost/Patient/p2', p2);
    await expectIds('patient=p1,p2', sorted([...p1, ...p2]));
    await expectIds('patient=p1&patient=p2', []);
    await expectIds('subject=Group/p1', []);
    await expectIds('patient=nobody', []);
    const body = await search('patient=p2&_count=3');
    for (const e of body.entry) assert.equal(e.resource.subject, { reference: 'Patient/p2' });
  });

  t('search by code: system|code, |code, code; LOINC and MDC; comma = OR', async () => {
    const hr = idsWhere((r) => r.parameter === 'MDC_ECG_HEART_RATE');
    const spo2 = idsWhere((r) => r.parameter === 'MDC_PULS_OXIM_SAT_O2');
    assert.is(spo2.length, 32);
    await expectIds('code=http://loinc.org|8867-4', hr);
    await expectIds(`code=${encodeURIComponent('http://loinc.org|8867-4')}`, hr);
    await expectIds('code=urn:iso:std:iso:11073:10101|147842', hr);
    await expectIds('code=8867-4', hr);
    await expectIds(`code=${termFor('MDC_PULS_OXIM_SAT_O2')!.mdcCode}`, spo2);
    await expectIds('code=59408-5,8867-4', sorted([...hr, ...spo2]));
    await expectIds(
      'code=http://loinc.org|59408-5,urn:iso:std:iso:11073:10101|147842',
      sorted([...hr, ...spo2]),
    );
    const vent = termFor('MDC_VENT_RESP_RATE')!;
    await expectIds(
      `code=urn:iso:std:iso:11073:10101|${vent.mdcCode}`,
      idsWhere((r) => r.parameter === 'MDC_VENT_RESP_RATE'),
    );
    const pump = termFor('MDC_FLOW_FLUID_PUMP')!;
    await expectIds(
      `code=${pump.mdcCode}`,
      idsWhere((r) => r.parameter === 'MDC_FLOW_FLUID_PUMP'),
    );
    // |code means "no system"; every coding here has one.
    await expectIds('code=|8867-4', []);
    await expectIds('code=http://snomed.info/sct|8867-4', []);
    await expectIds('code=http://loinc.org|147842', []);
    await expectIds(`code=8867-4&code=${termFor('MDC_PULS_OXIM_SAT_O2')!.mdcCode}`, []);
    await expectIds('code=8867-4&patient=p2', []);
    await expectIds(
      'code=59408-5&patient=p2',
      idsWhere((r) => r.parameter === 'MDC_PULS_OXIM_SAT_O2' && r.patientId === 'p2'),
    );
  });

  t('search by date: every prefix, partial precisions, timezones, ranges', async () => {
    const at = (keep: (time: number) => boolean) => idsWhere((r) => keep(r.deviceTime));
    const mar31 = Date.UTC(2024, 2, 31);
    const apr1 = Date.UTC(2024, 3, 1);
    const inMar31 = at((x) => x >= mar31 && x < apr1);
    assert.is(inMar31.length, 24);
    await expectIds('date=2024-03-31', inMar31);
    await expectIds('date=eq2024-03-31', inMar31);
    await expectIds(
      'date=ne2024-03-31',
      at((x) => x < mar31 || x >= apr1),
    );
    await expectIds(
      'date=gt2024-03-31',
      at((x) => x >= apr1),
    );
    await expectIds(
      'date=sa2024-03-31',
      at((x) => x >= apr1),
    );
    await expectIds(
      'date=ge2024-03-31',
      at((x) => x >= mar31),
    );
    await expectIds(
      'date=lt2024-03-31',
      at((x) => x < mar31),
    );
    await expectIds(
      'date=eb2024-03-31',
      at((x) => x < mar31),
    );
    await expectIds(
      'date=le2024-03-31',
      at((x) => x < apr1),
    );
    // Year and month precision.
    await expectIds('date=2024', ALL_IDS);
    await expectIds('date=2023', []);
    await expectIds(
      'date=2024-03',
      at((x) => x < apr1),
    );
    await expectIds(
      'date=gt2024-03',
      at((x) => x >= apr1),
    );
    await expectIds('date=le2024-04', ALL_IDS);
    // Full dateTime: second precision hits one instant, minute precision its minute.
    const slot = START + 6 * HOUR + 30 * 60_000; // 2024-03-30T06:30Z
    await expectIds(
      'date=2024-03-30T06:30:00Z',
      at((x) => x === slot),
    );
    await expectIds(
      'date=2024-03-30T06:30:00.000Z',
      at((x) => x === slot),
    );
    await expectIds('date=2024-03-30T06:30:01Z', []);
    await expectIds(
      'date=2024-03-30T06:30Z',
      at((x) => x === slot),
    );
    // 08:30+02:00 is 06:30Z; an unencoded '+' arrives as a space and is read as '+'.
    await expectIds(
      'date=2024-03-30T08:30:00%2B02:00',
      at((x) => x === slot),
    );
    await expectIds(
      'date=2024-03-30T08:30:00+02:00',
      at((x) => x === slot),
    );
    await expectIds(
      'date=2024-03-30T01:30:00-05:00',
      at((x) => x === slot),
    );
    await expectIds(
      'date=gt2024-03-30T06:30:00Z&date=le2024-03-30T18:30:00Z',
      at((x) => x > slot && x <= slot + 12 * HOUR),
    );
    // Comma ORs two days.
    await expectIds(
      'date=2024-03-30,2024-04-02',
      at((x) => x < mar31 || x >= Date.UTC(2024, 3, 2)),
    );
  });

  t('search by device: Device/{gatewayId}.{deviceId} or the bare id', async () => {
    const mon1 = idsWhere((r) => r.gatewayId === 'gw1' && r.deviceId === 'mon1');
    const pump = idsWhere((r) => r.gatewayId === 'ward.r7');
    await expectIds('device=Device/gw1.mon1', mon1);
    await expectIds('device=gw1.mon1', mon1);
    await expectIds('device=Device/ward.r7.pump.2', pump);
    await expectIds('device=gw1.mon1,ward.r7.pump.2', sorted([...mon1, ...pump]));
    await expectIds('device=gw1.mon', []);
    await expectIds('device=gw1', []);
    await expectIds('device=Patient/gw1.mon1', []);
    await expectIds(
      'device=gw1.mon1&code=8867-4&date=2024-03-30',
      idsWhere(
        (r) =>
          r.deviceId === 'mon1' &&
          r.parameter === 'MDC_ECG_HEART_RATE' &&
          r.deviceTime < Date.UTC(2024, 2, 31),
      ),
    );
  });

  t('_sort by date and _lastUpdated, both directions, several keys', async () => {
    const times = async (query: string, field: (o: Json) => string) =>
      (await search(`${query}&_count=1000`)).entry.map((e: Json) => field(e.resource));
    const effective = (o: Json) => o.effectiveDateTime;
    const updated = (o: Json) => o.meta.lastUpdated;
    const asc = (xs: string[]) => xs.every((x, i) => i === 0 || xs[i - 1] <= x);
    const desc = (xs: string[]) => xs.every((x, i) => i === 0 || xs[i - 1] >= x);

    const byDate = await times('_sort=date', effective);
    assert.is(byDate.length, ROWS.length);
    assert.ok(asc(byDate));
    assert.ok(desc(await times('_sort=-date', effective)));
    assert.ok(asc(await times('_sort=_lastUpdated', updated)));
    const latestFirst = await times('_sort=-_lastUpdated', updated);
    assert.ok(desc(latestFirst));
    assert.is(latestFirst[0], new Date(RECEIVED_LATEST).toISOString());
    // Within one date, later receivedAt first: the second key decides ties of the first.
    const twoKeys = (await search('_sort=date,-_lastUpdated&_count=1000')).entry.map(
      (e: Json) => e.resource,
    );
    for (let i = 1; i < twoKeys.length; i++) {
      const [a, b] = [twoKeys[i - 1], twoKeys[i]];
      assert.ok(
        a.effectiveDateTime < b.effectiveDateTime ||
          (a.effectiveDateTime === b.effectiveDateTime && a.meta.lastUpdated > b.meta.lastUpdated),
      );
    }
  });

  t(
    '_count pages through everything: no duplicates, none missing, next absent at the end',
    async () => {
      for (const sort of ['', '&_sort=-date', '&_sort=_lastUpdated']) {
        const seen: string[] = [];
        let url: string | undefined = `/Observation?_count=7${sort}`;
        let pages = 0;
        let previous: string | undefined;
        while (url) {
          const { body } = await get(url);
          pages++;
          assert.is(body.total, ROWS.length);
          const self = body.link.find((l: Json) => l.relation === 'self').url;
          assert.ok(self.startsWith('http://localhost/Observation?'));
          const prev = body.link.find((l: Json) => l.relation === 'previous')?.url;
          assert.is(prev, previous, 'previous link points at the page before');
          previous = self;
          for (const e of body.entry) {
            assert.is(e.fullUrl, `http://localhost/Observation/${e.resource.id}`);
            assert.equal(e.search, { mode: 'match' });
            seen.push(e.resource.id);
          }
          url = body.link.find((l: Json) => l.relation === 'next')?.url;
          if (url) assert.is(body.entry.length, 7);
        }
        assert.is(pages, Math.ceil(ROWS.length / 7));
        assert.is(new Set(seen).size, seen.length, 'no duplicates');
        assert.equal(sorted(seen), ALL_IDS, 'none missing');
      }
      // A filtered search keeps its filters in the links.
      const first = await search('patient=p2&_count=20');
      const next = first.link.find((l: Json) => l.relation === 'next').url;
      assert.is(next, 'http://localhost/Observation?patient=p2&_count=20&_offset=20');
      const last = (await get(next)).body;
      assert.is(last.entry.length, 12);
      assert.is(
        last.link.find((l: Json) => l.relation === 'next'),
        undefined,
      );
      // Exactly one page: no next.
      const exact = await search(`_count=${ROWS.length}`);
      assert.is(exact.entry.length, ROWS.length);
      assert.is(
        exact.link.find((l: Json) => l.relation === 'next'),
        undefined,
      );
    },
  );

  t('_count: default 50, capped at 1000, 0 gives the total only', async () => {
    const plain = await search('');
    assert.is(plain.entry.length, 50);
    assert.is(plain.total, ROWS.length);
    const capped = await search('_count=5000');
    assert.ok(capped.link[0].url.endsWith('_count=1000'));
    const zero = await search('patient=p1&_count=0');
    assert.is(zero.total, 48);
    assert.is(zero.entry, undefined);
    assert.is(
      zero.link.find((l: Json) => l.relation === 'next'),
      undefined,
    );
  });

  t('POST _search with a form body equals GET', async () => {
    const query = 'patient=p1&code=8867-4&date=ge2024-04-01&_sort=-date';
    const viaGet = await search(query);
    const { status, body } = await get('/Observation/_search', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: query,
    });
    assert.is(status, 200);
    assert.is(body.total, 8);
    assert.equal(
      body.entry.map((e: Json) => e.resource.id),
      viaGet.entry.map((e: Json) => e.resource.id),
    );
    assert.is(body.link[0].url, viaGet.link[0].url);
    const json = await get('/Observation/_search', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.is(json.status, 415);
    assert.is(json.body.resourceType, 'OperationOutcome');
  });

  t('bad search parameters → 400 OperationOutcome naming the parameter', async () => {
    await expect400('/Observation?foo=1', '"foo"', 'unknown');
    await expect400('/Observation?constructor=1', '"constructor"', 'unknown');
    await expect400('/Observation?_include=Observation:patient', '"_include"');
    await expect400('/Observation?code:text=heart', '"code:text"', 'modifier');
    await expect400('/Observation?date=2024-13-01', '"date"', 'month 13');
    await expect400('/Observation?date=2024-02-30', '"date"', 'day 30');
    await expect400('/Observation?date=yesterday', '"date"', 'not a date');
    await expect400('/Observation?date=xx2024-01-01', '"date"', 'unknown prefix "xx"');
    await expect400('/Observation?date=ap2024-01-01', '"date"', '"ap"');
    await expect400('/Observation?date=2024-03-30T06:30:00', '"date"', 'timezone');
    await expect400('/Observation?date=2024-03-30T25:00:00Z', '"date"', 'hour');
    await expect400('/Observation?code=http://loinc.org|', '"code"', 'no code');
    await expect400('/Observation?code=8867-4,', '"code"', 'empty alternative');
    await expect400('/Observation?_count=-1', '"_count"');
    await expect400('/Observation?_count=ten', '"_count"');
    await expect400('/Observation?_sort=value', '"_sort"', '"value"');
    await expect400('/Observation?_count=5&_count=6', '"_count"', 'once');
    await expect400('/Observation?patient=a/b/c', '"patient"');
    await expect400('/Patient?birthdate=1950', '"birthdate"');
    await expect400('/Patient?_sort=name', '"_sort"');
  });

  t('Patient read and search by identifier and name', async () => {
    const { status, body } = await get('/Patient/p1');
    assert.is(status, 200);
    assert.equal(body, {
      resourceType: 'Patient',
      id: 'p1',
      meta: { versionId: '3', lastUpdated: '2024-03-01T08:00:00.000Z' },
      identifier: [
        {
          type: {
            coding: [
              {
                system: 'http://terminology.hl7.org/CodeSystem/v2-0203',
                code: 'MR',
                display: 'Medical record number',
              },
            ],
          },
          system: MRN_SYSTEM,
          value: 'MRN-0001',
        },
      ],
      name: [{ family: 'Doe', given: ['Jane'] }],
      gender: 'female',
      birthDate: '1950-04-02',
    });
    const ids = async (query: string) => {
      const res = await get(`/Patient?${query}`);
      assert.is(res.status, 200, query);
      assert.is(res.body.total, (res.body.entry ?? []).length);
      return (res.body.entry ?? []).map((e: Json) => e.resource.id);
    };
    assert.equal(await ids(`identifier=${MRN_SYSTEM}|MRN-0002`), ['p2']);
    assert.equal(await ids('identifier=MRN-0002'), ['p2']);
    assert.equal(await ids('identifier=MRN-0001,MRN-0003'), ['p1', 'p3']);
    assert.equal(await ids('identifier=http://other|MRN-0002'), []);
    assert.equal(await ids('identifier=|MRN-0002'), []);
    assert.equal(await ids('name=doe'), ['p1']);
    assert.equal(await ids('name=SMI'), ['p2']);
    assert.equal(await ids('name=jan'), ['p1']);
    assert.equal(await ids('name=do'), ['p1', 'p2']);
    assert.equal(await ids('name=oe'), []);
    assert.equal(await ids('name=O_'), ['p3']);
    assert.equal(await ids('name=%25'), []);
    assert.equal(await ids('name=do&identifier=MRN-0002'), ['p2']);
    const paged = await get('/Patient?_count=2');
    assert.is(paged.body.total, 3);
    assert.is(
      paged.body.link.find((l: Json) => l.relation === 'next').url,
      'http://localhost/Patient?_count=2&_offset=2',
    );
  });

  t('links follow the mount point, or baseUrl when given', async () => {
    const parent = new Hono().route('/fhir/R4', app);
    const res = await parent.request(
      'http://ehr.example:8080/fhir/R4/Observation?patient=p1&_count=10',
    );
    const body: Json = await res.json();
    assert.is(
      body.link.find((l: Json) => l.relation === 'next').url,
      'http://ehr.example:8080/fhir/R4/Observation?patient=p1&_count=10&_offset=10',
    );
    assert.is(
      body.entry[0].fullUrl,
      `http://ehr.example:8080/fhir/R4/Observation/${body.entry[0].resource.id}`,
    );
    const meta: Json = await (
      await parent.request('http://ehr.example:8080/fhir/R4/metadata')
    ).json();
    assert.is(meta.implementation.url, 'http://ehr.example:8080/fhir/R4');

    const fixed = fhirApp(database.db, { baseUrl: 'https://fhir.example.org/R4/' });
    const viaFixed: Json = await (await fixed.request('/Patient?name=doe')).json();
    assert.is(viaFixed.entry[0].fullUrl, 'https://fhir.example.org/R4/Patient/p1');
    assert.is(viaFixed.link[0].url, 'https://fhir.example.org/R4/Patient?name=doe&_count=50');
  });

  t.run();
}
