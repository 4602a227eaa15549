// The whole spine over loopback, every part real: simulated devices speaking HL7/MLLP, Modbus TCP
// and serial lines → the edge gateway (SQLite, signed envelopes) → the cloud's aedes broker over
// TCP → ingest into PGlite (and PostgreSQL when TEST_DATABASE_URL is set) → charted Observations
// (2-second slots here) → FHIR search.
import { readings } from '@wardgate/cloud/src/db/schema.ts';
import { apiToken, fetchWith } from '@wardgate/cloud/test/support/api-token.ts';
import { testDatabaseTargets } from '@wardgate/cloud/test/support/test-database.ts';
import { type DeviceKind, parametersOf, termFor } from '@wardgate/shared';
import { waitFor } from '@wardgate/shared/testing';
import { count, eq, max, min } from 'drizzle-orm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startWardStack } from '../support/ward-stack.ts';

const GATEWAY = 'ward-e2e';
const LOINC = 'http://loinc.org';
const MDC = 'urn:iso:std:iso:11073:10101';

interface Coding {
  system: string;
  code: string;
}
interface Observation {
  id: string;
  status: string;
  code: { coding: Coding[] };
  subject?: { reference: string };
  device: { reference: string };
  effectiveDateTime: string;
  valueQuantity: { value: number; unit: string; system: string; code: string };
}
interface Bundle {
  type: string;
  total?: number;
  entry?: { resource: Observation }[];
}

for (const target of testDatabaseTargets()) {
  test(`${target.name}: vitals from all four device kinds are charted in FHIR with their codes, units, device and patient`, async () => {
    const database = await target.open();
    const stack = await startWardStack({
      database,
      beds: 2,
      gatewayId: GATEWAY,
      ward: { monitorIntervalMs: 200, oximeterIntervalMs: 200 },
      pollIntervalMs: 200,
    });
    const { cloud, ward, gateway } = stack;
    try {
      // A clinical API consumer allowed everything reads what the ward produced.
      const fetch = fetchWith(await apiToken(cloud));
      const fhir = async (path: string) => {
        const response = await fetch(`${cloud.httpUrl}/fhir/R4/${path}`);
        assert.is(response.status, 200, `${path} answered ${response.status}`);
        return (await response.json()) as Bundle;
      };
      const kinds: Record<string, DeviceKind> = {
        'bed-1-monitor': 'monitor',
        'bed-1-vent': 'ventilator',
        'bed-1-pump': 'pump',
        'bed-1-oxi': 'oximeter',
      };
      // Charting keeps one value per patient, parameter and slot: the latest valid reading of
      // any of the bed's devices (SpO2 comes from the monitor and the oximeter).
      const expected = new Set(
        Object.values(kinds).flatMap((k) => parametersOf(k).map((t) => t.mdc)),
      );
      const mdcOf = (o: Observation) => o.code.coding.find((c) => c.system === MDC)?.code;
      const bundle = await waitFor(
        async () => {
          const b = await fhir('Observation?patient=demo-0001&_count=1000');
          const seen = new Set(b.entry?.map((e) => mdcOf(e.resource)));
          const all = [...expected].every((mdc) => seen.has(String(termFor(mdc)?.mdcCode)));
          return all ? b : undefined;
        },
        { timeoutMs: 30_000, what: 'charted Observations of every device parameter of bed 1' },
      );
      assert.is(bundle.type, 'searchset');
      for (const { resource } of bundle.entry ?? []) {
        const term = [...expected]
          .map((m) => termFor(m))
          .find((t) => String(t?.mdcCode) === mdcOf(resource));
        assert.ok(term, `${resource.id}: an MDC coding of a device parameter`);
        if (!term) continue;
        assert.is(resource.status, 'preliminary', 'charted, not yet validated by a nurse');
        assert.is(resource.valueQuantity.code, term.ucum, `${term.mdc} in UCUM ${term.ucum}`);
        assert.is(resource.valueQuantity.system, 'http://unitsofmeasure.org');
        const loinc = resource.code.coding.find((c) => c.system === LOINC)?.code;
        assert.is(loinc, term.loinc, `${term.mdc} LOINC coding`);
        const device = resource.device.reference.replace(`Device/${GATEWAY}.`, '');
        assert.ok(
          kinds[device] && parametersOf(kinds[device]).some((t) => t.mdc === term.mdc),
          `${term.mdc} charted from ${device}, a bed-1 device that measures it`,
        );
        assert.is(resource.subject?.reference, 'Patient/demo-0001');
        assert.ok(Number.isFinite(resource.valueQuantity.value));
        assert.ok(Date.parse(resource.effectiveDateTime) > Date.now() - 120_000);
      }

      // Search by patient and LOINC code: charted SpO2 comes from the monitor or the oximeter.
      const spo2 = await fhir(
        `Observation?patient=demo-0001&code=${encodeURIComponent(`${LOINC}|59408-5`)}&_count=500`,
      );
      assert.ok((spo2.total ?? 0) > 0);
      for (const e of spo2.entry ?? [])
        assert.match(e.resource.device.reference, /\.bed-1-(monitor|oxi)$/);
      const bed2 = await waitFor(
        async () => {
          const b = await fhir('Observation?patient=demo-0002&_count=1');
          return (b.total ?? 0) > 0 ? b : undefined;
        },
        { what: 'bed 2 charted to the second patient' },
      );
      assert.is(bed2.entry?.[0].resource.subject?.reference, 'Patient/demo-0002');

      // The gateway's own health and metrics say the same: every device online, cloud linked.
      {
        const http = stack.http;
        const health = (await (await fetch(`http://127.0.0.1:${http.port}/health`)).json()) as {
          status: string;
          offlineDevices: string[];
          cloud: { connected: boolean };
        };
        assert.equal(health.offlineDevices, []);
        assert.is(health.cloud.connected, true);
        assert.is(health.status, 'ok');
        const metrics = await (await fetch(`http://127.0.0.1:${http.port}/metrics`)).text();
        assert.match(metrics, /^wardgate_cloud_connected 1$/m);
        assert.match(metrics, /^wardgate_device_online\{device="bed-2-pump",kind="pump"\} 1$/m);
      }

      // Alarm limits set for a bed in the cloud reach the gateway's alarm engine.
      const put = await fetch(`${cloud.httpUrl}/api/beds/${GATEWAY}/bed-2/alarm-settings`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          profile: 'neonatal',
          limits: { MDC_PULS_OXIM_SAT_O2: { low: 85 } },
        }),
      });
      assert.is(put.status, 200);
      await waitFor(() => gateway.alarms.limitsFor('bed-2').MDC_PULS_OXIM_SAT_O2?.low === 85, {
        what: 'the cloud-set SpO2 limit in the gateway',
      });
      assert.is(
        gateway.alarms.limitsFor('bed-2').MDC_ECG_HEART_RATE?.low,
        100,
        'neonatal HR limits',
      );
      assert.is(
        gateway.alarms.limitsFor('bed-1').MDC_PULS_OXIM_SAT_O2?.low,
        90,
        'bed-1 keeps the adult limit',
      );

      // Stop the devices, let the gateway drain: the cloud holds exactly seq 1..last, once each.
      await ward.stop();
      for (const driver of gateway.drivers) await driver.stop();
      gateway.writer.flush();
      const { lastSeq } = gateway.store.cursor('readings');
      await waitFor(() => gateway.store.cursor('readings').ackedUpTo === lastSeq, {
        timeoutMs: 30_000,
        what: 'the last ack',
      });
      const [held] = await database.db
        .select({ count: count(), min: min(readings.seq), max: max(readings.seq) })
        .from(readings)
        .where(eq(readings.gatewayId, GATEWAY));
      assert.equal(held, { count: lastSeq, min: 1, max: lastSeq });
    } finally {
      await stack.stop();
    }
  });
}

test.run();
