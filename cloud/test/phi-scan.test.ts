// The real cloud on a PGlite folder with a key file: a patient is created through the FHIR API,
// admitted through ADT, has device readings charted, is searched and summarised; then, with the
// cloud stopped, every file of the folder (WAL included) and everything the cloud logged is
// scanned for the patient's name, MRN and phone number, in clear and lower case. None may be
// there; a value that is stored in clear (the gateway id) must be, or the scan proves nothing.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  downTopic,
  encodeEnvelope,
  generateSigningKeyPair,
  initCrypto,
  type Reading,
  sealEnvelope,
  upTopic,
} from '@wardgate/shared';
import { waitFor } from '@wardgate/shared/testing';
import { connectAsync } from 'mqtt';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createKeyFile } from '../src/crypto/index.ts';
import { MRN_SYSTEM } from '../src/db/schema.ts';
import { startCloud } from '../src/server.ts';
import { apiToken } from './support/api-token.ts';
import { connectGateway } from './support/gateway-client.ts';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are checked field by field below.
type Json = any;

await initCrypto();

const GIVEN = 'Thelonius';
const FAMILY = 'Vandersloot-Achterberg';
const MRN = 'MRN-SCAN-48151623';
const PHONE = '+1 (617) 555-0199';
/** What must not be found, as written and lower case. */
const NEEDLES = [
  GIVEN,
  FAMILY,
  'Vandersloot',
  'Achterberg',
  MRN,
  PHONE,
  '617-555-0199',
  '(617) 555-0199',
  '16175550199',
  '6175550199',
].flatMap((s) => [s, s.toLowerCase()]);
/** Stored in clear on purpose (gateway id, MRN system): the scan must find them. */
const GATEWAY = 'ward-scan-control-7f3c';

const MINUTE = 60_000;
const T0 = Date.UTC(2025, 5, 1, 10);

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** The needles found in any file under `dir`: needle → files. */
async function scanFiles(dir: string, needles: string[]): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  const patterns = needles.map((n) => [n, Buffer.from(n, 'utf8')] as const);
  for (const file of await filesUnder(dir)) {
    const bytes = await readFile(file);
    for (const [needle, pattern] of patterns)
      if (bytes.includes(pattern)) found.set(needle, [...(found.get(needle) ?? []), file]);
  }
  return found;
}

test('no name, MRN or phone number in the database files or the logs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wardgate-phi-scan-'));
  const dataDir = join(dir, 'data');
  const keyFile = join(dir, 'keys', 'phi-keys.json');
  await createKeyFile(keyFile);

  // Everything the cloud says: its log, and the console (request errors go there).
  const logged: string[] = [];
  const console_ = { log: console.log, error: console.error, warn: console.warn };
  const capture =
    (original: (...args: unknown[]) => void) =>
    (...args: unknown[]) => {
      logged.push(args.map(String).join(' '));
      original(...args);
    };
  console.log = capture(console_.log);
  console.error = capture(console_.error);
  console.warn = capture(console_.warn);

  const cloud = await startCloud({
    dataDir,
    keyFile,
    httpPort: 0,
    mqttPort: 0,
    log: (message) => logged.push(message),
    charting: { intervalSeconds: 600, settleSeconds: 0, runEverySeconds: 3600 },
  });
  let stopped = false;
  try {
    // An API client with every SMART system scope, signed in with client credentials.
    const token = await apiToken(cloud);
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${cloud.httpUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': path.startsWith('/fhir') ? 'application/fhir+json' : 'application/json',
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : null) as Json };
    };

    // The patient, through the FHIR API.
    const created = await call('POST', '/fhir/R4/Patient', {
      resourceType: 'Patient',
      identifier: [{ system: MRN_SYSTEM, value: MRN }],
      name: [{ family: FAMILY, given: [GIVEN] }],
      telecom: [{ system: 'phone', value: PHONE }],
      gender: 'male',
      birthDate: '1961-07-08',
    });
    assert.is(created.status, 201, JSON.stringify(created.body));
    const patientId = created.body.id as string;

    // Admitted to a bed of an enrolled gateway; the ward gets the display name.
    const keys = generateSigningKeyPair();
    await cloud.addGateway({ id: GATEWAY, publicKey: keys.publicKey, password: 'pw' });
    const gateway = await connectGateway(cloud.mqttUrl, GATEWAY, 'pw');
    await gateway.client.subscribeAsync([downTopic(GATEWAY, 'config'), downTopic(GATEWAY, 'ack')], {
      qos: 1,
    });
    const admitted = await call('POST', '/api/adt/admit', {
      patientId,
      to: { gatewayId: GATEWAY, bedId: 'bed-1' },
      at: new Date(T0).toISOString(),
    });
    assert.is(admitted.status, 200, JSON.stringify(admitted.body));
    await waitFor(
      () =>
        gateway
          .received<Json>(downTopic(GATEWAY, 'config'))
          .some((c) => c.beds.some((b: Json) => b.displayName === `${GIVEN} V.`)),
      { what: 'the display name on the ward' },
    );

    // Readings from the bed, charted to the patient.
    const readings: Reading[] = [70, 72, 74].map((value, i) => ({
      seq: i + 1,
      deviceId: 'bed-1-monitor',
      bedId: 'bed-1',
      parameter: 'MDC_ECG_HEART_RATE',
      value,
      unit: '/min',
      deviceTime: T0 + (10 + i) * MINUTE,
      gatewayTime: T0 + (10 + i) * MINUTE + 5,
      quality: 'valid',
    }));
    await gateway.client.publishAsync(
      upTopic(GATEWAY, 'readings'),
      encodeEnvelope(sealEnvelope(GATEWAY, 'readings', readings, keys.secretKey)),
      { qos: 1 },
    );
    await waitFor(
      () => gateway.received<{ upTo: number }>(downTopic(GATEWAY, 'ack')).some((a) => a.upTo === 3),
      { what: 'the readings acked' },
    );
    assert.equal(await cloud.charting.runNow(), { slotsFound: 1, charted: 1, alerts: 0 });
    gateway.client.end(true);

    // Searched by name, MRN and phone; read back whole in the summary.
    for (const query of [
      `name=${encodeURIComponent(FAMILY)}`,
      `identifier=${encodeURIComponent(`${MRN_SYSTEM}|${MRN}`)}`,
      `phone=${encodeURIComponent(PHONE)}`,
    ]) {
      const found = await call('GET', `/fhir/R4/Patient?${query}`);
      assert.is(found.status, 200, query);
      assert.equal(
        found.body.entry.map((e: Json) => e.resource.id),
        [patientId],
        query,
      );
    }
    const charted = await call('GET', `/fhir/R4/Observation?subject:Patient.identifier=${MRN}`);
    assert.is(charted.body.total, 1);
    const summary = await call('GET', `/api/patients/${patientId}/summary`);
    assert.is(summary.status, 200, JSON.stringify(summary.body));
    assert.is(summary.body.patient.name, `${GIVEN} ${FAMILY}`);
    assert.is(summary.body.patient.mrn, MRN);

    // A refused MQTT login is logged, naming who tried: proof the capture sees the cloud's log.
    await connectAsync(cloud.mqttUrl, {
      username: `${GATEWAY}-intruder`,
      password: 'wrong',
      reconnectPeriod: 0,
      connectTimeout: 5_000,
    }).then(
      (c) => c.endAsync(),
      () => undefined,
    );
    await waitFor(() => logged.some((line) => line.includes(`${GATEWAY}-intruder`)), {
      what: 'the refused login in the log',
    });

    await cloud.stop();
    stopped = true;

    const inFiles = await scanFiles(dir, [...NEEDLES, GATEWAY, MRN_SYSTEM]);
    assert.ok(inFiles.has(GATEWAY), 'control: the gateway id is stored in clear and found');
    assert.ok(inFiles.has(MRN_SYSTEM), 'control: the MRN system is stored in clear and found');
    const files = await filesUnder(dataDir);
    assert.ok(
      files.some((f) => /pg_wal/.test(f)),
      'the WAL is among the files scanned',
    );
    for (const needle of NEEDLES)
      assert.not.ok(inFiles.has(needle), `"${needle}" in ${inFiles.get(needle)?.join(', ')}`);

    const log = logged.join('\n');
    for (const needle of NEEDLES) assert.not.ok(log.includes(needle), `"${needle}" in the log`);
  } finally {
    console.log = console_.log;
    console.error = console_.error;
    console.warn = console_.warn;
    if (!stopped) await cloud.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
