import type { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { alarmsApp } from '../src/alarms/routes.ts';
import type { Database } from '../src/db/database.ts';
import { alarmEvents } from '../src/db/schema.ts';
import { ALARM_EXTENSION, flagId, writeAlarmFlags } from '../src/fhir/flag.ts';
import { apiUnderTest, fhirAppAs } from './support/access.ts';
import { testDatabaseTargets } from './support/test-database.ts';

type EventRow = typeof alarmEvents.$inferInsert;
// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked field by field below.
type Json = any;

const MINUTE = 60_000;
/** 2024-05-01T08:00Z */
const T0 = Date.UTC(2024, 4, 1, 8);
const LONG_ID = `x${'y'.repeat(99)}`;
const ODD_ID = 'hl7:ALM/42';

interface AlarmSpec {
  gatewayId: string;
  alarmId: string;
  bedId: string;
  deviceId: string;
  patientId: string | null;
  condition: string;
  parameter?: string;
  priority: string;
  kind: string;
  source: string;
  /** [transition, minutes after T0, extra columns] */
  steps: [string, number, Partial<EventRow>?][];
}

/**
 * gw1 (ward A): a1 raised → acknowledged → cleared; a2 raised → escalated (medium → high);
 * a3 raised → silenced (still active); a4 raised. gw2 (ward B): an id with ':' and '/', acked;
 * b2 on an empty bed, cleared the day before; a 100-character id.
 */
const ALARMS: AlarmSpec[] = [
  {
    gatewayId: 'gw1',
    alarmId: 'a1',
    bedId: 'bed1',
    deviceId: 'mon1',
    patientId: 'p1',
    condition: 'MDC_EVT_LO',
    parameter: 'MDC_PULS_OXIM_SAT_O2',
    priority: 'medium',
    kind: 'physiological',
    source: 'gateway',
    steps: [
      ['raised', 0, { value: 86, limit: 90, message: 'SpO2 86 % < 90' }],
      ['acknowledged', 1, { actor: 'nurse-7' }],
      ['cleared', 5, { value: 93 }],
    ],
  },
  {
    gatewayId: 'gw1',
    alarmId: 'a2',
    bedId: 'bed1',
    deviceId: 'mon1',
    patientId: 'p1',
    condition: 'MDC_EVT_HI',
    parameter: 'MDC_ECG_HEART_RATE',
    priority: 'medium',
    kind: 'physiological',
    source: 'gateway',
    steps: [
      ['raised', 10, { value: 150, limit: 140, message: 'HR 150 > 140' }],
      ['escalated', 12, { priority: 'high', value: 155 }],
    ],
  },
  {
    gatewayId: 'gw1',
    alarmId: 'a3',
    bedId: 'bed2',
    deviceId: 'ox1',
    patientId: 'p2',
    condition: 'WG_SENSOR_OFF',
    priority: 'low',
    kind: 'technical',
    source: 'device',
    steps: [
      ['raised', 20, { message: 'Sensor off' }],
      ['silenced', 21, { actor: 'nurse-2' }],
    ],
  },
  {
    gatewayId: 'gw1',
    alarmId: 'a4',
    bedId: 'bed2',
    deviceId: 'ox1',
    patientId: 'p2',
    condition: 'MDC_EVT_LO',
    parameter: 'MDC_PULS_OXIM_SAT_O2',
    priority: 'medium',
    kind: 'physiological',
    source: 'gateway',
    steps: [['raised', 30, { value: 88, limit: 90 }]],
  },
  {
    gatewayId: 'gw2',
    alarmId: ODD_ID,
    bedId: 'bed1',
    deviceId: 'mon9',
    patientId: 'p3',
    condition: 'MDC_EVT_HI',
    priority: 'high',
    kind: 'physiological',
    source: 'device',
    steps: [
      ['raised', 15],
      ['acknowledged', 16, { actor: 'nurse-9' }],
    ],
  },
  {
    gatewayId: 'gw2',
    alarmId: 'b2',
    bedId: 'bed9',
    deviceId: 'pump3',
    patientId: null,
    condition: 'WG_DEVICE_SILENT',
    priority: 'medium',
    kind: 'technical',
    source: 'gateway',
    steps: [
      ['raised', -24 * 60],
      ['cleared', -23 * 60],
    ],
  },
  {
    gatewayId: 'gw2',
    alarmId: LONG_ID,
    bedId: 'bed1',
    deviceId: 'mon9',
    patientId: 'p3',
    condition: 'MDC_EVT_LO',
    priority: 'low',
    kind: 'physiological',
    source: 'device',
    steps: [['raised', 40]],
  },
];

/** Transitions of all alarms, interleaved in time, numbered per gateway like the edge does. */
function fixtureRows(): EventRow[] {
  const rows = ALARMS.flatMap(({ steps, ...alarm }) =>
    steps.map(([transition, minutes, extra]) => ({
      ...alarm,
      transition,
      time: T0 + minutes * MINUTE,
      ...extra,
    })),
  ).sort((a, b) => a.time - b.time);
  const seqs = new Map<string, number>();
  return rows.map((row) => {
    const seq = (seqs.get(row.gatewayId) ?? 0) + 1;
    seqs.set(row.gatewayId, seq);
    return { ...row, seq, receivedAt: row.time + 500 };
  });
}

const key = (a: Json) => `${a.gatewayId}/${a.alarmId}`;

for (const target of testDatabaseTargets()) {
  const t = suite(`alarms (${target.name})`);
  let database: Database;
  let api: Hono;
  let fhir: Hono;

  t.before(async () => {
    database = await target.open();
    await database.db.insert(alarmEvents).values(fixtureRows());
    // Their Flags, as ingest writes them with the transitions.
    await writeAlarmFlags(
      database.db,
      ALARMS.map(({ gatewayId, alarmId }) => ({ gatewayId, alarmId })),
    );
    api = apiUnderTest(database.db).app.route('/api/alarms', alarmsApp(database.db));
    fhir = fhirAppAs(database.db);
  });
  t.after(async () => {
    await database.close();
  });

  async function get(app: Hono, path: string): Promise<{ status: number; body: Json }> {
    const res = await app.request(path);
    return { status: res.status, body: await res.json() };
  }
  async function ok(path: string): Promise<Json> {
    const { status, body } = await get(api, path);
    assert.is(status, 200, `${path}: ${JSON.stringify(body)}`);
    return body;
  }
  async function activeKeys(query: string): Promise<string[]> {
    return (await ok(`/api/alarms/active${query}`)).alarms.map(key);
  }
  /** Every alarm of a history query, following next links; checks total on each page. */
  async function historyKeys(query: string, pageSize: number): Promise<string[]> {
    const keys: string[] = [];
    let path: string | null = `/api/alarms?${query}&_count=${pageSize}`;
    let total: number | undefined;
    while (path) {
      const body = await ok(path);
      assert.ok(body.alarms.length <= pageSize);
      total ??= body.total;
      assert.is(body.total, total, 'total stays the same on every page');
      keys.push(...body.alarms.map(key));
      path = body.next;
    }
    assert.is(keys.length, total, `${query}: total`);
    return keys;
  }
  async function expect400(app: Hono, path: string, mention: string) {
    const { status, body } = await get(app, path);
    assert.is(status, 400, path);
    const message = body.error?.message ?? body.issue?.[0]?.diagnostics;
    assert.ok(message?.includes(mention), `${path}: "${message}" lacks "${mention}"`);
  }

  t('active: not cleared, high first, then newest raised first', async () => {
    assert.equal(await activeKeys(''), [
      `gw2/${ODD_ID}`,
      'gw1/a2',
      'gw1/a4',
      `gw2/${LONG_ID}`,
      'gw1/a3',
    ]);
  });

  t('active: filtered by gateway (ward), bed and patient', async () => {
    assert.equal(await activeKeys('?gateway=gw1'), ['gw1/a2', 'gw1/a4', 'gw1/a3']);
    assert.equal(await activeKeys('?gateway=gw1&bed=bed2'), ['gw1/a4', 'gw1/a3']);
    assert.equal(await activeKeys('?bed=bed1'), [`gw2/${ODD_ID}`, 'gw1/a2', `gw2/${LONG_ID}`]);
    assert.equal(await activeKeys('?patient=p3'), [`gw2/${ODD_ID}`, `gw2/${LONG_ID}`]);
    assert.equal(await activeKeys('?patient=p1&gateway=gw1'), ['gw1/a2']);
    assert.equal(await activeKeys('?gateway=gw9'), []);
  });

  t('active: each alarm derived from its transitions', async () => {
    const { alarms } = await ok('/api/alarms/active?gateway=gw1');
    const [a2, a4, a3] = alarms;
    assert.equal(a2, {
      gatewayId: 'gw1',
      alarmId: 'a2',
      bedId: 'bed1',
      deviceId: 'mon1',
      patientId: 'p1',
      condition: 'MDC_EVT_HI',
      parameter: 'MDC_ECG_HEART_RATE',
      priority: 'high',
      kind: 'physiological',
      source: 'gateway',
      state: 'active',
      active: true,
      raisedAt: T0 + 10 * MINUTE,
      acknowledged: null,
      silenced: null,
      escalated: true,
      clearedAt: null,
      lastValue: 155,
      limit: 140,
      message: 'HR 150 > 140',
    });
    assert.is(a4.priority, 'medium');
    assert.is(a4.escalated, false);
    assert.equal(a3.silenced, { by: 'nurse-2', at: T0 + 21 * MINUTE });
    assert.is(a3.state, 'active');
    assert.is(a3.kind, 'technical');
    const [odd] = (await ok('/api/alarms/active?gateway=gw2')).alarms;
    assert.is(odd.state, 'acknowledged');
    assert.equal(odd.acknowledged, { by: 'nurse-9', at: T0 + 16 * MINUTE });
  });

  t('history: newest raised first, cleared ones with clearedAt, paged by cursor', async () => {
    const all = [
      `gw2/${LONG_ID}`,
      'gw1/a4',
      'gw1/a3',
      `gw2/${ODD_ID}`,
      'gw1/a2',
      'gw1/a1',
      'gw2/b2',
    ];
    for (const size of [1, 2, 3, 7, 50])
      assert.equal(await historyKeys('', size), all, `size ${size}`);
    const body = await ok('/api/alarms?gateway=gw1&_count=2');
    assert.is(body.total, 4);
    assert.match(body.next, /^\/api\/alarms\?gateway=gw1&_count=2&cursor=[\w-]+$/);
    const [a1] = (await ok('/api/alarms?gateway=gw1&bed=bed1&to=2024-05-01T08:05:00Z')).alarms;
    assert.is(a1.alarmId, 'a1');
    assert.is(a1.state, 'cleared');
    assert.is(a1.active, false);
    assert.is(a1.clearedAt, T0 + 5 * MINUTE);
    assert.equal(a1.acknowledged, { by: 'nurse-7', at: T0 + MINUTE });
    assert.is(a1.lastValue, 93);
  });

  t('history: range on raise time, priority, kind, patient', async () => {
    assert.equal(await historyKeys('from=2024-04-30&to=2024-04-30', 10), ['gw2/b2']);
    assert.equal(await historyKeys('from=2024-05-01', 10), [
      `gw2/${LONG_ID}`,
      'gw1/a4',
      'gw1/a3',
      `gw2/${ODD_ID}`,
      'gw1/a2',
      'gw1/a1',
    ]);
    // `to` is the end of its value's range: 08:20 includes the minute 08:20.
    assert.equal(await historyKeys('from=2024-05-01T08:10:00Z&to=2024-05-01T08:20Z', 10), [
      'gw1/a3',
      `gw2/${ODD_ID}`,
      'gw1/a2',
    ]);
    assert.equal(await historyKeys('from=2024-05-01T10:10:00%2B02:00', 10), [
      `gw2/${LONG_ID}`,
      'gw1/a4',
      'gw1/a3',
      `gw2/${ODD_ID}`,
      'gw1/a2',
    ]);
    // Current priority: a2 was escalated to high.
    assert.equal(await historyKeys('priority=high', 10), [`gw2/${ODD_ID}`, 'gw1/a2']);
    assert.equal(await historyKeys('priority=low,medium&gateway=gw1', 1), [
      'gw1/a4',
      'gw1/a3',
      'gw1/a1',
    ]);
    assert.equal(await historyKeys('kind=technical', 1), ['gw1/a3', 'gw2/b2']);
    assert.equal(await historyKeys('patient=p1', 1), ['gw1/a2', 'gw1/a1']);
  });

  t('one alarm: every transition in order', async () => {
    const body = await ok('/api/alarms/gw1/a1');
    assert.is(body.state, 'cleared');
    assert.equal(body.transitions, [
      {
        seq: 1,
        transition: 'raised',
        time: T0,
        actor: null,
        value: 86,
        priority: 'medium',
        message: 'SpO2 86 % < 90',
      },
      {
        seq: 2,
        transition: 'acknowledged',
        time: T0 + MINUTE,
        actor: 'nurse-7',
        value: null,
        priority: 'medium',
        message: null,
      },
      {
        seq: 3,
        transition: 'cleared',
        time: T0 + 5 * MINUTE,
        actor: null,
        value: 93,
        priority: 'medium',
        message: null,
      },
    ]);
    const escalated = await ok('/api/alarms/gw1/a2');
    assert.equal(
      escalated.transitions.map((x: Json) => [x.transition, x.priority]),
      [
        ['raised', 'medium'],
        ['escalated', 'high'],
      ],
    );
    const odd = await ok(`/api/alarms/gw2/${encodeURIComponent(ODD_ID)}`);
    assert.is(odd.alarmId, ODD_ID);
    assert.equal(
      odd.transitions.map((x: Json) => x.transition),
      ['raised', 'acknowledged'],
    );
  });

  t('errors: 404 for an unknown alarm, 400 for bad parameters', async () => {
    for (const path of ['/api/alarms/gw1/nope', '/api/alarms/gw2/a1']) {
      const { status, body } = await get(api, path);
      assert.is(status, 404, path);
      assert.is(body.error.code, 'not_found');
      assert.ok(body.error.message.includes('is not known'), body.error.message);
    }
    const unrouted = await get(api, '/api/alarms/a/b/c');
    assert.is(unrouted.status, 404);
    assert.is(unrouted.body.error.code, 'not_found');

    const bad = await get(api, '/api/alarms?from=yesterday');
    assert.is(bad.body.error.code, 'invalid_parameter');
    await expect400(api, '/api/alarms?from=yesterday', 'from');
    await expect400(api, '/api/alarms?to=2024-13-01', 'month 13 out of range');
    await expect400(api, '/api/alarms?from=2024-05-01T08:00', 'timezone');
    await expect400(api, '/api/alarms?from=ge2024-05-01', 'no prefixes');
    await expect400(api, '/api/alarms?from=2024-05-02&to=2024-05-01', 'is not after');
    await expect400(api, '/api/alarms?priority=urgent', 'high, medium, low');
    await expect400(api, '/api/alarms?kind=clinical', 'physiological, technical');
    await expect400(api, '/api/alarms?_count=0', '_count');
    await expect400(api, '/api/alarms?_count=1001', '_count');
    await expect400(api, '/api/alarms?cursor=bm9wZQ', 'cursor');
    await expect400(api, '/api/alarms?ward=gw1', 'unknown parameter');
    await expect400(api, '/api/alarms/active?from=2024-05-01', 'unknown parameter');
    await expect400(api, '/api/alarms/active?gateway=gw1&gateway=gw2', 'only once');
  });

  t('Flag: id keeps plain alarm ids, hashes the others within 64 characters', () => {
    assert.is(flagId('gw1', 'a1'), 'gw1.a1');
    for (const id of [
      flagId('gw2', ODD_ID),
      flagId('gw2', LONG_ID),
      flagId('a'.repeat(31), ODD_ID),
    ]) {
      assert.ok(/^[A-Za-z0-9.-]{1,64}$/.test(id), id);
    }
    assert.match(flagId('gw2', ODD_ID), /^gw2\.hl7-ALM-42\.[0-9a-f]{16}$/);
    assert.is.not(flagId('gw2', 'hl7:ALM-42'), flagId('gw2', ODD_ID));
  });

  t('Flag: read renders the alarm', async () => {
    const { status, body } = await get(fhir, '/Flag/gw1.a1');
    assert.is(status, 200, JSON.stringify(body));
    assert.is(body.resourceType, 'Flag');
    assert.is(body.id, 'gw1.a1');
    assert.is(body.status, 'inactive');
    assert.equal(body.category, [
      {
        coding: [{ system: 'urn:wardgate:flag-category', code: 'alarm', display: 'Device alarm' }],
      },
    ]);
    assert.equal(body.code, {
      coding: [{ system: 'urn:iso:std:iso:11073:10101', code: 'MDC_EVT_LO' }],
      text: 'SpO2 86 % < 90',
    });
    assert.equal(body.subject, { reference: 'Patient/p1' });
    assert.equal(body.period, {
      start: '2024-05-01T08:00:00.000Z',
      end: '2024-05-01T08:05:00.000Z',
    });
    assert.equal(body.author, { reference: 'Device/gw1.mon1' });
    assert.equal(body.identifier, [{ system: 'urn:wardgate:alarm', value: 'gw1/a1' }]);
    const ext = (url: string) => body.extension.find((e: Json) => e.url === url);
    assert.is(ext(ALARM_EXTENSION.priority).valueCode, 'medium');
    assert.is(ext(ALARM_EXTENSION.kind).valueCode, 'physiological');
    assert.is(ext(ALARM_EXTENSION.limit).valueDecimal, 90);
    assert.is(
      ext(ALARM_EXTENSION.parameter).valueCodeableConcept.coding[0].display,
      'MDC_PULS_OXIM_SAT_O2',
    );
    assert.equal(ext(ALARM_EXTENSION.acknowledged).extension, [
      { url: 'by', valueString: 'nurse-7' },
      { url: 'at', valueDateTime: '2024-05-01T08:01:00.000Z' },
    ]);

    const technical = (await get(fhir, '/Flag/gw2.b2')).body;
    assert.equal(technical.code.coding, [
      { system: 'urn:wardgate:alarm-condition', code: 'WG_DEVICE_SILENT' },
    ]);
    assert.is(technical.subject.type, 'Location');
    assert.equal(technical.subject.identifier, { system: 'urn:wardgate:bed', value: 'gw2/bed9' });

    for (const alarmId of [ODD_ID, LONG_ID]) {
      const id = flagId('gw2', alarmId);
      const read = await get(fhir, `/Flag/${id}`);
      assert.is(read.status, 200, id);
      assert.is(read.body.id, id);
      assert.is(read.body.identifier[0].value, `gw2/${alarmId}`);
      assert.is(read.body.status, 'active');
    }
    for (const id of ['gw1.nope', 'gw9.a1', 'nodot', `gw2.hl7-ALM-42.${'0'.repeat(16)}`]) {
      const missing = await get(fhir, `/Flag/${id}`);
      assert.is(missing.status, 404, id);
      assert.is(missing.body.resourceType, 'OperationOutcome');
    }
  });

  t('Flag: search by patient, status, category and date, sorted, paged', async () => {
    async function flagIds(query: string): Promise<string[]> {
      const ids: string[] = [];
      let url: string | undefined = `/Flag?${query}&_sort=date&_count=2`;
      while (url) {
        const { status, body } = await get(fhir, url);
        assert.is(status, 200, `${url}: ${JSON.stringify(body)}`);
        assert.is(body.type, 'searchset');
        ids.push(...(body.entry ?? []).map((e: Json) => e.resource.id));
        url = body.link.find((l: Json) => l.relation === 'next')?.url;
      }
      return ids;
    }
    const odd = flagId('gw2', ODD_ID);
    const long = flagId('gw2', LONG_ID);
    assert.equal(await flagIds('patient=p1'), ['gw1.a1', 'gw1.a2']);
    assert.equal(await flagIds('subject=Patient/p3&status=active'), [odd, long]);
    assert.equal(await flagIds('status=inactive'), ['gw2.b2', 'gw1.a1']);
    assert.equal(await flagIds('status=active&patient=p2'), ['gw1.a3', 'gw1.a4']);
    assert.equal(await flagIds('category=urn:wardgate:flag-category|alarm'), [
      'gw2.b2',
      'gw1.a1',
      'gw1.a2',
      odd,
      'gw1.a3',
      'gw1.a4',
      long,
    ]);
    // date is the alarm's period: from raised to cleared, open while active.
    assert.equal(await flagIds('date=ge2024-05-01T08:15:00Z'), [
      'gw1.a2',
      odd,
      'gw1.a3',
      'gw1.a4',
      long,
    ]);
    assert.equal(await flagIds('date=2024-04-30'), ['gw2.b2']);
    assert.equal(await flagIds('patient=Group/p1'), []);
    assert.equal(await flagIds('status=open'), [], 'not a Flag status: matches nothing');
    const { body } = await get(fhir, '/Flag?patient=p3&_sort=date');
    assert.is(body.total, 2);
    assert.is(body.entry[0].fullUrl, `http://localhost/Flag/${odd}`);
    await expect400(fhir, '/Flag?date=2024-05-01T08', 'date');
    await expect400(fhir, '/Flag?code=MDC_EVT_HI', 'code');
  });

  t.run();
}
