// Admission, transfer and discharge against a running cloud (HTTP and MQTT), on PGlite and
// PostgreSQL: the Encounter follows the stay, the ward's gateway gets display names only,
// readings are charted to the patient in the bed when they were taken (also across a transfer),
// and the trends API buckets them.
import {
  downTopic,
  encodeEnvelope,
  type GatewayConfigDown,
  generateSigningKeyPair,
  initCrypto,
  type Reading,
  sealEnvelope,
  upTopic,
} from '@wardgate/shared';
import { waitFor } from '@wardgate/shared/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startCloud } from '../src/server.ts';
import { apiToken, fetchWith } from './support/api-token.ts';
import { connectGateway } from './support/gateway-client.ts';
import { savePatients } from './support/patients.ts';
import { testDatabaseTargets } from './support/test-database.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked field by field below.
type Json = any;

await initCrypto();

const GW = 'ward-adt';
const MINUTE = 60_000;
/** 2025-06-01T10:00Z: admission; transfer at +30 min; discharge at +60 min. */
const T0 = Date.UTC(2025, 5, 1, 10);

function heartRates(firstSeq: number, bedId: string, from: number, values: number[]): Reading[] {
  return values.map((value, i) => ({
    seq: firstSeq + i,
    deviceId: `${bedId}-monitor`,
    bedId,
    parameter: 'MDC_ECG_HEART_RATE',
    value,
    unit: '/min',
    deviceTime: from + i * MINUTE,
    gatewayTime: from + i * MINUTE + 5,
    quality: 'valid',
  }));
}

for (const target of testDatabaseTargets()) {
  test(`${target.name}: admit, transfer, discharge: Encounter, gateway config, charting and trends`, async () => {
    const cloud = await startCloud({
      database: await target.open(),
      httpPort: 0,
      mqttPort: 0,
      // Charted here on demand (runNow), in 10-minute slots.
      charting: { intervalSeconds: 600, settleSeconds: 0, runEverySeconds: 3600 },
    });
    try {
      // An API client allowed everything signs every request of this test.
      const fetch = fetchWith(await apiToken(cloud));
      const { db } = cloud.database;
      await savePatients(db, [
        {
          id: 'p1',
          mrn: 'MRN-0001',
          family: 'Okafor',
          given: 'Ada',
          gender: 'female',
          birthDate: '1950-02-03',
        },
        {
          id: 'p2',
          mrn: 'MRN-0002',
          family: 'Lind',
          given: 'Bo',
          gender: 'male',
          birthDate: '1961-07-08',
        },
      ]);
      const keys = generateSigningKeyPair();
      await cloud.addGateway({ id: GW, publicKey: keys.publicKey, password: 'pw' });
      const gateway = await connectGateway(cloud.mqttUrl, GW, 'pw');
      await gateway.client.subscribeAsync([downTopic(GW, 'config'), downTopic(GW, 'ack')], {
        qos: 1,
      });
      const config = () => gateway.received<GatewayConfigDown>(downTopic(GW, 'config')).at(-1);

      const post = async (path: string, body: unknown) => {
        const res = await fetch(`${cloud.httpUrl}/api/adt/${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as Json };
      };
      const iso = (ms: number) => new Date(ms).toISOString();

      // Admission: an in-progress Encounter in bed-1, and the ward sees "Ada O." only.
      const admitted = await post('admit', {
        patientId: 'p1',
        to: { gatewayId: GW, bedId: 'bed-1' },
        at: iso(T0),
      });
      assert.is(admitted.status, 200, JSON.stringify(admitted.body));
      const encounterId = admitted.body.encounter.id;
      assert.is(admitted.body.encounter.status, 'in-progress');
      assert.is(admitted.body.encounter.location[0].location.reference, `Location/${GW}.bed-1`);
      await waitFor(
        () => config()?.beds.find((b) => b.bedId === 'bed-1' && b.displayName === 'Ada O.'),
        {
          what: 'the display name on the ward',
        },
      );
      const sent = JSON.stringify(config());
      for (const secret of ['MRN-0001', 'Okafor', 'p1', '1950'])
        assert.not.ok(sent.includes(secret), `the gateway config carries no ${secret}`);

      // Refusals, each with its reason.
      const refusals: [string, unknown, number, string][] = [
        [
          'admit',
          { patientId: 'p1', to: { gatewayId: GW, bedId: 'bed-3' } },
          409,
          'already_admitted',
        ],
        ['admit', { patientId: 'p2', to: { gatewayId: GW, bedId: 'bed-1' } }, 409, 'bed_occupied'],
        [
          'admit',
          { patientId: 'p9', to: { gatewayId: GW, bedId: 'bed-2' } },
          404,
          'unknown_patient',
        ],
        ['transfer', { patientId: 'p1', to: { gatewayId: GW, bedId: 'bed-1' } }, 409, 'same_bed'],
        [
          'transfer',
          { patientId: 'p2', to: { gatewayId: GW, bedId: 'bed-4' } },
          409,
          'not_admitted',
        ],
        ['discharge', { patientId: 'p2' }, 409, 'not_admitted'],
        ['admit', { patientId: 'p2', to: { gatewayId: GW, bedId: 'bed 1!' } }, 400, 'invalid_bed'],
        ['admit', { patientId: 'p2' }, 400, 'invalid_body'],
      ];
      for (const [path, body, status, code] of refusals) {
        const r = await post(path, body);
        assert.is(r.status, status, `${path} ${JSON.stringify(body)}`);
        assert.is(r.body.error.code, code);
      }

      // Transfer at +30 min to bed-2; p2 is admitted to bed-1 at the same moment.
      const moved = await post('transfer', {
        patientId: 'p1',
        to: { gatewayId: GW, bedId: 'bed-2' },
        at: iso(T0 + 30 * MINUTE),
      });
      assert.is(moved.status, 200, JSON.stringify(moved.body));
      assert.is(moved.body.encounter.id, encounterId, 'one Encounter for the whole stay');
      assert.equal(
        moved.body.encounter.location.map((l: Json) => [l.location.reference, l.status]),
        [
          [`Location/${GW}.bed-1`, 'completed'],
          [`Location/${GW}.bed-2`, 'active'],
        ],
      );
      assert.is(
        (
          await post('admit', {
            patientId: 'p2',
            to: { gatewayId: GW, bedId: 'bed-1' },
            at: iso(T0 + 30 * MINUTE),
          })
        ).status,
        200,
      );

      // Readings from both beds across the transfer: bed-1 before it is Ada's, after it Bo's.
      const records = [
        ...heartRates(1, 'bed-1', T0 + 10 * MINUTE, [70, 72, 74]), // +10..+12: Ada in bed-1
        ...heartRates(4, 'bed-1', T0 + 40 * MINUTE, [90, 91]), // +40..+41: Bo in bed-1
        ...heartRates(6, 'bed-2', T0 + 40 * MINUTE, [80, 86]), // +40..+41: Ada in bed-2
      ];
      await gateway.client.publishAsync(
        upTopic(GW, 'readings'),
        encodeEnvelope(sealEnvelope(GW, 'readings', records, keys.secretKey)),
        { qos: 1 },
      );
      await waitFor(
        () => gateway.received<{ upTo: number }>(downTopic(GW, 'ack')).some((a) => a.upTo === 7),
        {
          what: 'the readings acked',
        },
      );

      const trend = async (patient: string, bucket: number) => {
        const q = new URLSearchParams({
          patient,
          parameter: '8867-4',
          from: iso(T0),
          to: iso(T0 + 60 * MINUTE),
          bucket: String(bucket),
        });
        const res = await fetch(`${cloud.httpUrl}/api/trends?${q}`);
        assert.is(res.status, 200);
        return (await res.json()) as Json;
      };
      const ada = await trend('p1', 3600);
      assert.is(ada.parameter.mdc, 'MDC_ECG_HEART_RATE', 'LOINC 8867-4 is the heart rate');
      assert.equal(ada.buckets, [
        { start: iso(T0), min: 70, max: 86, mean: (70 + 72 + 74 + 80 + 86) / 5, count: 5 },
      ]);
      const bo = await trend('p2', 600);
      assert.equal(bo.buckets, [
        { start: iso(T0 + 40 * MINUTE), min: 90, max: 91, mean: 90.5, count: 2 },
      ]);

      // Charting: one Observation per 10-minute slot, the slot's latest reading, to the patient
      // who lay in the bed then, with the device and the stay's Encounter; preliminary.
      assert.equal(await cloud.charting.runNow(), { slotsFound: 3, charted: 3, alerts: 0 });
      const charted = async (patient: string) =>
        (
          await (
            await fetch(
              `${cloud.httpUrl}/fhir/R4/Observation?patient=${patient}&code=http://loinc.org|8867-4&_sort=date`,
            )
          ).json()
        ).entry.map(({ resource: o }: Json) => [
          o.effectiveDateTime,
          o.valueQuantity.value,
          o.status,
          o.device.reference,
          o.encounter.reference,
        ]);
      assert.equal(await charted('p1'), [
        [
          iso(T0 + 12 * MINUTE),
          74,
          'preliminary',
          `Device/${GW}.bed-1-monitor`,
          `Encounter/${encounterId}`,
        ],
        [
          iso(T0 + 41 * MINUTE),
          86,
          'preliminary',
          `Device/${GW}.bed-2-monitor`,
          `Encounter/${encounterId}`,
        ],
      ]);
      const boCharted = await charted('p2');
      assert.equal(
        boCharted.map((row: unknown[]) => row.slice(0, 4)),
        [[iso(T0 + 41 * MINUTE), 91, 'preliminary', `Device/${GW}.bed-1-monitor`]],
      );
      assert.is.not(boCharted[0][4], `Encounter/${encounterId}`, "Bo's own stay");
      assert.equal(
        await cloud.charting.runNow(),
        { slotsFound: 0, charted: 0, alerts: 0 },
        'charted once',
      );

      // A nurse validates Ada's chart: final, the validator recorded, the preliminary version kept.
      const validated = await fetch(`${cloud.httpUrl}/api/chart/validate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ patientId: 'p1', by: 'Nurse N. Ward' }),
      });
      const validatedBody = (await validated.json()) as Json;
      assert.is(validated.status, 200, JSON.stringify(validatedBody));
      assert.is(validatedBody.validated.length, 2);
      const finals = await charted('p1');
      assert.equal(
        finals.map((row: unknown[]) => row[2]),
        ['final', 'final'],
      );
      const first = await (
        await fetch(`${cloud.httpUrl}/fhir/R4/${validatedBody.validated[0]}/_history`)
      ).json();
      assert.equal(
        first.entry.map((e: Json) => e.resource.status),
        ['final', 'preliminary'],
      );
      // The validator is who signed in (here the API client), not a name in the body.
      assert.equal(first.entry[0].resource.performer, [{ display: 'client:test client' }]);
      assert.equal(
        (await charted('p2')).map((row: unknown[]) => row[2]),
        ['preliminary'],
      );
      const bad = await fetch(
        `${cloud.httpUrl}/api/trends?patient=p1&parameter=nonsense&from=${iso(T0)}&to=${iso(T0 + MINUTE)}`,
      );
      assert.is(bad.status, 400);
      const tooMany = await fetch(
        `${cloud.httpUrl}/api/trends?patient=p1&parameter=MDC_ECG_HEART_RATE&from=2000-01-01T00:00:00Z&to=2025-01-01T00:00:00Z&bucket=1`,
      );
      assert.is(tooMany.status, 400);

      // Discharge: the Encounter is finished, and bed-2 is empty on the ward.
      const out = await post('discharge', { patientId: 'p1', at: iso(T0 + 60 * MINUTE) });
      assert.is(out.status, 200, JSON.stringify(out.body));
      assert.is(out.body.encounter.status, 'finished');
      assert.is(out.body.encounter.period.end, iso(T0 + 60 * MINUTE));
      assert.is(out.body.bed, null);
      await waitFor(() => !config()?.beds.some((b) => b.bedId === 'bed-2' && b.displayName), {
        what: 'bed-2 empty on the ward',
      });
      const fhir = await (
        await fetch(`${cloud.httpUrl}/fhir/R4/Encounter?patient=p1&status=finished`)
      ).json();
      assert.is(fhir.total, 1);
      assert.is(fhir.entry[0].resource.id, encounterId);
      const history = await (
        await fetch(`${cloud.httpUrl}/fhir/R4/Encounter/${encounterId}/_history`)
      ).json();
      assert.is(history.total, 3, 'admitted, transferred, discharged');
      gateway.client.end(true);
    } finally {
      await cloud.stop();
    }
  });
}

test.run();
